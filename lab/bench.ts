/**
 * npm run bench: data-plane figures of configure-nat.sh in the simulated VPC, each measured side
 * by side with plain forwarding (the NAT host forwarding with no rules and no connection
 * tracking) in the same run, rounds alternating which mode goes first, reported as medians.
 *
 * - TCP throughput, private host to internet host (iperf3)
 * - new TCP connections per second (peer-client, connect-send-answer-close)
 * - concurrent TCP flows held through the NAT with zero failed connections and zero
 *   connection-tracking drops, in steps up to 50,000 and beyond
 *
 * Prints a table and writes bench-results/bench.json. Needs root, iproute2, nft, conntrack and
 * iperf3. Usage: npm run bench [-- --rounds 5 --seconds 3 --flows 10000,25000,50000,60000]
 *
 * --conntrack-sizing adds the before/after of configure-nat.sh's connection-tracking table
 * sizing on a 512 MiB instance: 8,000 flows held with the kernel's default table for that memory,
 * then with the size the script sets. The table belongs to the host (a network namespace cannot
 * size its own), so this changes the host's nf_conntrack_max and nf_conntrack_buckets for a few
 * seconds and restores them; it is off by default for that reason.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { numberOption, orUsage, parseCommandLine } from '../bin/cli';
import { ClientReport, INTERNET_HOST, Lab, ROOT, labUnavailableReason } from './lab';

type Mode = 'nat' | 'forward';

const USAGE = `Usage: npm run bench [-- --rounds 5 --seconds 3 --flows 10000,25000,50000,60000 --out FILE --conntrack-sizing]

Data-plane figures of configure-nat.sh in the simulated VPC, side by side with plain forwarding,
as medians. Needs root, iproute2, nft, conntrack and iperf3.`;

const { values, rounds, seconds, flowSteps } = orUsage('bench', USAGE, () => {
  const options = parseCommandLine(USAGE, {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    flows: { type: 'string', default: '10000,25000,50000,60000' },
    out: { type: 'string', default: path.join(ROOT, 'bench-results', 'bench.json') },
    'conntrack-sizing': { type: 'boolean', default: false },
  });
  return {
    values: options,
    rounds: numberOption('rounds', options.rounds, 1, 100),
    seconds: numberOption('seconds', options.seconds, 1, 600),
    flowSteps: options.flows.split(',').map((step) => numberOption('flows', step, 1, 1_000_000)),
  };
});
const FLOW_PORTS = [8081, 8082, 8083, 8084];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Orphaned TCP sockets of the whole kernel (/proc/net/sockstat). */
function orphans(): number {
  const match = /orphan (\d+)/.exec(fs.readFileSync('/proc/net/sockstat', 'utf8'));
  return match ? Number(match[1]) : 0;
}

/** Earlier runs that were killed may have left orphans that would distort this one: wait (at most 3 min) for them to expire. */
function waitForOrphans(): void {
  const deadline = Date.now() + 180_000;
  if (orphans() > 5000) {
    process.stderr.write(`waiting for ${orphans()} orphaned TCP sockets of earlier runs to expire\n`);
  }
  while (orphans() > 5000 && Date.now() < deadline) {
    spawnSync('sleep', ['2']);
  }
}

class Bench {
  private readonly lab = new Lab('bench');
  private readonly children: ChildProcess[] = [];

  async setUp(): Promise<void> {
    waitForOrphans();
    this.lab.up();
    for (const host of ['priv1', 'priv2']) {
      // Clients open tens of thousands of connections: all ports, and reuse of TIME_WAIT ones.
      this.sysctl(host, 'net/ipv4/ip_local_port_range', '1024 65535');
      this.sysctl(host, 'net/ipv4/tcp_tw_reuse', '1');
    }
    this.sysctl('inet', 'net/core/somaxconn', '65535');
    this.sysctl('inet', 'net/ipv4/tcp_max_syn_backlog', '65535');
    const iperf = spawn('ip', ['netns', 'exec', `${this.lab.name}-inet`, 'iperf3', '--server', '--port', '5201'], { stdio: 'ignore' });
    this.children.push(iperf);
    for (const port of [8080, ...FLOW_PORTS]) {
      await this.lab.startServer('inet', port, path.join(this.lab.dir, `server-${port}.log`));
    }
    fs.rmSync(path.join(this.lab.dir, 'server-8080.log'), { force: true });
  }

  tearDown(): void {
    this.drain();
    for (const child of this.children) {
      child.kill('SIGKILL');
    }
    this.lab.down();
  }

  private sysctl(host: string, key: string, value: string): void {
    const result = this.lab.run(host, ['sh', '-c', `echo '${value}' > /proc/sys/${key}`]);
    if (result.status !== 0) {
      throw new Error(`cannot set ${key} on ${host}: ${result.stderr}`);
    }
  }

  /**
   * Waits (at most 20 s) until no host has a connection left closing. Resetting the
   * NAT, or deleting the lab, while closing handshakes are in flight strands them as orphaned
   * sockets: a resource of the whole kernel (tcp_max_orphans), which past its limit resets new
   * connections in every namespace, and which takes minutes to drain.
   */
  private drain(): void {
    const closing = ['state', 'close-wait', 'state', 'last-ack', 'state', 'fin-wait-1', 'state', 'fin-wait-2', 'state', 'closing'];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const left = ['inet', 'priv1', 'priv2'].reduce((n, host) =>
        n + this.lab.run(host, ['ss', '-tanH', ...closing]).stdout.split('\n').filter(Boolean).length, 0);
      if (left === 0) {
        return;
      }
      spawnSync('sleep', ['0.2']);
    }
    process.stderr.write('connections were still closing after 20 s\n');
  }

  /** The NAT host as configure-nat.sh leaves it, or forwarding bare; no connection state either way. */
  setMode(mode: Mode): void {
    this.drain();
    this.lab.reset();
    if (mode === 'nat') {
      const result = this.lab.configureNat();
      if (result.status !== 0) {
        throw new Error(`configure-nat.sh failed: ${result.stderr}`);
      }
    } else {
      this.sysctl('nat', 'net/ipv4/ip_forward', '1');
    }
  }

  throughput(): number {
    const result = this.lab.run('priv1', ['iperf3', '--client', INTERNET_HOST, '--port', '5201', '--time', String(seconds), '--omit', '1', '--json'],
      { timeoutMs: (seconds + 20) * 1000 });
    if (result.status !== 0) {
      throw new Error(`iperf3 failed: ${result.stdout.slice(0, 500)} ${result.stderr}`);
    }
    return JSON.parse(result.stdout).end.sum_received.bits_per_second / 1e9;
  }

  async connectionRate(): Promise<ClientReport> {
    return this.lab.client('priv1', ['--host', INTERNET_HOST, '--port', '8080', '--count', '1000000', '--concurrency', '64',
      '--duration-s', String(seconds), '--timeout-ms', '3000', '--token', 'rate'], (seconds + 30) * 1000);
  }

  /** Sums the counters of `conntrack -S` that mean a lost connection. */
  conntrackDrops(): number {
    const stats = this.lab.run('nat', ['conntrack', '-S']).stdout;
    let drops = 0;
    for (const match of stats.matchAll(/\b(drop|early_drop|insert_failed)=(\d+)/g)) {
      drops += Number(match[2]);
    }
    return drops;
  }

  /** Opens `total` flows from four clients on two hosts to four server ports and holds them all at once. */
  async holdFlows(total: number, timeoutMs = 10_000): Promise<{ total: number; ok: number; failed: number; errors: Record<string, number>; tracked: number; drops: number; seconds: number }> {
    this.setMode('nat');
    const dropsBefore = this.conntrackDrops();
    const start = Date.now();
    const perClient = Math.ceil(total / FLOW_PORTS.length);
    const clients = FLOW_PORTS.map((port, i) => this.lab.spawnClient(i % 2 === 0 ? 'priv1' : 'priv2', [
      '--host', INTERNET_HOST, '--port', String(port), '--count', String(perClient), '--concurrency', '256',
      '--timeout-ms', String(timeoutMs), '--hold', '--token', `flow${i}`], 180_000));
    try {
      const reports = await Promise.all(clients.map((c) => c.report));
      const elapsed = (Date.now() - start) / 1000;
      const tracked = Number(this.lab.run('nat', ['conntrack', '-C']).stdout.trim());
      return {
        total: perClient * FLOW_PORTS.length,
        ok: reports.reduce((n, r) => n + r.ok, 0),
        failed: reports.reduce((n, r) => n + r.failed, 0),
        errors: reports.reduce((all, r) => {
          for (const [code, n] of Object.entries(r.errors)) {
            all[code] = (all[code] ?? 0) + n;
          }
          return all;
        }, {} as Record<string, number>),
        tracked,
        drops: this.conntrackDrops() - dropsBefore,
        seconds: elapsed,
      };
    } finally {
      // Close every flow through the NAT before anything is reset: see drain().
      await Promise.all(clients.map((c) => c.release()));
      this.drain();
    }
  }
}

const HOST_TABLE = ['/proc/sys/net/netfilter/nf_conntrack_max', '/proc/sys/net/netfilter/nf_conntrack_buckets'];

/**
 * The table sizes of a 512 MiB instance (MemTotal about 460,000 KiB): the kernel's default (one
 * bucket per 128 KiB below 1 GiB, as many entries as buckets) and configure-nat.sh's (one entry
 * per 2 KiB), each holding the same 8,000 flows.
 */
async function conntrackSizing(bench: Bench) {
  const memKib = 460_000;
  const kernelDefault = Math.floor((memKib * 1024) / 16384 / 8);
  const scriptSize = Math.floor(memKib / 2);
  const saved = HOST_TABLE.map((file) => fs.readFileSync(file, 'utf8').trim());
  const setTable = (size: number) => {
    // Buckets first when growing, last when shrinking, so max never exceeds what the hash can hold well.
    const order = size > Number(fs.readFileSync(HOST_TABLE[0], 'utf8')) ? [1, 0] : [0, 1];
    for (const i of order) {
      fs.writeFileSync(HOST_TABLE[i], String(size));
    }
  };
  try {
    const run = async (size: number) => {
      setTable(size);
      return { max: size, ...(await bench.holdFlows(8000, 2000)) };
    };
    return { memKib, before: await run(kernelDefault), after: await run(scriptSize) };
  } finally {
    fs.writeFileSync(HOST_TABLE[1], saved[1]);
    fs.writeFileSync(HOST_TABLE[0], saved[0]);
  }
}

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) {
    throw new Error(reason);
  }
  const began = Date.now();
  const bench = new Bench();
  const cleanUp = () => bench.tearDown();
  process.once('SIGINT', () => { cleanUp(); process.exit(130); });
  try {
    await bench.setUp();
    const samples: Record<string, Record<Mode, number[]>> = {
      throughputGbps: { nat: [], forward: [] },
      connectionsPerSecond: { nat: [], forward: [] },
    };
    let rateFailures = 0;
    for (let round = 0; round < rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['nat', 'forward'] : ['forward', 'nat'];
      for (const mode of order) {
        bench.setMode(mode);
        samples.throughputGbps[mode].push(bench.throughput());
        bench.setMode(mode);
        const rate = await bench.connectionRate();
        rateFailures += rate.failed;
        samples.connectionsPerSecond[mode].push(rate.ratePerSec);
      }
      process.stderr.write(`round ${round + 1}/${rounds} done\n`);
    }
    const flows = [];
    for (const total of flowSteps) {
      const step = await bench.holdFlows(total);
      flows.push(step);
      process.stderr.write(`flows ${total}: ok ${step.ok}, failed ${step.failed} ${JSON.stringify(step.errors)}, tracked ${step.tracked}, drops ${step.drops}, ${step.seconds.toFixed(1)} s\n`);
      if (step.failed > 0 || step.drops > 0) {
        break;
      }
    }
    const sizing = values['conntrack-sizing'] ? await conntrackSizing(bench) : undefined;
    const held = flows.filter((f) => f.failed === 0 && f.drops === 0 && f.ok === f.total).map((f) => f.total);
    const figures = Object.fromEntries(Object.entries(samples).map(([name, s]) => {
      const nat = median(s.nat);
      const forward = median(s.forward);
      return [name, { nat, forward, ratio: Number((nat / forward).toFixed(3)), samples: s }];
    }));
    const result = {
      date: new Date().toISOString(),
      rounds,
      secondsPerSample: seconds,
      ...figures,
      connectionRateFailures: rateFailures,
      concurrentFlows: { maxHeldWithoutLoss: held.length ? Math.max(...held) : 0, steps: flows },
      conntrackSizing: sizing,
      benchSeconds: Math.round((Date.now() - began) / 1000),
    };
    fs.mkdirSync(path.dirname(values.out), { recursive: true });
    fs.writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);

    const t = figures.throughputGbps;
    const c = figures.connectionsPerSecond;
    const rows = [
      ['figure', 'through NAT', 'plain forwarding', 'ratio'],
      ['TCP throughput (Gbit/s, median)', t.nat.toFixed(2), t.forward.toFixed(2), t.ratio.toFixed(2)],
      ['new connections/s (median)', String(Math.round(c.nat)), String(Math.round(c.forward)), c.ratio.toFixed(2)],
      ['concurrent flows held, 0 failed, 0 drops', String(result.concurrentFlows.maxHeldWithoutLoss), '-', '-'],
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) {
      process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join('  ')}\n`);
    }
    if (sizing) {
      process.stdout.write(`\n512 MiB instance, 8,000 flows held: kernel default table (${sizing.before.max} entries): ` +
        `${sizing.before.ok} ok, ${sizing.before.failed} failed, ${sizing.before.drops} conntrack drops; ` +
        `configure-nat.sh's size (${sizing.after.max}): ${sizing.after.ok} ok, ${sizing.after.failed} failed, ${sizing.after.drops} drops\n`);
    }
    process.stdout.write(`\n${rounds} rounds of ${seconds} s per sample; ${rateFailures} failed connections in the rate runs; ` +
      `${result.benchSeconds} s in all; JSON in ${path.relative(process.cwd(), values.out)}\n`);
  } finally {
    cleanUp();
  }
}

main().catch((error) => {
  process.stderr.write(`bench: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
