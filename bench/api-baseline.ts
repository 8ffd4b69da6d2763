/**
 * @module bench/api-baseline
 * The bare Node `https` server the API bench compares `cvmctl serve` with: same certificate,
 * same loopback, its own process (like the real server), answering every request with one
 * constant JSON body (the bytes `cvmctl serve` returned for the measured request). Run as a
 * child: `node --import tsx bench/api-baseline.ts CERT KEY BODYFILE`; prints the port it
 * listens on, exits on SIGTERM.
 */

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certFile, keyFile, bodyFile] = process.argv.slice(2) as [string, string, string];
const body = readFileSync(bodyFile);
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
