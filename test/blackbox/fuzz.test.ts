/**
 * A seeded black-box fuzz of everything a client can send: paths (every entity, singleton, action,
 * odd encodings and keys), methods, headers (tokens good and bad, media types, Prefer), bodies
 * (random JSON shapes, wrong types, deep nesting, huge strings, non-JSON), query options, `$batch`
 * and device enrollment. Every answer must be a success or a Graph error in the envelope, never a
 * 5xx; the server must stay healthy and its memory bounded.
 *
 * Each request is a pure function of (seed, index), so a failure prints both and
 * `ENROLLGRAPH_FUZZ_SEEDS=<seed> ENROLLGRAPH_FUZZ_ONLY=<index> npm test -- test/blackbox/fuzz.test.ts`
 * replays it. ENROLLGRAPH_FUZZ_REQUESTS sets the requests per seed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { mulberry32At } from '../../src/faults/rules.js';
import { call, createProfile, PROFILES, RO, startServer, type TestServer } from '../helpers.js';

const SEEDS = (process.env.ENROLLGRAPH_FUZZ_SEEDS ?? '20261201,7,424242').split(',').map(Number);
const PER_SEED = Number(process.env.ENROLLGRAPH_FUZZ_REQUESTS ?? 3400);
const ONLY = process.env.ENROLLGRAPH_FUZZ_ONLY === undefined ? undefined : Number(process.env.ENROLLGRAPH_FUZZ_ONLY);
const CONCURRENCY = 12;
/** Resident memory the server may reach during the run (it starts near 100 MB). */
const RSS_CAP_BYTES = 600 * 1024 * 1024;

/** A deterministic stream of choices for one request. */
class Rng {
  private n = 0;
  constructor(private readonly seed: number, private readonly index: number) {}
  next(): number {
    return mulberry32At(this.seed ^ Math.imul(this.index, 0x9e3779b1), this.n++);
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

interface Ctx {
  ids: string[];
  deviceOwnerIds: string[];
  tokens: { rw: string; ro: string; other: string };
  enrollmentTokens: string[];
}

const SETS = ['androidForWorkEnrollmentProfiles', 'androidDeviceOwnerEnrollmentProfiles', 'androidManagedStoreAccountEnterpriseSettings', 'ANDROIDFORWORKENROLLMENTPROFILES', 'widgets'];
const ACTIONS = [
  'createToken', 'revokeToken', 'microsoft.graph.createToken', 'MICROSOFT.GRAPH.REVOKETOKEN', 'requestSignupUrl', 'completeSignup', 'unbind', 'syncApps',
  'setAndroidDeviceOwnerFullyManagedEnrollmentState', 'createGooglePlayWebToken', 'nope', '$count', '$batch', '%24batch', '$value', '$ref',
];
const WEIRD = ['', '%00', '%', '%zz', '%E2%82%AC', "'", "''", '(', ')', "('x')", '(x)', '..', '%2F', 'AOSP-', 'a'.repeat(300), '\u00e9', '%F0%9F%98%80', '*'];
const PROPS = [
  'displayName', 'description', 'enrollmentMode', 'enrollmentTokenType', 'configureWifi', 'wifiSsid', 'wifiPassword', 'wifiSecurityType', 'wifiHidden',
  'roleScopeTagIds', 'deviceNameTemplate', 'isTeamsDeviceProfile', 'tokenValue', 'id', 'enrolledDeviceCount', 'enrollmentTarget', 'targetGroupIds',
  'bindStatus', '@odata.type', 'qrCodeImage@odata.type', 'unknownProperty', 'DISPLAYNAME', 'tokenValidityInSeconds', 'hostName', 'enterpriseToken',
  'enabled', 'parentUri', 'requests', 'enrollmentToken', 'serialNumber', 'model',
];
const ENUMS = ['corporateOwnedDedicatedDevice', 'corporateOwnedFullyManaged', 'corporateOwnedWorkProfile', 'corporateOwnedAOSPUserlessDevice', 'corporateOwnedAOSPUserAssociatedDevice', 'wpa', 'none', 'all', 'bogus'];

function jsonValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 3 ? 7 : 10)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick([0, -1, 1, 3600, 7776000, 2051244000, 2147483648, 1.5, 1e308, -0]);
    case 3: return r.pick(ENUMS);
    case 4: return r.pick(['', 'Kiosk', 'a\u0000b', '\ud800', 'x'.repeat(r.pick([1, 63, 64, 256, 257, 1025, 20000])), '2030-01-01T00:00:00Z', 'https://contoso.example/p', 'intune.microsoft.com']);
    case 5: return r.pick(['0', 'A'.repeat(20), '\u00e9\u00e8']);
    case 6: return r.pick([[], ['0'], [1], ['a', null]]);
    case 7: return Array.from({ length: r.int(4) }, () => jsonValue(r, depth + 1));
    default: return object(r, depth + 1);
  }
}

function object(r: Rng, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = r.int(5); i > 0; i--) o[r.pick(PROPS)] = jsonValue(r, depth);
  return o;
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

/** A property whose value is an object nested `depth` levels deep. */
function deepObject(depth: number): string {
  return `{"displayName":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
}

function filter(r: Rng): string {
  const atom = () => r.pick([
    "displayName eq 'Kiosk'", "startswith(displayName,'K')", 'enrolledDeviceCount gt 1.5', 'tokenExpirationDateTime lt 2030-01-01T00:00:00Z',
    "enrollmentMode eq 'corporateOwnedDedicatedDevice'", 'configureWifi', 'not configureWifi', "id in ('a','b')", 'true', 'null eq null',
    "displayName eq 'a''b'", 'enrolledDeviceCount eq INF', "contains(description,'%')", "wifiSecurityType eq 'nope'", 'qrCodeImage eq null',
    "displayName eq '", ')(', "endswith(displayName,'x') or", 'enrolledDeviceCount add 1 eq 2', "displayName eq 'x'".repeat(3),
  ]);
  let f = atom();
  for (let i = r.int(4); i > 0; i--) f = `${r.chance(0.3) ? 'not ' : ''}(${f}) ${r.pick(['and', 'or'])} ${atom()}`;
  if (r.chance(0.05)) f = `${'('.repeat(150)}${f}${')'.repeat(150)}`;
  if (r.chance(0.05)) f = Array.from({ length: 250 }, () => "displayName eq 'x'").join(' or ');
  return f;
}

function query(r: Rng): string {
  const parts: string[] = [];
  for (let i = r.int(4); i > 0; i--) {
    const name = r.pick(['$filter', 'filter', '$select', '$orderby', '$top', '$skip', '$count', '$skiptoken', '$search', '$expand', '$format', 'foo', '$FILTER']);
    const value = name.toLowerCase().includes('filter') ? filter(r)
      : r.pick(['displayName', 'id,displayName', 'qrCodeImage', 'displayName desc,id', 'enrollmentMode', '-1', '0', '5', '1000', '100000', 'true', 'maybe', 'eyJ4IjoxfQ.abc', '*', '']);
    parts.push(`${encodeURIComponent(name).replace(/^%24/, '$')}=${encodeURIComponent(value)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function path(r: Rng, ctx: Ctx): string {
  const version = r.pick(['beta', 'beta', 'beta', 'v1.0', 'V1.0', 'v2.0', 'BETA']);
  if (r.chance(0.05)) return r.pick(['/', '/healthz', '/beta', '/beta/', '/beta/$metadata', '/v1.0/$batch', '/deviceManagement', '/_admin/clock', '/enrollment/android/enroll', '//beta//deviceManagement']);
  const segs = [`/${version}`, r.chance(0.95) ? 'deviceManagement' : r.pick(WEIRD)];
  if (r.chance(0.1)) return segs.join('/');
  const set = r.pick(SETS);
  const key = r.chance(0.7) ? r.pick(set.toLowerCase().includes('deviceowner') && ctx.deviceOwnerIds.length ? ctx.deviceOwnerIds : ctx.ids.length ? ctx.ids : ['x']) : r.pick(WEIRD);
  const keyed = r.chance(0.15) ? `${set}('${encodeURIComponent(key)}')` : set;
  segs.push(keyed);
  if (keyed === set && r.chance(0.7)) segs.push(r.chance(0.1) ? `AOSP-${key}` : encodeURIComponent(key));
  if (r.chance(0.5)) segs.push(r.pick(ACTIONS));
  if (r.chance(0.05)) segs.push(r.pick(WEIRD));
  return segs.join('/');
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function request(seed: number, index: number, ctx: Ctx): FuzzRequest {
  const r = new Rng(seed, index);
  const headers: Record<string, string> = {};
  const auth = r.int(10);
  if (auth < 6) headers.Authorization = `Bearer ${ctx.tokens.rw}`;
  else if (auth === 6) headers.Authorization = `Bearer ${ctx.tokens.ro}`;
  else if (auth === 7) headers.Authorization = `Bearer ${ctx.tokens.other}`;
  else if (auth === 8) headers.Authorization = r.pick(['Bearer', 'Basic abc', `Bearer ${ctx.tokens.rw.slice(0, -3)}xyz`, 'Bearer a.b.c', `bearer ${ctx.tokens.rw}`, `Bearer ${'x'.repeat(4000)}`]);
  if (r.chance(0.1)) headers['client-request-id'] = r.pick(['abc', 'x'.repeat(500), '\u00e9']);
  if (r.chance(0.1)) headers.Prefer = r.pick(['return=minimal', 'return=representation', 'odata.maxpagesize=1', 'garbage']);
  const kind = r.int(20);
  let method: string;
  let p: string;
  let body: string | undefined;
  if (kind === 0) {
    method = 'POST';
    p = r.pick(['/beta/$batch', '/v1.0/$batch', '/BETA/%24batch']);
    const items = Array.from({ length: r.int(r.chance(0.1) ? 25 : 6) }, (_, i) => ({
      id: r.chance(0.9) ? String(i + 1) : '1',
      method: r.pick(['GET', 'POST', 'PATCH', 'DELETE', 'PUT']),
      url: r.chance(0.8) ? path(new Rng(seed, index * 31 + i + 1), ctx).replace(/^\/[^/]+/, '') + query(r) : r.pick(['/$batch', '/%24batch', 'https://graph.microsoft.com/beta/$batch', '/v1.0/$batch', '', 'deviceManagement']),
      ...(r.chance(0.5) ? { headers: { 'Content-Type': r.pick(['application/json', 'text/plain']) } } : {}),
      ...(r.chance(0.5) ? { body: jsonValue(r) } : {}),
      ...(r.chance(0.2) ? { dependsOn: [r.pick(['1', '2', '9', '1'])] } : {}),
    }));
    body = r.chance(0.9) ? JSON.stringify({ requests: items }) : r.pick(['{"requests":', '[]', '{"requests":{}}', nested(5000)]);
  } else if (kind === 1) {
    method = r.pick(['POST', 'POST', 'GET', 'PUT']);
    p = '/enrollment/android/enroll';
    if (method !== 'GET') body = JSON.stringify(r.chance(0.7) ? { enrollmentToken: r.pick([...ctx.enrollmentTokens, 'NOPE', '', 'A'.repeat(300), 'A\u0000']), ...object(r, 1) } : jsonValue(r));
    delete headers.Authorization;
  } else {
    method = r.pick(['GET', 'GET', 'GET', 'POST', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS']);
    p = path(r, ctx) + (method === 'GET' || r.chance(0.1) ? query(r) : '');
    if (method !== 'GET' && method !== 'HEAD' && r.chance(0.85)) {
      const shape = r.int(12);
      body = shape === 0 ? nested(r.pick([50, 500, 5000]))
        : shape === 11 ? deepObject(r.pick([100, 4100]))
        : shape === 1 ? r.pick(['{', 'not json', '{"a":1}{', '\u0000', '{"displayName":"\\ud800"}'])
        : shape === 2 ? JSON.stringify({ tokenValidityInSeconds: jsonValue(r) })
        : shape === 3 ? JSON.stringify({ displayName: 'Fuzz', enrollmentMode: r.pick(ENUMS), ...object(r, 1) })
        : JSON.stringify(r.chance(0.8) ? object(r, 0) : jsonValue(r));
    }
  }
  if (body !== undefined) headers['Content-Type'] = r.pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded']);
  return { method, path: p, headers, ...(body !== undefined ? { body } : {}) };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

describe('fuzz: nothing a client sends breaks the server', () => {
  let server: TestServer;
  let ctx: Ctx;
  before(async () => {
    server = await startServer();
    const tenant = crypto.randomUUID();
    const rw = await server.token({ tenantId: tenant, upn: 'fuzz@contoso.example' });
    const ro = await server.token({ tenantId: tenant, scopes: [RO] });
    const other = await server.token({ tenantId: crypto.randomUUID() });
    const ids: string[] = [];
    const enrollmentTokens: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await createProfile(server.url, rw, { displayName: `Fuzz ${i}` });
      ids.push(p.id);
      await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token: rw, body: { tokenValidityInSeconds: 3600 } });
      enrollmentTokens.push((await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token: rw })).json.tokenValue);
    }
    const deviceOwnerIds: string[] = [];
    for (const mode of ['corporateOwnedDedicatedDevice', 'corporateOwnedAOSPUserlessDevice']) {
      const res = await call(server.url, 'POST', '/beta/deviceManagement/androidDeviceOwnerEnrollmentProfiles', { token: rw, body: { displayName: mode, enrollmentMode: mode } });
      deviceOwnerIds.push(res.json.id);
    }
    ctx = { ids, deviceOwnerIds, tokens: { rw, ro, other }, enrollmentTokens };
  });
  after(() => server?.dispose());

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${ONLY === undefined ? PER_SEED : 1} requests, no 5xx, every error in the envelope`, async () => {
      const indexes = ONLY === undefined ? Array.from({ length: PER_SEED }, (_, i) => i) : [ONLY];
      let peak = 0;
      let next = 0;
      const failures: string[] = [];
      const worker = async () => {
        while (next < indexes.length && failures.length < 5) {
          const index = indexes[next++]!;
          const req = request(seed, index, ctx);
          const where = `seed ${seed} index ${index}: ${req.method} ${req.path.slice(0, 200)}`;
          let res: Response;
          try {
            res = await fetch(`${server.url}${req.path}`, { method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
          } catch (err) {
            failures.push(`${where}: no answer (${(err as Error).message})`);
            continue;
          }
          const text = req.method === 'HEAD' ? '' : await res.text();
          if (res.status >= 500) failures.push(`${where}: ${res.status} ${text.slice(0, 300)}`);
          else if (res.status >= 400 && req.method !== 'HEAD' && !req.path.startsWith('/managed-google-play')) {
            let e: { error?: { code?: unknown; message?: unknown; innerError?: Record<string, unknown> } } | undefined;
            try {
              e = JSON.parse(text);
            } catch {
              e = undefined;
            }
            const ok = typeof e?.error?.code === 'string' && typeof e.error.message === 'string' && typeof e.error.innerError?.['request-id'] === 'string';
            if (!ok) failures.push(`${where}: ${res.status} not in the Graph envelope: ${text.slice(0, 300)}`);
            else if (res.headers.get('request-id') !== e!.error!.innerError!['request-id']) failures.push(`${where}: request-id header and body differ`);
          }
          if (index % 200 === 0) peak = Math.max(peak, rssBytes(server.proc.pid!));
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      assert.deepEqual(failures, [], `replay with ENROLLGRAPH_FUZZ_SEEDS=<seed> ENROLLGRAPH_FUZZ_ONLY=<index>`);
      // Healthy afterwards: health, a normal create and read.
      assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
      const p = await createProfile(server.url, ctx.tokens.rw, { displayName: 'after the fuzz' });
      assert.equal((await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token: ctx.tokens.rw })).status, 200);
      peak = Math.max(peak, rssBytes(server.proc.pid!));
      assert.ok(peak < RSS_CAP_BYTES, `resident memory stayed under ${RSS_CAP_BYTES / 2 ** 20} MB (peak ${Math.round(peak / 2 ** 20)} MB)`);
    });
  }
});
