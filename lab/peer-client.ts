/**
 * peer-client: opens TCP connections to a peer-server and checks every answer.
 *
 * Each connection sends `TOKEN-N` and expects its own token back with the address the server
 * saw; an answer with another connection's token counts as mismatched (a reply delivered to the
 * wrong connection). Prints one JSON line: attempted, ok, failed, mismatched, the addresses the
 * server saw, errors by code, and the rate. Exits 1 unless every connection succeeded.
 *
 * Usage: peer-client --host H [--port 8080] [--token T] [--local-port N] [--count 1]
 *                    [--concurrency 1] [--timeout-ms 3000] [--hold] [--duration-s S]
 *   --hold        keep every connection open after its answer; report once all have answered,
 *                 then hold them until standard input closes (concurrent flows). Otherwise each
 *                 connection closes after its answer (connection rate).
 *   --duration-s  stop starting connections after S seconds (rate measurements)
 */
import * as net from 'net';
import * as os from 'os';
import { UsageError, numberOption, orUsage, parseCommandLine } from '../bin/cli';

const USAGE = `Usage: peer-client --host H [--port 8080] [--token T] [--local-port N] [--count 1]
                   [--concurrency 1] [--timeout-ms 3000] [--hold] [--duration-s S]`;

const { values, host, port, count, concurrency, timeoutMs, localPort, deadline } = orUsage('peer-client', USAGE, () => {
  const options = parseCommandLine(USAGE, {
    host: { type: 'string' },
    port: { type: 'string', default: '8080' },
    token: { type: 'string', default: os.hostname() },
    'local-port': { type: 'string' },
    count: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '3000' },
    hold: { type: 'boolean', default: false },
    'duration-s': { type: 'string' },
  });
  if (!options.host) {
    throw new UsageError('--host is required');
  }
  return {
    values: options,
    host: options.host,
    port: numberOption('port', options.port, 1, 65535),
    count: numberOption('count', options.count, 1, 1_000_000),
    concurrency: numberOption('concurrency', options.concurrency, 1, 100_000),
    timeoutMs: numberOption('timeout-ms', options['timeout-ms'], 1, 600_000),
    localPort: options['local-port'] ? numberOption('local-port', options['local-port'], 1, 65535) : undefined,
    deadline: options['duration-s'] ? Date.now() + numberOption('duration-s', options['duration-s'], 0.1, 3600, false) * 1000 : Infinity,
  };
});

const result = { attempted: 0, ok: 0, failed: 0, mismatched: 0, seen: {} as Record<string, number>, errors: {} as Record<string, number>, elapsedMs: 0, ratePerSec: 0 };
const held: net.Socket[] = [];

function once(n: number): Promise<void> {
  return new Promise((resolve) => {
    const token = `${values.token}-${n}`;
    const socket = net.connect({ host, port, localPort, noDelay: true });
    let answer = '';
    let settled = false;
    const finish = (error?: string) => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (error) {
        result.failed++;
        result.errors[error] = (result.errors[error] ?? 0) + 1;
        socket.destroy();
      } else if (values.hold) {
        held.push(socket);
      } else {
        socket.end();
      }
      resolve();
    };
    const timer = setTimeout(() => finish('TIMEOUT'), timeoutMs);
    socket.on('connect', () => socket.write(`${token}\n`));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'ERROR'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      const newline = answer.indexOf('\n');
      if (newline < 0) {
        return;
      }
      const [gotToken, peer] = answer.slice(0, newline).split(' ');
      if (gotToken !== token) {
        result.mismatched++;
        finish('MISMATCHED');
        return;
      }
      const address = peer.slice(0, peer.lastIndexOf(':'));
      result.seen[address] = (result.seen[address] ?? 0) + 1;
      result.ok++;
      finish();
    });
  });
}

async function main(): Promise<void> {
  const start = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const n = next++;
      result.attempted++;
      await once(n);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  result.elapsedMs = Date.now() - start;
  result.ratePerSec = Math.round((result.ok / result.elapsedMs) * 1000);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const status = result.failed === 0 && result.ok === result.attempted ? 0 : 1;
  const release = () => {
    for (const socket of held) {
      socket.destroy();
    }
    process.exit(status);
  };
  if (values.hold) {
    process.stdin.on('end', release).on('close', release).resume();
  } else {
    release();
  }
}

void main();
