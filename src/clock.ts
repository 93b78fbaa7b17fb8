import { SYSTEM_CLOCK, type ClockSettings } from './store/control.js';
import { formatUs, SystemClock, type Clock } from './time.js';

/**
 * The server's "now", controllable for tests: the machine's clock plus an offset, or frozen at an
 * instant. The settings live in the control store (so every process on a store shares them); this
 * object holds the copy the process works with — the control plane updates it at once when this
 * process changes the settings, and refreshes it from the store about once a second otherwise.
 */
export class ControllableClock implements Clock {
  private settings: ClockSettings = SYSTEM_CLOCK;

  constructor(private readonly base: Clock = new SystemClock()) {}

  nowUs(): number {
    return this.settings.frozenUs ?? this.base.nowUs() + this.settings.offsetUs;
  }

  /** The machine's time, whatever the settings. */
  realUs(): number {
    return this.base.nowUs();
  }

  get current(): ClockSettings {
    return this.settings;
  }

  apply(settings: ClockSettings): void {
    this.settings = { frozenUs: settings.frozenUs, offsetUs: settings.offsetUs };
  }

  /**
   * The settings that make "now" equal `nowUs` (or keep the current "now" when undefined), frozen or
   * running as asked (or as they are when undefined).
   */
  settingsFor(change: { nowUs?: number; frozen?: boolean }): ClockSettings {
    const target = change.nowUs ?? this.nowUs();
    const frozen = change.frozen ?? this.settings.frozenUs !== null;
    return frozen ? { frozenUs: target, offsetUs: 0 } : { frozenUs: null, offsetUs: target - this.base.nowUs() };
  }

  /** The settings as the control API shows them. */
  describe(): { now: string; frozen: boolean; offsetSeconds: number } {
    const now = this.nowUs();
    return {
      now: formatUs(now),
      frozen: this.settings.frozenUs !== null,
      offsetSeconds: Math.round((now - this.base.nowUs()) / 1000) / 1000,
    };
  }
}
