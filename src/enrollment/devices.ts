/**
 * The device side of an enrollment token: what a device that scanned the QR code sends
 * (`POST /enrollment/android/enroll`). Enrolling counts the device on the profile that holds the
 * token, in one conditional UPDATE that also checks that the token is current and unexpired by the
 * server clock, and records the device.
 */
import { randomUUID } from 'node:crypto';
import { checkText } from '../model/codecs.js';
import { withRole } from '../model/edm.js';
import { Problem } from '../problem.js';
import type { ControlStore } from '../store/control.js';
import type { Store } from '../store/store.js';
import { FixedWindow } from '../throttle/window.js';
import { formatUs, type Clock } from '../time.js';

export const ENROLL_PATH = '/enrollment/android/enroll';

/** Rate limits of enrollment, per fixed window of `windowSeconds` on the server clock; 0 = no limit. */
export interface EnrollLimits {
  windowSeconds: number;
  /** Enrollments with one token. */
  perToken: number;
  /** Refused attempts (for any reason) from one client address; beyond it every attempt from there is refused. */
  failuresPerAddress: number;
}

export const DEFAULT_ENROLL_LIMITS: EnrollLimits = { windowSeconds: 60, perToken: 1000, failuresPerAddress: 20 };

export interface EnrolledDevice {
  deviceId: string;
  profileId: string;
  tenantId: string;
  enrolledDeviceCount: number;
  enrolledDateTime: string;
  serialNumber: string | null;
  model: string | null;
}

export type RefusalReason = 'invalid' | 'expired' | 'unlicensed' | 'rate-limited' | 'malformed' | 'other';

const INVALID_TOKEN = 'InvalidEnrollmentToken';
const EXPIRED_TOKEN = 'EnrollmentTokenExpired';

export const enrollErrors = {
  invalidToken: () =>
    new Problem('forbidden', 'The enrollment token is not valid: it is unknown, was revoked or replaced, or its profile was deleted.', undefined, { code: INVALID_TOKEN }),
  expiredToken: (expiredUs: number) => new Problem('forbidden', `The enrollment token expired at ${formatUs(expiredUs)}.`, undefined, { code: EXPIRED_TOKEN }),
};

export interface DeviceEnrollmentDeps {
  store: Store;
  control: ControlStore;
  clock: Clock;
  limits: EnrollLimits;
  /** Fault injection for the `enroll` operation (may wait, throw or drop the connection). */
  faults?: (tenantId: string | undefined) => Promise<void>;
  onEnrolled?: () => void;
  onRefused?: (reason: RefusalReason) => void;
}

/** A malformed enrollment body: the endpoint answers these 400 BadRequest. */
const malformed = (message: string, name?: string) => new Problem('invalid', message, name, { code: 'BadRequest' });

function text(body: Record<string, unknown>, name: string, required: boolean): string | null {
  const v = body[name];
  if ((v === undefined || v === null) && !required) return null;
  if (typeof v !== 'string' || v.length > 256 || (required && v === '')) {
    throw malformed(required ? `'${name}' must be a non-empty string.` : `'${name}' must be a string of at most 256 characters.`, name);
  }
  try {
    return checkText(v, name);
  } catch (err) {
    throw err instanceof Problem ? malformed(err.message, name) : err;
  }
}

function reasonOf(err: unknown): RefusalReason {
  if (!(err instanceof Problem)) return 'other';
  if (err.kind === 'rateLimited') return 'rate-limited';
  if (err.detail.code === EXPIRED_TOKEN) return 'expired';
  if (err.detail.code === INVALID_TOKEN) return 'invalid';
  if (err.kind === 'unlicensed') return 'unlicensed';
  return err.kind === 'invalid' || err.kind === 'unstorable' ? 'malformed' : 'other';
}

/**
 * Enrollment with a token of any kind of profile: one lookup in the token registry finds its holder,
 * and one transaction counts the device on it (while the token is current and unexpired by the
 * server clock) and records the device, so the count and the record go together or not at all.
 */
export class DeviceEnrollment {
  private readonly window: FixedWindow;

  constructor(private readonly deps: DeviceEnrollmentDeps) {
    this.window = new FixedWindow(deps.control, deps.clock, deps.limits.windowSeconds);
  }

  /** Enrolls a device with a token; throws (a Problem when refused) and then nothing changed. */
  async enroll(body: unknown, clientAddress: string): Promise<EnrolledDevice> {
    const now = this.deps.clock.nowUs();
    const failKey = `e:fail:${clientAddress}`;
    const { failuresPerAddress } = this.deps.limits;
    if (failuresPerAddress > 0 && (await this.window.peek(failKey, now)) >= failuresPerAddress) {
      this.deps.onRefused?.('rate-limited');
      throw new Problem('rateLimited', 'Too many refused enrollments from this address.', undefined, { retryAfterSeconds: this.window.retryAfterSeconds(now) });
    }
    try {
      return await this.attempt(body, now);
    } catch (err) {
      // Every refusal counts toward the address's failure limit, whatever its reason.
      this.deps.onRefused?.(reasonOf(err));
      if (failuresPerAddress > 0) await this.window.consume([{ key: failKey, limit: 0 }], now).catch(() => undefined);
      throw err;
    }
  }

  private async attempt(body: unknown, now: number): Promise<EnrolledDevice> {
    const { store, limits } = this.deps;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed("The body must be a JSON object with an 'enrollmentToken'.");
    const b = body as Record<string, unknown>;
    const token = text(b, 'enrollmentToken', true)!;
    const serialNumber = text(b, 'serialNumber', false);
    const model = text(b, 'model', false);

    const holder = await store.findToken(token);
    await this.deps.faults?.(holder?.tenantId);
    if (!holder) throw enrollErrors.invalidToken();
    const tenant = await store.getTenant(holder.tenantId);
    if (tenant && !tenant.licensed) throw new Problem('unlicensed', 'Request not applicable to target tenant.');
    const record = await store.get(holder.def, holder.tenantId, holder.id);
    const expires = withRole(holder.def, 'tokenExpires')!.name;
    // Expired only while it is still the profile's token: one revoked or replaced meanwhile is invalid.
    if (!record || record[withRole(holder.def, 'token')!.name] !== token) throw enrollErrors.invalidToken();
    if ((record[expires] as number) <= now) throw enrollErrors.expiredToken(record[expires] as number);
    if ((await this.window.consume([{ key: `e:tok:${token}`, limit: limits.perToken }], now)) !== undefined) {
      throw new Problem('rateLimited', 'Too many enrollments with this token.', undefined, { retryAfterSeconds: this.window.retryAfterSeconds(now) });
    }
    // The decision itself, in one transaction (the token may have been revoked or replaced since the read).
    const deviceId = randomUUID();
    const counted = await store.enroll(token, now, { deviceId, serialNumber, model, enrolledUs: now });
    if (!counted) throw enrollErrors.invalidToken();
    this.deps.onEnrolled?.();
    return {
      deviceId,
      profileId: counted.holder.id,
      tenantId: counted.holder.tenantId,
      enrolledDeviceCount: counted.record[withRole(holder.def, 'enrollCount')!.name] as number,
      enrolledDateTime: formatUs(now),
      serialNumber,
      model,
    };
  }
}
