/**
 * The control plane's HTTP surface, kept apart from the Graph routes:
 * - `/_admin/…` — the control API (admin key required on every call), an encapsulated plugin;
 * - `POST /enrollment/android/enroll` — what a device that scanned the QR code sends (no token);
 * - `GET /metrics` — Prometheus text format.
 * The request journal and the request metrics are fed by the HTTP pipeline (src/graph/http.ts).
 */
import { Readable } from 'node:stream';
import { ENTITIES } from '../model/registry.js';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { BodyParser } from '../graph/http.js';
import { ENROLL_PATH } from '../enrollment/devices.js';
import { FaultSpecError } from '../faults/rules.js';
import { errors, GraphError } from '../graph/errors.js';
import { isGuid } from '../identity/claims.js';
import type { MintOptions } from '../identity/mint.js';
import { formatUs, parseIsoToUs } from '../time.js';
import type { ControlPlane } from './plane.js';
import { SnapshotError } from './snapshot.js';

const JSON_TYPE = 'application/json; charset=utf-8';
/** Snapshots can be large: `PUT /_admin/snapshot` takes up to this many bytes. */
const SNAPSHOT_BODY_LIMIT = 256 * 1024 * 1024;

const adminErrors = {
  unauthorized: () =>
    new GraphError(401, 'Unauthorized', 'The control API needs the admin key: Authorization: Bearer <admin key>.', {
      'WWW-Authenticate': 'Bearer realm="enrollgraph-admin"',
    }),
  notFound: (method: string, path: string) => new GraphError(404, 'ResourceNotFound', `The control API has no '${method} ${path}'.`),
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function body(req: FastifyRequest, allowed: readonly string[], optional = false): Record<string, unknown> {
  const b = req.body;
  if (b === undefined && optional) return {};
  if (!isObject(b)) throw errors.badRequest('The body must be a JSON object.');
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw errors.badRequest(`Unknown property '${k}'.`);
  return b;
}

function sendJson(reply: FastifyReply, status: number, payload: unknown): FastifyReply {
  return reply.code(status).type(JSON_TYPE).send(JSON.stringify(payload));
}

function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
}

/** Mints an access token with the server's keys, on its clock. */
export type TokenMinter = (opts: Omit<MintOptions, 'nowSeconds'>) => Promise<string>;

/** Registers the control routes on the root instance (before `ready()`). */
export function registerControl(fastify: FastifyInstance, plane: ControlPlane, jsonBodies: (limit: number) => BodyParser, mint: TokenMinter): void {
  fastify.get('/metrics', async (_req, reply) => {
    const { contentType, text } = await plane.metrics.scrape();
    return reply.type(contentType).send(text);
  });
  // The server's "now", read-only and without the admin key: the console counts token lifetimes down by it.
  fastify.get('/clock', async (_req, reply) => sendJson(reply, 200, plane.clock.describe()));

  fastify.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: ENROLL_PATH,
    handler: async (req, reply) => {
      if (req.method !== 'POST') throw errors.methodNotAllowed(req.method);
      return sendJson(reply, 200, await plane.enrollment.enroll(req.body, req.ip));
    },
  });

  fastify.register(adminPlugin, { prefix: '/_admin', plane, jsonBodies, mint });
}

const adminPlugin: FastifyPluginAsync<{ plane: ControlPlane; jsonBodies: (limit: number) => BodyParser; mint: TokenMinter }> = async (app, { plane, jsonBodies, mint }) => {
  app.addHook('onRequest', async (req) => {
    if (!plane.isAdmin(req.headers.authorization)) throw adminErrors.unauthorized();
  });

  app.post('/reset', async (req, reply) => {
    const b = body(req, ['tenant'], true);
    if (b.tenant !== undefined) {
      if (!isGuid(b.tenant)) throw errors.badRequest("'tenant' must be a tenant GUID.");
      const tid = b.tenant.toLowerCase();
      await plane.reset(tid);
      return sendJson(reply, 200, { reset: 'tenant', tenant: tid, seeded: plane.hasSeed });
    }
    await plane.reset();
    return sendJson(reply, 200, { reset: 'all', seeded: plane.hasSeed });
  });

  // Streamed: a large state is written out as it is read, never held in memory as one document.
  app.get('/snapshot', async (_req, reply) => reply.code(200).type(JSON_TYPE).send(Readable.from(await plane.exportSnapshot(), { objectMode: false })));
  // Snapshots can be large: their route reads bodies of up to SNAPSHOT_BODY_LIMIT bytes.
  app.register(async (snapshots) => {
    snapshots.removeAllContentTypeParsers();
    snapshots.addContentTypeParser('*', jsonBodies(SNAPSHOT_BODY_LIMIT));
    snapshots.put('/snapshot', async (req, reply) => {
      try {
        const state = await plane.importSnapshot(req.body);
        return sendJson(reply, 200, {
          imported: {
            tenants: state.tenants.length,
            ...Object.fromEntries(ENTITIES.map((e) => [e.snapshotKey, state.entities[e.typeName]?.length ?? 0])),
            devices: state.devices.length,
            faults: state.faults.length,
          },
        });
      } catch (err) {
        if (err instanceof SnapshotError) throw errors.badRequest(`Invalid snapshot: ${err.message}`);
        throw err;
      }
    });
  });

  app.get('/clock', async (_req, reply) => sendJson(reply, 200, plane.clock.describe()));
  app.put('/clock', async (req, reply) => {
    const b = body(req, ['now', 'frozen']);
    const change: { nowUs?: number; frozen?: boolean } = {};
    if (b.now !== undefined) {
      const us = typeof b.now === 'string' ? parseIsoToUs(b.now) : undefined;
      if (us === undefined) throw errors.badRequest("'now' must be an ISO 8601 date-time with offset, e.g. 2030-01-01T00:00:00Z.");
      change.nowUs = us;
    }
    if (b.frozen !== undefined) {
      if (typeof b.frozen !== 'boolean') throw errors.badRequest("'frozen' must be true or false.");
      change.frozen = b.frozen;
    }
    await plane.setClock(change);
    return sendJson(reply, 200, plane.clock.describe());
  });
  app.delete('/clock', async (_req, reply) => {
    await plane.resetClock();
    return sendJson(reply, 200, plane.clock.describe());
  });
  app.post('/clock/advance', async (req, reply) => {
    const b = body(req, ['seconds']);
    if (typeof b.seconds !== 'number' || !Number.isFinite(b.seconds) || Math.abs(b.seconds) > 1e11) {
      throw errors.badRequest("'seconds' must be a number (negative moves the clock back).");
    }
    await plane.advanceClock(b.seconds);
    return sendJson(reply, 200, plane.clock.describe());
  });

  // What `enrollgraph token --url` calls: a token for any server, --memory included, on the server's clock.
  app.post('/tokens', async (req, reply) => {
    const b = body(req, ['tenant', 'scopes', 'roles', 'upn', 'expiresIn', 'audience']);
    if (!isGuid(b.tenant)) throw errors.badRequest("'tenant' must be a tenant GUID.");
    const names = (k: string): string[] | undefined => {
      const v = b[k];
      if (v === undefined) return undefined;
      if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
      throw errors.badRequest(`'${k}' must be a list of permission names.`);
    };
    const text = (k: string): string | undefined => {
      if (b[k] !== undefined && typeof b[k] !== 'string') throw errors.badRequest(`'${k}' must be a string.`);
      return b[k] as string | undefined;
    };
    const expiresIn = b.expiresIn;
    if (expiresIn !== undefined && !(Number.isSafeInteger(expiresIn) && Math.abs(expiresIn as number) <= 10 * 365 * 86400)) {
      throw errors.badRequest("'expiresIn' must be a whole number of seconds (negative: already expired), at most ten years.");
    }
    const roles = names('roles');
    const scopes = names('scopes');
    const upn = text('upn');
    const audience = text('audience');
    const accessToken = await mint({
      tenantId: b.tenant.toLowerCase(),
      ...(roles ? { roles } : {}),
      ...(scopes ? { scopes } : {}),
      ...(upn ? { upn } : {}),
      ...(audience ? { audience } : {}),
      ...(expiresIn !== undefined ? { expiresIn: expiresIn as number } : {}),
    });
    return sendJson(reply, 200, { accessToken, tokenType: 'Bearer' });
  });

  app.get('/faults', async (_req, reply) => sendJson(reply, 200, { value: await plane.faults.list() }));
  app.post('/faults', async (req, reply) => {
    try {
      return sendJson(reply, 201, await plane.faults.add(req.body));
    } catch (err) {
      if (err instanceof FaultSpecError) throw errors.badRequest(`Invalid fault rule: ${err.message}`);
      throw err;
    }
  });
  app.delete('/faults', async (_req, reply) => sendJson(reply, 200, { deleted: await plane.faults.removeAll() }));
  app.delete('/faults/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await plane.faults.remove(id))) throw errors.notFound(`No fault rule has the id '${id}'.`);
    return reply.code(204).send();
  });

  app.get('/tenants', async (_req, reply) => sendJson(reply, 200, { value: (await plane.controlStore.exportState()).tenants }));
  app.put('/tenants/:tid', async (req, reply) => {
    const { tid } = req.params as { tid: string };
    if (!isGuid(tid)) throw errors.badRequest('The tenant must be a GUID.');
    const b = body(req, ['licensed']);
    if (typeof b.licensed !== 'boolean') throw errors.badRequest("'licensed' must be true or false.");
    await plane.store.setTenantLicensed(tid.toLowerCase(), b.licensed);
    return sendJson(reply, 200, { tenantId: tid.toLowerCase(), licensed: b.licensed });
  });

  app.get('/devices', async (req, reply) => {
    const { tenant } = req.query as { tenant?: string };
    const devices = await plane.controlStore.listDevices(tenant?.toLowerCase());
    return sendJson(reply, 200, {
      value: devices.map((d) => ({
        deviceId: d.deviceId, tenantId: d.tenantId, profileType: d.profileType, profileId: d.profileId, serialNumber: d.serialNumber, model: d.model,
        enrolledDateTime: formatUs(d.enrolledUs),
      })),
    });
  });

  app.get('/requests', async (req, reply) => {
    const { limit, tenant } = req.query as { limit?: string; tenant?: string };
    let n: number | undefined;
    if (limit !== undefined) {
      if (!/^\d+$/.test(limit)) throw errors.badRequest("'limit' must be a non-negative integer.");
      n = Number(limit);
    }
    return sendJson(reply, 200, { value: plane.journal.list({ ...(n !== undefined ? { limit: n } : {}), ...(tenant ? { tenant: tenant.toLowerCase() } : {}) }) });
  });

  app.all('/*', async (req) => {
    throw adminErrors.notFound(req.method, pathOf(req));
  });
  app.all('/', async (req) => {
    throw adminErrors.notFound(req.method, pathOf(req));
  });
};
