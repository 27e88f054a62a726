/**
 * peer-server: a TCP server for the lab's internet host that tells each client the address it
 * saw. A client sends one line (its token); the server answers `TOKEN PEER_ADDRESS:PEER_PORT`
 * and keeps the connection open until the client closes it. With --log, each connection is
 * appended to a file as one JSON line, so a test can read what reached the server, and what
 * did not.
 *
 * Usage: peer-server [--port 8080] [--log FILE]
 */
import * as fs from 'fs';
import * as net from 'net';
import { numberOption, orUsage, parseCommandLine } from '../bin/cli';

const USAGE = 'Usage: peer-server [--port 8080] [--log FILE]';
const { values, port } = orUsage('peer-server', USAGE, () => {
  const options = parseCommandLine(USAGE, { port: { type: 'string', default: '8080' }, log: { type: 'string' } });
  return { values: options, port: numberOption('port', options.port, 1, 65535) };
});
const log = values.log ? fs.openSync(values.log, 'a') : undefined;

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let buffer = '';
  socket.on('data', (chunk) => {
    if (buffer === undefined) {
      return;
    }
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
server.listen({ port, host: '0.0.0.0', backlog: 65535 }, () => {
  process.stdout.write(`listening on ${port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => process.exit(0));
}
