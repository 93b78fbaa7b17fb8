/**
 * The control plane: what makes the server behave like the live service under load and over time
 * (throttling, a controllable clock, fault injection, device enrollment) and the state behind the
 * control API (`/_admin/`, see http.ts). Its state lives in a ControlStore on the server's store, so
 * every process on one database shares budgets, clock, rules and the admin key; each process keeps a
 * copy of the clock, the rules and the key, changed at once when it changes them and refreshed from
 * the store about once a second.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ControllableClock } from '../clock.js';
import { DeviceEnrollment, ENROLL_PATH } from '../enrollment/devices.js';
import { FaultEngine } from '../faults/engine.js';
import type { GraphCaller, GraphCallHook, GraphResponse } from '../graph/service.js';
import type { StorageConfig } from '../config.js';
import { EMPTY_STATE, SYSTEM_CLOCK, type ClockSettings, type ControlStore, type StateData } from '../store/control.js';
import type { Store } from '../store/store.js';
import { isWriteMethod, Throttle } from '../throttle/throttle.js';
import type { Clock } from '../time.js';
import type { ControlConfig } from './config.js';
import { RequestJournal } from './journal.js';
import { Metrics } from './metrics.js';
import { operationOf, operationOfPath } from './operations.js';
import { fromSnapshot, snapshotText } from './snapshot.js';

const REFRESH_MS = 1000;
const PRUNE_EVERY_MS = 60_000;
/** Counters older than this are deleted (they can no longer be in a current window). */
const PRUNE_AGE_US = 3600 * 1_000_000;

/** Reads a seed file (JSON, or YAML for .yaml/.yml: yaml is loaded for a YAML file only). */
export function readSeedFile(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return /\.ya?ml$/i.test(file) ? (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text) : JSON.parse(text);
  } catch (err) {
    throw new Error(`seed file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export class ControlPlane {
  readonly journal: RequestJournal;
  readonly metrics = new Metrics();
  readonly faults: FaultEngine;
  readonly throttle: Throttle;
  readonly enrollment: DeviceEnrollment;
  private adminKeyHash: Buffer;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private closed = false;

  private constructor(
    readonly store: Store,
    readonly controlStore: ControlStore,
    readonly clock: ControllableClock,
    readonly config: ControlConfig,
    /** The admin key this process printed or was given. */
    readonly adminKey: string,
    /** True when this start generated the key (and so should show it to the operator, once). */
    readonly adminKeyGenerated: boolean,
    private readonly seed: unknown,
  ) {
    this.adminKeyHash = hashKey(adminKey);
    this.journal = new RequestJournal(config.journalSize);
    this.faults = new FaultEngine(controlStore, (kind) => this.metrics.faults.inc({ kind }));
    this.throttle = new Throttle(controlStore, clock, config.throttling, (scope) => this.metrics.throttled.inc({ scope }));
    this.enrollment = new DeviceEnrollment({
      store, control: controlStore, clock, limits: config.enrollment,
      faults: (tenantId) => this.faults.apply({ method: 'POST', path: ENROLL_PATH, tenantId, operation: 'enroll' }),
      onEnrolled: () => this.metrics.devicesEnrolled.inc(),
      onRefused: (reason) => this.metrics.enrollmentsRefused.inc({ reason }),
    });
  }

  /** Opens the control state on a store: admin key, seed (on an empty store), clock and rules, then refreshes them in the background. */
  static async open(store: Store, _storage: StorageConfig, config: ControlConfig, baseClock?: Clock): Promise<ControlPlane> {
    const seed = config.seedFile !== undefined ? readSeedFile(config.seedFile) : undefined;
    const controlStore = await store.openControlStore();
    try {
      const clock = new ControllableClock(baseClock);
      let adminKey: string;
      let generated = false;
      if (config.adminKey !== undefined) {
        adminKey = config.adminKey;
        await controlStore.setAdminKey(adminKey);
      } else {
        const candidate = randomBytes(24).toString('base64url');
        adminKey = await controlStore.initAdminKey(candidate);
        generated = adminKey === candidate; // false: the store had one
      }
      const plane = new ControlPlane(store, controlStore, clock, config, adminKey, generated, seed);
      if (seed !== undefined) await controlStore.replaceState(plane.seedState(), { onlyIfEmpty: true });
      await plane.refresh();
      plane.timer = setInterval(() => void plane.tick(), REFRESH_MS);
      plane.timer.unref();
      return plane;
    } catch (err) {
      await controlStore.close();
      throw err;
    }
  }

  /** Re-reads the clock, the fault rules and the admin key from the store. */
  async refresh(): Promise<void> {
    this.clock.apply(await this.controlStore.getClock());
    await this.faults.refresh();
    const key = await this.controlStore.getAdminKey();
    if (key !== undefined) this.adminKeyHash = hashKey(key);
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    try {
      await this.refresh();
      const real = this.clock.realUs();
      if (real - this.lastPrune > PRUNE_EVERY_MS * 1000) {
        this.lastPrune = real;
        await this.controlStore.pruneCounters(this.clock.nowUs() - PRUNE_AGE_US);
      }
    } catch {
      // The store is unreachable for now: keep the last copy and try again next time.
    }
  }

  /** True when an `Authorization` header carries the admin key. */
  isAdmin(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return m !== null && timingSafeEqual(hashKey(m[1]!), this.adminKeyHash);
  }

  /** GraphService's hook: injected faults, then throttling, for every authenticated call and each batch item. */
  readonly onCall: GraphCallHook = ({ req, method, target, principal }) => {
    const operation = operationOf(target, method);
    // For the journal and metrics (recordRequest): the HTTP request's caller and operation. A batch's
    // items are requests of their own; the batch itself was named first.
    req.caller ??= { tenant: principal.tenantId, operation };
    const observer = operation === 'createToken' ? this.countCreated : operation === 'revokeToken' ? this.countRevoked : undefined;
    // The batch itself consumes no budget: each of its items is counted as it runs.
    const throttled = operation !== 'batch' && this.throttle.enabled;
    if (!this.faults.active && !throttled) return observer; // nothing to wait for: no promise
    return (async () => {
      await this.faults.apply({ method, path: req.path, tenantId: principal.tenantId, operation });
      if (throttled) await this.throttle.admit(principal.tenantId, principal.appId, isWriteMethod(method));
      return observer;
    })();
  };

  private readonly countCreated = (res: GraphResponse) => {
    if (res.status < 300) this.metrics.tokensCreated.inc();
  };

  private readonly countRevoked = (res: GraphResponse) => {
    if (res.status < 300) this.metrics.tokensRevoked.inc();
  };

  /**
   * Feeds the request journal and the request metrics with an answered request (status 0: its
   * connection was dropped). `caller`: who called and what, when the Graph pipeline got that far
   * (GraphRequest.caller). Positional, as it runs once per request.
   */
  recordRequest(method: string, path: string, status: number, elapsedMs: number, requestId: string, clientRequestId: string, caller?: GraphCaller): void {
    // The pipeline named the operation of an authenticated Graph call; parse the path only for the rest.
    const operation = caller?.operation ?? operationOfPath(method, path);
    this.metrics.observeRequest(operation, status, elapsedMs / 1000);
    this.journal.add(
      this.clock.nowUs() - Math.round(elapsedMs * 1000), method, path, operation, caller?.tenant ?? null, status,
      Math.round(elapsedMs * 1000) / 1000, requestId, clientRequestId,
    );
  }

  // ---- clock ----

  async setClock(change: { nowUs?: number; frozen?: boolean }): Promise<void> {
    await this.applyClock(this.clock.settingsFor(change));
  }

  async resetClock(): Promise<void> {
    await this.applyClock(SYSTEM_CLOCK);
  }

  private async applyClock(settings: ClockSettings): Promise<void> {
    await this.controlStore.setClock(settings);
    this.clock.apply(settings);
  }

  async advanceClock(seconds: number): Promise<void> {
    this.clock.apply(await this.controlStore.advanceClock(Math.round(seconds * 1_000_000)));
  }

  // ---- state ----

  /** The seed as state (empty without a seed); times it leaves out are "now" by the seed's own clock. */
  private seedState(): StateData {
    if (this.seed === undefined) return EMPTY_STATE;
    const first = fromSnapshot(this.seed, this.clock.realUs());
    const now = first.clock.frozenUs ?? this.clock.realUs() + first.clock.offsetUs;
    return fromSnapshot(this.seed, now);
  }

  get hasSeed(): boolean {
    return this.seed !== undefined;
  }

  /**
   * The snapshot document as JSON text in chunks, read from one consistent state a page at a time.
   * Resolves once the read has begun (a store that cannot be read fails here, before any text).
   */
  async exportSnapshot(): Promise<AsyncIterableIterator<string>> {
    const reader = await this.controlStore.readState();
    return snapshotText(reader, this.clock.describe().now);
  }

  /** Replaces all state with a snapshot document, atomically; throws SnapshotError for a bad one. */
  async importSnapshot(doc: unknown): Promise<StateData> {
    const state = fromSnapshot(doc, this.clock.nowUs());
    await this.controlStore.replaceState(state);
    await this.refresh();
    return state;
  }

  /** Everything back to the seed (or empty), or one tenant's data back to its part of the seed. */
  async reset(tenantId?: string): Promise<void> {
    if (tenantId !== undefined) {
      await this.controlStore.replaceTenant(tenantId, this.seedState());
      return;
    }
    await this.controlStore.replaceState(this.seedState());
    this.journal.clear();
    await this.refresh();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.controlStore.close();
  }
}

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
