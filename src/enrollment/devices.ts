/**
 * The device side of an enrollment token: what a device that scanned the QR code sends
 * (`POST /enrollment/android/enroll`). Enrolling counts the device on the profile that holds the
 * token, in one conditional UPDATE that also checks that the token is current and unexpired by the
 * server clock, and records the device.
 */
import { randomUUID } from 'node:crypto';
import { errors, GraphError } from '../graph/errors.js';
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
  /** Refused attempts (unknown, revoked, expired tokens) from one client address; beyond it every attempt from there is refused. */
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

export const enrollErrors = {
  invalidToken: () =>
    new GraphError(403, 'InvalidEnrollmentToken', 'The enrollment token is not valid: it is unknown, was revoked or replaced, or its profile was deleted.'),
  expiredToken: (expiredUs: number) => new GraphError(403, 'EnrollmentTokenExpired', `The enrollment token expired at ${formatUs(expiredUs)}.`),
};

export interface DeviceEnrollmentDeps {
  store: Store;
  control: ControlStore;
  clock: Clock;
  limits: EnrollLimits;
  /** Fault injection for the `enroll` operation (may wait, throw a GraphError or drop the connection). */
  faults?: (tenantId: string | undefined) => Promise<void>;
  onEnrolled?: () => void;
  onRefused?: (reason: RefusalReason) => void;
}

function optionalText(body: Record<string, unknown>, name: string): string | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > 256) throw errors.badRequest(`'${name}' must be a string of at most 256 characters.`);
  return v;
}

export class DeviceEnrollment {
  private readonly window: FixedWindow;

  constructor(private readonly deps: DeviceEnrollmentDeps) {
    this.window = new FixedWindow(deps.control, deps.clock, deps.limits.windowSeconds);
  }

  /** Enrolls a device with a token; throws a GraphError when refused (and then nothing changed). */
  async enroll(body: unknown, clientAddress: string): Promise<EnrolledDevice> {
    try {
      return await this.attempt(body, clientAddress);
    } catch (err) {
      if (err instanceof GraphError) {
        const reason: RefusalReason = err.status === 429 ? 'rate-limited' : err.code === 'EnrollmentTokenExpired' ? 'expired'
          : err.code === 'InvalidEnrollmentToken' ? 'invalid' : err.message === errors.unlicensedTenant().message ? 'unlicensed'
          : err.status === 400 ? 'malformed' : 'other';
        this.deps.onRefused?.(reason);
      }
      throw err;
    }
  }

  private async attempt(body: unknown, clientAddress: string): Promise<EnrolledDevice> {
    const { store, control, clock, limits } = this.deps;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw errors.badRequest("The body must be a JSON object with an 'enrollmentToken'.");
    }
    const b = body as Record<string, unknown>;
    const token = b.enrollmentToken;
    if (typeof token !== 'string' || token === '' || token.length > 256) throw errors.badRequest("'enrollmentToken' must be a non-empty string.");
    const serialNumber = optionalText(b, 'serialNumber');
    const model = optionalText(b, 'model');

    const now = clock.nowUs();
    const failKey = `e:fail:${clientAddress}`;
    if (limits.failuresPerAddress > 0 && (await this.window.peek(failKey, now)) >= limits.failuresPerAddress) {
      throw errors.tooManyRequests(this.window.retryAfterSeconds(now));
    }
    const refuse = async (err: GraphError): Promise<never> => {
      if (limits.failuresPerAddress > 0) await this.window.consume([{ key: failKey, limit: 0 }], now);
      throw err;
    };

    const profile = await store.findProfileByToken(token);
    await this.deps.faults?.(profile?.tenantId);
    if (!profile) return refuse(enrollErrors.invalidToken());
    const tenant = await store.getTenant(profile.tenantId);
    if (tenant && !tenant.licensed) throw errors.unlicensedTenant();
    if (profile.tokenExpiresUs <= now) return refuse(enrollErrors.expiredToken(profile.tokenExpiresUs));
    if ((await this.window.consume([{ key: `e:tok:${token}`, limit: limits.perToken }], now)) !== undefined) {
      throw errors.tooManyRequests(this.window.retryAfterSeconds(now));
    }
    // The decision itself: one conditional UPDATE (the token may have been revoked or replaced since the read).
    const counted = await store.enrollDevice(token, now);
    if (!counted) return refuse(enrollErrors.invalidToken());
    const device: EnrolledDevice = {
      deviceId: randomUUID(),
      profileId: counted.profileId,
      tenantId: counted.tenantId,
      enrolledDeviceCount: counted.enrolledDeviceCount,
      enrolledDateTime: formatUs(now),
      serialNumber,
      model,
    };
    await control.insertDevice({
      deviceId: device.deviceId, tenantId: device.tenantId, profileId: device.profileId, serialNumber, model, enrolledUs: now,
    });
    this.deps.onEnrolled?.();
    return device;
  }
}
