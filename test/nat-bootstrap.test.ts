import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CHECK_TIMER_ACCURACY_SECONDS, HANDOFF_INSTANCE_DIMENSION, HANDOFF_PORT, HEARTBEAT_PERIOD_SECONDS, METRIC, NAT_METRIC_DIMENSION, natMetricNamespace } from '../assets/contract';
import { MARKER, WRONG_FORMS, hostileValues, printableLines } from './fakes/hostile';

/**
 * nat-bootstrap.sh runs against fakes of every command it calls (test/fakes/fake-command.sh):
 * the instance metadata service, the AWS CLI, dnf, ip, systemctl. The tests read back what it
 * called, in order, and the files it wrote.
 */
const script = path.join(__dirname, '..', 'assets', 'boot', 'nat-bootstrap.sh');
const fake = path.join(__dirname, 'fakes', 'fake-command.sh');
const FAKED = ['curl', 'aws', 'dnf', 'ip', 'systemctl', 'networkctl', 'ethtool', 'sleep', 'fallocate', 'mkswap', 'swapon', 'swapoff'];
const MAC = '0a:00:00:00:00:06';
const SELF = 'i-05e1f0000000000a';

interface Host {
  dir: string;
  bin: string;
  state: string;
  etc: string;
  run(args: string[], extraEnv?: Record<string, string>): { status: number | null; stderr: string; calls: string[] };
  setEni(line: string): void;
  failTimes(what: 'imds-eni' | 'dnf' | 'configure' | 'check' | 'handoff-import' | 'handoff-ready' | 'handoff-finish', n: number): void;
  setRoutes(lines: string[]): void;
  addCommand(name: string): void;
  /** Replaces the instance metadata answer at PATH (after meta-data/). */
  setImds(metadataPath: string, answer: string): void;
}

function makeHost(): Host {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-bootstrap-'));
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  const etc = path.join(dir, 'etc');
  const install = path.join(dir, 'opt');
  const sys = path.join(dir, 'sys');
  const procSys = path.join(dir, 'proc-sys');
  for (const d of [bin, state, etc, install, path.join(sys, 'ens5'), path.join(sys, 'ens6'), path.join(procSys, 'net', 'netfilter')]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.writeFileSync(path.join(procSys, 'net', 'netfilter', 'nf_conntrack_count'), '57344\n');
  fs.writeFileSync(path.join(procSys, 'net', 'netfilter', 'nf_conntrack_max'), '65536\n');
  for (const name of FAKED) {
    fs.symlinkSync(fake, path.join(bin, name));
  }
  fs.symlinkSync(fake, path.join(install, 'configure-nat.sh'));
  fs.symlinkSync(fake, path.join(install, 'conntrack-handoff.sh'));
  // The library the user data writes beside the loader, as shipped.
  fs.copyFileSync(path.join(__dirname, '..', 'assets', 'boot', 'nat-lib.sh'), path.join(install, 'nat-lib.sh'));
  fs.writeFileSync(path.join(sys, 'ens5', 'address'), '0a:00:00:00:00:05\n');
  fs.writeFileSync(path.join(sys, 'ens6', 'address'), `${MAC}\n`);
  fs.writeFileSync(path.join(dir, 'meminfo'), 'MemTotal:         460000 kB\n');
  const log = path.join(dir, 'calls.log');
  const host: Host = {
    dir, bin, state, etc,
    run(args, extraEnv = {}) {
      fs.writeFileSync(log, '');
      const env = {
        PATH: `${bin}:/usr/bin:/bin`,
        FAKE_LOG: log, FAKE_STATE: state,
        NAT_IMDS_ENDPOINT: 'http://imds.invalid', NAT_ETC_DIR: etc, NAT_INSTALL_DIR: install,
        NAT_SYS_CLASS_NET: sys, NAT_NETWORKD_DIR: path.join(etc, 'systemd', 'network'), NAT_MEMINFO: path.join(dir, 'meminfo'), NAT_SWAPFILE: path.join(dir, 'swap'),
        NAT_WAIT_SECONDS: '5', NAT_RETRY_ATTEMPTS: '4', NAT_SYSCTL_ROOT: procSys, NAT_STATE_DIR: path.join(dir, 'var'),
        ...extraEnv,
      };
      const result = spawnSync('bash', [script, ...args], { env, cwd: dir, encoding: 'utf8', timeout: 30_000 });
      const calls = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
      return { status: result.status, stderr: result.stderr, calls };
    },
    setEni(line) { fs.writeFileSync(path.join(state, 'eni'), `${line}\n`); },
    failTimes(what, n) { fs.writeFileSync(path.join(state, `fail-${what}`), `${n}\n`); },
    addCommand(name) { fs.symlinkSync(fake, path.join(bin, name)); },
    setRoutes(lines) { fs.writeFileSync(path.join(state, 'routes'), lines.map((l) => `${l}\n`).join('')); },
    setImds(metadataPath, answer) {
      fs.mkdirSync(path.join(state, 'imds'), { recursive: true });
      fs.writeFileSync(path.join(state, 'imds', metadataPath.replace(/\//g, '_')), answer);
    },
  };
  // The controller has attached the interface at launch.
  host.setEni(`in-use ${SELF} eni-attach-1 ${MAC} False`);
  return host;
}

const SETUP = ['setup', '--eni-id', 'eni-0123456789abcdef0', '--vpc-cidr', '10.0.0.0/16', '--vpc-cidr', '100.64.0.0/16',
  '--stack-name', 'NatStack', '--resource', 'NatAsg1234', ...contractArgs()];

/** The contract's values, as the construct writes them into the user data (lib/user-data.ts). */
function contractArgs(): string[] {
  return ['--metric-namespace', natMetricNamespace('eni-0123456789abcdef0'), '--metric-dimension', NAT_METRIC_DIMENSION,
    '--heartbeat-metric', METRIC.heartbeat, '--conntrack-metric', METRIC.conntrackUsage, '--allowance-metric', METRIC.allowanceExceeded,
    '--check-period', String(HEARTBEAT_PERIOD_SECONDS), '--check-accuracy', String(CHECK_TIMER_ACCURACY_SECONDS)];
}

/** SETUP with one option's value replaced. */
function withArg(option: string, value: string): string[] {
  return SETUP.map((arg, i) => (SETUP[i - 1] === option ? value : arg));
}

const awsCalls = (calls: string[]) => calls.filter((c) => c.startsWith('aws '));
const HEARTBEAT = 'aws --region eu-west-1 cloudwatch put-metric-data --namespace NatInstance/eni-0123456789abcdef0 --metric-name Heartbeat --dimensions NetworkInterfaceId=eni-0123456789abcdef0 --value 1 --unit Count';
const loadMetrics = (usage: number, exceeded: number) => 'aws --region eu-west-1 cloudwatch put-metric-data --namespace NatInstance/eni-0123456789abcdef0 --metric-data ' + JSON.stringify([
  { MetricName: 'ConntrackUsage', Dimensions: [{ Name: 'NetworkInterfaceId', Value: 'eni-0123456789abcdef0' }], Value: usage, Unit: 'Percent' },
  { MetricName: 'AllowanceExceeded', Dimensions: [{ Name: 'NetworkInterfaceId', Value: 'eni-0123456789abcdef0' }], Value: exceeded, Unit: 'Count' },
]);
const indexOf = (calls: string[], pattern: RegExp) => calls.findIndex((c) => pattern.test(c));

describe('nat-bootstrap.sh setup', () => {
  let host: Host;
  beforeEach(() => { host = makeHost(); });
  afterEach(() => fs.rmSync(host.dir, { recursive: true, force: true }));

  test('first boot on a bare image: installs nftables under swap, routes through the interface the controller attached, configures, signals SUCCESS', () => {
    const { status, stderr, calls } = host.run(SETUP);
    expect({ status, stderr }).toEqual({ status: 0, stderr: expect.stringContaining('NAT ready on i-05e1f0000000000a through eni-0123456789abcdef0') });

    // IMDSv2: a token first, then every read carries it.
    expect(calls[0]).toMatch(/^curl .*-X PUT -H X-aws-ec2-metadata-token-ttl-seconds: 900 http:\/\/imds.invalid\/latest\/api\/token$/);
    for (const read of calls.filter((c) => c.startsWith('curl') && c.includes('meta-data'))) {
      expect(read).toContain('X-aws-ec2-metadata-token: token-123');
    }

    // dnf runs with swap on, and the swap goes away after.
    const order = ['fallocate', 'mkswap', 'swapon', 'dnf install -y --setopt=install_weak_deps=False nftables', 'swapoff'].map((p) => indexOf(calls, new RegExp(`^${p}`)));
    expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]))).toBe(true);
    expect(fs.existsSync(path.join(host.dir, 'swap'))).toBe(false);

    // No EC2 call at all: the interface is the controller's to move, and this instance may not.
    // Nor a SUCCESS signal: the controller sends it once it has seen this NAT's heartbeat.
    expect(awsCalls(calls)).toEqual([HEARTBEAT, loadMetrics(87, 7)]);
    expect(calls).toContain('ip route replace default via 10.0.0.1 dev ens6 metric 10');
    expect(calls).toContain('configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 --egress-interface ens6');
    expect(indexOf(calls, /^ip route replace/)).toBeLessThan(indexOf(calls, /^configure-nat.sh/));
    expect(calls).toEqual(expect.arrayContaining(['systemctl daemon-reload', 'systemctl enable nat-instance.service nat-instance-check.timer',
      'systemctl start nat-instance-check.timer', 'systemctl disable --now sshd.service']));
  });

  test('writes persistent forwarding, the settings and a unit that runs start at every boot', () => {
    expect(host.run(SETUP).status).toBe(0);
    expect(fs.readFileSync(path.join(host.etc, 'sysctl.d', '90-nat-instance.conf'), 'utf8')).toMatch(/^net\.ipv4\.ip_forward = 1$/m);
    // Every value quoted, in systemd's EnvironmentFile syntax.
    expect(fs.readFileSync(path.join(host.etc, 'nat-instance', 'nat-instance.env'), 'utf8')).toBe(
      'NAT_ENI_ID="eni-0123456789abcdef0"\nNAT_VPC_CIDRS="10.0.0.0/16 100.64.0.0/16"\nNAT_STACK_NAME="NatStack"\nNAT_RESOURCE="NatAsg1234"\n' +
      'NAT_METRIC_NAMESPACE="NatInstance/eni-0123456789abcdef0"\nNAT_METRIC_DIMENSION="NetworkInterfaceId"\nNAT_HEARTBEAT_METRIC="Heartbeat"\n' +
      'NAT_CONNTRACK_METRIC="ConntrackUsage"\nNAT_ALLOWANCE_METRIC="AllowanceExceeded"\nNAT_CHECK_PERIOD="60"\nNAT_CHECK_ACCURACY="1"\n' +
      'NAT_HANDOFF_ADDRESS=""\nNAT_HANDOFF_PORT=""\nNAT_HANDOFF_METRIC=""\nNAT_HANDOFF_DIMENSION=""\n');
    const units = path.join(host.etc, 'systemd', 'system');
    const unit = fs.readFileSync(path.join(units, 'nat-instance.service'), 'utf8');
    expect(unit).toContain(`EnvironmentFile=${path.join(host.etc, 'nat-instance', 'nat-instance.env')}`);
    expect(unit).toMatch(/^ExecStart=\S+\/nat-bootstrap\.sh start$/m);
    expect(unit).toMatch(/^After=network-online\.target$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(fs.readFileSync(path.join(units, 'nat-instance-check.service'), 'utf8')).toMatch(/^ExecStart=\S+\/nat-bootstrap\.sh check$/m);
    const timer = fs.readFileSync(path.join(units, 'nat-instance-check.timer'), 'utf8');
    // The period from the contract, and an accuracy of a second, so that the check cannot drift
    // towards the heartbeat's age limit (systemd's default accuracy is a minute).
    expect(timer).toMatch(/^OnUnitActiveSec=60s$/m);
    expect(timer).toMatch(/^AccuracySec=1s$/m);
    expect(timer).toMatch(/^WantedBy=timers\.target$/m);
  });

  test('where systemd-networkd manages interfaces, the route metric goes into its drop-in and it reloads', () => {
    const { status, calls } = host.run(SETUP);
    expect(status).toBe(0);
    expect(fs.readFileSync(path.join(host.etc, 'systemd', 'network', '70-ens6.network.d', 'zz-nat-instance.conf'), 'utf8'))
      .toBe('[DHCPv4]\nRouteMetric=10\n');
    expect(indexOf(calls, /^networkctl reload$/)).toBeLessThan(indexOf(calls, /^configure-nat.sh/));
  });

  test('a default route that never moves to the interface is a failure, not a NAT through the wrong interface', () => {
    fs.writeFileSync(path.join(host.state, 'routes-ignored'), '');
    const { status, stderr, calls } = host.run(SETUP, { NAT_WAIT_SECONDS: '2' });
    expect(status).not.toBe(0);
    expect(stderr).toContain('the default route does not go through ens6 after 2s');
    expect(calls.filter((c) => c.startsWith('configure-nat.sh'))).toEqual([]);
    expect(calls.join('\n')).toContain('--status FAILURE');
  });

  test('an image that has nft already installs nothing', () => {
    host.addCommand('nft');
    const { status, calls } = host.run(SETUP);
    expect(status).toBe(0);
    expect(calls.filter((c) => /^(dnf|fallocate|swapon)/.test(c))).toEqual([]);
  });

  test('waits for the controller to attach the interface, reading instance metadata only', () => {
    host.failTimes('imds-eni', 3);
    const { status, calls } = host.run(SETUP);
    expect(status).toBe(0);
    expect(calls.filter((c) => c.endsWith('/meta-data/network/interfaces/macs/'))).toHaveLength(4);
    expect(calls.filter((c) => /(attach|detach|modify|describe)-network-interface/.test(c))).toEqual([]);
    expect(calls).toContain('configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 --egress-interface ens6');
  });

  test('an interface the controller never attaches fails the first boot, after the wait, not never', () => {
    host.setEni(`available None None ${MAC} False`);
    const { status, stderr, calls } = host.run(SETUP, { NAT_ENI_WAIT_SECONDS: '2' });
    expect(status).not.toBe(0);
    expect(stderr).toContain('eni-0123456789abcdef0 is not attached to this instance after 2s (the controller attaches it at launch)');
    expect(calls.join('\n')).toContain('--status FAILURE');
    expect(calls.filter((c) => c.startsWith('configure-nat.sh'))).toEqual([]);
  });

  test('configure-nat.sh failing: FAILURE to CloudFormation, instance marked unhealthy, non-zero exit', () => {
    host.failTimes('configure', 1);
    const { status, stderr, calls } = host.run(SETUP);
    expect(status).not.toBe(0);
    expect(stderr).toContain('configure-nat.sh failed on ens6');
    expect(awsCalls(calls).slice(-2)).toEqual([
      `aws --region eu-west-1 cloudformation signal-resource --stack-name NatStack --logical-resource-id NatAsg1234 --unique-id ${SELF} --status FAILURE`,
      `aws --region eu-west-1 autoscaling set-instance-health --instance-id ${SELF} --health-status Unhealthy --no-should-respect-grace-period`,
    ]);
    expect(calls.join('\n')).not.toContain('--status SUCCESS');
    // A broken NAT never publishes a heartbeat, so the watchdog never routes to it.
    expect(calls).not.toContain(HEARTBEAT);
  });

  test('dnf failing every time: retried, then reported, and the swap file removed', () => {
    host.failTimes('dnf', 99);
    const { status, stderr, calls } = host.run(SETUP);
    expect(status).not.toBe(0);
    expect(stderr).toContain('cannot install nftables with dnf');
    expect(calls.filter((c) => c.startsWith('dnf'))).toHaveLength(4);
    expect(calls.join('\n')).toContain('--status FAILURE');
    expect(calls.join('\n')).toContain('--health-status Unhealthy');
    expect(calls.filter((c) => c.includes('attach-network-interface'))).toEqual([]);
    expect(fs.existsSync(path.join(host.dir, 'swap'))).toBe(false);
  });

  test('the interface never showing up in the OS is a failure, not a wait forever', () => {
    fs.writeFileSync(path.join(host.dir, 'sys', 'ens6', 'address'), '0a:ff:ff:ff:ff:ff\n');
    const { status, stderr, calls } = host.run(SETUP, { NAT_WAIT_SECONDS: '2' });
    expect(status).not.toBe(0);
    expect(stderr).toContain(`no interface with MAC ${MAC} and an IPv4 address after 2s`);
    expect(calls.join('\n')).toContain('--status FAILURE');
    expect(calls.filter((c) => c.startsWith('configure-nat.sh'))).toEqual([]);
  });

  test.each([
    [['setup', '--eni-id', 'bogus', '--vpc-cidr', '10.0.0.0/16', '--stack-name', 'S', '--resource', 'R'], "--eni-id: got 'bogus'; expected a network interface ID"],
    [['setup', '--eni-id', 'eni-0123456789abcdef0', '--stack-name', 'S', '--resource', 'R'], '--vpc-cidr is required'],
    [['setup', '--eni-id', 'eni-0123456789abcdef0', '--vpc-cidr', '10.0.0.0/16', '--resource', 'R'], '--stack-name is required'],
    [['start', '--eni-id', 'eni-0123456789abcdef0'], 'start takes no arguments: its settings are the NAT_* variables of'],
    [['reboot'], "unknown mode 'reboot'; expected setup, start, check or handoff-ready"],
    [['setup', '--colour', 'red'], "unknown argument '--colour'"],
    [[], 'a mode is required: setup, start, check or handoff-ready'],
    // Hostile contract values: each would reach the environment file or a command line.
    [withArg('--metric-namespace', 'NatInstance/$(reboot)'), "--metric-namespace: got 'NatInstance/$(reboot)'; expected a CloudWatch namespace"],
    [withArg('--metric-namespace', 'NatInstance\nNAT_ENI_ID=eni-0evil'), '--metric-namespace: got'],
    [withArg('--metric-namespace', 'N'.repeat(300)), `--metric-namespace: got '${'N'.repeat(80)}'`],
    [withArg('--heartbeat-metric', 'Heart beat'), "--heartbeat-metric: got 'Heart beat'; expected a metric or dimension name of letters and digits"],
    [withArg('--metric-dimension', 'Network`id`'), "--metric-dimension: got 'Network`id`'"],
    [withArg('--check-period', 'soon'), "--check-period: got 'soon'; expected whole seconds from 10 to 9999"],
    [withArg('--check-period', '5'), "--check-period: got '5'"],
    [withArg('--check-accuracy', '1min'), "--check-accuracy: got '1min'; expected whole seconds from 1 to 999"],
  ])('bad arguments %j: a clear error and no AWS call', (args, message) => {
    const { status, stderr, calls } = host.run(args as string[]);
    expect(status).toBe(1);
    expect(stderr).toContain(`nat-bootstrap.sh: error: ${message}`);
    expect(calls).toEqual([]);
  });
});

describe('nat-bootstrap.sh start (every boot) and check (every minute)', () => {
  let host: Host;
  beforeEach(() => { host = makeHost(); host.addCommand('nft'); });
  afterEach(() => fs.rmSync(host.dir, { recursive: true, force: true }));
  const settings = {
    NAT_ENI_ID: 'eni-0123456789abcdef0', NAT_VPC_CIDRS: '10.0.0.0/16', NAT_METRIC_NAMESPACE: 'NatInstance/eni-0123456789abcdef0',
    NAT_METRIC_DIMENSION: 'NetworkInterfaceId', NAT_HEARTBEAT_METRIC: 'Heartbeat', NAT_CONNTRACK_METRIC: 'ConntrackUsage',
    NAT_ALLOWANCE_METRIC: 'AllowanceExceeded', NAT_CHECK_PERIOD: '60', NAT_CHECK_ACCURACY: '1',
  };

  test('at every boot: restores the route and NAT through the interface, and signals nothing', () => {
    host.setEni(`in-use ${SELF} eni-attach-old ${MAC} False`);
    const { status, calls } = host.run(['start'], settings);
    expect(status).toBe(0);
    expect(calls).toContain('ip route replace default via 10.0.0.1 dev ens6 metric 10');
    expect(calls).toContain('configure-nat.sh --vpc-cidr 10.0.0.0/16 --egress-interface ens6');
    expect(calls.filter((c) => /^dnf|signal-resource|systemctl/.test(c) || c.includes('signal-resource'))).toEqual([]);
  });

  test('a rebooted instance whose interface the controller gave to its replacement stands by, and fails nothing', () => {
    host.setEni(`in-use i-0new00000000000000 eni-attach-new ${MAC} False`);
    const { status, stderr, calls } = host.run(['start'], { ...settings, NAT_ENI_WAIT_SECONDS: '2' });
    expect(status).toBe(0);
    expect(stderr).toContain(`standing by: eni-0123456789abcdef0 is not attached to ${SELF}`);
    expect(calls.filter((c) => /(attach|detach)-network-interface|set-instance-health|^configure-nat/.test(c))).toEqual([]);
  });

  test('check: an intact NAT costs no EC2 API call, and publishes its heartbeat', () => {
    host.setEni(`in-use ${SELF} eni-attach-old ${MAC} False`);
    host.setRoutes(['default via 10.0.0.1 dev ens6 metric 10', 'default via 10.0.0.1 dev ens5 metric 512']);
    const { status, calls } = host.run(['check'], settings);
    expect(status).toBe(0);
    // Only the heartbeat and the load metrics: an intact NAT costs no EC2 call.
    expect(awsCalls(calls)).toEqual([HEARTBEAT, loadMetrics(87, 7)]);
    expect(calls).toContain('configure-nat.sh --vpc-cidr 10.0.0.0/16 --egress-interface ens6 --check');
    expect(calls.filter((c) => c.startsWith('ip route replace'))).toEqual([]);
  });

  test('check: without detailed monitoring the heartbeat alone is published, one call a minute', () => {
    host.setRoutes(['default via 10.0.0.1 dev ens6 metric 10', 'default via 10.0.0.1 dev ens5 metric 512']);
    const { status, calls } = host.run(['check'], { ...settings, NAT_CONNTRACK_METRIC: '', NAT_ALLOWANCE_METRIC: '' });
    expect(status).toBe(0);
    expect(awsCalls(calls)).toEqual([HEARTBEAT]);
  });

  test('check: one load metric without the other is refused', () => {
    const { status, stderr, calls } = host.run(['check'], { ...settings, NAT_ALLOWANCE_METRIC: '' });
    expect(status).toBe(1);
    expect(stderr).toContain('NAT_CONNTRACK_METRIC and NAT_ALLOWANCE_METRIC go together (detailed monitoring): give both or neither');
    expect(awsCalls(calls)).toEqual([]);
  });

  test('check: allowance drops are published as this minute\'s increase of the ENA counters', () => {
    host.setEni(`in-use ${SELF} eni-attach-old ${MAC} False`);
    host.setRoutes(['default via 10.0.0.1 dev ens6 metric 10']);
    expect(host.run(['check'], settings).calls).toContain(loadMetrics(87, 7));
    fs.writeFileSync(path.join(host.state, 'bw-in'), '15\n');
    expect(host.run(['check'], settings).calls).toContain(loadMetrics(87, 10));
    expect(host.run(['check'], settings).calls).toContain(loadMetrics(87, 0));
  });

  test('check: an instance Auto Scaling is terminating publishes no heartbeat', () => {
    host.setEni(`in-use ${SELF} eni-attach-old ${MAC} False`);
    host.setRoutes(['default via 10.0.0.1 dev ens6 metric 10']);
    fs.writeFileSync(path.join(host.state, 'lifecycle'), 'Terminated\n');
    const { status, stderr, calls } = host.run(['check'], settings);
    expect(status).toBe(0);
    expect(stderr).toContain('no heartbeat: this instance is leaving service (Terminated)');
    expect(calls).not.toContain(HEARTBEAT);
  });

  test('check: a default route lost to the primary interface is put back, and NAT reapplied', () => {
    host.setEni(`in-use ${SELF} eni-attach-old ${MAC} False`);
    const { status, stderr, calls } = host.run(['check'], settings);
    expect(status).toBe(0);
    expect(stderr).toContain('NAT through ens6 is not intact; repairing');
    expect(calls).toContain('ip route replace default via 10.0.0.1 dev ens6 metric 10');
    expect(calls).toContain('configure-nat.sh --vpc-cidr 10.0.0.0/16 --egress-interface ens6');
  });

  test('check: lost rules are reapplied', () => {
    host.setEni(`in-use ${SELF} eni-attach-old ${MAC} False`);
    host.setRoutes(['default via 10.0.0.1 dev ens6 metric 10']);
    host.failTimes('check', 1);
    const { status, calls } = host.run(['check'], settings);
    expect(status).toBe(0);
    expect(calls.filter((c) => c.startsWith('configure-nat.sh'))).toEqual([
      'configure-nat.sh --vpc-cidr 10.0.0.0/16 --egress-interface ens6 --check',
      'configure-nat.sh --vpc-cidr 10.0.0.0/16 --egress-interface ens6',
    ]);
  });

  test.each([
    ['free', `available None None ${MAC} False`],
    ['held by another instance', `in-use i-0new00000000000000 eni-attach-new ${MAC} False`],
  ])('check: an interface %s is left alone: no heartbeat, no move, no API call', (_name, eni) => {
    host.setEni(eni);
    const { status, stderr, calls } = host.run(['check'], settings);
    expect(status).toBe(0);
    expect(stderr).toContain(`standing by: eni-0123456789abcdef0 is not attached to ${SELF}`);
    expect(awsCalls(calls)).toEqual([]);
    expect(calls.filter((c) => c.startsWith('configure-nat.sh'))).toEqual([]);
  });

  test('check: an interface that moves away while a repair fails means standing by, not reporting itself broken', () => {
    host.setRoutes(['default via 10.0.0.1 dev ens5 metric 512']);
    // The route and the NAT are not intact; and when the repair looks again, the controller has
    // given the interface to the replacement.
    host.failTimes('check', 1);
    host.failTimes('configure', 1);
    fs.writeFileSync(path.join(host.state, 'eni-gone-after'), '1\n');
    const { status, stderr, calls } = host.run(['check'], { ...settings, NAT_WAIT_SECONDS: '1', NAT_ENI_WAIT_SECONDS: '1' });
    expect(stderr).toContain('standing by: eni-0123456789abcdef0 moved away from i-05e1f0000000000a during the check');
    expect(status).toBe(0);
    expect(calls.filter((c) => c.includes('set-instance-health'))).toEqual([]);
  });

  test('check: a repair that fails marks the instance unhealthy', () => {
    host.setEni(`in-use ${SELF} eni-attach-old ${MAC} False`);
    host.failTimes('configure', 1);
    const { status, calls } = host.run(['check'], settings);
    expect(status).not.toBe(0);
    expect(awsCalls(calls).at(-1)).toContain('autoscaling set-instance-health');
  });

  test('a failure at boot marks the instance unhealthy so that Auto Scaling replaces it', () => {
    host.failTimes('configure', 1);
    const { status, calls } = host.run(['start'], settings);
    expect(status).not.toBe(0);
    expect(awsCalls(calls).at(-1)).toBe(
      `aws --region eu-west-1 autoscaling set-instance-health --instance-id ${SELF} --health-status Unhealthy --no-should-respect-grace-period`);
    expect(calls.join('\n')).not.toContain('signal-resource');
  });
});

/** The settings as the environment file gives them to start and check. */
const ENV = {
  NAT_ENI_ID: 'eni-0123456789abcdef0', NAT_VPC_CIDRS: '10.0.0.0/16 100.64.0.0/16', NAT_STACK_NAME: 'NatStack', NAT_RESOURCE: 'NatAsg1234',
  NAT_METRIC_NAMESPACE: 'NatInstance/eni-0123456789abcdef0', NAT_METRIC_DIMENSION: 'NetworkInterfaceId', NAT_HEARTBEAT_METRIC: 'Heartbeat',
  NAT_CONNTRACK_METRIC: 'ConntrackUsage', NAT_ALLOWANCE_METRIC: 'AllowanceExceeded', NAT_CHECK_PERIOD: '60', NAT_CHECK_ACCURACY: '1',
  NAT_HANDOFF_ADDRESS: '', NAT_HANDOFF_PORT: '', NAT_HANDOFF_METRIC: '', NAT_HANDOFF_DIMENSION: '',
};

/** Reads an environment file as systemd's EnvironmentFile= does, for the values this script writes: KEY="VALUE" lines. */
function parseEnvironmentFile(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter(Boolean).map((line) => {
    const match = /^([A-Z_]+)="([^"\\]*)"$/.exec(line);
    if (!match) {
      throw new Error(`not a quoted assignment: ${JSON.stringify(line)}`);
    }
    return [match[1], match[2]];
  }));
}

describe('nat-bootstrap.sh with more than one address on the interface (publicIpsPerNat)', () => {
  let host: Host;
  beforeEach(() => { host = makeHost(); });
  afterEach(() => fs.rmSync(host.dir, { recursive: true, force: true }));
  const natCalls = (calls: string[]) => calls.filter((c) => c.startsWith('configure-nat.sh'));

  test('each new flow leaves with the next address: setup and every check pass them all, in metadata order', () => {
    host.setImds(`network/interfaces/macs/${MAC}/local-ipv4s`, '10.0.0.9\n10.0.0.19');
    fs.writeFileSync(path.join(host.state, 'ens6-addresses'), '10.0.0.9 10.0.0.19');
    const setup = host.run(SETUP);
    expect(setup.status).toBe(0);
    const sources = '--source-address 10.0.0.9 --source-address 10.0.0.19';
    expect(natCalls(setup.calls)).toEqual([`configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 ${sources} --egress-interface ens6`]);
    const check = host.run(['check'], ENV);
    expect(check.status).toBe(0);
    expect(natCalls(check.calls)).toEqual([`configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 ${sources} --egress-interface ens6 --check`]);
  });

  test('one address: masquerade, as ever, with no --source-address', () => {
    const setup = host.run(SETUP);
    expect(natCalls(setup.calls)).toEqual(['configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 --egress-interface ens6']);
  });

  test('a secondary address the OS never brings up fails the setup after the wait, naming it', () => {
    host.setImds(`network/interfaces/macs/${MAC}/local-ipv4s`, '10.0.0.9\n10.0.0.19');
    const result = host.run(SETUP, { NAT_WAIT_SECONDS: '3' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('nat-bootstrap.sh: error: 10.0.0.19 of eni-0123456789abcdef0 is not on ens6 after 3s');
    expect(natCalls(result.calls)).toEqual([]);
    // Bounded by count, a second apart: three waits for the address (one more is the route's).
    expect(result.calls.filter((c) => c === 'sleep 1').length).toBeGreaterThanOrEqual(3);
    expect(result.calls.filter((c) => c === 'sleep 1').length).toBeLessThanOrEqual(4);
  });

  test.each(['10.0.0.9\n10.0.0.19; reboot', '10.0.0.9\n10.0.0.019', '10.0.0.9\n$(touch MARKER)'])('a hostile metadata answer %j is refused before configure-nat.sh runs', (answer) => {
    host.setImds(`network/interfaces/macs/${MAC}/local-ipv4s`, answer);
    fs.writeFileSync(path.join(host.state, 'ens6-addresses'), '10.0.0.9 10.0.0.19');
    const result = host.run(SETUP);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('nat-bootstrap.sh: error: instance metadata local-ipv4s of eni-0123456789abcdef0: got');
    expect(natCalls(result.calls)).toEqual([]);
    expect(fs.existsSync(path.join(host.dir, MARKER))).toBe(false);
  });
});

describe('nat-bootstrap.sh with the connection-state handoff', () => {
  const HANDOFF = ['--handoff-address', '10.0.0.9', '--handoff-port', String(HANDOFF_PORT), '--handoff-metric', METRIC.handoffReady, '--handoff-dimension', HANDOFF_INSTANCE_DIMENSION];
  const FLOWS = 'tcp 10.0.16.11 40000 198.51.100.20 443 40001 300 ESTABLISHED\nudp 10.0.16.12 5353 198.51.100.20 53 5353 25 replied\n';
  let host: Host;
  beforeEach(() => { host = makeHost(); });
  afterEach(() => fs.rmSync(host.dir, { recursive: true, force: true }));
  const handoffCalls = (calls: string[]) => calls.filter((c) => /^(dnf|conntrack-handoff\.sh|configure-nat\.sh)/.test(c) || c.includes('put-metric-data'))
    .map((c) => c.replace(/ --(out|in|known) \S+/g, (m) => m.replace(/\S+$/, 'FILE')));

  test('takes the predecessor\'s state before the interface, and what it opens until the interface comes, then configures NAT, removes the handoff table, and serves its own', () => {
    fs.writeFileSync(path.join(host.state, 'handoff-flows'), FLOWS);
    // The controller attaches the interface after two more looks.
    host.failTimes('imds-eni', 2);
    const result = host.run([...SETUP, ...HANDOFF], { NAT_HANDOFF_FOLLOW_SECONDS: '1' });
    expect(result).toMatchObject({ status: 0 });
    const pass = ['conntrack-handoff.sh pull --from 10.0.0.9 --port 7460 --seconds 5 --out FILE', 'conntrack-handoff.sh import --nat-address 10.0.0.9 --in FILE --known FILE'];
    expect(handoffCalls(result.calls)).toEqual([
      'dnf install -y --setopt=install_weak_deps=False nftables conntrack-tools',
      'conntrack-handoff.sh pull --from 10.0.0.9 --port 7460 --out FILE',
      'conntrack-handoff.sh import --nat-address 10.0.0.9 --in FILE --known FILE',
      `conntrack-handoff.sh ready --from 10.0.0.9 --port 7460 --instance-id ${SELF} --flows 2`,
      // Until the interface arrives: the flows opened since, each pass creating only new ones.
      ...pass, ...pass,
      'configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 --egress-interface ens6',
      'conntrack-handoff.sh finish',
      HEARTBEAT, loadMetrics(87, 7),
    ]);
    // Every pass comes before any look at the interface's route: this instance has no interface yet.
    expect(result.calls.map((c, i) => (c.startsWith('conntrack-handoff.sh pull') ? i : -1)).filter((i) => i >= 0).pop())
      .toBeLessThan(indexOf(result.calls, /^ip -4 route show default/));
    expect(result.stderr).toContain('followed the predecessor\'s flows in 2 more passes until the interface arrived');
    const units = path.join(host.etc, 'systemd', 'system');
    // Served to this NAT's own subnet only.
    expect(fs.readFileSync(path.join(units, 'nat-handoff.socket'), 'utf8')).toMatch(/^ListenStream=7460\nAccept=yes\nMaxConnections=4\n.*\nIPAddressAllow=10\.0\.0\.0\/24\nIPAddressDeny=any$/m);
    expect(fs.readFileSync(path.join(units, 'nat-handoff@.service'), 'utf8')).toContain(
      `ExecStart=${path.join(host.dir, 'opt')}/conntrack-handoff.sh serve --nat-address 10.0.0.9 --ready-hook ${path.join(host.dir, 'opt')}/handoff-ready\nStandardInput=socket\nStandardOutput=socket\n`);
    expect(fs.readFileSync(path.join(host.dir, 'opt', 'handoff-ready'), 'utf8')).toBe(`#!/usr/bin/env bash\nexec ${path.join(host.dir, 'opt')}/nat-bootstrap.sh handoff-ready "$@"\n`);
    expect(result.calls).toContain('systemctl enable --now nat-handoff.socket');
  });

  test.each<[string, (h: Host) => void, RegExp, boolean]>([
    ['no predecessor answers', () => undefined, /no handoff: no connection state from 10\.0\.0\.9:7460/, false],
    ['the packages cannot be installed before the interface', (h) => { fs.writeFileSync(path.join(h.state, 'handoff-flows'), FLOWS); h.failTimes('dnf', 1); }, /no handoff: cannot install nftables conntrack-tools before the interface arrives/, false],
    ['the import fails', (h) => { fs.writeFileSync(path.join(h.state, 'handoff-flows'), FLOWS); h.failTimes('handoff-import', 1); }, /no handoff: the import of 2 flows failed/, true],
    ['the predecessor does not acknowledge ready', (h) => { fs.writeFileSync(path.join(h.state, 'handoff-flows'), FLOWS); h.failTimes('handoff-ready', 1); }, /took 2 flows, but 10\.0\.0\.9:7460 did not acknowledge ready/, true],

  ])('%s: logged, and the NAT comes up as without the handoff', (_name, arrange, logged, finishes) => {
    arrange(host);
    const result = host.run([...SETUP, ...HANDOFF]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(logged);
    expect(result.calls).toContain('configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 --egress-interface ens6');
    // Once an import may have loaded the handoff table, it is removed after the NAT's rules are in.
    expect(result.calls.includes('conntrack-handoff.sh finish')).toBe(finishes);
    expect(result.calls.filter((c) => c.includes('set-instance-health'))).toEqual([]);
  });

  test('a finish that fails (the NAT\'s rules missing) fails the setup and reports the instance', () => {
    fs.writeFileSync(path.join(host.state, 'handoff-flows'), FLOWS);
    host.failTimes('handoff-finish', 1);
    const result = host.run([...SETUP, ...HANDOFF]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('conntrack-handoff.sh finish failed after configure-nat.sh');
    expect(result.calls).toContain(`aws --region eu-west-1 autoscaling set-instance-health --instance-id ${SELF} --health-status Unhealthy --no-should-respect-grace-period`);
    expect(result.calls.filter((c) => c.includes('--metric-name Heartbeat'))).toEqual([]);
  });

  const READY_ENV = { ...ENV, NAT_HANDOFF_ADDRESS: '10.0.0.9', NAT_HANDOFF_PORT: String(HANDOFF_PORT), NAT_HANDOFF_METRIC: METRIC.handoffReady, NAT_HANDOFF_DIMENSION: HANDOFF_INSTANCE_DIMENSION };

  test('handoff-ready publishes HandoffReady for the interface and the replacement, and never reports this NAT', () => {
    const result = host.run(['handoff-ready', 'i-0123456789abcdef0', '1011'], READY_ENV);
    expect(result.status).toBe(0);
    expect(awsCalls(result.calls)).toEqual([
      'aws --region eu-west-1 cloudwatch put-metric-data --namespace NatInstance/eni-0123456789abcdef0 --metric-name HandoffReady ' +
        '--dimensions NetworkInterfaceId=eni-0123456789abcdef0,InstanceId=i-0123456789abcdef0 --value 1011 --unit Count',
    ]);
  });

  test.each<[string, string[], Record<string, string>, string]>([
    ['a command for an instance ID', ['i-$(reboot)', '1'], READY_ENV, "handoff-ready INSTANCE_ID: got 'i-$(reboot)'; expected an instance ID"],
    ['a negative count', ['i-0123456789abcdef0', '-1'], READY_ENV, "handoff-ready FLOWS: got '-1'; expected a count from 0 to 9999999"],
    ['one argument', ['i-0123456789abcdef0'], READY_ENV, 'handoff-ready takes INSTANCE_ID FLOWS; got 1 arguments'],
    ['a NAT without the handoff', ['i-0123456789abcdef0', '1'], ENV, 'handoff-ready: this NAT has no handoff settings'],
    ['a tampered port', ['i-0123456789abcdef0', '1'], { ...READY_ENV, NAT_HANDOFF_PORT: '65536' }, "NAT_HANDOFF_PORT: got '65536'; expected a TCP port from 1 to 65535"],
  ])('handoff-ready refuses %s before any call', (_name, args, env, message) => {
    const result = host.run(['handoff-ready', ...args], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`nat-bootstrap.sh: error: ${message}`);
    expect(result.calls).toEqual([]);
  });

  test.each([
    [['--handoff-address', '10.0.0.9']],
    [HANDOFF.slice(0, 6)],
  ])('handoff settings only in part (%j) are refused, naming all four', (partial) => {
    const result = host.run([...SETUP, ...partial]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--handoff-address, --handoff-port, --handoff-metric and --handoff-dimension go together (the connection-state handoff): give all four or none');
    expect(result.calls).toEqual([]);
  });

  test.each([
    ['--handoff-address', ['10.0.0.256', '10.0.0', '010.0.0.9', '10.0.0.9; reboot', '10.0.0.9/32']],
    ['--handoff-port', ['0', '65536', '07460', '-1', '7460 ']],
    ['--handoff-metric', ['Handoff-Ready', '1Handoff']],
    ['--handoff-dimension', ['Instance Id', 'Instance$Id']],
  ])('%s of the wrong form is refused before any call', (option, values) => {
    for (const value of values) {
      const args = [...SETUP, ...HANDOFF.map((a, i) => (HANDOFF[i - 1] === option ? value : a))];
      const result = host.run(args);
      expect({ value, status: result.status, calls: result.calls }).toEqual({ value, status: 1, calls: [] });
      expect(result.stderr).toContain(`${option}: got`);
    }
  });
});

describe('nat-bootstrap.sh environment file', () => {
  let host: Host;
  beforeEach(() => { host = makeHost(); });
  afterEach(() => fs.rmSync(host.dir, { recursive: true, force: true }));

  test('holds every setting, each quoted, and is what start reads back', () => {
    expect(host.run(SETUP).status).toBe(0);
    const settings = parseEnvironmentFile(fs.readFileSync(path.join(host.etc, 'nat-instance', 'nat-instance.env'), 'utf8'));
    expect(settings).toEqual(ENV);
    const { status, calls } = host.run(['start'], settings);
    expect(status).toBe(0);
    expect(calls).toContain('configure-nat.sh --vpc-cidr 10.0.0.0/16 --vpc-cidr 100.64.0.0/16 --egress-interface ens6');
  });
});

/** Each setting: its option (setup), its variable (start and check; ENV holds a valid value), and values of a wrong form for it alone. */
const SETTINGS: Array<[option: string, variable: keyof typeof ENV, wrongForms: string[]]> = [
  ['--eni-id', 'NAT_ENI_ID', WRONG_FORMS.eni],
  ['--vpc-cidr', 'NAT_VPC_CIDRS', ['010.0.0.0/16', '10.256.0.0/16', '0.0.0.0/0', '10.0.0.0/7', '10.0.0.0/33', '10.0.0.1/16', '10.0.0.0/016', '10.0.0/16', '10.0.0.0', '10.0.0.0/16/16']],
  ['--stack-name', 'NAT_STACK_NAME', WRONG_FORMS.stack],
  ['--resource', 'NAT_RESOURCE', WRONG_FORMS.resource],
  ['--metric-namespace', 'NAT_METRIC_NAMESPACE', ['N'.repeat(256), 'NatInstance/eni-0123456789abcdef0,Other']],
  ['--metric-dimension', 'NAT_METRIC_DIMENSION', ['1Network', 'Network-Interface', 'N'.repeat(65)]],
  ['--heartbeat-metric', 'NAT_HEARTBEAT_METRIC', ['Heart_beat', '9Heartbeat']],
  ['--conntrack-metric', 'NAT_CONNTRACK_METRIC', ['Conntrack.Usage']],
  ['--allowance-metric', 'NAT_ALLOWANCE_METRIC', ['Allowance/Exceeded']],
  ['--check-period', 'NAT_CHECK_PERIOD', ['5', '10000', '060', '-60', '6e1', '0x3c']],
  ['--check-accuracy', 'NAT_CHECK_ACCURACY', ['0', '1000', '01', '+1']],
];

interface Hostile { option: string; variable: keyof typeof ENV; what: string; value: string }
const HOSTILE_SETTINGS: Hostile[] = SETTINGS.flatMap(([option, variable, wrongForms]) =>
  hostileValues(ENV[variable].split(' ')[0], wrongForms).map(([what, value]) => ({ option, variable, what, value })));

/** Refused before anything runs: a message naming the setting on one printable line, no call, no file, no command. */
function expectRefused(host: Host, result: ReturnType<Host['run']>, name: string) {
  expect(result.status).toBe(1);
  expect(result.stderr).toContain(name);
  expect(result.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^nat-bootstrap\.sh: error: /)]);
  expect(printableLines(result.stderr)).toBe(true);
  expect(result.calls).toEqual([]);
  expect(fs.existsSync(path.join(host.dir, MARKER))).toBe(false);
  expect(fs.existsSync(path.join(host.etc, 'nat-instance'))).toBe(false);
  expect(fs.existsSync(path.join(host.etc, 'systemd'))).toBe(false);
}

/** One host for many refusals: each leaves nothing behind, or its test fails. */
function refusingHost(): () => Host {
  let host: Host;
  beforeAll(() => { host = makeHost(); host.addCommand('nft'); });
  afterEach(() => {
    for (const written of [MARKER, 'etc/nat-instance', 'etc/systemd']) {
      fs.rmSync(path.join(host.dir, written), { recursive: true, force: true });
    }
  });
  afterAll(() => fs.rmSync(host.dir, { recursive: true, force: true }));
  return () => host;
}

describe(`nat-bootstrap.sh setup refuses each of ${HOSTILE_SETTINGS.length} hostile option values`, () => {
  const current = refusingHost();

  test.each(HOSTILE_SETTINGS)('$option with $what', ({ option, value }) => {
    // In a UTF-8 locale, where a look-alike is one character: matched byte by byte all the same.
    const host = current();
    expectRefused(host, host.run(withArg(option, value), { LC_ALL: 'C.UTF-8' }), option);
  });
});

// start and check read the environment file, which may have been tampered with: checked as the options are,
// by the same function, so the modes take turns. Only the values start and check need must be there: an
// empty stack name or resource is no error for them.
const HOSTILE_ENV = HOSTILE_SETTINGS
  .filter(({ variable, value }) => value !== '' || !['NAT_STACK_NAME', 'NAT_RESOURCE'].includes(variable))
  .map((hostile, i) => ({ mode: i % 2 === 0 ? 'start' : 'check', ...hostile }));

describe(`nat-bootstrap.sh start and check refuse each of ${HOSTILE_ENV.length} hostile environment values`, () => {
  const current = refusingHost();

  test.each(HOSTILE_ENV)('$mode: $variable with $what', ({ mode, variable, value }) => {
    const host = current();
    expectRefused(host, host.run([mode], { ...ENV, [variable]: value, LC_ALL: 'C.UTF-8' }), variable);
  });
});

describe('the waits and retries the scripts take from the environment are whole numbers, checked before any arithmetic', () => {
  const current = refusingHost();

  test.each(['NAT_RETRY_ATTEMPTS', 'NAT_RETRY_BASE_SECONDS', 'NAT_WAIT_SECONDS', 'NAT_ENI_WAIT_SECONDS'])('%s', (knob) => {
    const host = current();
    // (An empty one is the default.)
    for (const value of [`a[$(touch ${MARKER})]`, '1+1', ' 5', '-1', '100000']) {
      expectRefused(host, host.run(['start'], { ...ENV, [knob]: value }), knob);
    }
  });
});

/** [metadata path, valid answer, answers of a wrong form for it alone]. */
const METADATA: Array<[string, string, string[]]> = [
  ['instance-id', SELF, WRONG_FORMS.instance],
  ['placement/region', 'eu-west-1', WRONG_FORMS.region],
  [`network/interfaces/macs/${MAC}/subnet-ipv4-cidr-block`, '10.0.0.0/24', WRONG_FORMS.subnet],
  [`network/interfaces/macs/${MAC}/interface-id`, 'eni-0123456789abcdef0', WRONG_FORMS.eni],
  ['autoscaling/target-lifecycle-state', 'InService', ['inservice', 'InService:Wait:Wait', 'Warmed', 'In Service']],
];
const hostileAnswers = (metadataPath: string) => {
  const [, valid, wrongForms] = METADATA.find(([p]) => p === metadataPath)!;
  return hostileValues(valid, wrongForms).map(([what, answer]) => ({ what, answer }));
};
const IDENTITY = ['instance-id', 'placement/region'].flatMap((p) => hostileAnswers(p).map((a) => ({ metadataPath: p, ...a })));
const SUBNET = hostileAnswers(METADATA[2][0]);
const INTERFACE = hostileAnswers(METADATA[3][0]);
const LIFECYCLE = hostileAnswers(METADATA[4][0]);

describe(`nat-bootstrap.sh checks each of ${IDENTITY.length + SUBNET.length + 2 * INTERFACE.length + LIFECYCLE.length} hostile instance metadata answers before using it`, () => {
  let host: Host;
  beforeEach(() => { host = makeHost(); host.addCommand('nft'); });
  afterEach(() => {
    expect(fs.existsSync(path.join(host.dir, MARKER))).toBe(false);
    fs.rmSync(host.dir, { recursive: true, force: true });
  });

  test.each(IDENTITY)('$metadataPath: $what is an error before anything is written or called', ({ metadataPath, answer }) => {
    host.setImds(metadataPath, answer);
    const { status, stderr, calls } = host.run(SETUP, { LC_ALL: 'C.UTF-8' });
    expect(status).toBe(1);
    expect(stderr).toContain(`nat-bootstrap.sh: error: instance metadata ${metadataPath}: got '`);
    expect(printableLines(stderr)).toBe(true);
    // Neither signal nor health report: they would carry the answer.
    expect(awsCalls(calls)).toEqual([]);
    expect(fs.existsSync(path.join(host.etc, 'nat-instance'))).toBe(false);
  });

  test.each(SUBNET)('subnet-ipv4-cidr-block: $what is an error before any arithmetic or route', ({ answer }) => {
    host.setImds(METADATA[2][0], answer);
    const { status, stderr, calls } = host.run(['start'], { ...ENV, LC_ALL: 'C.UTF-8' });
    expect(status).toBe(1);
    expect(stderr).toContain(`nat-bootstrap.sh: error: instance metadata subnet-ipv4-cidr-block of ${MAC}: got '`);
    expect(stderr).toContain("expected an IPv4 subnet from /16 to /28");
    expect(printableLines(stderr)).toBe(true);
    expect(calls.filter((c) => /^(ip route replace|configure-nat)/.test(c))).toEqual([]);
    expect(awsCalls(calls)).toEqual([`aws --region eu-west-1 autoscaling set-instance-health --instance-id ${SELF} --health-status Unhealthy --no-should-respect-grace-period`]);
  });

  test.each(INTERFACE)('interface-id: $what is no interface of this instance: check stands by', ({ answer }) => {
    host.setImds(METADATA[3][0], answer);
    const { status, stderr, calls } = host.run(['check'], ENV);
    expect(status).toBe(0);
    expect(stderr).toContain(`standing by: eni-0123456789abcdef0 is not attached to ${SELF}`);
    expect(calls.filter((c) => /^(ip route replace|configure-nat|aws)/.test(c))).toEqual([]);
  });

  test.each(INTERFACE)('interface-id: $what is no interface of this instance: setup fails without a route', ({ answer }) => {
    host.setImds(METADATA[3][0], answer);
    const { status, stderr, calls } = host.run(SETUP, { NAT_ENI_WAIT_SECONDS: '0' });
    expect(status).toBe(1);
    expect(stderr).toContain('eni-0123456789abcdef0 is not attached to this instance after 0s');
    expect(calls.filter((c) => /^(ip route replace|configure-nat)/.test(c))).toEqual([]);
  });

  test.each(LIFECYCLE)('target-lifecycle-state: $what is not trusted: logged, and no heartbeat is published', ({ answer }) => {
    host.setRoutes(['default via 10.0.0.1 dev ens6 metric 10']);
    host.setImds(METADATA[4][0], answer);
    const { status, stderr, calls } = host.run(['check'], { ...ENV, LC_ALL: 'C.UTF-8' });
    expect(status).toBe(0);
    expect(stderr).toContain("nat-bootstrap.sh: no heartbeat: instance metadata autoscaling/target-lifecycle-state: got '");
    expect(stderr).toContain('expected an Auto Scaling lifecycle state');
    expect(printableLines(stderr)).toBe(true);
    expect(stderr.split('\n').filter(Boolean).every((line) => line.startsWith('nat-bootstrap.sh: '))).toBe(true);
    expect(calls).not.toContain(HEARTBEAT);
  });
});
