import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { INTERNET_HOST, Lab, NAT_ADDRESS, VPC_CIDR, describeLab, pathWith } from './lab';

/**
 * assets/boot/configure-nat.sh, exactly as shipped, on the NAT host of a simulated VPC
 * (lab/netns-lab.sh). Every assertion is about what packets did: what the internet host's
 * server saw, what a client got back, what the NAT host's connection tracking holds.
 */
describeLab('configure-nat.sh in a simulated VPC', () => {
  const lab = new Lab(`dp${process.env.JEST_WORKER_ID ?? '0'}`);
  const serverLog = path.join(lab.dir, 'inet-server.log');
  const natLog = path.join(lab.dir, 'nat-server.log');
  const at = (host: string, port = '8080') => ['--host', host, '--port', port, '--timeout-ms', '1500'];
  const to = at(INTERNET_HOST);
  /** For connections meant to be dropped: in the lab, one that is delivered is answered within milliseconds. */
  const dropped = (host: string, port = '8080') => ['--host', host, '--port', port, '--timeout-ms', '500'];
  // Addresses the NAT must never forward to, which the internet host answers on and the VPC
  // router routes to it: Linux forwards link-local (so it has a control), never 0.0.0.0/8.
  const LINK_LOCAL = '169.254.1.1';
  const THIS_NETWORK = '0.0.0.1';

  beforeAll(async () => {
    lab.up();
    for (const address of [LINK_LOCAL, THIS_NETWORK]) {
      expect(lab.run('inet', ['ip', 'addr', 'add', `${address}/32`, 'dev', 'eth0'])).toMatchObject({ status: 0 });
      expect(lab.run('vpcr', ['ip', 'route', 'add', `${address}/32`, 'via', INTERNET_HOST])).toMatchObject({ status: 0 });
    }
    await Promise.all([lab.startServer('inet', 8080, serverLog), lab.startServer('nat', 9100, natLog)]);
  });
  afterAll(() => lab.down());
  beforeEach(() => {
    lab.reset();
    fs.writeFileSync(serverLog, '');
    fs.writeFileSync(natLog, '');
  });

  const configured = (env: Record<string, string> = {}) => {
    const result = lab.configureNat(['--vpc-cidr', VPC_CIDR], env);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    return result;
  };
  const check = (env: Record<string, string> = {}) => lab.configureNat(['--vpc-cidr', VPC_CIDR, '--check'], env);
  const onNat = (command: string[], env: Record<string, string> = {}) =>
    expect(lab.run('nat', command, { env })).toMatchObject({ status: 0, stderr: '' });

  test('before the script a private host cannot reach the internet; after it, it can, seen as the NAT', async () => {
    const before = await lab.client('priv1', [...to, '--token', 'before']);
    expect(before).toMatchObject({ ok: 0, failed: 1 });
    expect(lab.serverLog(serverLog)).toEqual([]);

    expect(configured().stdout).toMatch(/^configure-nat.sh: NAT active: 10\.0\.0\.0\/16 masqueraded out of ens5 \(nft\); conntrack table \d+ entries/);
    const after = await lab.client('priv1', [...to, '--token', 'after', '--count', '5']);
    expect(after).toMatchObject({ ok: 5, failed: 0, seen: { [NAT_ADDRESS]: 5 } });
    const seen = lab.serverLog(serverLog);
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((c) => c.address))).toEqual(new Set([NAT_ADDRESS]));
  });

  test('two private hosts using the same source port to the same server both connect: the NAT rewrites one port', async () => {
    configured();
    // Fixed source ports lie below the ephemeral range (32768-60999): no earlier connection's
    // TIME_WAIT on the same private host can hold them.
    const args = [...to, '--local-port', '31000'];
    const one = await lab.client('priv1', [...args, '--token', 'one']);
    const two = await lab.client('priv2', [...args, '--token', 'two']);
    expect([one.ok, two.ok]).toEqual([1, 1]);
    const ports = lab.serverLog(serverLog).map((c) => c.port);
    expect(ports).toHaveLength(2);
    expect(new Set(ports).size).toBe(2);
    const entries = lab.conntrack().filter((e) => e.includes('sport=31000 dport=8080'));
    expect(entries.some((e) => e.includes('src=10.0.16.11'))).toBe(true);
    expect(entries.some((e) => e.includes('src=10.0.16.12'))).toBe(true);
  });

  test('replies reach the right private host under concurrent connections from both', async () => {
    configured();
    const [one, two] = await Promise.all([
      lab.client('priv1', [...to, '--token', 'alpha', '--count', '300', '--concurrency', '30']),
      lab.client('priv2', [...to, '--token', 'bravo', '--count', '300', '--concurrency', '30']),
    ]);
    expect(one).toMatchObject({ attempted: 300, ok: 300, failed: 0, mismatched: 0 });
    expect(two).toMatchObject({ attempted: 300, ok: 300, failed: 0, mismatched: 0 });
    const tokens = lab.serverLog(serverLog).map((c) => c.token.split('-')[0]);
    expect(tokens.filter((t) => t === 'alpha')).toHaveLength(300);
    expect(tokens.filter((t) => t === 'bravo')).toHaveLength(300);
  });

  test('a source outside the VPC CIDRs is neither masqueraded nor forwarded', async () => {
    // Control: with bare forwarding, this host does reach the server, with its own address.
    lab.run('nat', ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    const control = await lab.client('rogue', [...to, '--token', 'control']);
    expect(control).toMatchObject({ ok: 1, seen: { '10.99.0.5': 1 } });

    lab.reset();
    configured();
    const rogue = await lab.client('rogue', [...to, '--token', 'rogue']);
    expect(rogue).toMatchObject({ ok: 0, failed: 1 });
    expect(lab.serverLog(serverLog).filter((c) => c.token.startsWith('rogue'))).toEqual([]);
    expect(lab.conntrack().filter((e) => e.includes('src=10.99.0.5'))).toEqual([]);
  });

  test('the NAT is not an open relay: the internet cannot reach a private host through it', async () => {
    const privateLog = path.join(lab.dir, 'priv1-server.log');
    await lab.startServer('priv1', 9090, privateLog);
    const relay = ['--host', '10.0.16.11', '--port', '9090', '--timeout-ms', '1500'];
    // Control: with bare forwarding, the path through the NAT host does deliver.
    lab.run('nat', ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    expect(await lab.client('inet', [...relay, '--token', 'control'])).toMatchObject({ ok: 1 });

    lab.reset();
    configured();
    expect(await lab.client('inet', [...relay, '--token', 'relay'])).toMatchObject({ ok: 0, failed: 1 });
    expect(lab.serverLog(privateLog).filter((c) => c.token.startsWith('relay'))).toEqual([]);
    // Outbound still works while inbound is refused.
    expect(await lab.client('priv1', [...to, '--token', 'outbound'])).toMatchObject({ ok: 1 });
  });

  test('a single NAT replaced: from the interface attached to the new host to the first connection through it', async () => {
    configured();
    expect(await lab.client('priv1', [...to, '--token', 'before'])).toMatchObject({ ok: 1 });
    // The old instance loses the interface: it moves to a namespace of its own (EC2's detach).
    const park = `${lab.name}-park`;
    const ip = (...args: string[]) => expect(spawnSync('ip', args, { encoding: 'utf8' })).toMatchObject({ status: 0 });
    ip('netns', 'add', park);
    try {
      ip('-n', `${lab.name}-nat`, 'link', 'set', 'ens5', 'netns', park);
      expect(await lab.client('priv1', [...to, '--token', 'detached'])).toMatchObject({ ok: 0 });
      lab.reset(); // the new host: no rules, forwarding off
      // The attach, then what the new host does as amazon-ec2-net-utils and the boot scripts do:
      // address, link, default route through the interface, configure-nat.sh.
      const started = process.hrtime.bigint();
      ip('-n', park, 'link', 'set', 'ens5', 'netns', `${lab.name}-nat`);
      ip('-n', `${lab.name}-nat`, 'addr', 'add', `${NAT_ADDRESS}/24`, 'dev', 'ens5');
      ip('-n', `${lab.name}-nat`, 'link', 'set', 'ens5', 'up');
      ip('-n', `${lab.name}-nat`, 'route', 'replace', 'default', 'via', '10.0.0.1', 'dev', 'ens5');
      configured();
      let report = await lab.client('priv1', [...to, '--token', 'after-0']);
      for (let attempt = 1; attempt < 20 && report.ok !== 1; attempt++) {
        report = await lab.client('priv1', [...to, '--token', `after-${attempt}`]);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      expect(report).toMatchObject({ ok: 1, seen: { [NAT_ADDRESS]: 1 } });
      process.stdout.write(`data plane of a single-NAT replacement: ${seconds.toFixed(2)} s from the interface attached to the first connection through the new host\n`);
      expect(seconds).toBeLessThan(10);
    } finally {
      // Whatever happened, the interface goes back to the NAT host as the lab built it.
      const nat = `${lab.name}-nat`;
      spawnSync('ip', ['-n', park, 'link', 'set', 'ens5', 'netns', nat]);
      spawnSync('ip', ['-n', nat, 'addr', 'replace', `${NAT_ADDRESS}/24`, 'dev', 'ens5']);
      spawnSync('ip', ['-n', nat, 'link', 'set', 'ens5', 'up']);
      spawnSync('ip', ['-n', nat, 'route', 'replace', 'default', 'via', '10.0.0.1', 'dev', 'ens5']);
      spawnSync('ip', ['netns', 'del', park]);
    }
  });

  test('idempotent: a second run leaves a byte-identical ruleset', () => {
    configured();
    const first = lab.run('nat', ['nft', 'list', 'ruleset']).stdout;
    configured();
    const second = lab.run('nat', ['nft', 'list', 'ruleset']).stdout;
    expect(first).toContain('table ip nat_instance');
    expect(second).toBe(first);
    expect(second.match(/masquerade/g)).toHaveLength(1);
  });

  test('a reboot (rules flushed, forwarding off) cuts NAT, and running the script again restores it', async () => {
    configured();
    expect(await lab.client('priv1', [...to, '--token', 'up'])).toMatchObject({ ok: 1 });
    lab.reset();
    expect(lab.configureNat(['--vpc-cidr', VPC_CIDR, '--check'])).toMatchObject({ status: 1 });
    expect(await lab.client('priv1', [...to, '--token', 'rebooted'])).toMatchObject({ ok: 0 });
    configured();
    expect(lab.configureNat(['--vpc-cidr', VPC_CIDR, '--check']).status).toBe(0);
    expect(await lab.client('priv1', [...to, '--token', 'restored'])).toMatchObject({ ok: 1, seen: { [NAT_ADDRESS]: 1 } });
  });

  describe('connection-tracking table sizing (kernel settings in a stand-in /proc/sys)', () => {
    const fakeSys = (max: number, memKib: number) => {
      const root = fs.mkdtempSync(path.join(lab.dir, 'sys-'));
      const files: Record<string, string> = {
        'net/ipv4/ip_forward': '0', 'net/ipv4/conf/all/send_redirects': '1', 'net/ipv4/conf/ens5/send_redirects': '1',
        'net/ipv4/conf/all/rp_filter': '0', 'net/ipv4/conf/ens5/rp_filter': '0',
        'net/netfilter/nf_conntrack_max': String(max), 'net/netfilter/nf_conntrack_buckets': String(max),
      };
      for (const [file, value] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), `${value}\n`);
      }
      fs.writeFileSync(path.join(root, 'meminfo'), `MemTotal:       ${memKib} kB\n`);
      const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8').trim();
      return { env: { NAT_SYSCTL_ROOT: root, NAT_MEMINFO: path.join(root, 'meminfo') }, read };
    };

    test.each([
      ['a 512 MiB instance at the kernel default of 4096: one entry per 2 KiB', 4096, 460_000, 230_000, 'conntrack table 230000 entries (raised from 4096)'],
      ['a 64 MiB host: at least 65536', 1024, 65_536, 65_536, 'conntrack table 65536 entries (raised from 1024)'],
      ['a table already larger is never lowered', 500_000, 460_000, 500_000, 'conntrack table 500000 entries'],
    ])('%s', (_name, current, memKib, expected, note) => {
      const sys = fakeSys(current, memKib);
      const result = lab.configureNat(['--vpc-cidr', VPC_CIDR], sys.env);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(result.stdout).toBe(`configure-nat.sh: NAT active: ${VPC_CIDR} masqueraded out of ens5 (nft); ${note}\n`);
      expect([sys.read('net/netfilter/nf_conntrack_max'), sys.read('net/netfilter/nf_conntrack_buckets')]).toEqual([String(expected), String(expected)]);
      expect([sys.read('net/ipv4/ip_forward'), sys.read('net/ipv4/conf/ens5/send_redirects'), sys.read('net/ipv4/conf/ens5/rp_filter')]).toEqual(['1', '0', '2']);
    });

    test('in a network namespace, where the table is the host\'s, the script reports it instead of failing', () => {
      const result = configured();
      expect(result.stdout).toMatch(/; conntrack table \d+ entries( \(the host's; not settable in this namespace\))?\n$/);
    });
  });

  describe('failures exit non-zero with a clear message and leave no NAT behind', () => {
    const noNat = async () => {
      expect(lab.run('nat', ['cat', '/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('0');
      expect(lab.run('nat', ['nft', 'list', 'tables']).stdout).not.toContain('nat_instance');
      expect(await lab.client('priv1', [...dropped(INTERNET_HOST), '--token', 'nonat'])).toMatchObject({ ok: 0 });
    };

    test('no default route', async () => {
      lab.run('nat', ['ip', 'route', 'del', 'default']);
      try {
        const result = lab.configureNat();
        expect(result.status).toBe(1);
        expect(result.stderr).toBe('configure-nat.sh: error: no IPv4 default route, so no egress interface; add a default route or pass --egress-interface\n');
        await noNat();
      } finally {
        lab.run('nat', ['ip', 'route', 'add', 'default', 'via', '10.0.0.1']);
      }
    });

    test.each([
      [['--vpc-cidr', VPC_CIDR, '--egress-interface', 'eth0'], "configure-nat.sh: error: --egress-interface: no interface named 'eth0' on this host\n"],
      [['--vpc-cidr', VPC_CIDR, '--egress-interface', ''], "configure-nat.sh: error: --egress-interface: got ''; not a valid interface name\n"],
      [['--vpc-cidr', '10.0.0.0/33'], "configure-nat.sh: error: --vpc-cidr: got '10.0.0.0/33'; the prefix length must be from /8 to /32\n"],
      [['--vpc-cidr', '10.0.0.1/16'], "configure-nat.sh: error: --vpc-cidr: got '10.0.0.1/16'; host bits are set (the network address is 10.0.0.0/16)\n"],
      [['--vpc-cidr', 'vpc'], "configure-nat.sh: error: --vpc-cidr: got 'vpc'; expected an IPv4 CIDR block such as 10.0.0.0/16\n"],
      [['--vpc-cidr', '0.0.0.0/0'], "configure-nat.sh: error: --vpc-cidr: got '0.0.0.0/0'; the prefix length must be from /8 to /32\n"],
      [['--vpc-cidr', VPC_CIDR, '--vpc-cidr', '10.0.128.0/17'], "configure-nat.sh: error: --vpc-cidr: '10.0.0.0/16' and '10.0.128.0/17' overlap; give each block once\n"],
      [['--vpc-cidr', VPC_CIDR, '--vpc-cidr', '169.254.0.0/16'], "configure-nat.sh: error: --vpc-cidr: got '169.254.0.0/16'; expected no block within 169.254.0.0/16, a special range that is no network to serve\n"],
      [['--vpc-cidr', '127.0.0.0/8'], "configure-nat.sh: error: --vpc-cidr: got '127.0.0.0/8'; expected no block within 127.0.0.0/8, a special range that is no network to serve\n"],
      [['--egress-interface', 'ens5'], 'configure-nat.sh: error: at least one --vpc-cidr is required\n'],
      [['--vpc-cidr', VPC_CIDR, '--backend', 'pf'], "configure-nat.sh: error: --backend: got 'pf'; expected auto, nft or iptables\n"],
      [['--vpc-cidr', VPC_CIDR, '--source-address', '10.0.0.99'], "configure-nat.sh: error: --source-address: '10.0.0.99' is not an address of ens5 (it has: 10.0.0.10); replies to it would never reach this host\n"],
      [['--vpc-cidr', VPC_CIDR, '--source-address', '10.0.0.10', '--source-address', '10.0.0.10'], "configure-nat.sh: error: --source-address: '10.0.0.10' is given twice; give each address once\n"],
      [['--vpc-cidr', VPC_CIDR, '--source-address', '10.0.0.010'], "configure-nat.sh: error: --source-address: got '10.0.0.010'; each octet must be 0-255 without leading zeros\n"],
      [['--vpc-cidr', VPC_CIDR, '--source-address', '10.0.0.10 }; accept'], "configure-nat.sh: error: --source-address: got '10.0.0.10 }; accept'; expected an IPv4 address such as 10.0.0.10\n"],
      [['--vpc-cidr', VPC_CIDR, ...Array.from({ length: 9 }, (_, i) => ['--source-address', `10.0.0.${20 + i}`]).flat()], 'configure-nat.sh: error: --source-address: got 9; expected at most 8 addresses\n'],
    ])('arguments %j', async (args, message) => {
      const result = lab.configureNat(args);
      expect(result.status).toBe(1);
      expect(result.stderr.split('\n').filter((l) => l.includes('error:')).join('\n') + '\n').toBe(message);
      await noNat();
    });

    test('neither nft nor iptables on PATH', async () => {
      const PATH = pathWith(lab.dir, []);
      expect(lab.run('nat', ['sh', '-c', 'command -v nft || command -v iptables'], { env: { PATH } }).status).not.toBe(0);
      const result = lab.configureNat(['--vpc-cidr', VPC_CIDR], { PATH });
      expect(result).toMatchObject({ status: 1, stderr: 'configure-nat.sh: error: neither nft nor iptables is on PATH; install nftables (or iptables) first\n' });
      await noNat();
    });

    test('an nft that loads nothing yet exits 0 is caught by the self-check', async () => {
      // The field failure: a tool that "succeeds" without installing rules. The script must not believe it.
      const fake = path.join(lab.dir, 'lying-nft');
      fs.mkdirSync(fake, { recursive: true });
      const realNft = lab.run('nat', ['sh', '-c', 'command -v nft']).stdout.trim();
      fs.writeFileSync(path.join(fake, 'nft'), `#!/bin/sh\nif [ "$1" = -f ]; then cat >/dev/null; exit 0; fi\nexec ${realNft} "$@"\n`, { mode: 0o755 });
      const result = lab.configureNat(['--vpc-cidr', VPC_CIDR], { PATH: `${fake}:${pathWith(lab.dir, [])}` });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe('configure-nat.sh: error: NAT is not in place: nft table ip nat_instance does not exist\n'
        + 'configure-nat.sh: rolling back: forwarding off, NAT rules removed\n');
      // Nothing half-made: forwarding without masquerading would leak private addresses.
      await noNat();
    });
  });

  describe.each([
    ['nft', ['nft']],
    ['iptables', ['iptables', 'iptables-restore', 'iptables-save']],
  ])('with only %s on PATH', (backend, commands) => {
    const env = () => ({ PATH: pathWith(lab.dir, commands) });
    const other = backend === 'nft' ? 'iptables' : 'nft';

    test('the other backend is really absent', () => {
      expect(lab.run('nat', ['sh', '-c', `command -v ${other}`], { env: env() }).status).not.toBe(0);
      expect(lab.run('nat', ['sh', '-c', `command -v ${backend}`], { env: env() }).status).toBe(0);
    });

    test('NAT works end to end, a second run changes nothing, --check agrees', async () => {
      const result = lab.configureNat(['--vpc-cidr', VPC_CIDR], env());
      expect(result).toMatchObject({ status: 0, stdout: expect.stringContaining(`configure-nat.sh: NAT active: ${VPC_CIDR} masqueraded out of ens5 (${backend})`) });
      // Below the ephemeral range, as in the test of two hosts on one source port.
      const [one, two] = await Promise.all([
        lab.client('priv1', [...to, '--token', `${backend}1`, '--local-port', '32000']),
        lab.client('priv2', [...to, '--token', `${backend}2`, '--local-port', '32000']),
      ]);
      expect([one.seen, two.seen]).toEqual([{ [NAT_ADDRESS]: 1 }, { [NAT_ADDRESS]: 1 }]);
      expect(await lab.client('rogue', [...to, '--token', `${backend}rogue`])).toMatchObject({ ok: 0 });

      const ruleset = () => backend === 'nft'
        ? lab.run('nat', ['nft', 'list', 'ruleset'], { env: env() }).stdout
        : lab.run('nat', ['iptables-save'], { env: env() }).stdout.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '[0:0]');
      const first = ruleset();
      expect(lab.configureNat(['--vpc-cidr', VPC_CIDR], env()).status).toBe(0);
      expect(ruleset()).toBe(first);
      expect(lab.configureNat(['--vpc-cidr', VPC_CIDR, '--check'], env())).toMatchObject({ status: 0, stdout: expect.stringContaining('NAT verified') });
      if (backend === 'iptables') {
        expect(first).toContain('-A NAT-INSTANCE-POSTROUTING -s 10.0.0.0/16 -o ens5 -j MASQUERADE');
        expect(first).toContain('-A NAT-INSTANCE-FORWARD -j DROP');
        expect(first.match(/-A POSTROUTING -j NAT-INSTANCE-POSTROUTING/g)).toHaveLength(1);
      }
    });

    test('two source addresses: new flows take each in turn, replies return by either, --check agrees', async () => {
      const second = '10.0.0.11';
      onNat(['ip', 'addr', 'add', `${second}/24`, 'dev', 'ens5']);
      try {
        const args = ['--vpc-cidr', VPC_CIDR, '--source-address', NAT_ADDRESS, '--source-address', second];
        expect(lab.configureNat(args, env())).toMatchObject({
          status: 0, stderr: '', stdout: expect.stringContaining(`NAT active: ${VPC_CIDR} translated to ${NAT_ADDRESS} ${second} out of ens5 (${backend})`),
        });
        const report = await lab.client('priv1', [...to, '--token', `${backend}two`, '--count', '20']);
        expect(report).toMatchObject({ ok: 20, failed: 0, mismatched: 0, seen: { [NAT_ADDRESS]: 10, [second]: 10 } });
        expect(lab.configureNat([...args, '--check'], env())).toMatchObject({ status: 0, stdout: expect.stringContaining('NAT verified') });
        // Checked against the options given: masquerade is another NAT.
        expect(lab.configureNat(['--vpc-cidr', VPC_CIDR, '--check'], env())).toMatchObject({ status: 1, stderr: expect.stringContaining('NAT is not in place: no NAT rule') });
        expect(await lab.client('rogue', [...to, '--token', `${backend}tworogue`])).toMatchObject({ ok: 0 });
      } finally {
        lab.run('nat', ['ip', 'addr', 'del', `${second}/24`, 'dev', 'ens5']);
      }
    });

    test('refused: new connections to the host itself from outside the VPC, and forwarding to link-local or 0.0.0.0/8, VPC hosts included', async () => {
      // Controls (one lab state, to keep the test short): without the script's rules the internet
      // host connects to the NAT host, and bare forwarding delivers a link-local destination.
      lab.run('nat', ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
      const controls = await Promise.all([
        lab.client('inet', [...at(NAT_ADDRESS, '9100'), '--token', `${backend}-in-control`]),
        lab.client('priv1', [...at(LINK_LOCAL), '--token', `${backend}-ll-control`]),
      ]);
      expect(controls.map((c) => c.ok)).toEqual([1, 1]);

      lab.reset();
      configured(env());
      const [internet, rogue, vpc, own, linkLocal, thisNetwork, forwarded] = await Promise.all([
        lab.client('inet', [...dropped(NAT_ADDRESS, '9100'), '--token', `${backend}-in-internet`]),
        lab.client('rogue', [...dropped(NAT_ADDRESS, '9100'), '--token', `${backend}-in-rogue`]),
        lab.client('priv1', [...at(NAT_ADDRESS, '9100'), '--token', `${backend}-in-vpc`]),
        // The host's own connection out: its replies come back as established (as IMDS's and NTP's do).
        lab.client('nat', [...to, '--token', `${backend}-own`]),
        lab.client('priv1', [...dropped(LINK_LOCAL), '--token', `${backend}-ll`]),
        lab.client('priv2', [...dropped(THIS_NETWORK), '--token', `${backend}-zero`]),
        lab.client('priv2', [...to, '--token', `${backend}-forwarded`]),
      ]);
      expect({ internet: internet.ok, rogue: rogue.ok, vpc: vpc.ok, own: own.ok }).toEqual({ internet: 0, rogue: 0, vpc: 1, own: 1 });
      expect({ linkLocal: linkLocal.ok, thisNetwork: thisNetwork.ok, forwarded: forwarded.ok }).toEqual({ linkLocal: 0, thisNetwork: 0, forwarded: 1 });
      const seen = (log: string) => lab.serverLog(log).map((c) => `${c.token.replace(/-\d+$/, '')} from ${c.address}`).sort();
      expect(seen(natLog)).toEqual([`${backend}-in-control from ${INTERNET_HOST}`, `${backend}-in-vpc from 10.0.16.11`]);
      expect(seen(serverLog)).toEqual([`${backend}-forwarded from ${NAT_ADDRESS}`, `${backend}-ll-control from 10.0.16.11`, `${backend}-own from ${NAT_ADDRESS}`]);
    });
  });

  describe('--check passes only the rules exactly as the script applied them', () => {
    const iptables = { PATH: pathWith(lab.dir, ['iptables', 'iptables-restore', 'iptables-save']) };
    const tampered = (where: string, lines: string[]) =>
      `configure-nat.sh: error: rules this script did not write (+), or missing ones it wrote (-), in ${where}:\n${lines.map((l) => `  ${l}\n`).join('')}`;

    test('nft: an accept added to the forward chain opens a relay; --check says so, and applying again closes it', async () => {
      configured();
      expect(check()).toMatchObject({ status: 0, stderr: '' });
      onNat(['nft', 'add', 'rule', 'ip', 'nat_instance', 'forward', 'accept']);
      expect(await lab.client('rogue', [...to, '--token', 'relayed'])).toMatchObject({ ok: 1, seen: { '10.99.0.5': 1 } });
      expect(check()).toMatchObject({ status: 1, stdout: '', stderr: tampered('the nft table ip nat_instance', ['+ accept   (in chain forward)']) });

      configured();
      expect(check()).toMatchObject({ status: 0, stderr: '' });
      expect(await lab.client('rogue', [...dropped(INTERNET_HOST), '--token', 'repaired'])).toMatchObject({ ok: 0 });
    });

    test.each([
      ['an accept ahead of the input chain', 'insert rule ip nat_instance input accept', ['+ accept   (in chain input)']],
      ['an internet network added to the VPC set', 'add element ip nat_instance vpc_cidrs { 198.51.100.0/24 }',
        ['+ elements = { 10.0.0.0/16, 198.51.100.0/24 }   (in set vpc_cidrs)', '- elements = { 10.0.0.0/16 }   (in set vpc_cidrs)']],
      ['the drop of special destinations removed', ['flush chain ip nat_instance forward', 'ct state invalid drop', 'ct state established,related accept',
        'ip saddr @vpc_cidrs accept'].join('\nadd rule ip nat_instance forward '),
      ['- ip daddr { 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/3 } drop   (in chain forward)']],
    ])('nft: %s fails --check, which shows it', (_name, script, lines) => {
      configured();
      expect(lab.run('nat', ['nft', '-f', '-'], { input: `${script}\n` })).toMatchObject({ status: 0, stderr: '' });
      expect(check()).toMatchObject({ status: 1, stdout: '', stderr: tampered('the nft table ip nat_instance', lines) });
    });

    test.each(['forward', 'input'])('nft: the %s chain\'s policy changed to accept fails --check', (chain) => {
      configured();
      onNat(['nft', 'add', 'chain', 'ip', 'nat_instance', chain, '{ policy accept; }']);
      expect(check()).toMatchObject({ status: 1, stderr: `configure-nat.sh: error: NAT is not in place: the ${chain} chain does not drop by default\n` });
    });

    test('IPv6 forwarding switched on fails --check: the rules filter IPv4 only', () => {
      configured();
      onNat(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      try {
        expect(check()).toMatchObject({ status: 1, stderr: 'configure-nat.sh: error: NAT is not in place: IPv6 forwarding is on, and these rules filter IPv4 only\n' });
      } finally {
        onNat(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=0']);
      }
      expect(check()).toMatchObject({ status: 0, stderr: '' });
    });

    test('nft: another program\'s table that does not forward is left alone by applying and by --check', () => {
      const other = 'table ip other {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tlog prefix "other: "\n\t}\n}\n';
      expect(lab.run('nat', ['nft', '-f', '-'], { input: other })).toMatchObject({ status: 0 });
      configured();
      expect(lab.run('nat', ['nft', 'list', 'table', 'ip', 'other']).stdout).toBe(other);
      expect(check()).toMatchObject({ status: 0, stderr: '' });
      onNat(['nft', 'add', 'rule', 'ip', 'other', 'input', 'log', 'prefix', '"more: "']);
      expect(check()).toMatchObject({ status: 0, stderr: '' });
      configured();
      expect(lab.run('nat', ['nft', 'list', 'table', 'ip', 'other']).stdout).toContain('log prefix "more: "');
    });

    test('iptables: an accept inserted ahead of the jump in FORWARD opens a relay; --check says so, and applying again removes it', async () => {
      configured(iptables);
      expect(check(iptables)).toMatchObject({ status: 0, stderr: '' });
      onNat(['iptables', '-I', 'FORWARD', '1', '-j', 'ACCEPT'], iptables);
      expect(await lab.client('rogue', [...to, '--token', 'relayed'])).toMatchObject({ ok: 1, seen: { '10.99.0.5': 1 } });
      expect(check(iptables)).toMatchObject({ status: 1, stdout: '', stderr: tampered('the iptables chains FORWARD and NAT-INSTANCE-*', ['+ -A FORWARD -j ACCEPT']) });

      configured(iptables);
      expect(lab.run('nat', ['iptables', '-S', 'FORWARD'], { env: iptables }).stdout).toBe('-P FORWARD ACCEPT\n-A FORWARD -j NAT-INSTANCE-FORWARD\n');
      expect(check(iptables)).toMatchObject({ status: 0, stderr: '' });
    });

    test('iptables: LOG rules in INPUT pass --check and are kept; an accept ahead of the jump fails it until applied again', () => {
      configured(iptables);
      onNat(['iptables', '-I', 'INPUT', '1', '-j', 'LOG', '--log-prefix', 'first: '], iptables);
      onNat(['iptables', '-A', 'INPUT', '-j', 'LOG', '--log-prefix', 'last: '], iptables);
      expect(check(iptables)).toMatchObject({ status: 0, stderr: '' });

      onNat(['iptables', '-I', 'INPUT', '1', '-s', '198.51.100.0/24', '-j', 'ACCEPT'], iptables);
      expect(check(iptables)).toMatchObject({ status: 1, stderr: 'configure-nat.sh: error: NAT is not in place: INPUT lets packets past NAT-INSTANCE-INPUT: -A INPUT -s 198.51.100.0/24 -j ACCEPT\n' });
      configured(iptables);
      expect(check(iptables)).toMatchObject({ status: 0, stderr: '' });
      expect(lab.run('nat', ['iptables', '-S', 'INPUT'], { env: iptables }).stdout).toBe('-P INPUT ACCEPT\n-A INPUT -j NAT-INSTANCE-INPUT\n'
        + '-A INPUT -s 198.51.100.0/24 -j ACCEPT\n-A INPUT -j LOG --log-prefix "first: "\n-A INPUT -j LOG --log-prefix "last: "\n');
    });

    test('rules applied with other options, or no record of them, fail --check', () => {
      expect(lab.configureNat(['--vpc-cidr', VPC_CIDR, '--vpc-cidr', '100.64.0.0/16'])).toMatchObject({ status: 0 });
      // The rules still forward 100.64.0.0/16, which the caller no longer means to serve.
      expect(check()).toMatchObject({ status: 1, stderr: 'configure-nat.sh: error: the rules were applied with other options: '
        + 'configure-nat.sh --backend nft --egress-interface ens5 --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16\n' });
      fs.rmSync(path.join(lab.runDir, 'rules'));
      expect(lab.configureNat(['--vpc-cidr', VPC_CIDR, '--vpc-cidr', '100.64.0.0/16', '--check'])).toMatchObject({ status: 1,
        stderr: `configure-nat.sh: error: no record of the rules this script applied (${lab.runDir}/rules); apply them to write it\n` });
    });
  });
});
