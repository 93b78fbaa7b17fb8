import { errors } from '../graph/errors.js';
import { tenantBucketPrefix, type ControlStore, type ThrottleBucket } from '../store/control.js';
import type { Clock } from '../time.js';
import { FixedWindow } from './window.js';

/**
 * Intune's service limits for Android-for-Work resources ("Intune android for work service limits"):
 * per tenant 200 writes and 2,000 requests, per app within a tenant 100 writes and 1,000 requests,
 * each per 20 seconds. A write is POST, PUT, PATCH or DELETE.
 */
export interface ThrottleLimits {
  enabled: boolean;
  windowSeconds: number;
  tenantWrites: number;
  tenantRequests: number;
  appWrites: number;
  appRequests: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  enabled: true,
  windowSeconds: 20,
  tenantWrites: 200,
  tenantRequests: 2000,
  appWrites: 100,
  appRequests: 1000,
};

/** Which limit refused a call (a label of the throttled-calls metric). */
export type ThrottleScope = 'tenant-writes' | 'tenant-requests' | 'app-writes' | 'app-requests';

/**
 * Graph throttling: every authenticated call (each `$batch` item on its own) counts against its
 * tenant's and its app's budgets in the current fixed window; a call over any budget is refused with
 * 429 `TooManyRequests` and `Retry-After` = the seconds until the window ends, and counts against
 * nothing (so a throttled client does not eat another app's share of the tenant budget).
 */
export class Throttle {
  private readonly window: FixedWindow;

  constructor(
    store: ControlStore,
    private readonly clock: Clock,
    private readonly limits: ThrottleLimits,
    private readonly onThrottled: (scope: ThrottleScope) => void = () => undefined,
  ) {
    this.window = new FixedWindow(store, clock, limits.windowSeconds);
  }

  get enabled(): boolean {
    return this.limits.enabled;
  }

  /** Counts a call; throws the 429 GraphError when it is over a limit. */
  async admit(tenantId: string, appId: string, write: boolean): Promise<void> {
    if (!this.limits.enabled) return;
    const now = this.clock.nowUs();
    const t = tenantBucketPrefix(tenantId);
    const a = `${t}a:${appId}:`;
    const buckets: (ThrottleBucket & { scope: ThrottleScope })[] = [
      { key: `${a}all`, limit: this.limits.appRequests, scope: 'app-requests' },
      { key: `${t}all`, limit: this.limits.tenantRequests, scope: 'tenant-requests' },
    ];
    if (write) {
      buckets.unshift({ key: `${a}w`, limit: this.limits.appWrites, scope: 'app-writes' });
      buckets.splice(2, 0, { key: `${t}w`, limit: this.limits.tenantWrites, scope: 'tenant-writes' });
    }
    const full = await this.window.consume(buckets, now);
    if (full === undefined) return;
    this.onThrottled(buckets.find((b) => b.key === full)!.scope);
    throw errors.tooManyRequests(this.window.retryAfterSeconds(now));
  }
}

export function isWriteMethod(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
}
