import { DEFAULT_ENROLL_LIMITS, type EnrollLimits } from '../enrollment/devices.js';
import { DEFAULT_THROTTLE_LIMITS, type ThrottleLimits } from '../throttle/throttle.js';

/** Throttling, enrollment limits and the control API (`serve` flags; see README "Control API"). */
export interface ControlConfig {
  throttling: ThrottleLimits;
  enrollment: EnrollLimits;
  /** The admin key (`--admin-key`); undefined = the one kept in the store, generated at first start. */
  adminKey: string | undefined;
  /** A snapshot-format file (JSON or YAML) applied to an empty store at start, and by every reset. */
  seedFile: string | undefined;
  /** How many requests `GET /_admin/requests` remembers (per process). */
  journalSize: number;
}

export function defaultControlConfig(): ControlConfig {
  return {
    throttling: { ...DEFAULT_THROTTLE_LIMITS },
    enrollment: { ...DEFAULT_ENROLL_LIMITS },
    adminKey: undefined,
    seedFile: undefined,
    journalSize: 1000,
  };
}

/** The `serve` flags of the control plane, for parseArgs. */
export const CONTROL_OPTIONS = {
  throttling: { type: 'string' },
  'throttle-window': { type: 'string' },
  'tenant-write-limit': { type: 'string' },
  'tenant-request-limit': { type: 'string' },
  'app-write-limit': { type: 'string' },
  'app-request-limit': { type: 'string' },
  'enroll-window': { type: 'string' },
  'enroll-token-limit': { type: 'string' },
  'enroll-failure-limit': { type: 'string' },
  'admin-key': { type: 'string' },
  seed: { type: 'string' },
  'journal-size': { type: 'string' },
} as const;

export const CONTROL_USAGE = `[--throttling on|off] [--throttle-window S] [--tenant-write-limit N] [--tenant-request-limit N]
                  [--app-write-limit N] [--app-request-limit N] [--enroll-window S] [--enroll-token-limit N]
                  [--enroll-failure-limit N] [--admin-key KEY] [--seed FILE] [--journal-size N]`;

/** Reads the control flags (already merged with ENROLLGRAPH_* variables); throws Error with a usage message. */
export function controlConfigFrom(values: Record<string, string | boolean | undefined>): ControlConfig {
  const c = defaultControlConfig();
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const int = (k: string, min: number, max: number): number | undefined => {
    const s = str(k);
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s.trim()) || Number(s) < min || Number(s) > max) throw new Error(`--${k} must be an integer from ${min} to ${max}, got '${s}'`);
    return Number(s);
  };
  const throttling = str('throttling');
  if (throttling !== undefined) {
    if (/^(on|true|1|yes)$/i.test(throttling)) c.throttling.enabled = true;
    else if (/^(off|false|0|no)$/i.test(throttling)) c.throttling.enabled = false;
    else throw new Error(`--throttling takes on or off, got '${throttling}'`);
  }
  const max = 1_000_000_000;
  c.throttling.windowSeconds = int('throttle-window', 1, 86_400) ?? c.throttling.windowSeconds;
  c.throttling.tenantWrites = int('tenant-write-limit', 0, max) ?? c.throttling.tenantWrites;
  c.throttling.tenantRequests = int('tenant-request-limit', 0, max) ?? c.throttling.tenantRequests;
  c.throttling.appWrites = int('app-write-limit', 0, max) ?? c.throttling.appWrites;
  c.throttling.appRequests = int('app-request-limit', 0, max) ?? c.throttling.appRequests;
  c.enrollment.windowSeconds = int('enroll-window', 1, 86_400) ?? c.enrollment.windowSeconds;
  c.enrollment.perToken = int('enroll-token-limit', 0, max) ?? c.enrollment.perToken;
  c.enrollment.failuresPerAddress = int('enroll-failure-limit', 0, max) ?? c.enrollment.failuresPerAddress;
  const key = str('admin-key');
  if (key !== undefined) {
    if (key.length < 8 || /\s/.test(key)) throw new Error('--admin-key must be at least 8 characters, without spaces');
    c.adminKey = key;
  }
  c.seedFile = str('seed');
  c.journalSize = int('journal-size', 0, 1_000_000) ?? c.journalSize;
  return c;
}
