import pg from 'pg';
import type { TenantRecord } from './store.js';

/** The channel the trigger on `tenants` (migration 4) notifies with the changed tenant id ('*' for all). */
export const TENANTS_CHANNEL = 'enrollgraph_tenants';

const MAX_ENTRIES = 10_000;
/** A cached entry is trusted this long at most, even if a notification went missing. */
const TTL_MS = 5_000;
/** How often the listening connection is checked, and how soon a lost one is replaced. */
const HEARTBEAT_MS = 2_000;

/**
 * Tenant licence state cached in the process, kept current across instances by LISTEN/NOTIFY: a
 * trigger on `tenants` notifies every change (whoever makes it: this store, the control plane's
 * snapshot restore, SQL by hand), and each instance drops that entry when the notification arrives,
 * normally within a millisecond of the commit. While the listening connection is down (and until it
 * is back and listening again) nothing is cached: every read goes to the table. A read that raced
 * with a notification is not cached (a generation count tells), and entries expire after TTL_MS
 * whatever happens, so a silently broken listener cannot keep a stale answer for long.
 */
export class TenantCache {
  private readonly entries = new Map<string, { value: TenantRecord | undefined; until: number }>();
  private generation = 0;
  private client: pg.Client | undefined;
  private listening = false;
  private starting = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private lastAttempt = 0;

  constructor(private readonly config: pg.ClientConfig) {}

  /** The tenant, from the cache while it is current, else from `load` (and then cached). */
  async get(tenantId: string, load: () => Promise<TenantRecord | undefined>): Promise<TenantRecord | undefined> {
    if (!this.listening) this.start();
    const now = Date.now();
    const hit = this.listening ? this.entries.get(tenantId) : undefined;
    if (hit && hit.until > now) return hit.value;
    const generation = this.generation;
    const value = await load();
    if (this.listening && generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(tenantId, { value, until: now + TTL_MS });
    }
    return value;
  }

  /** Forgets a tenant (this process changed it: do not wait for the notification). */
  invalidate(tenantId: string): void {
    this.generation++;
    this.entries.delete(tenantId);
  }

  private forgetAll(): void {
    this.generation++;
    this.entries.clear();
  }

  private start(): void {
    if (this.starting || this.closed || Date.now() - this.lastAttempt < 1_000) return;
    this.starting = true;
    this.lastAttempt = Date.now();
    const client = new pg.Client(this.config);
    this.client = client;
    const lost = () => {
      if (this.client !== client) return;
      this.listening = false;
      this.client = undefined;
      this.forgetAll();
      client.end().catch(() => undefined);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel !== TENANTS_CHANNEL) return;
      if (!msg.payload || msg.payload === '*') this.forgetAll();
      else this.invalidate(msg.payload);
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${TENANTS_CHANNEL}`))
      .then(
        () => {
          if (this.client !== client) return;
          this.forgetAll(); // whatever changed before LISTEN took effect
          this.listening = true;
        },
        () => lost(),
      )
      .finally(() => {
        this.starting = false;
      });
    this.heartbeat();
  }

  /** Checks the listening connection now and then; replaces it when it is gone or silent. */
  private heartbeat(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      const client = this.client;
      if (!client) {
        this.start();
        return;
      }
      if (!this.listening) return;
      client.query({ text: 'SELECT 1', query_timeout: HEARTBEAT_MS } as pg.QueryConfig).catch(() => {
        if (this.client !== client) return;
        this.listening = false;
        this.client = undefined;
        this.forgetAll();
        client.end().catch(() => undefined);
      });
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.timer) clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    this.forgetAll();
    await client?.end().catch(() => undefined);
  }
}
