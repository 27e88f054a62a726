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
import { parseArgs } from 'util';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '8080' },
    token: { type: 'string', default: os.hostname() },
    'local-port': { type: 'string' },
    count: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '3000' },
    hold: { type: 'boolean', default: false },
    'duration-s': { type: 'string' },
  },
});
if (!values.host) {
  process.stderr.write('peer-client: --host is required\n');
  process.exit(2);
}
const host = values.host;
const port = Number(values.port);
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const timeoutMs = Number(values['timeout-ms']);
const localPort = values['local-port'] ? Number(values['local-port']) : undefined;
const deadline = values['duration-s'] ? Date.now() + Number(values['duration-s']) * 1000 : Infinity;

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
