import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * The package as a platform team meets it: packed, installed from the tarball into a new
 * `cdk init app` project (today's template, module NodeNext), type-checked, and synthesized, with
 * neither esbuild nor Docker on the PATH. Once with the aws-cdk-lib this repository pins, once
 * with the floor of the peer range.
 */
const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const installed = (name: string) => JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version as string;
const floor = (range: string) => /^\^(\d+\.\d+\.\d+)$/.exec(range)![1];
const npmCli = fs.realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
const npxCli = path.join(path.dirname(npmCli), 'npx-cli.js');
const cdk = path.join(root, 'node_modules', 'aws-cdk', 'bin', 'cdk');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-consumer-'));
/** A PATH with node and nothing else: no esbuild, no Docker, no tool of this repository. */
const bin = path.join(work, 'bin');
const env = { ...process.env, PATH: bin, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
for (const key of Object.keys(env).filter((k) => /^(npm_(package|lifecycle)_|INIT_CWD$|CDK_)/.test(k))) {
  delete (env as Record<string, string | undefined>)[key];
}
const figures: Record<string, unknown> = {};
let tarball: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: Array<{ path: string }> };

function run(command: string, args: string[], cwd: string, timeout = 240_000, extraEnv: Record<string, string> = {}): string {
  const result = spawnSync(command, args, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${result.status ?? result.signal}) in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

function timed<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const value = fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e9];
}

function dirSize(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirSize(full) : entry.isFile() ? fs.statSync(full).size : 0;
  }
  return total;
}

/** Every installed copy of a package below node_modules. */
function copies(dir: string, name: string): string[] {
  const found: string[] = [];
  const walk = (modules: string) => {
    if (!fs.existsSync(modules)) {
      return;
    }
    for (const entry of fs.readdirSync(modules)) {
      const names = entry.startsWith('@') ? fs.readdirSync(path.join(modules, entry)).map((e) => `${entry}/${e}`) : [entry];
      for (const n of names) {
        if (n === name) {
          found.push(path.join(modules, n));
        }
        walk(path.join(modules, n, 'node_modules'));
      }
    }
  };
  walk(path.join(dir, 'node_modules'));
  return found;
}

/** The files git tracks, as they are in the working tree, with this repository's node_modules. */
function copyOfRepository(dir: string): string {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(dir, file));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

beforeAll(() => {
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh')); // npm runs bins and scripts through sh
  // npm pack runs prepack: the full build, which empties dist/ first. It runs in a copy of the
  // repository's files, so that the suites running beside this one keep their dist/.
  const source = copyOfRepository(path.join(work, 'source'));
  const [output, seconds] = timed(() => execFileSync(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', work], { cwd: source, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 64 * 1024 * 1024 }));
  packed = JSON.parse(output.slice(output.indexOf('[')))[0];
  tarball = path.join(work, (packed as unknown as { filename: string }).filename);
  figures.pack = { seconds, tarballBytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.entryCount };
}, 300_000);

afterAll(() => {
  fs.mkdirSync(path.join(root, 'reports'), { recursive: true });
  fs.writeFileSync(path.join(root, 'reports', 'consumer.json'), `${JSON.stringify(figures, null, 2)}\n`);
  if (!process.env.KEEP_CONSUMER) {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('the tarball holds exactly the compiled library with its types, the bundles, the boot scripts, README, LICENSE and API.md', () => {
  const compiled = [
    ...fs.readdirSync(path.join(root, 'lib')).filter((f) => f.endsWith('.ts')).map((f) => `dist/lib/${f.replace(/\.ts$/, '')}`),
    'dist/assets/contract', // the names the library shares with the Lambda and the CLI
    'dist/assets/cidr', // the CIDR arithmetic it shares with the CLI
  ].flatMap((base) => [`${base}.js`, `${base}.d.ts`]);
  const scripts = fs.readdirSync(path.join(root, 'assets', 'boot')).filter((f) => f.endsWith('.sh')).map((f) => `assets/boot/${f}`);
  const expected = [...compiled, ...scripts, 'dist/watchdog/index.js', 'dist/nat-doctor.js', 'README.md', 'LICENSE', 'API.md', 'package.json'];
  expect(packed.files.map((f) => f.path).sort()).toEqual(expected.sort());
  expect(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004/);
  expect(pkg).toMatchObject({ main: 'dist/lib/index.js', types: 'dist/lib/index.d.ts', bin: { 'nat-doctor': 'dist/nat-doctor.js' }, license: 'Apache-2.0' });
  expect(pkg.dependencies ?? {}).toEqual({});
  expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  // The repository's own tests run against exact pins inside the peer range.
  expect(pkg.devDependencies['aws-cdk-lib']).toBe(installed('aws-cdk-lib'));
  expect(pkg.devDependencies.constructs).toBe(installed('constructs'));
});

const variants: Array<[string, string, string]> = [
  ['the pinned aws-cdk-lib', pkg.devDependencies['aws-cdk-lib'], pkg.devDependencies.constructs],
  ['the floor of the peer range', floor(pkg.peerDependencies['aws-cdk-lib']), floor(pkg.peerDependencies.constructs)],
];

describe.each(variants)('installed into a new cdk init app with %s (aws-cdk-lib %s, constructs %s)', (label, cdkVersion, constructsVersion) => {
  const app = path.join(work, `app-${cdkVersion}`, 'platform-egress');

  beforeAll(() => {
    fs.mkdirSync(app, { recursive: true });
    run(process.execPath, [cdk, 'init', 'app', '--language', 'typescript', '--generate-only'], app, 60_000);
    const manifest = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8'));
    // The template's runtime dependencies at the versions under test, and the package; of its dev
    // tools, its TypeScript and type packages. tsx is left out, since it brings esbuild: the
    // template's own tsc compiles the app, and node runs it.
    manifest.dependencies = { 'aws-cdk-lib': cdkVersion, constructs: constructsVersion, 'cdk-nat-instance': `file:${tarball}` };
    const keep = ['typescript', '@types/node', '@types/jest'];
    manifest.devDependencies = Object.fromEntries(Object.entries(manifest.devDependencies as Record<string, string>).filter(([name]) => keep.includes(name)));
    expect(Object.keys(manifest.devDependencies).sort()).toEqual([...keep].sort());
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    fs.writeFileSync(path.join(app, 'lib', 'platform-egress-stack.ts'), `import * as cdk from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { ISelfHealingNat, NatConfigError, SelfHealingNatProvider } from 'cdk-nat-instance';

export class PlatformEgressStack extends cdk.Stack {
  public readonly nats: ISelfHealingNat[];

  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    const natGatewayProvider = new SelfHealingNatProvider({ instanceType: new ec2.InstanceType('t4g.micro'), creditSpecification: ec2.CpuCredits.STANDARD });
    new ec2.Vpc(this, 'Vpc', { natGatewayProvider, maxAzs: 2 });
    natGatewayProvider.connections.allowFrom(ec2.Peer.ipv4('100.64.0.0/16'), ec2.Port.tcp(443));
    this.nats = natGatewayProvider.natInstances;
    this.nats[0].metricConntrackUsage().createAlarm(this, 'ConntrackHigh', { threshold: 80, evaluationPeriods: 3 });
    if (!(new NatConfigError('x', 1, 'y') instanceof Error)) {
      throw new Error('NatConfigError is not an Error');
    }
  }
}
`);
  }, 60_000);

  test('installs with one copy of aws-cdk-lib and constructs, no esbuild, and at most 5 MB of its own', () => {
    const [, seconds] = timed(() => run(process.execPath, [npmCli, 'install', '--prefer-offline', '--no-audit', '--no-fund'], app, 600_000));
    const modules = path.join(app, 'node_modules');
    expect(copies(app, 'aws-cdk-lib')).toEqual([path.join(modules, 'aws-cdk-lib')]);
    expect(copies(app, 'constructs')).toEqual([path.join(modules, 'constructs')]);
    expect(JSON.parse(fs.readFileSync(path.join(modules, 'aws-cdk-lib', 'package.json'), 'utf8')).version).toBe(cdkVersion);
    expect(copies(app, 'esbuild')).toEqual([]);
    expect(fs.readdirSync(modules).filter((n) => n.startsWith('@aws-sdk'))).toEqual([]);
    // What the package adds: itself and whatever it brings in, its peers aside.
    const tree = JSON.parse(run(process.execPath, [npmCli, 'ls', 'cdk-nat-instance', '--all', '--json'], app));
    const own = tree.dependencies['cdk-nat-instance'];
    const brought = (node: { dependencies?: Record<string, unknown> }): string[] => Object.entries(node.dependencies ?? {})
      .filter(([name]) => !['aws-cdk-lib', 'constructs'].includes(name))
      .flatMap(([name, child]) => [name, ...brought(child as { dependencies?: Record<string, unknown> })]);
    expect(brought(own)).toEqual([]);
    const added = dirSize(path.join(modules, 'cdk-nat-instance'));
    expect(added).toBeLessThanOrEqual(5 * 1024 * 1024);
    for (const tool of ['esbuild', 'docker']) {
      expect(spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env }).status).not.toBe(0);
    }
    figures[label] = { ...(figures[label] as object), aws_cdk_lib: cdkVersion, installSeconds: seconds, addedBytes: added };
  }, 600_000);

  test('type-checks with the template\'s own TypeScript and tsconfig (module NodeNext) and synthesizes a VPC with the provider', () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(app, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.compilerOptions).toMatchObject({ module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true });
    const tsc = path.join(app, 'node_modules', 'typescript', 'bin', 'tsc');
    const [, checkSeconds] = timed(() => run(process.execPath, [tsc, '-p', '.'], app, 300_000));
    figures.typescript = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
    run(process.execPath, [tsc, '-p', '.', '--noEmit', 'false', '--outDir', 'build'], app, 300_000);
    const outdir = path.join(app, 'cdk.out');
    const [, synthSeconds] = timed(() => run(process.execPath, [path.join('build', 'bin', 'platform-egress.js')], app, 120_000, { CDK_OUTDIR: outdir }));
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'PlatformEgressStack.template.json'), 'utf8'));
    const resources = Object.values(template.Resources) as Array<{ Type: string; Properties: Record<string, unknown> }>;
    const count = (type: string) => resources.filter((r) => r.Type === type).length;
    expect([count('AWS::AutoScaling::AutoScalingGroup'), count('AWS::EC2::NetworkInterface'), count('AWS::EC2::NatGateway'), count('AWS::CloudWatch::Alarm')]).toEqual([2, 2, 0, 1]);
    const lt = resources.find((r) => r.Type === 'AWS::EC2::LaunchTemplate')!.Properties.LaunchTemplateData as Record<string, unknown>;
    expect(lt).toMatchObject({ InstanceType: 't4g.micro', CreditSpecification: { CpuCredits: 'standard' } });
    // The watchdog's code is the prebuilt bundle, staged as an asset: nothing was bundled here.
    const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function' && (r.Properties.Handler === 'index.handler'))!;
    const assetKey = (fn.Properties.Code as { S3Key: string }).S3Key;
    const assetDir = path.join(outdir, `asset.${assetKey.replace(/\.zip$/, '')}`);
    expect(fs.readdirSync(assetDir)).toEqual(['index.js']);
    expect(fs.readFileSync(assetDir + '/index.js')).toEqual(fs.readFileSync(path.join(app, 'node_modules', 'cdk-nat-instance', 'dist', 'watchdog', 'index.js')));
    figures[label] = { ...(figures[label] as object), typecheckSeconds: checkSeconds, synthSeconds };
  }, 300_000);

  test('npx nat-doctor --help runs from the installed bundle', () => {
    const help = spawnSync(process.execPath, [npxCli, '--no-install', 'nat-doctor', '--help'], { cwd: app, env, encoding: 'utf8', timeout: 60_000 });
    expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: nat-doctor (--stack NAME | --vpc-id VPC_ID)');
  }, 60_000);
});
