/**
 * The server's clock, as the console counts by it: token expiry is decided by the server's "now",
 * which tests freeze, set and move, so a countdown by the browser's clock can say "59 min left" of a
 * token the server already refuses. Read from the control API with the admin key (not journaled), or
 * from the public read-only `GET /clock`; re-read every few seconds and after every action.
 */
import { publicClock, type Admin, type ClockState } from './graph.js';
import { parseInstant } from './dom.js';

const RESYNC_MS = 5_000;

export class ServerClock {
  private baseMs = Date.now();
  private at = performance.now();
  frozen = false;
  offsetSeconds = 0;
  synced = false;
  private listeners = new Set<() => void>();
  private timer: number | undefined;
  private lastSync = 0;

  constructor(private readonly admin: () => Admin | undefined) {}

  /** Server "now" in milliseconds since the epoch. */
  now(): number {
    return this.frozen ? this.baseMs : this.baseMs + (performance.now() - this.at);
  }

  apply(state: ClockState): void {
    this.baseMs = parseInstant(state.now);
    this.at = performance.now();
    this.frozen = state.frozen;
    this.offsetSeconds = state.offsetSeconds;
    this.synced = true;
    this.lastSync = performance.now();
    this.tick();
  }

  async sync(): Promise<void> {
    const started = performance.now();
    const admin = this.admin();
    const state = admin ? await admin.clock() : await publicClock();
    // Half the round trip: the answer was read about then.
    const halfTrip = (performance.now() - started) / 2;
    this.apply(state);
    if (!state.frozen) this.at -= halfTrip;
  }

  onTick(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private tick(): void {
    for (const fn of [...this.listeners]) fn();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = window.setInterval(() => {
      if (performance.now() - this.lastSync >= RESYNC_MS) void this.sync().catch(() => undefined);
      this.tick();
    }, 1000);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) void this.sync().catch(() => undefined);
    });
  }
}
