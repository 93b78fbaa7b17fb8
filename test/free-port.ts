import { createServer } from 'node:net';

/** A TCP port of 127.0.0.1 nothing listens on right now (for a server that must be told its port). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}
