/**
 * peer-stream: long-lived flows for the lab, to see what a NAT's replacement does to them.
 *
 *   peer-stream serve --port P [--interval-ms 50]
 *   peer-stream watch --host H --port P --seconds S [--streams 10] [--idle 1000]
 *
 * The server answers a connection that says `stream` with a numbered line every interval, and
 * one that says `idle` with nothing until it says `ping`, then `pong`. On the same UDP port, it
 * sends a datagram every interval to each address that sent it `hello`.
 *
 * watch opens the streams, the idle connections and one UDP flow, prints `ready` once all are
 * open, reads for S seconds, then pings every idle connection (3 s to answer). It prints one
 * JSON line: per kind, how many were open, how many ended by reset, time-out or close, the lines
 * the streams got and their longest pause in ms, how many idle connections answered, and the
 * datagrams the UDP flow got and its longest pause.
 */
import * as dgram from 'dgram';
import * as net from 'net';
import { UsageError, numberOption, orUsage, parseCommandLine } from '../bin/cli';

const USAGE = `Usage: peer-stream serve --port P [--interval-ms 50]
       peer-stream watch --host H --port P --seconds S [--streams 10] [--idle 1000]`;

const { command, values, port, intervalMs, seconds, streams, idle } = orUsage('peer-stream', USAGE, () => {
  const cmd = process.argv[2];
  if (cmd !== 'serve' && cmd !== 'watch') {
    throw new UsageError(`expected serve or watch, got '${cmd ?? ''}'`);
  }
  const options = parseCommandLine(USAGE, {
    host: { type: 'string' }, port: { type: 'string' }, 'interval-ms': { type: 'string', default: '50' },
    seconds: { type: 'string', default: '5' }, streams: { type: 'string', default: '10' }, idle: { type: 'string', default: '1000' },
  }, process.argv.slice(3));
  if (cmd === 'watch' && !options.host) {
    throw new UsageError('watch needs --host');
  }
  return {
    command: cmd,
    values: options,
    port: numberOption('port', options.port ?? '', 1, 65535),
    intervalMs: numberOption('interval-ms', options['interval-ms'], 1, 10_000),
    seconds: numberOption('seconds', options.seconds, 1, 600),
    streams: numberOption('streams', options.streams, 0, 1000),
    idle: numberOption('idle', options.idle, 0, 15_000),
  };
});

function serve(): void {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    let timer: NodeJS.Timeout | undefined;
    let n = 0;
    socket.on('close', () => clearInterval(timer));
    socket.on('data', (chunk) => {
      for (const word of chunk.toString('utf8').split('\n').filter(Boolean)) {
        if (word === 'stream' && !timer) {
          timer = setInterval(() => socket.write(`${n++}\n`), intervalMs);
        } else if (word === 'ping') {
          socket.write('pong\n');
        }
      }
    });
  });
  server.maxConnections = 20_000;
  const udp = dgram.createSocket('udp4');
  const peers = new Map<string, { address: string; port: number }>();
  let sent = 0;
  udp.on('message', (message, from) => {
    if (message.toString('utf8') === 'hello') {
      peers.set(`${from.address}:${from.port}`, { address: from.address, port: from.port });
    }
  });
  setInterval(() => {
    for (const peer of peers.values()) {
      udp.send(`${sent++}`, peer.port, peer.address);
    }
  }, intervalMs);
  udp.bind(port, '0.0.0.0', () => {
    server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => process.stdout.write(`listening on ${port}\n`));
  });
}

/** One UDP flow: says hello, then counts the datagrams that come back and the longest pause. */
function openUdp(): Promise<{ received: number; longestGapMs: number; last: number; socket: dgram.Socket }> {
  return new Promise((resolve) => {
    const flow = { received: 0, longestGapMs: 0, last: Date.now(), socket: dgram.createSocket('udp4') };
    flow.socket.on('message', () => {
      const now = Date.now();
      if (flow.received > 0) {
        flow.longestGapMs = Math.max(flow.longestGapMs, now - flow.last);
      }
      flow.received++;
      flow.last = now;
    });
    flow.socket.on('error', () => undefined);
    flow.socket.send('hello', port, values.host!, () => resolve(flow));
  });
}

type Ending = 'reset' | 'timeout' | 'closed' | 'open';

interface Flow {
  socket: net.Socket;
  ended: Ending;
  lines: number;
  last: number;
  longestGapMs: number;
  answered: boolean;
}

function open(kind: 'stream' | 'idle'): Promise<Flow> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: values.host!, port, noDelay: true });
    const flow: Flow = { socket, ended: 'open', lines: 0, last: 0, longestGapMs: 0, answered: false };
    socket.setTimeout(5000, () => { socket.destroy(); flow.ended = 'timeout'; resolve(flow); });
    socket.on('error', (e: NodeJS.ErrnoException) => { flow.ended = e.code === 'ECONNRESET' ? 'reset' : flow.ended === 'open' ? 'closed' : flow.ended; resolve(flow); });
    socket.on('end', () => { if (flow.ended === 'open') flow.ended = 'closed'; });
    socket.on('connect', () => {
      socket.setTimeout(0);
      socket.write(`${kind}\n`);
      flow.last = Date.now();
      resolve(flow);
    });
    socket.on('data', (chunk) => {
      const now = Date.now();
      const text = chunk.toString('utf8');
      if (text.includes('pong')) {
        flow.answered = true;
      }
      flow.lines += (text.match(/\n/g) ?? []).length;
      flow.longestGapMs = Math.max(flow.longestGapMs, now - flow.last);
      flow.last = now;
    });
  });
}

function summary(flows: Flow[]) {
  const count = (e: Ending) => flows.filter((f) => f.ended === e).length;
  return { opened: flows.length, reset: count('reset'), timeout: count('timeout'), closed: count('closed') };
}

async function watch(): Promise<void> {
  const streamFlows = await Promise.all(Array.from({ length: streams }, () => open('stream')));
  const idleFlows: Flow[] = [];
  for (let i = 0; i < idle; i += 100) {
    idleFlows.push(...await Promise.all(Array.from({ length: Math.min(100, idle - i) }, () => open('idle'))));
  }
  const udpFlow = await openUdp();
  process.stderr.write('ready\n');
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const now = Date.now();
  for (const f of streamFlows) {
    // A stream still silent at the end has paused since its last line.
    f.longestGapMs = Math.max(f.longestGapMs, now - f.last);
  }
  udpFlow.longestGapMs = Math.max(udpFlow.longestGapMs, now - udpFlow.last);
  for (const f of idleFlows.filter((x) => x.ended === 'open')) {
    f.socket.write('ping\n');
  }
  await new Promise((r) => setTimeout(r, 3000));
  const report = {
    streams: { ...summary(streamFlows), lines: streamFlows.reduce((n, f) => n + f.lines, 0), longestGapMs: Math.max(0, ...streamFlows.map((f) => f.longestGapMs)),
      slowest: streamFlows.filter((f) => f.longestGapMs >= 2000).map((f) => ({ port: f.socket.localPort, lines: f.lines, gapMs: f.longestGapMs })) },
    idle: { ...summary(idleFlows), answered: idleFlows.filter((f) => f.answered).length },
    udp: { received: udpFlow.received, longestGapMs: udpFlow.longestGapMs },
  };
  udpFlow.socket.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
  for (const f of [...streamFlows, ...idleFlows]) {
    f.socket.destroy();
  }
  process.exit(0);
}

if (command === 'serve') {
  serve();
} else {
  void watch();
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => process.exit(0));
}
