import type { ControlStore, ThrottleBucket } from '../store/control.js';
import type { Clock } from '../time.js';

/**
 * Fixed windows of `windowSeconds`, aligned to the server clock's epoch (a 20 s window runs from
 * :00 to :20, :20 to :40, …), with their counters in the control store so every process on the
 * store shares one budget.
 */
export class FixedWindow {
  readonly windowUs: number;

  constructor(
    private readonly store: ControlStore,
    private readonly clock: Clock,
    windowSeconds: number,
  ) {
    this.windowUs = Math.round(windowSeconds * 1_000_000);
  }

  /** The start of the window "now" falls in. */
  windowStart(nowUs = this.clock.nowUs()): number {
    return Math.floor(nowUs / this.windowUs) * this.windowUs;
  }

  /** Whole seconds until the current window ends (at least 1): the `Retry-After` of a refusal. */
  retryAfterSeconds(nowUs = this.clock.nowUs()): number {
    return Math.max(1, Math.ceil((this.windowStart(nowUs) + this.windowUs - nowUs) / 1_000_000));
  }

  /** Counts one against every bucket unless one is full; the full bucket's key, or undefined. Limits ≤ 0 mean "no limit". */
  async consume(buckets: readonly ThrottleBucket[], nowUs = this.clock.nowUs()): Promise<string | undefined> {
    const limited = buckets.map((b) => (b.limit > 0 ? b : { key: b.key, limit: Number.MAX_SAFE_INTEGER }));
    return this.store.consume(limited, this.windowStart(nowUs));
  }

  async peek(key: string, nowUs = this.clock.nowUs()): Promise<number> {
    return this.store.peek(key, this.windowStart(nowUs));
  }
}
