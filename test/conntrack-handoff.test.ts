import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * assets/boot/conntrack-handoff.sh with a fake conntrack that records its calls: what import
 * creates from each line, and that it refuses a file with any malformed line before creating
 * anything. (test/handoff.dataplane.test.ts runs it for real between two NAT hosts.)
 */
const SCRIPT = path.join(__dirname, '..', 'assets', 'boot', 'conntrack-handoff.sh');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-'));
const bin = path.join(dir, 'bin');
const log = path.join(dir, 'calls.log');
const FAKE_CONNTRACK = '#!/usr/bin/env bash\nprintf \'%s\\n\' "$*" >>"$FAKE_LOG"\n';
const sysctl = path.join(dir, 'sys');
fs.mkdirSync(bin);
fs.mkdirSync(path.join(sysctl, 'net', 'ipv4'), { recursive: true });
fs.writeFileSync(path.join(bin, 'conntrack'), FAKE_CONNTRACK, { mode: 0o755 });
// nft records its arguments, and what it was given to load, as one line.
fs.writeFileSync(path.join(bin, 'nft'), '#!/usr/bin/env bash\nprintf \'nft %s\\n\' "$*" >>"$FAKE_LOG"\nif [ "$*" = "-f -" ]; then printf \'nft< %s\\n\' "$(tr -s \'\\t\\n\' \'  \')" >>"$FAKE_LOG"; fi\n', { mode: 0o755 });
const forwarding = path.join(sysctl, 'net', 'ipv4', 'ip_forward');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: string) {
  fs.rmSync(log, { force: true });
  fs.writeFileSync(forwarding, '0\n');
  const file = path.join(dir, 'flows.txt');
  if (input !== undefined) {
    fs.writeFileSync(file, input);
  }
  const result = spawnSync('bash', [SCRIPT, ...args, ...(input !== undefined ? ['--in', file] : [])], {
    env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, NAT_SYSCTL_ROOT: sysctl }, encoding: 'utf8', timeout: 20_000,
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

const GOOD = 'tcp 10.0.16.11 40000 198.51.100.20 443 40001 431990 ESTABLISHED\nudp 10.0.16.12 5353 198.51.100.20 53 5353 25 replied\n' +
  'udp 10.0.16.12 5354 198.51.100.20 53 5354 25 unreplied\n';

describe('conntrack-handoff.sh import', () => {
  test('readies the host for those flows only, then creates each with its NAT mapping, TCP with its state', () => {
    const result = run(['import', '--nat-address', '10.0.0.10'], GOOD);
    expect(result).toMatchObject({ status: 0, stderr: '', stdout: 'conntrack-handoff.sh: 3 flows imported, 0 already present, 0 failed\n' });
    expect(fs.readFileSync(forwarding, 'utf8')).toBe('1\n');
    expect(result.calls).toEqual([
      'nft -f -',
      'nft< table ip nat_instance_handoff delete table ip nat_instance_handoff table ip nat_instance_handoff { chain forward { type filter hook forward priority filter; policy drop; ' +
        'ct state established,related accept } chain postrouting { type nat hook postrouting priority srcnat; policy accept; } } ',
      '-I -p tcp -s 10.0.16.11 --sport 40000 -d 198.51.100.20 --dport 443 --src-nat 10.0.0.10:40001 --timeout 431990 --state ESTABLISHED -u ASSURED,SEEN_REPLY',
      '-I -p udp -s 10.0.16.12 --sport 5353 -d 198.51.100.20 --dport 53 --src-nat 10.0.0.10:5353 --timeout 25 -u SEEN_REPLY',
      '-I -p udp -s 10.0.16.12 --sport 5354 -d 198.51.100.20 --dport 53 --src-nat 10.0.0.10:5354 --timeout 25',
    ]);
  });

  test.each([
    ['a protocol other than tcp or udp', 'icmp 10.0.16.11 1 198.51.100.20 2 3 30 -', "line 2: protocol 'icmp' is not tcp or udp"],
    ['an address that is not IPv4', 'tcp 10.0.16.256 1 198.51.100.20 2 3 30 ESTABLISHED', "line 2: addresses '10.0.16.256' '198.51.100.20' are not both IPv4"],
    ['a command in an address', 'tcp $(reboot) 1 198.51.100.20 2 3 30 ESTABLISHED', "line 2: addresses '$(reboot)' '198.51.100.20' are not both IPv4"],
    ['port 0', 'tcp 10.0.16.11 0 198.51.100.20 2 3 30 ESTABLISHED', "line 2: ports '0' '2' '3' are not all 1-65535"],
    ['port 65536', 'tcp 10.0.16.11 1 198.51.100.20 2 65536 30 ESTABLISHED', "line 2: ports '1' '2' '65536' are not all 1-65535"],
    ['a timeout past five days', 'tcp 10.0.16.11 1 198.51.100.20 2 3 432001 ESTABLISHED', "line 2: timeout '432001' is not 0-432000 seconds"],
    ['an unknown TCP state', 'tcp 10.0.16.11 1 198.51.100.20 2 3 30 OPEN', "line 2: state 'OPEN' is not a TCP state conntrack takes (ESTABLISHED SYN_SENT"],
    ['a TCP state conntrack lists but cannot create', 'tcp 10.0.16.11 1 198.51.100.20 2 3 30 SYN_SENT2', "line 2: state 'SYN_SENT2' is not a TCP state"],
    ['a UDP line with a TCP state', 'udp 10.0.16.11 1 198.51.100.20 2 3 30 ESTABLISHED', "line 2: state 'ESTABLISHED' is not replied or unreplied, as a UDP flow's is"],
    ['too few fields', 'tcp 10.0.16.11 1 198.51.100.20', 'line 2: expected 8 fields, got 4'],
    ['too many fields', 'tcp 10.0.16.11 1 198.51.100.20 2 3 30 ESTABLISHED extra', 'line 2: more than 8 fields'],
  ])('refuses a file with %s, and creates nothing', (_name, line, message) => {
    const result = run(['import', '--nat-address', '10.0.0.10'], `${GOOD.split('\n')[0]}\n${line}\n`);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`conntrack-handoff.sh: error: ${path.join(dir, 'flows.txt')} ${message}`);
    expect(result.calls).toEqual([]);
    expect(fs.readFileSync(forwarding, 'utf8')).toBe('0\n');
  });

  test('a flow conntrack cannot create fails the import, after trying every one, with the first reason', () => {
    fs.writeFileSync(path.join(bin, 'conntrack'), `${FAKE_CONNTRACK}if [[ $* == *5353* ]]; then echo 'conntrack v1.4.7 (conntrack-tools): Operation failed: Invalid argument' >&2; exit 1; fi\n`, { mode: 0o755 });
    const result = run(['import', '--nat-address', '10.0.0.10'], GOOD);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('conntrack-handoff.sh: 2 flows imported, 0 already present, 1 failed\n');
    expect(result.stderr).toContain('conntrack-handoff.sh: error: 1 of 3 flows could not be created; the first: line udp 10.0.16.12 5353 198.51.100.20 53 5353 25 replied: Invalid argument');
    expect(result.calls.filter((c) => c.startsWith('-I'))).toHaveLength(3);
    fs.writeFileSync(path.join(bin, 'conntrack'), FAKE_CONNTRACK, { mode: 0o755 });
  });

  test('a flow imported before counts as present, so a second pass for newer flows succeeds', () => {
    fs.writeFileSync(path.join(bin, 'conntrack'), `${FAKE_CONNTRACK}if [[ $* == *40000* ]]; then echo 'conntrack v1.4.7 (conntrack-tools): Operation failed: File exists' >&2; exit 1; fi\n`, { mode: 0o755 });
    expect(run(['import', '--nat-address', '10.0.0.10'], GOOD)).toMatchObject({ status: 0, stdout: 'conntrack-handoff.sh: 2 flows imported, 1 already present, 0 failed\n' });
    fs.writeFileSync(path.join(bin, 'conntrack'), FAKE_CONNTRACK, { mode: 0o755 });
  });
});

describe('conntrack-handoff.sh export', () => {
  const LISTING = [
    'tcp      6 431999 ESTABLISHED src=10.0.16.11 dst=198.51.100.20 sport=40000 dport=443 src=198.51.100.20 dst=10.0.0.10 sport=443 dport=40001 [ASSURED] mark=0 zone=1 use=1',
    'tcp      6 119 SYN_SENT2 src=10.0.16.11 dst=198.51.100.20 sport=40002 dport=443 src=198.51.100.20 dst=10.0.0.10 sport=443 dport=40002 mark=0 use=1',
    'tcp      6 300 ESTABLISHED src=10.0.0.10 dst=198.51.100.20 sport=50000 dport=443 src=198.51.100.20 dst=10.0.0.10 sport=443 dport=50000 [ASSURED] mark=0 use=1',
  ].join('\n');
  const UDP = 'udp      17 25 src=10.0.16.12 dst=198.51.100.20 sport=5354 dport=53 [UNREPLIED] src=198.51.100.20 dst=10.0.0.10 sport=53 dport=5354 mark=0 use=1';

  test('lists the NAT\'s flows in the states import takes, and says how many it skipped', () => {
    fs.writeFileSync(path.join(bin, 'conntrack'), `${FAKE_CONNTRACK}if [[ $* == *tcp* ]]; then printf '%s\\n' '${LISTING}'; else printf '%s\\n' '${UDP}'; fi\n`, { mode: 0o755 });
    const result = run(['export', '--nat-address', '10.0.0.10']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('tcp 10.0.16.11 40000 198.51.100.20 443 40001 431999 ESTABLISHED\nudp 10.0.16.12 5354 198.51.100.20 53 5354 25 unreplied\n');
    expect(result.stderr).toBe('conntrack-handoff.sh: skipped 2 tcp entries (the host\'s own, or in a state import does not take)\n');
    fs.writeFileSync(path.join(bin, 'conntrack'), FAKE_CONNTRACK, { mode: 0o755 });
  });

  test('a failing conntrack fails the export with its message, and writes no file', () => {
    fs.writeFileSync(path.join(bin, 'conntrack'), `${FAKE_CONNTRACK}echo 'conntrack v1.4.7 (conntrack-tools): Operation not permitted' >&2; exit 1\n`, { mode: 0o755 });
    const out = path.join(dir, 'out.txt');
    const result = run(['export', '--nat-address', '10.0.0.10', '--out', out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('conntrack-handoff.sh: error: conntrack -L -p tcp failed: conntrack v1.4.7 (conntrack-tools): Operation not permitted');
    expect(fs.existsSync(out)).toBe(false);
    fs.writeFileSync(path.join(bin, 'conntrack'), FAKE_CONNTRACK, { mode: 0o755 });
  });
});

describe('conntrack-handoff.sh finish', () => {
  const nft = (script: string) => fs.writeFileSync(path.join(bin, 'nft'), `#!/usr/bin/env bash\nprintf 'nft %s\\n' "$*" >>"$FAKE_LOG"\n${script}\n`, { mode: 0o755 });
  afterEach(() => nft(''));

  test('removes the handoff table once configure-nat.sh has put the NAT\'s rules in', () => {
    nft('');
    expect(run(['finish'])).toMatchObject({ status: 0, calls: ['nft list table ip nat_instance', 'nft delete table ip nat_instance_handoff'] });
  });

  test('without the NAT\'s rules it turns forwarding off and fails, rather than forward everything', () => {
    nft('[[ $* != "list table ip nat_instance" ]]');
    fs.writeFileSync(forwarding, '1\n');
    const result = spawnSync('bash', [SCRIPT, 'finish'], { env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, NAT_SYSCTL_ROOT: sysctl }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("configure-nat.sh has not loaded the NAT's rules (no nft table ip nat_instance); forwarding is now off");
    expect(fs.readFileSync(forwarding, 'utf8')).toBe('0\n');
  });

  test('a table already gone is fine; any other failure to delete it is not', () => {
    nft('if [[ $* == delete* ]]; then echo "Error: Could not process rule: No such file or directory" >&2; exit 1; fi');
    expect(run(['finish'])).toMatchObject({ status: 0 });
    nft('if [[ $* == delete* ]]; then echo "Error: Could not process rule: Operation not permitted" >&2; exit 1; fi');
    const refused = run(['finish']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('nft could not delete the nat_instance_handoff table: Error: Could not process rule: Operation not permitted');
  });
});

describe('conntrack-handoff.sh arguments', () => {
  test.each([
    [['import', '--nat-address', '10.0.0'], "--nat-address: got '10.0.0'; expected the NAT interface's IPv4 address, such as 10.0.0.10"],
    [['export'], "--nat-address: got ''; expected the NAT interface's IPv4 address"],
    [['export', '--nat-address'], '--nat-address needs a value'],
    [['export', '--nat-address', '10.0.0.10', '--bogus'], "unknown option '--bogus'"],
    [['sync'], "unknown command 'sync'; expected export, import or finish"],
    [[], 'a command is required: export, import or finish'],
    [['finish', '--nat-address', '10.0.0.10'], 'finish takes no options'],
  ])('%j fails with a message', (args, message) => {
    const result = run(args);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`conntrack-handoff.sh: error: ${message}`);
  });

  test('--help prints the usage', () => {
    const result = run(['--help']);
    expect(result).toMatchObject({ status: 0 });
    expect(result.stdout).toContain('conntrack-handoff.sh export --nat-address A [--out FILE]');
  });
});
