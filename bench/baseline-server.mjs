// The benchmark's baseline: a bare node:http server that answers every request with 204 and no body.
// Started as a child process by bench/lib.ts (startBaseline); prints its URL on stderr once it listens.
//
//   node bench/baseline-server.mjs [port]
import { createServer } from 'node:http';

const port = Number.parseInt(process.argv[2] ?? '0', 10) || 0;

const server = createServer((req, res) => {
  req.resume(); // drain any request body, as a real handler would have to
  res.statusCode = 204;
  res.end();
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
