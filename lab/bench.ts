/**
 * npm run bench: data-plane figures of configure-nat.sh in the simulated VPC, measured side by
 * side in the same run with each peer's NAT set-up (lab/peers.ts), with forwarding that only
 * tracks connections, and with plain forwarding; rounds rotate which set-up goes first, and every
 * figure is the median of the rounds.
 *
 * - TCP throughput, private host to internet host (iperf3)
 * - new TCP connections per second (peer-client, connect-send-answer-close)
 * - concurrent TCP flows held with zero failed connections and zero connection-tracking drops,
 *   in steps (by default 3,000, 25,000, 50,000 and 100,000); a set-up stops at its first failed step
 * - two cases, tried once: does it translate a private host's traffic, and does it relay
 *   traffic from outside the VPC
 *
 * Prints a table, and writes bench-results/bench.json and, beside it, bench.svg (a chart). Needs
 * root, iproute2, nft, iptables, conntrack, net-tools (aws-cdk's commands call `route`) and
 * iperf3.
 *
 * --nano-table holds each set-up's flows with the connection-tracking table it would have on a
 * t4g.nano (512 MiB): the kernel's default for that memory, 3,593 entries, unless the set-up sizes
 * the table itself, as configure-nat.sh does (230,000). Without it every set-up shares this
 * machine's table. The table belongs to the host (a network namespace cannot size its own), so
 * this changes the host's nf_conntrack_max and nf_conntrack_buckets while the flows are held and
 * restores them after; it is off by default for that reason.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { UsageError, numberOption, orUsage, parseCommandLine, tableLines } from '../bin/cli';
import { ChartRow, benchChart } from './chart';
import { ClientReport, FULL_PATH, INTERNET_HOST, Lab, ROOT, labUnavailableReason, slabFields, waitForKernelToSettle } from './lab';
import { NatSetUp, OURS, SET_UPS, applySetUp, probeCases } from './peers';

const USAGE = `Usage: npm run bench [-- --rounds 5 --seconds 3 --flows 3000,25000,50000,100000 --one-destination 55000,60000
                      --only ours,seed --out FILE --nano-table]

Data-plane figures of configure-nat.sh in the simulated VPC, side by side with its peers' NAT
set-ups and with plain forwarding, as medians. Needs root, iproute2, nft, iptables, conntrack,
net-tools and iperf3.

  --rounds N          rounds of throughput and connection-rate samples (default 5)
  --seconds S         seconds per sample (default 3)
  --flows A,B,...     concurrent-flow steps, at most 150,000 (default 3000,25000,50000,100000)
  --one-destination A,B,...  steps of flows to ONE destination address and port, at most 64,000
                      (default 55000,60000)
  --only ID,...       measure only these set-ups: ${SET_UPS.map((s) => s.id).join(', ')} (default all)
  --out FILE          where the JSON goes; the SVG chart goes beside it (default bench-results/bench.json)
  --nano-table        hold flows with the connection-tracking table each set-up has on a t4g.nano
                      (changes the host's table while flows are held, and restores it)`;

/**
 * Eight server ports, one client each: a process here may hold at most as many connections as
 * its open-file limit allows (20,000 on the development machine, which root cannot raise without
 * CAP_SYS_RESOURCE), so 150,000 flows need eight of each side.
 */
const FLOW_PORTS = [8081, 8082, 8083, 8084, 8085, 8086, 8087, 8088];
const MAX_FLOWS = 150_000;
/** The one destination port, and its four clients: 64,512 NAT ports at most, 16,128 a client. */
const ONE_DESTINATION_PORT = 8090;
const ONE_DESTINATION_CLIENTS = [0, 1, 2, 3];

const { values, rounds, seconds, flowSteps, setUps, oneDestinationSteps } = orUsage('bench', USAGE, () => {
  const options = parseCommandLine(USAGE, {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    flows: { type: 'string', default: '3000,25000,50000,100000' },
    'one-destination': { type: 'string', default: '55000,60000' },
    only: { type: 'string', default: SET_UPS.map((s) => s.id).join(',') },
    out: { type: 'string', default: path.join(ROOT, 'bench-results', 'bench.json') },
    'nano-table': { type: 'boolean', default: false },
  });
  const only = options.only.split(',');
  for (const id of only) {
    if (!SET_UPS.some((s) => s.id === id)) {
      throw new UsageError(`--only: got '${id}'; expected set-ups from ${SET_UPS.map((s) => s.id).join(', ')}`);
    }
  }
  return {
    values: options,
    rounds: numberOption('rounds', options.rounds, 1, 100),
    seconds: numberOption('seconds', options.seconds, 1, 600),
    flowSteps: options.flows.split(',').map((step) => numberOption('flows', step, FLOW_PORTS.length, MAX_FLOWS)).sort((a, b) => a - b),
    setUps: SET_UPS.filter((s) => only.includes(s.id)),
    oneDestinationSteps: options['one-destination'].split(',')
      .map((step) => numberOption('one-destination', step, ONE_DESTINATION_CLIENTS.length, 64_000)).sort((a, b) => a - b),
  };
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Bytes of the kernel's nf_conntrack slab cache (/proc/slabinfo: slabs × pages per slab × page size). */
function conntrackSlabBytes(): number {
  const fields = slabFields('nf_conntrack');
  if (!fields) {
    return NaN;
  }
  const pagesPerSlab = Number(fields[5]);
  const slabs = Number(fields[fields.indexOf('slabdata') + 2]);
  return slabs * pagesPerSlab * 4096;
}

/** Unreclaimable kernel slab memory in bytes (/proc/meminfo SUnreclaim): connection tracking, sockets and more. */
function slabBytes(): number {
  const match = /^SUnreclaim:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** Sends one datagram to each of `count` (source port, destination port) pairs, from two sockets. */
const UDP_SPRAY = `
const dgram = require('dgram');
const [count, host] = [Number(process.argv[1]), process.argv[2]];
let sent = 0;
for (const port of [40000, 40001]) {
  const socket = dgram.createSocket('udp4');
  let n = 0;
  const send = () => {
    for (let i = 0; i < 1000 && n < count / 2; i++, n++) socket.send('x', 10000 + n, host, () => { if (++sent === count) process.exit(0); });
    if (n < count / 2) setImmediate(send);
  };
  socket.bind(port, send);
}
setTimeout(() => process.exit(1), 60000);
`;

/** What one set-up did: its commands' exit, and the two probe cases. */
interface Cases {
  readonly setUpOk: boolean;
  readonly setUpError?: string;
  readonly translates: boolean;
  readonly relays: 'masqueraded' | 'as is' | 'no';
}

interface FlowStep {
  total: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  tracked: number;
  drops: number;
  seconds: number;
  conntrackSlabBytes: number;
  slabBytes: number;
}

/** Sysctls a peer's commands change that the lab's reset does not restore. */
const NAT_HOST_SYSCTLS = ['net/ipv4/ip_local_port_range',
  ...['all', 'default', 'ens5', 'lo'].flatMap((dev) => [`net/ipv4/conf/${dev}/rp_filter`, `net/ipv4/conf/${dev}/send_redirects`])];

class Bench {
  private readonly lab = new Lab('bench');
  private readonly children: ChildProcess[] = [];
  private pristine: Record<string, string> = {};

  async setUp(): Promise<void> {
    waitForKernelToSettle(180, (line) => process.stderr.write(line));
    this.lab.up();
    this.pristine = Object.fromEntries(NAT_HOST_SYSCTLS.map((key) => [key, this.lab.run('nat', ['cat', `/proc/sys/${key}`]).stdout.trim()]));
    for (const host of ['priv1', 'priv2']) {
      // Clients open tens of thousands of connections: all ports, and reuse of TIME_WAIT ones.
      this.sysctl(host, 'net/ipv4/ip_local_port_range', '1024 65535');
      this.sysctl(host, 'net/ipv4/tcp_tw_reuse', '1');
    }
    this.sysctl('inet', 'net/core/somaxconn', '65535');
    this.sysctl('inet', 'net/ipv4/tcp_max_syn_backlog', '65535');
    // Each step starts with no TIME_WAIT left from the step before, on either side: a 60,000 step
    // after a 55,000 one lost 147 connections that it held alone (README).
    for (const host of ['inet', 'priv1', 'priv2']) {
      this.sysctl(host, 'net/ipv4/tcp_max_tw_buckets', '0');
    }
    const iperf = spawn('ip', ['netns', 'exec', `${this.lab.name}-inet`, 'iperf3', '--server', '--port', '5201'], { stdio: 'ignore' });
    this.children.push(iperf);
    for (const port of [8080, ...FLOW_PORTS]) {
      await this.lab.startServer('inet', port, path.join(this.lab.dir, `server-${port}.log`));
    }
    await this.lab.startServer('inet', ONE_DESTINATION_PORT, path.join(this.lab.dir, 'server-one.log'), 4);
    fs.rmSync(path.join(this.lab.dir, 'server-8080.log'), { force: true });
  }

  tearDown(): void {
    this.lab.drain();
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
   * The NAT host as a fresh instance boots (no rules, forwarding off, no connection state, the
   * lab's sysctls), then set up by configure-nat.sh or by a peer's commands. Returns their exit.
   */
  setMode(setUp: NatSetUp): { ok: boolean; error?: string } {
    this.lab.drain();
    this.lab.reset();
    for (const [key, value] of Object.entries(this.pristine)) {
      this.sysctl('nat', key, value);
    }
    const result = applySetUp(this.lab, setUp);
    if (result.status !== 0 && setUp === OURS) {
      throw new Error(`configure-nat.sh failed: ${result.stderr}`);
    }
    return result.status === 0 ? { ok: true } : { ok: false, error: `exited ${result.status}: ${result.stderr.trim().slice(0, 300)}` };
  }

  async cases(setUp: NatSetUp): Promise<Cases> {
    const { ok, error } = this.setMode(setUp);
    return { setUpOk: ok, ...(error ? { setUpError: error } : {}), ...(await probeCases(this.lab, setUp.id)) };
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

  /**
   * Kernel memory per connection-tracking entry with its NAT mapping, on configure-nat.sh: UDP
   * datagrams to `count` distinct ports create as many entries with no socket held on either
   * side, so the growth of unreclaimable slab memory is the entries' own (nf_conntrack objects
   * plus their extensions, the NAT mapping among them).
   */
  entryMemory(count = 100_000): { entries: number; bytes: number; perEntry: number; conntrackObjectBytes: number } {
    this.setMode(OURS);
    const slabBefore = slabBytes();
    const conntrackBefore = conntrackSlabBytes();
    const spray = this.lab.run('priv1', ['node', '-e', UDP_SPRAY, String(count), INTERNET_HOST], { timeoutMs: 90_000 });
    if (spray.status !== 0) {
      throw new Error(`the UDP spray failed: ${spray.stderr}`);
    }
    const entries = Number(this.lab.run('nat', ['conntrack', '-C']).stdout.trim());
    const bytes = slabBytes() - slabBefore;
    const objects = conntrackSlabBytes() - conntrackBefore;
    return { entries, bytes, perEntry: Math.round(bytes / entries), conntrackObjectBytes: Math.round(objects / entries) };
  }

  /**
   * Opens `total` flows from eight clients on two hosts to eight server ports and holds them all
   * at once; measures the kernel's memory while they are held.
   */
  async holdFlows(setUp: NatSetUp, total: number, timeoutMs = 10_000): Promise<FlowStep> {
    return this.hold(setUp, FLOW_PORTS, Math.ceil(total / FLOW_PORTS.length), timeoutMs);
  }

  /**
   * Opens `total` flows to ONE destination address and port (four clients, two on each private
   * host, to a server of four workers): each needs a NAT source port of its own.
   */
  async holdOneDestination(setUp: NatSetUp, total: number): Promise<FlowStep> {
    return this.hold(setUp, ONE_DESTINATION_CLIENTS.map(() => ONE_DESTINATION_PORT), Math.ceil(total / ONE_DESTINATION_CLIENTS.length), 10_000);
  }

  /** One client per entry of `ports`, alternating between the private hosts, each holding `perClient` flows. */
  private async hold(setUp: NatSetUp, ports: number[], perClient: number, timeoutMs: number): Promise<FlowStep> {
    this.setMode(setUp);
    const dropsBefore = this.conntrackDrops();
    const conntrackBefore = conntrackSlabBytes();
    const slabBefore = slabBytes();
    const start = Date.now();
    const clients = ports.map((port, i) => this.lab.spawnClient(i % 2 === 0 ? 'priv1' : 'priv2', [
      '--host', INTERNET_HOST, '--port', String(port), '--count', String(perClient), '--concurrency', '128',
      '--timeout-ms', String(timeoutMs), '--hold', '--token', `flow${i}`], 240_000));
    try {
      const reports = await Promise.all(clients.map((c) => c.report));
      const elapsed = (Date.now() - start) / 1000;
      const tracked = Number(this.lab.run('nat', ['conntrack', '-C']).stdout.trim());
      return {
        total: perClient * ports.length,
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
        conntrackSlabBytes: conntrackSlabBytes() - conntrackBefore,
        slabBytes: slabBytes() - slabBefore,
      };
    } finally {
      // Close every flow through the NAT before anything is reset: see Lab.drain().
      await Promise.all(clients.map((c) => c.release()));
      this.lab.drain();
    }
  }
}

const HOST_TABLE: readonly string[] = ['/proc/sys/net/netfilter/nf_conntrack_max', '/proc/sys/net/netfilter/nf_conntrack_buckets'];

/** A t4g.nano's memory as its kernel reports it (MemTotal, KiB), and what configure-nat.sh sizes for it. */
const NANO_MEM_KIB = 460_000;

/**
 * The connection-tracking table a set-up has on a t4g.nano (MemTotal about 460,000 KiB): the
 * kernel's default (one bucket per 128 KiB below 1 GiB, as many entries as buckets), unless it
 * is configure-nat.sh, which sizes it at one entry per 2 KiB.
 */
const nanoTable = (setUp: NatSetUp) => (setUp === OURS ? Math.floor(NANO_MEM_KIB / 2) : Math.floor((NANO_MEM_KIB * 1024) / 16384 / 8));

/** What puts the host's table back, while it is changed: also run on Ctrl-C. */
let restoreHostTable: (() => void) | undefined;

/** Sets the host's table to `size` entries; returns what restores it. */
function setHostTable(size: number): () => void {
  const saved = HOST_TABLE.map((file) => fs.readFileSync(file, 'utf8').trim());
  const write = (max: string, buckets: string) => {
    // Buckets first when growing, last when shrinking, so max never exceeds what the hash holds well.
    const order = Number(max) > Number(fs.readFileSync(HOST_TABLE[0], 'utf8')) ? [[1, buckets], [0, max]] : [[0, max], [1, buckets]];
    for (const [i, value] of order) {
      fs.writeFileSync(HOST_TABLE[i as number], String(value));
    }
  };
  write(String(size), String(size));
  restoreHostTable = () => {
    write(saved[0], saved[1]);
    restoreHostTable = undefined;
  };
  return restoreHostTable;
}

interface SetUpResult {
  id: string;
  label: string;
  source: string;
  cases: Cases;
  throughputGbps: { median: number; samples: number[] };
  connectionsPerSecond: { median: number; samples: number[]; failed: number };
  flows: { table: number | 'host'; maxHeld: number; steps: FlowStep[] };
  /** Flows to one destination address and port, with this machine's table; set-ups that translate only. */
  oneDestination: { maxHeld: number; steps: FlowStep[] };
}

async function measure(bench: Bench): Promise<SetUpResult[]> {
  const results = new Map<string, SetUpResult>();
  for (const setUp of setUps) {
    const cases = await bench.cases(setUp);
    results.set(setUp.id, {
      id: setUp.id, label: setUp.label, source: setUp.source, cases,
      throughputGbps: { median: 0, samples: [] },
      connectionsPerSecond: { median: 0, samples: [], failed: 0 },
      flows: { table: values['nano-table'] ? nanoTable(setUp) : 'host', maxHeld: 0, steps: [] },
      oneDestination: { maxHeld: 0, steps: [] },
    });
    process.stderr.write(`${setUp.id}: ${JSON.stringify(cases)}\n`);
  }
  for (let round = 0; round < rounds; round++) {
    // Each round starts with another set-up, so that no one always runs first or last.
    const order = setUps.map((_, i) => setUps[(i + round) % setUps.length]);
    for (const setUp of order) {
      const r = results.get(setUp.id)!;
      bench.setMode(setUp);
      r.throughputGbps.samples.push(bench.throughput());
      bench.setMode(setUp);
      const rate = await bench.connectionRate();
      r.connectionsPerSecond.failed += rate.failed;
      r.connectionsPerSecond.samples.push(rate.ratePerSec);
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  for (const setUp of setUps) {
    const r = results.get(setUp.id)!;
    r.throughputGbps.median = median(r.throughputGbps.samples);
    r.connectionsPerSecond.median = median(r.connectionsPerSecond.samples);
    const restore = values['nano-table'] ? setHostTable(nanoTable(setUp)) : undefined;
    try {
      await holdSteps(flowSteps, (total) => bench.holdFlows(setUp, total), `${setUp.id} flows`, r.flows);
    } finally {
      restore?.();
    }
    if (r.cases.translates) {
      await holdSteps(oneDestinationSteps, (total) => bench.holdOneDestination(setUp, total), `${setUp.id} to one destination`, r.oneDestination);
    }
  }
  return setUps.map((s) => results.get(s.id)!);
}

/** Holds each step of flows in turn, up to the first that is not held whole. */
async function holdSteps(steps: number[], hold: (total: number) => Promise<FlowStep>, name: string, into: { maxHeld: number; steps: FlowStep[] }): Promise<void> {
  for (const total of steps) {
    const step = await hold(total);
    into.steps.push(step);
    process.stderr.write(`${name} ${total}: ok ${step.ok}, failed ${step.failed} ${JSON.stringify(step.errors)}, ` +
      `tracked ${step.tracked}, drops ${step.drops}, ${step.seconds.toFixed(1)} s\n`);
    if (step.failed > 0 || step.drops > 0 || step.ok !== step.total) {
      return;
    }
    into.maxHeld = step.total;
  }
}

/** A set-up that does not translate gets no bars: its figures are not those of a NAT. */
function chartRow(r: SetUpResult): ChartRow {
  const works = r.cases.setUpOk && (r.cases.translates || r.id === 'forward' || r.id === 'conntrack');
  return {
    label: r.label,
    highlight: r.id === OURS.id,
    values: works ? [r.throughputGbps.median, r.connectionsPerSecond.median, r.flows.maxHeld, r.oneDestination.maxHeld] : [0, 0, 0, 0],
    notes: works ? [undefined, undefined, undefined, r.cases.translates ? undefined : 'no NAT'] : Array(4).fill('does not translate'),
  };
}

/**
 * Ours over theirs as the median of the rounds' ratios: each round measures both minutes apart
 * at most, so drift of the machine cancels out of each ratio.
 */
function pairedRatio(ours: number[], theirs: number[]): number {
  const ratios = ours.map((x, i) => x / theirs[i]).filter(Number.isFinite);
  return ratios.length ? median(ratios) : NaN;
}

const fixed = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

function table(results: SetUpResult[]): string {
  const ours = results.find((r) => r.id === OURS.id);
  const rows = [['set-up', 'translates', 'relays outside traffic', 'Gbit/s', 'ours ÷', 'new conn/s', 'ours ÷', 'flows held', 'ours ÷', 'to one destination']];
  for (const r of results) {
    const mine = r === ours || !ours;
    rows.push([
      r.label,
      r.cases.setUpOk ? (r.cases.translates ? 'yes' : 'no') : `no (set-up failed: ${(r.cases.setUpError ?? '').split('\n')[0].slice(0, 40)})`,
      r.cases.relays,
      r.throughputGbps.median.toFixed(2), mine ? '' : fixed(pairedRatio(ours.throughputGbps.samples, r.throughputGbps.samples)),
      String(Math.round(r.connectionsPerSecond.median)), mine ? '' : fixed(pairedRatio(ours.connectionsPerSecond.samples, r.connectionsPerSecond.samples)),
      r.flows.maxHeld.toLocaleString('en-US'), mine ? '' : fixed(ours.flows.maxHeld / r.flows.maxHeld),
      r.cases.translates ? r.oneDestination.maxHeld.toLocaleString('en-US') : '–',
    ]);
  }
  return tableLines(rows).join('\n');
}

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) {
    throw new Error(reason);
  }
  if (spawnSync('sh', ['-c', 'command -v route && command -v iperf3'], { env: { PATH: FULL_PATH } }).status !== 0) {
    throw new Error('the bench needs iperf3, and route (net-tools) for aws-cdk\'s commands: apt-get install iperf3 net-tools');
  }
  const began = Date.now();
  const bench = new Bench();
  const cleanUp = () => {
    restoreHostTable?.();
    bench.tearDown();
  };
  // Every way a run is stopped puts the host's conntrack table back (see --nano-table).
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(signal, () => { cleanUp(); process.exit(code); });
  }
  try {
    await bench.setUp();
    const results = await measure(bench);
    const memory = setUps.includes(OURS) ? bench.entryMemory() : undefined;
    const result = {
      date: new Date().toISOString(),
      rounds,
      secondsPerSample: seconds,
      flowSteps,
      setUps: results,
      conntrackTable: values['nano-table'] ? 'each set-up\'s on a t4g.nano' : `this machine's, ${fs.readFileSync(HOST_TABLE[0], 'utf8').trim()} entries`,
      entryMemory: memory,
      benchSeconds: Math.round((Date.now() - began) / 1000),
    };
    fs.mkdirSync(path.dirname(values.out), { recursive: true });
    fs.writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
    const chartFile = values.out.replace(/\.json$/, '') + '.svg';
    fs.writeFileSync(chartFile, benchChart(results.map(chartRow), `npm run bench: ${rounds} rounds of ${seconds} s, medians, ${result.date.slice(0, 10)}`));

    process.stdout.write(`${table(results)}\n`);
    const ours = results.find((r) => r.id === OURS.id);
    if (ours && memory) {
      const table = Math.floor(NANO_MEM_KIB / 2);
      const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
      process.stdout.write(`\nconfigure-nat.sh held ${ours.flows.maxHeld.toLocaleString('en-US')} concurrent flows with 0 failed and 0 drops. ` +
        `A tracked connection with its NAT mapping takes ${memory.perEntry} B of kernel memory (${memory.conntrackObjectBytes} B entry, the rest ` +
        `its extensions; ${memory.entries.toLocaleString('en-US')} UDP entries, +${mib(memory.bytes)} MiB unreclaimable slab): ` +
        `${mib(ours.flows.maxHeld * memory.perEntry)} MiB for those flows, and ${mib(table * memory.perEntry)} MiB for the script's full ` +
        `table on a t4g.nano (${table.toLocaleString('en-US')} entries), of its 512 MiB\n`);
    }
    process.stdout.write(`\n${rounds} rounds of ${seconds} s per sample; ${result.benchSeconds} s in all; ` +
      `JSON in ${path.relative(process.cwd(), values.out)}, chart in ${path.relative(process.cwd(), chartFile)}\n`);
  } finally {
    cleanUp();
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`bench: error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
