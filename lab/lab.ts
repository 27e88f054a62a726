import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HANDOFF_PORT } from '../assets/contract';

/**
 * Drives lab/netns-lab.sh, a simulated VPC in network namespaces (see that script), for the
 * data-plane tests and the bench.
 */

export const ROOT = path.join(__dirname, '..');
export const LAB_SCRIPT = path.join(ROOT, 'lab', 'netns-lab.sh');
export const CONFIGURE_NAT = path.join(ROOT, 'assets', 'boot', 'configure-nat.sh');
export const CONNTRACK_HANDOFF = path.join(ROOT, 'assets', 'boot', 'conntrack-handoff.sh');
export const INTERNET_HOST = '198.51.100.20';
export const NAT_ADDRESS = '10.0.0.10';
export const VPC_CIDR = '10.0.0.0/16';

/** Commands run in the namespaces find nft, iptables and conntrack in sbin as well. */
export const FULL_PATH = [...new Set([...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'])].join(':');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { env: { PATH: FULL_PATH }, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * Why the data-plane tests cannot run here, or undefined when they can: they need root, network
 * namespaces, nft, iptables and conntrack.
 */
export function labUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'the data-plane tests need root (network namespaces)';
  }
  for (const command of ['ip', 'nft', 'iptables', 'iptables-restore', 'iptables-save', 'conntrack']) {
    if (!which(command)) {
      return `the data-plane tests need ${command} on PATH (apt-get install iproute2 nftables iptables conntrack)`;
    }
  }
  const probe = `natlab-${process.pid}-probe`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (add.status !== 0) {
    return `cannot create a network namespace: ${add.stderr.trim()}`;
  }
  return undefined;
}

/**
 * Runs "$@" with room for 200,000 open files: a client or server holding 100,000 flows needs one
 * descriptor each, and a login's usual limit (often 1,024 or 20,000) would fail it with EMFILE
 * before the NAT is tested at all. Root may raise its hard limit up to fs.nr_open; where it may
 * not, the soft limit goes as high as the hard one allows.
 */
const WITH_FD_LIMIT = 'h=$(ulimit -Hn); if [ "$h" != unlimited ] && [ "$h" -lt 200000 ]; then ulimit -Hn 200000 2>/dev/null || true; fi; ' +
  'ulimit -n "$(ulimit -Hn)" && exec "$@"';

/** The fields of a kernel slab cache's line in /proc/slabinfo, machine-wide; undefined without one. */
export function slabFields(cache: string): string[] | undefined {
  return fs.readFileSync('/proc/slabinfo', 'utf8').split('\n').find((l) => l.startsWith(`${cache} `))?.split(/\s+/);
}

/** Active objects of a kernel slab cache (its second field). */
function slabObjects(cache: string): number {
  const fields = slabFields(cache);
  return fields ? Number(fields[1]) : 0;
}

/** Orphaned TCP sockets, machine-wide: past tcp_max_orphans the kernel resets new connections. */
function orphanedSockets(): number {
  const match = /orphan (\d+)/.exec(fs.readFileSync('/proc/net/sockstat', 'utf8'));
  return match ? Number(match[1]) : 0;
}

/**
 * Waits (at most `maxSeconds`) until what earlier labs left in the kernel is gone: orphaned
 * sockets, and the sockets and connection-tracking entries of deleted namespaces, which the
 * kernel frees in the background. A load test started meanwhile competes with that cleanup for
 * the CPU, and lost a few hundred of 60,000 connections to time-outs that way. Returns whether
 * it settled.
 */
export function waitForKernelToSettle(maxSeconds = 60, report: (line: string) => void = () => undefined): boolean {
  const busy = () => orphanedSockets() > 5000 || slabObjects('TCP') + slabObjects('nf_conntrack') > 20_000;
  const deadline = Date.now() + maxSeconds * 1000;
  if (busy()) {
    report(`waiting for the kernel to free earlier runs' sockets and connection-tracking entries (${orphanedSockets()} orphans, ` +
      `${slabObjects('TCP')} TCP sockets, ${slabObjects('nf_conntrack')} entries)\n`);
  }
  while (busy() && Date.now() < deadline) {
    spawnSync('sleep', ['1']);
  }
  return !busy();
}

/** Resolves once a child prints `text` on a stream; rejects if it exits first or takes longer. */
function untilPrinted(child: ChildProcess, stream: 'stdout' | 'stderr', text: string, timeoutMs: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not print '${text}' in ${timeoutMs / 1000} s`)), timeoutMs);
    child[stream]!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

/** One lab: its namespaces, its internet server, and helpers to run things on its hosts. */
export class Lab {
  readonly name: string;
  readonly dir: string;
  /** The NAT host's /run/nat-instance, where configure-nat.sh records the rules it applied. */
  readonly runDir: string;
  private readonly servers: ChildProcess[] = [];

  constructor(suffix: string) {
    this.name = `natlab-${process.pid}-${suffix}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.name}-`));
    this.runDir = path.join(this.dir, 'run');
  }

  /** Removes leftovers of crashed runs, then builds the namespaces. */
  up(): void {
    // down() removes the folder: a lab brought up again needs it back.
    fs.mkdirSync(this.dir, { recursive: true });
    this.script('cleanup-stale');
    this.script('up', this.name);
  }

  /** Tears everything down: processes, namespaces, files. Safe to call twice. */
  down(): void {
    for (const server of this.servers) {
      server.kill('SIGKILL');
    }
    this.script('down', this.name);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The NAT host as a fresh instance boots: no rules, forwarding off, no connection state, empty /run. */
  reset(): void {
    this.script('reset', this.name);
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }

  script(...args: string[]): RunResult {
    const result = spawnSync('bash', [LAB_SCRIPT, ...args], { env: { ...process.env, PATH: FULL_PATH }, encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) {
      throw new Error(`netns-lab.sh ${args.join(' ')} failed: ${result.stderr}`);
    }
    return result;
  }

  /** Runs a command on a host, bounded in time. */
  run(host: string, command: string[], options: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): RunResult {
    const result = spawnSync('ip', ['netns', 'exec', `${this.name}-${host}`, ...command], {
      env: { ...process.env, PATH: FULL_PATH, ...options.env },
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 30_000,
      input: options.input,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  /**
   * Runs configure-nat.sh on the NAT host (or on nat2, the replacement) exactly as shipped. Its
   * record goes to this lab's runDir, one per host: the namespaces share the machine's /run.
   */
  configureNat(args: string[] = ['--vpc-cidr', VPC_CIDR], env: Record<string, string> = {}, host = 'nat'): RunResult {
    const runDir = host === 'nat' ? this.runDir : `${this.runDir}-${host}`;
    return this.run(host, ['bash', CONFIGURE_NAT, ...args], { env: { NAT_RUN_DIR: runDir, ...env } });
  }

  /**
   * Starts a long-running lab tool (lab/SCRIPT) on a host, killed with the lab, and waits until it
   * prints `until` on the stream `from`. Its standard error is piped, or passed through.
   */
  async startTool(host: string, script: string, args: string[],
    { until = 'listening', from = 'stdout', timeoutMs = 15_000, stderr = 'pipe' }: { until?: string; from?: 'stdout' | 'stderr'; timeoutMs?: number; stderr?: 'pipe' | 'inherit' } = {}): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', `${this.name}-${host}`, 'sh', '-c', WITH_FD_LIMIT, 'tool', 'node', '--import', 'tsx',
      path.join(ROOT, 'lab', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', stderr] });
    this.servers.push(child);
    await untilPrinted(child, from, until, timeoutMs, `${script} on ${host}`);
    return child;
  }

  /**
   * Serves the NAT host's connection state, one conntrack-handoff.sh serve per connection, as the
   * socket-activated service does on an instance (systemd's Accept=yes); the replacement reaches
   * it at the interface's address while the host holds it.
   */
  async serveHandoff(readyHook: string): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', `${this.name}-nat`, 'systemd-socket-activate', '--accept', '--inetd', '-l', `0.0.0.0:${HANDOFF_PORT}`,
      'bash', CONNTRACK_HANDOFF, 'serve', '--nat-address', NAT_ADDRESS, '--ready-hook', readyHook], { env: { ...process.env, PATH: FULL_PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
    this.servers.push(child);
    await untilPrinted(child, 'stderr', 'Listening on', 10_000, 'systemd-socket-activate on nat');
    return child;
  }

  /** Starts peer-server on a host and waits until it listens; `workers` processes share the port. */
  async startServer(host: string, port: number, log: string, workers = 1): Promise<void> {
    await this.startTool(host, 'peer-server.ts', ['--port', String(port), '--log', log, '--workers', String(workers)], { stderr: 'inherit' });
  }

  /** What reached a server: one entry per connection. */
  serverLog(log: string): Array<{ token: string; address: string; port: number }> {
    if (!fs.existsSync(log)) {
      return [];
    }
    return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  }

  /** Runs peer-client on a host; resolves with its report. */
  client(host: string, args: string[], timeoutMs = 30_000): Promise<ClientReport> {
    const client = this.spawnClient(host, args, timeoutMs);
    void client.release();
    return client.report;
  }

  /**
   * Starts peer-client on a host. With --hold it keeps its connections after reporting, until
   * release() closes its standard input; the time-out kills it in any case.
   */
  spawnClient(host: string, args: string[], timeoutMs = 30_000): { report: Promise<ClientReport>; release(): Promise<void> } {
    const child = spawn('ip', ['netns', 'exec', `${this.name}-${host}`, 'sh', '-c', WITH_FD_LIMIT, 'client',
      'node', '--import', 'tsx', path.join(ROOT, 'lab', 'peer-client.ts'), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const report = new Promise<ClientReport>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line) {
          resolve(JSON.parse(line));
        }
      });
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      child.on('close', () => {
        clearTimeout(timer);
        reject(new Error(`peer-client on ${host} printed no report: ${stdout} ${stderr}`));
      });
    });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    report.catch(() => undefined);
    return { report, release: () => { child.stdin.end(); return exited; } };
  }

  /**
   * Waits (at most 20 s) until no host has a connection left closing. Resetting the NAT, or
   * deleting the lab, while closing handshakes are in flight strands them as orphaned sockets: a
   * resource of the whole kernel (tcp_max_orphans), which past its limit resets new connections
   * in every namespace, and which takes minutes to drain.
   */
  drain(hosts = ['inet', 'priv1', 'priv2']): void {
    const closing = ['state', 'close-wait', 'state', 'last-ack', 'state', 'fin-wait-1', 'state', 'fin-wait-2', 'state', 'closing'];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const left = hosts.reduce((n, host) => n + this.run(host, ['ss', '-tanH', ...closing]).stdout.split('\n').filter(Boolean).length, 0);
      if (left === 0) {
        return;
      }
      spawnSync('sleep', ['0.2']);
    }
    process.stderr.write('connections were still closing after 20 s\n');
  }

  /** Connection-tracking entries of the NAT host. */
  conntrack(): string[] {
    return this.run('nat', ['conntrack', '-L']).stdout.split('\n').filter(Boolean);
  }
}

export interface ClientReport {
  attempted: number;
  ok: number;
  failed: number;
  mismatched: number;
  seen: Record<string, number>;
  errors: Record<string, number>;
  elapsedMs: number;
  ratePerSec: number;
}

/**
 * A PATH without nft and iptables, plus a folder holding only the named commands: how a host
 * with one backend, or none, looks to the script.
 */
export function pathWith(dir: string, commands: string[]): string {
  const bare = FULL_PATH.split(':').filter((d) => !['nft', 'iptables', 'iptables-restore'].some((c) => fs.existsSync(path.join(d, c))));
  const only = path.join(dir, `only-${commands.join('-') || 'none'}`);
  fs.mkdirSync(only, { recursive: true });
  for (const command of commands) {
    const target = which(command);
    if (!target) {
      throw new Error(`${command} is not installed`);
    }
    const link = path.join(only, command);
    if (!fs.existsSync(link)) {
      fs.symlinkSync(target, link);
    }
  }
  return [only, ...bare].join(':');
}
