import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Graceful close for keep-alive connections. Node's `server.close()` closes only the connections idle
 * at that moment; one whose request was in flight stays open after its response, and a request that
 * reaches such a connection once closing has begun is never answered, so `close()` would wait for
 * the keep-alive timeout (72 s). Requests answered while closing carry `Connection: close`, and every
 * 50 ms each connection with no request in progress is destroyed (a request the server never started
 * on it was not processed, so the client may safely retry it).
 */
export function drainOnClose(fastify: FastifyInstance): { start(): () => void } {
  const busy = new Map<Socket, number>();
  let closing = false;
  fastify.server.on('connection', (socket: Socket) => {
    busy.set(socket, 0);
    socket.once('close', () => busy.delete(socket));
  });
  const done = (socket: Socket) => {
    const n = busy.get(socket);
    if (n !== undefined) busy.set(socket, Math.max(0, n - 1));
  };
  fastify.addHook('onRequest', (req, _reply, next) => {
    const s = req.raw.socket;
    busy.set(s, (busy.get(s) ?? 0) + 1);
    next();
  });
  fastify.addHook('onResponse', (req, _reply, next) => {
    done(req.raw.socket);
    next();
  });
  fastify.addHook('onRequestAbort', (req, next) => {
    done(req.raw.socket);
    next();
  });
  fastify.addHook('onSend', (_req, reply, payload, next) => {
    if (closing) reply.header('Connection', 'close');
    next(null, payload);
  });
  return {
    /** Call when closing begins; returns the function that stops the sweeping. */
    start() {
      closing = true;
      const sweep = () => {
        for (const [socket, n] of busy) if (n === 0) socket.destroy();
      };
      const timer = setInterval(sweep, 50);
      return () => clearInterval(timer);
    },
  };
}
