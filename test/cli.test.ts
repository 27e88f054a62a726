import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { UsageError, numberOption, parseCommandLine } from '../bin/cli';

/**
 * Every command-line tool of the repository answers --help, refuses what it does not know with
 * its usage and exit status 2, and names the option and the value of a bad number.
 */
const ROOT = path.join(__dirname, '..');
/** Each tool: its file, and the subcommand where it has one. */
const TOOLS: Record<string, string[]> = {
  'npm run cost': ['tools/cost.ts'],
  'npm run diff:offline': ['tools/diff-offline.ts'],
  'npm run build': ['tools/build.ts'],
  'npm run bench': ['lab/bench.ts'],
  'peer-client': ['lab/peer-client.ts'],
  'peer-server': ['lab/peer-server.ts'],
  'nat-doctor': ['bin/nat-doctor.ts'],
  'nat-doctor preflight': ['bin/nat-doctor.ts', 'preflight'],
};

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(file: string, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [file, ...args], { cwd: ROOT, timeout: 60_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the command-line tools', () => {
  // All at once: each starts a Node.js process, and they wait on nothing but the CPU.
  let help: Record<string, Run>;
  let unknown: Record<string, Run>;
  beforeAll(async () => {
    const entries = Object.entries(TOOLS);
    const [helps, unknowns] = await Promise.all([
      Promise.all(entries.map(([, [file, ...args]]) => run(file, ...args, '--help'))),
      Promise.all(entries.map(([, [file, ...args]]) => run(file, ...args, '--no-such-option'))),
    ]);
    help = Object.fromEntries(entries.map(([name], i) => [name, helps[i]]));
    unknown = Object.fromEntries(entries.map(([name], i) => [name, unknowns[i]]));
  }, 120_000);

  test.each(Object.keys(TOOLS))('%s --help prints its usage and exits 0', (name) => {
    expect(help[name]).toMatchObject({ status: 0 });
    expect(help[name].stdout).toMatch(/^Usage: /m);
  });

  test.each(Object.keys(TOOLS))('%s refuses an unknown option with its usage and exit 2', (name) => {
    expect(unknown[name].status).toBe(2);
    expect(unknown[name].stderr).toMatch(/--no-such-option/);
    expect(unknown[name].stderr).toMatch(/Usage: /);
  });

  test.each([
    ['lab/netns-lab.sh', /^Usage: netns-lab\.sh up LAB/m],
    ['lab/demo.sh', /^demo\.sh \(npm run lab\)/m],
    ['.ci/run', /^CI: install the system packages/m],
    ['assets/boot/configure-nat.sh', /^Usage: configure-nat\.sh --vpc-cidr CIDR/m],
    ['assets/boot/load.sh', /load\.sh --region REGION/m],
    ['assets/boot/nat-bootstrap.sh', /nat-bootstrap\.sh setup --eni-id ENI/m],
  ])('bash %s --help prints its usage and exits 0, changing nothing', async (script, usage) => {
    const { stdout } = await promisify(execFile)('bash', [script, '--help'], { cwd: ROOT, timeout: 30_000, env: { ...process.env, NAT_INSTALL_DIR: path.join(ROOT, 'assets', 'boot') } });
    expect(stdout).toMatch(usage);
  });

  test('npm run cost -- --gb-per-month lots names the option and the value as typed', async () => {
    const result = await run('tools/cost.ts', '--gb-per-month', 'lots');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("cost: --gb-per-month: got 'lots'; expected a number from 0 to 1000000000");
  });

  test.each(['', ' ', '0x10', '1e1'])('nat-doctor preflight --elastic-ips %p is refused as typed', async (count) => {
    const result = await run('bin/nat-doctor.ts', 'preflight', '--azs', 'us-east-1a', '--elastic-ips', count);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`nat-doctor: --elastic-ips: got '${count}'; expected a whole number from 0 to 100`);
  });
});

describe('numberOption and parseCommandLine', () => {
  test.each([['lots'], [''], [' '], ['NaN'], ['Infinity'], ['-1'], ['2.5'], ['1e9'], ['0x10']])('--rounds %p is refused, naming the value', (raw) => {
    expect(() => numberOption('rounds', raw, 1, 100)).toThrow(new UsageError(`--rounds: got '${raw}'; expected a whole number from 1 to 100`));
  });

  test('numbers within the range pass, fractions where allowed', () => {
    expect(numberOption('rounds', '5', 1, 100)).toBe(5);
    expect(numberOption('gb', '2.5', 0, 10, false)).toBe(2.5);
  });

  test('an unknown option, or a value where none is taken, is a UsageError', () => {
    expect(() => parseCommandLine('Usage: t', { port: { type: 'string' } }, ['--bogus'])).toThrow(UsageError);
    expect(() => parseCommandLine('Usage: t', { port: { type: 'string' } }, ['stray'])).toThrow(UsageError);
    expect(parseCommandLine('Usage: t', { port: { type: 'string' } }, ['--port', '80'])).toEqual({ port: '80' });
  });
});

describe('npm run build -- --bundles-only', () => {
  // The app's synth rebuilds the watchdog's bundle while other suites synthesize from it; a
  // rebuild that emptied the directory first once failed a suite beside it in CI.
  test('replaces the watchdog bundle in place: a reader polling the directory always finds index.js alone', async () => {
    const dir = path.join(ROOT, 'dist', 'watchdog');
    const seen = new Set<string>();
    let polls = 0;
    let done = false;
    const builds = (async () => {
      for (let i = 0; i < 3; i++) {
        const result = await run('tools/build.ts', '--bundles-only');
        expect(result.status).toBe(0);
      }
    })().finally(() => {
      done = true;
    });
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline) {
      seen.add(fs.readdirSync(dir).join(','));
      polls++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await builds;
    expect(polls).toBeGreaterThan(100);
    expect([...seen]).toEqual(['index.js']);
  }, 90_000);
});
