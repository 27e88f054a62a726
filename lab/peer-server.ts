/**
 * peer-server: a TCP server for the lab's internet host that tells each client the address it
 * saw. A client sends one line (its token); the server answers `TOKEN PEER_ADDRESS:PEER_PORT`
 * and keeps the connection open until the client closes it. With --log, each connection is
 * appended to a file as one JSON line, so a test can read what reached the server, and what
 * did not. With --workers N, N processes share the port: one process may hold no more
 * connections than its open-file limit (20,000 on the development machine), and tens of
 * thousands of flows to one destination port need more.
 *
 * Usage: peer-server [--port 8080] [--log FILE] [--workers 1]
 */
import cluster from 'cluster';
import * as fs from 'fs';
import * as net from 'net';
import { numberOption, orUsage, parseCommandLine } from '../bin/cli';

const USAGE = 'Usage: peer-server [--port 8080] [--log FILE] [--workers 1]';
const { values, port, workers } = orUsage('peer-server', USAGE, () => {
  const options = parseCommandLine(USAGE, { port: { type: 'string', default: '8080' }, log: { type: 'string' }, workers: { type: 'string', default: '1' } });
  return { values: options, port: numberOption('port', options.port, 1, 65535), workers: numberOption('workers', options.workers, 1, 16) };
});

function serve(onListening: () => void): void {
  // Appends of one short line each: with O_APPEND, lines from several workers never interleave.
  const log = values.log ? fs.openSync(values.log, 'a') : undefined;
  const server = net.createServer((socket) => {
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
  server.listen({ port, host: '0.0.0.0', backlog: 65535 }, onListening);
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
