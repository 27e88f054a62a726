/**
 * peer-server: a TCP server for the lab's internet host that tells each client the address it
 * saw. A client sends one line (its token); the server answers `TOKEN PEER_ADDRESS:PEER_PORT`
 * and keeps the connection open until the client closes it. With --log, each connection is
 * appended to a file as one JSON line, so a test can read what reached the server, and what
 * did not. With --workers N, N processes share the port: one process may hold no more
 * connections than its open-file limit (20,000 on the development machine), and tens of
 * thousands of flows to one destination port need more.
 *
 * The workers share one listening socket, and the kernel does not share its connections out
 * evenly: with 60,000 connections, one of four workers took 19,681 and one of eight 17,505. A
 * worker at its open-file limit accepts and at once closes every connection waiting in the
 * shared queue (libuv's answer to EMFILE), which its clients see as time-outs and resets, not
 * as a refusal. So each worker stops accepting once it holds --max-per-worker connections, below
 * that limit, and leaves the rest to the others.
 *
 * Usage: peer-server [--port 8080] [--log FILE] [--workers 1] [--max-per-worker 18000]
 */
import cluster from 'cluster';
import * as fs from 'fs';
import * as net from 'net';
import { numberOption, orUsage, parseCommandLine } from '../bin/cli';

const USAGE = 'Usage: peer-server [--port 8080] [--log FILE] [--workers 1] [--max-per-worker 18000]';
const { values, port, workers, maxPerWorker } = orUsage('peer-server', USAGE, () => {
  const options = parseCommandLine(USAGE, {
    port: { type: 'string', default: '8080' }, log: { type: 'string' }, workers: { type: 'string', default: '1' }, 'max-per-worker': { type: 'string', default: '18000' },
  });
  return {
    values: options,
    port: numberOption('port', options.port, 1, 65535),
    workers: numberOption('workers', options.workers, 1, 16),
    maxPerWorker: numberOption('max-per-worker', options['max-per-worker'], 1, 1_000_000),
  };
});

function serve(onListening: () => void): void {
  // Appends of one short line each: with O_APPEND, lines from several workers never interleave.
  const log = values.log ? fs.openSync(values.log, 'a') : undefined;
  let open = 0;
  let stopped = false;
  const server = net.createServer((socket) => {
    // Only a worker beside others may stop: alone, it would leave its clients to time out.
    if (++open >= maxPerWorker && workers > 1 && !stopped) {
      stopped = true;
      server.close();
      process.stderr.write(`peer-server: worker ${process.pid} holds ${open} connections and accepts no more\n`);
    }
    // Back in the share once half its connections are gone, as between the bench's steps.
    socket.on('close', () => {
      if (--open <= maxPerWorker / 2 && stopped) {
        stopped = false;
        listen();
      }
    });
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const newline = buffer.indexOf('\n');
      if (newline < 0) {
        return;
      }
      const token = buffer.slice(0, newline);
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      // Logged before the answer goes out: a client that has its answer can rely on the log.
      if (log !== undefined) {
        fs.writeSync(log, `${JSON.stringify({ token, address: socket.remoteAddress, port: socket.remotePort })}\n`);
      }
      socket.write(`${token} ${peer}\n`);
      buffer = '';
    });
  });
  server.maxConnections = 200_000;
  const listen = () => server.listen({ port, host: '0.0.0.0', backlog: 65535 });
  server.once('listening', onListening);
  listen();
}

const primary = cluster;
if (workers === 1) {
  serve(() => process.stdout.write(`listening on ${port}\n`));
} else if (primary.isPrimary) {
  // Each worker accepts on the shared socket itself, rather than through the primary.
  primary.schedulingPolicy = cluster.SCHED_NONE;
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    primary.fork().on('listening', () => {
      if (++listening === workers) {
        process.stdout.write(`listening on ${port} (${workers} workers)\n`);
      }
    });
  }
  primary.on('exit', () => process.exit(1));
} else {
  process.on('disconnect', () => process.exit(0));
  serve(() => undefined);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => process.exit(0));
}
