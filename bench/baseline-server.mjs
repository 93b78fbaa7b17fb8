// The benchmark's baseline: a bare node:http server that answers every request with 204 and no body,
// or, given a file, with 200 and that file's bytes as JSON (what the bare server does with a GET's answer),
// optionally after keeping the CPU busy for a fixed number of microseconds (a server with that much work
// per request and nothing else). Started as a child process by bench/lib.ts (startBaseline); prints its
// URL on stderr once it listens.
//
//   node bench/baseline-server.mjs [port] [body.json] [work µs]
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number.parseInt(process.argv[2] ?? '0', 10) || 0;
const body = process.argv[3] ? readFileSync(process.argv[3]) : undefined;
const workNs = BigInt(Math.round(Number(process.argv[4] ?? 0) * 1000));

const server = createServer((req, res) => {
  req.resume(); // drain any request body, as a real handler would have to
  if (body === undefined) {
    res.statusCode = 204;
    res.end();
    return;
  }
  if (workNs > 0n) {
    const until = process.hrtime.bigint() + workNs;
    while (process.hrtime.bigint() < until); // busy, as a request's own work would be
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.error(`baseline: listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
