import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControllableClock } from '../../src/clock.js';
import { RequestJournal } from '../../src/control/journal.js';
import { Metrics } from '../../src/control/metrics.js';
import { fromSnapshot, toSnapshot, SnapshotError } from '../../src/control/snapshot.js';
import { fires, globToRegExp, matches, mulberry32At, parseFaultSpec, FaultSpecError } from '../../src/faults/rules.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { FixedWindow } from '../../src/throttle/window.js';
import { formatUs, MIN_US, type Clock } from '../../src/time.js';

/** mulberry32 as usually written: a stateful generator. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const fixed = (us: number): Clock => ({ nowUs: () => us });

describe('fault rules', () => {
  it('draws the n-th output of mulberry32 directly', () => {
    for (const seed of [0, 1, 42, 0xffffffff]) {
      const next = mulberry32(seed);
      for (let n = 1; n <= 200; n++) assert.equal(mulberry32At(seed, n), next());
    }
  });

  it('fires every time, on the n-th match, or with a seeded probability', () => {
    assert.ok([1, 2, 3].every((n) => fires({ status: 500 }, n)));
    assert.deepEqual([1, 2, 3, 4].map((n) => fires({ status: 500, nth: 3 }, n)), [false, false, true, false]);
    const spec = { status: 503, probability: 0.3, seed: 9 };
    const hits = Array.from({ length: 10_000 }, (_, i) => fires(spec, i + 1)).filter(Boolean).length;
    assert.ok(Math.abs(hits - 3000) < 200, `${hits}`);
  });

  it('matches method, operation, tenant and path globs (any case)', () => {
    const call = { method: 'post', path: '/beta/deviceManagement/androidForWorkEnrollmentProfiles/1/createToken', tenantId: 'AB', operation: 'createToken' as const };
    assert.ok(matches({ method: 'POST', tenant: 'ab', operation: 'createToken', path: '/*/devicemanagement/*/createtoken' }, call));
    assert.ok(!matches({ method: 'GET' }, call));
    assert.ok(!matches({ tenant: 'cd' }, call));
    assert.ok(!matches({ tenant: 'cd' }, { ...call, tenantId: undefined }));
    assert.ok(!matches({ operation: 'list' }, call));
    assert.ok(!globToRegExp('/beta/(x)+').test('/beta/xx'));
    assert.ok(globToRegExp('/beta/(x)+').test('/beta/(x)+'));
  });

  it('checks rule definitions', () => {
    assert.deepEqual(parseFaultSpec({ method: 'get', status: 429 }), { method: 'GET', status: 429 });
    for (const bad of [null, {}, { status: 99 }, { latencyMs: -1 }, { drop: true, status: 500 }, { status: 500, nth: 1, probability: 0.5 }, { seed: 1, status: 500 }, { retryAfter: 1, drop: true }]) {
      assert.throws(() => parseFaultSpec(bad), FaultSpecError);
    }
  });
});

describe('clock', () => {
  it('is frozen at an instant, or runs with an offset', () => {
    let real = 1_000_000_000;
    const clock = new ControllableClock({ nowUs: () => real });
    assert.equal(clock.nowUs(), real);
    clock.apply(clock.settingsFor({ nowUs: 5_000_000, frozen: true }));
    real += 777;
    assert.equal(clock.nowUs(), 5_000_000);
    clock.apply(clock.settingsFor({ frozen: false }));
    assert.equal(clock.nowUs(), 5_000_000);
    real += 10;
    assert.equal(clock.nowUs(), 5_000_010);
    assert.equal(clock.describe().frozen, false);
  });
});

describe('fixed windows and counters', () => {
  it('aligns windows to the clock and counts exactly, refusing without counting', async () => {
    const store = await openSqliteStore(null).openControlStore();
    const at = (sec: number) => new FixedWindow(store, fixed(sec * 1e6), 20);
    assert.equal(at(41).windowStart(), 40e6);
    assert.equal(at(41).retryAfterSeconds(), 19);
    assert.equal(at(59.5).retryAfterSeconds(), 1);
    assert.equal(at(60).retryAfterSeconds(), 20);
    const w = at(41);
    const buckets = [{ key: 'app', limit: 2 }, { key: 'tenant', limit: 3 }];
    assert.equal(await w.consume(buckets), undefined);
    assert.equal(await w.consume(buckets), undefined);
    assert.equal(await w.consume(buckets), 'app');
    assert.equal(await w.peek('tenant'), 2);
    assert.equal(await w.consume([{ key: 'tenant', limit: 3 }]), undefined);
    assert.equal(await w.consume([{ key: 'tenant', limit: 3 }]), 'tenant');
    assert.equal(await w.consume([{ key: 'other', limit: 0 }]), undefined); // 0 = no limit
    // The next window starts afresh.
    assert.equal(await at(60).consume(buckets), undefined);
    assert.equal(await at(60).peek('app'), 1);
  });
});

describe('snapshots', () => {
  it('round-trip state exactly', () => {
    const state = {
      clock: { frozenUs: 1_893_456_000_123_456, offsetUs: 0 },
      tenants: [{ tenantId: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', licensed: false }],
      entities: {
        androidForWorkEnrollmentProfile: [{
          tenantId: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', id: 'p1', accountId: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', displayName: 'A',
          description: null, createdDateTime: 1_893_456_000_000_001, lastModifiedDateTime: 1_893_456_000_000_002, tokenValue: 'ABCDEFGHIJKLMNOPQRST',
          tokenExpirationDateTime: 1_893_456_000_000_004, enrolledDeviceCount: 3,
        }],
        androidDeviceOwnerEnrollmentProfile: [],
        androidManagedStoreAccountEnterpriseSettings: [],
      },
      devices: [{
        deviceId: 'd1', tenantId: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', profileType: 'androidForWorkEnrollmentProfile', profileId: 'p1',
        serialNumber: null, model: 'M', enrolledUs: 1_893_456_000_000_003,
      }],
      faults: [{ id: 'f1', position: 1, spec: JSON.stringify({ operation: 'list', status: 429, retryAfter: 1 }), hits: 4 }],
    };
    assert.deepEqual(fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(state))), 0), state);
    const running = { ...state, clock: { frozenUs: null, offsetUs: -1_234_567 } };
    assert.deepEqual(fromSnapshot(toSnapshot(running), 0).clock, running.clock);
  });

  it('fill what a seed leaves out, with ids that repeat', () => {
    const seed = { profiles: [{ tenantId: '6F1C3A52-8D5E-4B0E-9A55-1F0C2B7D4E10', displayName: 'A' }] };
    const a = fromSnapshot(seed, 5).entities.androidForWorkEnrollmentProfile!;
    assert.deepEqual(a[0], {
      tenantId: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', id: a[0]!.id, accountId: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', displayName: 'A',
      description: null, createdDateTime: 5, lastModifiedDateTime: 5, tokenValue: null, tokenExpirationDateTime: MIN_US, enrolledDeviceCount: 0,
    });
    assert.equal(fromSnapshot(seed, 9).entities.androidForWorkEnrollmentProfile![0]!.id, a[0]!.id);
    assert.throws(() => fromSnapshot({ profiles: [{ tenantId: 'x', displayName: 'A' }] }, 0), SnapshotError);
  });
});

describe('request metrics', () => {
  it('count by operation and status, and bucket latencies cumulatively, in the Prometheus text format', async () => {
    const m = new Metrics({ processMetrics: false });
    m.observeRequest('get', 200, 0.0004);
    m.observeRequest('get', 200, 0.02);
    m.observeRequest('get', 404, 20);
    const { contentType, text } = await m.scrape();
    assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(text, /^# TYPE enrollgraph_http_requests_total counter$/m);
    assert.match(text, /^enrollgraph_http_requests_total\{operation="get",status="200"\} 2$/m);
    assert.match(text, /^enrollgraph_http_requests_total\{operation="get",status="404"\} 1$/m);
    assert.match(text, /^# TYPE enrollgraph_http_request_duration_seconds histogram$/m);
    assert.match(text, /^enrollgraph_http_request_duration_seconds_bucket\{le="0.001",operation="get"\} 1$/m);
    assert.match(text, /^enrollgraph_http_request_duration_seconds_bucket\{le="0.025",operation="get"\} 2$/m);
    assert.match(text, /^enrollgraph_http_request_duration_seconds_bucket\{le="10",operation="get"\} 2$/m);
    assert.match(text, /^enrollgraph_http_request_duration_seconds_bucket\{le="\+Inf",operation="get"\} 3$/m);
    assert.match(text, /^enrollgraph_http_request_duration_seconds_sum\{operation="get"\} 20.0204$/m);
    assert.match(text, /^enrollgraph_http_request_duration_seconds_count\{operation="get"\} 3$/m);
  });

  it('count what comes before prom-client loads (at the first scrape) and after, counters too', async () => {
    const m = new Metrics({ processMetrics: false });
    m.faults.inc({ kind: 'error' });
    m.tokensCreated.inc();
    m.observeRequest('createToken', 200, 0.01);
    assert.match((await m.scrape()).text, /^enrollgraph_faults_injected_total\{kind="error"\} 1$/m);
    m.faults.inc({ kind: 'error' });
    m.tokensCreated.inc();
    m.observeRequest('createToken', 200, 0.01);
    const { text } = await m.scrape();
    assert.match(text, /^enrollgraph_faults_injected_total\{kind="error"\} 2$/m);
    assert.match(text, /^enrollgraph_enrollment_tokens_created_total 2$/m);
    assert.match(text, /^enrollgraph_http_requests_total\{operation="createToken",status="200"\} 2$/m);
  });
});

describe('request journal', () => {
  const T1 = '11111111-1111-4111-8111-111111111111';
  const add = (j: RequestJournal, n: number, tenant: string | null = T1) =>
    j.add(1_800_000_000_000_000 + n, 'GET', `/v1.0/p${n}`, 'get', tenant, 200 + n, n / 10, `r${n}`, `c${n}`);

  it('keeps the last `size` requests, oldest first, each as it was added', () => {
    const j = new RequestJournal(3);
    for (let n = 1; n <= 5; n++) add(j, n, n % 2 ? T1 : null);
    assert.deepEqual(j.list(), [3, 4, 5].map((n) => ({
      time: formatUs(1_800_000_000_000_000 + n),
      method: 'GET', path: `/v1.0/p${n}`, operation: 'get', tenant: n % 2 ? T1 : null, status: 200 + n, latencyMs: n / 10,
      requestId: `r${n}`, clientRequestId: `c${n}`,
    })));
  });

  it('filters by tenant, then keeps the last `limit`', () => {
    const j = new RequestJournal(10);
    for (let n = 1; n <= 6; n++) add(j, n, n % 2 ? T1 : null);
    assert.deepEqual(j.list({ tenant: T1 }).map((e) => e.requestId), ['r1', 'r3', 'r5']);
    assert.deepEqual(j.list({ tenant: T1, limit: 2 }).map((e) => e.requestId), ['r3', 'r5']);
    assert.deepEqual(j.list({ limit: 1 }).map((e) => e.requestId), ['r6']);
  });

  it('forgets everything on clear, and keeps nothing with size 0', () => {
    const j = new RequestJournal(2);
    add(j, 1);
    j.clear();
    assert.deepEqual(j.list(), []);
    add(j, 2);
    assert.deepEqual(j.list().map((e) => e.requestId), ['r2']);
    const none = new RequestJournal(0);
    add(none, 1);
    assert.deepEqual(none.list(), []);
  });
});
