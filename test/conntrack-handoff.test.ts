import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as net from 'net';
import * as path from 'path';
import { promisify } from 'util';

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
      'nft< table ip nat_instance_handoff delete table ip nat_instance_handoff table ip nat_instance_handoff { chain input { type filter hook input priority filter; policy accept; ' +
        'iifname "lo" accept ct state new,invalid drop } chain forward { type filter hook forward priority filter; policy drop; ' +
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

  test('--known: a later pass creates only the flows no earlier pass did, and lists what it created', () => {
    const known = path.join(dir, 'known.txt');
    fs.rmSync(known, { force: true });
    const first = run(['import', '--nat-address', '10.0.0.10', '--known', known], GOOD);
    expect(first).toMatchObject({ status: 0, stdout: 'conntrack-handoff.sh: 3 flows imported, 0 already present, 0 failed\n' });
    expect(fs.readFileSync(known, 'utf8')).toBe(GOOD);
    // The next pass: the same three (one with a new timeout), and one opened since.
    const later = 'tcp 10.0.16.11 40000 198.51.100.20 443 40001 431000 ESTABLISHED\n' + GOOD.split('\n').slice(1).join('\n') +
      'tcp 10.0.16.12 40100 198.51.100.20 443 40100 300 ESTABLISHED\n';
    const second = run(['import', '--nat-address', '10.0.0.10', '--known', known], later);
    expect(second).toMatchObject({ status: 0, stdout: 'conntrack-handoff.sh: 1 flows imported, 3 already present, 0 failed\n' });
    expect(second.calls.filter((c) => c.startsWith('-I '))).toEqual([
      '-I -p tcp -s 10.0.16.12 --sport 40100 -d 198.51.100.20 --dport 443 --src-nat 10.0.0.10:40100 --timeout 300 --state ESTABLISHED -u ASSURED,SEEN_REPLY',
    ]);
    expect(fs.readFileSync(known, 'utf8').split('\n').filter(Boolean)).toHaveLength(4);
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

describe('conntrack-handoff.sh serve: one request on stdin, one answer', () => {
  const hook = path.join(dir, 'hook.sh');
  const told = path.join(dir, 'told.txt');
  fs.writeFileSync(hook, `#!/bin/sh\nprintf '%s|%s\\n' "$1" "$2" >>'${told}'\n`, { mode: 0o755 });
  const serve = (request: string) => {
    fs.rmSync(told, { force: true });
    const result = spawnSync('bash', [SCRIPT, 'serve', '--nat-address', '10.0.0.10', '--ready-hook', hook], {
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log }, encoding: 'utf8', timeout: 20_000, input: request,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, told: fs.existsSync(told) ? fs.readFileSync(told, 'utf8') : undefined };
  };

  test('state: the export lines, then their count', () => {
    fs.writeFileSync(path.join(bin, 'conntrack'), `${FAKE_CONNTRACK}if [[ $* == *tcp* ]]; then printf '%s\\n' 'tcp      6 300 ESTABLISHED src=10.0.16.11 dst=198.51.100.20 sport=40000 dport=443 src=198.51.100.20 dst=10.0.0.10 sport=443 dport=40001 [ASSURED] mark=0 use=1'; fi\n`, { mode: 0o755 });
    expect(serve('state\n')).toMatchObject({ status: 0, stdout: 'tcp 10.0.16.11 40000 198.51.100.20 443 40001 300 ESTABLISHED\nend 1\n' });
    fs.writeFileSync(path.join(bin, 'conntrack'), FAKE_CONNTRACK, { mode: 0o755 });
    expect(serve('state\r\n')).toMatchObject({ status: 0, stdout: 'end 0\n' });
  });

  test('a failing export answers without its count, so the puller refuses it', () => {
    fs.writeFileSync(path.join(bin, 'conntrack'), `${FAKE_CONNTRACK}echo denied >&2; exit 1\n`, { mode: 0o755 });
    const result = serve('state\n');
    fs.writeFileSync(path.join(bin, 'conntrack'), FAKE_CONNTRACK, { mode: 0o755 });
    expect(result.status).toBe(1);
    expect(result.stdout).not.toMatch(/end/);
  });

  test('ready ID N: runs the hook with the two checked values, and answers ok', () => {
    expect(serve('ready i-0123456789abcdef0 1011\n')).toMatchObject({ status: 0, stdout: 'ok\n', told: 'i-0123456789abcdef0|1011\n' });
  });

  test.each([
    ['nothing', '', 'no request within 5s'],
    ['an unknown word', 'status\n', "unknown request 'status'; expected state or ready ID N"],
    ['state with an argument', 'state all\n', 'state takes no argument'],
    ['a command for an instance ID', 'ready i-$(reboot) 1\n', "ready: instance ID: got 'i-$(reboot)'; expected i- and 8 to 17 hex digits"],
    ['a negative count', 'ready i-0123456789abcdef0 -1\n', "ready: flows: got '-1'; expected a count from 0 to 9999999"],
    ['a word after the count', 'ready i-0123456789abcdef0 1 ; reboot\n', "ready: flows: got '1 ; reboot'; expected a count"],
    ['no count', 'ready i-0123456789abcdef0\n', "ready: flows: got ''; expected a count"],
  ])('%s is refused, and no hook runs', (_name, request, message) => {
    const result = serve(request);
    expect(result).toMatchObject({ status: 1, stdout: '', told: undefined });
    expect(result.stderr).toContain(`conntrack-handoff.sh: error: ${message}`);
  });
});

describe('conntrack-handoff.sh pull and ready: the replacement\'s side, against a server on loopback', () => {
  /** A one-shot server that records the request and answers with `answer`. */
  async function against(answer: string, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string; request: string }> {
    let request = '';
    const server = net.createServer((socket) => {
      socket.once('data', (chunk) => {
        request = chunk.toString();
        socket.end(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const { stdout, stderr } = await promisify(execFile)('bash', [SCRIPT, ...args.map((a) => a.replace('PORT', String(port)))], { timeout: 20_000 });
      return { status: 0, stdout, stderr, request };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { status: e.code, stdout: e.stdout, stderr: e.stderr, request };
    } finally {
      server.close();
    }
  }
  const pull = ['pull', '--from', '127.0.0.1', '--port', 'PORT'];

  test('pull asks for the state and prints the lines without the count; --out writes them whole', async () => {
    const lines = 'tcp 10.0.16.11 40000 198.51.100.20 443 40001 300 ESTABLISHED\nudp 10.0.16.12 5353 198.51.100.20 53 5353 25 replied\n';
    expect(await against(`${lines}end 2\n`, ...pull)).toMatchObject({ status: 0, stdout: lines, stderr: '', request: 'state\n' });
    const out = path.join(dir, 'pulled.txt');
    expect(await against(`${lines}end 2\n`, ...pull, '--out', out)).toMatchObject({ status: 0, stdout: '' });
    expect(fs.readFileSync(out, 'utf8')).toBe(lines);
    expect(await against('end 0\n', ...pull)).toMatchObject({ status: 0, stdout: '' });
  });

  test.each([
    ['cut off before its count', 'tcp 10.0.16.11 40000 198.51.100.20 443 40001 300 ESTABLISHED\n', 'does not end with its count'],
    ['with a count that does not match', 'tcp 10.0.16.11 40000 198.51.100.20 443 40001 300 ESTABLISHED\nend 2\n', 'announces 2 flows but holds 1'],
    ['empty', '', 'does not end with its count'],
  ])('an answer %s is refused, and --out is not written', async (_name, answer, message) => {
    const out = path.join(dir, 'refused.txt');
    fs.rmSync(out, { force: true });
    const result = await against(answer, ...pull, '--out', out);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('ready sends ready ID N and needs ok back', async () => {
    const ready = ['ready', '--from', '127.0.0.1', '--port', 'PORT', '--instance-id', 'i-0123456789abcdef0', '--flows', '7'];
    expect(await against('ok\n', ...ready)).toMatchObject({ status: 0, request: 'ready i-0123456789abcdef0 7\n' });
    const refused = await against('', ...ready);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/conntrack-handoff\.sh: error: 127\.0\.0\.1:\d+ did not acknowledge ready i-0123456789abcdef0 7/);
  });

  test('nothing listening: pull fails at once with the address', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const result = spawnSync('bash', [SCRIPT, 'pull', '--from', '127.0.0.1', '--port', String(port)], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`conntrack-handoff.sh: error: no answer from 127.0.0.1:${port} to 'state' within 20s`);
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
    [['export', '--nat-address', '10.0.0.10', '--bogus'], "unknown option '--bogus' for export"],
    [['import', '--nat-address', '10.0.0.10', '--out', 'x'], "unknown option '--out' for import"],
    [['serve', '--nat-address', '10.0.0.10', '--ready-hook', 'hook.sh'], "--ready-hook: got 'hook.sh'; expected the absolute path of an executable"],
    [['serve', '--nat-address', '10.0.0.10', '--ready-hook', '/nonexistent/hook'], "--ready-hook: got '/nonexistent/hook'; expected the absolute path of an executable"],
    [['pull', '--from', '10.0.1.300', '--port', '7460'], "--from: got '10.0.1.300'; expected the old NAT's IPv4 address"],
    [['pull', '--from', '10.0.1.10', '--port', '65536'], "--port: got '65536'; expected a TCP port from 1 to 65535"],
    [['pull', '--from', '10.0.1.10'], "--port: got ''; expected a TCP port"],
    [['ready', '--from', '10.0.1.10', '--port', '7460', '--instance-id', 'i-$(reboot)', '--flows', '1'], "--instance-id: got 'i-$(reboot)'; expected i- and 8 to 17 hex digits"],
    [['ready', '--from', '10.0.1.10', '--port', '7460', '--instance-id', 'i-0123456789abcdef0', '--flows', '01'], "--flows: got '01'; expected a count from 0 to 9999999"],
    [['serve', '--nat-address', '10.0.0.10', '--listen', '7460'], "unknown option '--listen' for serve"],
    [['import', '--nat-address', '10.0.0.10', '--known', '/nonexistent/dir/known.txt', '--in', '/dev/null'], "--known: cannot write '/nonexistent/dir/known.txt'"],
    [['pull', '--from', '10.0.1.10', '--port', '7460', '--seconds', '0'], "--seconds: got '0'; expected whole seconds from 1 to 60"],
    [['pull', '--from', '10.0.1.10', '--port', '7460', '--seconds', '61'], "--seconds: got '61'; expected whole seconds from 1 to 60"],
    [['pull', '--from', '10.0.1.10', '--port', '7460', '--seconds', '1e1'], "--seconds: got '1e1'; expected whole seconds from 1 to 60"],
    [['sync'], "unknown command 'sync'; expected export, import, finish, serve, pull or ready"],
    [[], 'a command is required: export, import, finish, serve, pull or ready'],
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
