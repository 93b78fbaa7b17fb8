/**
 * Serves the web console at `/console/`: the static front end that `scripts/build-console.mjs` builds
 * from `console/` into `dist/console/` (index.html + content-hashed assets). Everything comes from this
 * server — no CDN, works offline. The console signs in with authorization code + PKCE against the
 * local authority and then calls the Graph API like any other client; this plugin only serves files.
 *
 * Files are read once at start. When the front end has not been built, `/console/` answers 503 with
 * a hint (`npm run build`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The built console: `dist/console/` beside the bundle this module is in, or from the source tree under tsx. */
export function consoleAssetDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'console'), join(here, '..', '..', 'dist', 'console')]) {
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

export const consolePlugin: FastifyPluginAsync = async (fastify) => {
  const dir = consoleAssetDir();
  const index = dir ? readFileSync(join(dir, 'index.html')) : undefined;
  const assets = new Map<string, Buffer>();
  if (dir && existsSync(join(dir, 'assets'))) {
    for (const name of readdirSync(join(dir, 'assets'))) if (TYPES[extname(name)]) assets.set(name, readFileSync(join(dir, 'assets', name)));
  }

  const secure = (reply: FastifyReply) =>
    reply
      .header('Content-Security-Policy', CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('X-Frame-Options', 'DENY')
      .header('Referrer-Policy', 'no-referrer');

  fastify.get('/console', async (_req, reply) => reply.redirect('/console/', 302));

  fastify.get('/console/', async (_req, reply) => {
    if (!index) {
      return reply
        .code(503)
        .header('Content-Type', 'text/plain; charset=utf-8')
        .send('The console has not been built: run `npm run build` (or `node scripts/build-console.mjs`).\n');
    }
    return secure(reply).header('Content-Type', 'text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(index);
  });

  fastify.get('/console/assets/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    const body = assets.get(name);
    if (!body) return reply.code(404).header('Content-Type', 'text/plain; charset=utf-8').send('Not found\n');
    // Names carry a content hash (except source maps), so they can be cached for good.
    return secure(reply)
      .header('Content-Type', TYPES[extname(name)]!)
      .header('Cache-Control', name.endsWith('.map') ? 'no-cache' : 'public, max-age=31536000, immutable')
      .send(body);
  });
};

export default consolePlugin;
