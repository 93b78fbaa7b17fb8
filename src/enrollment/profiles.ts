import { randomUUID } from 'node:crypto';
import type { Condition, RowQuery } from '../store/query.js';
import type { ProfilePatch, ProfileRecord, Store } from '../store/store.js';
import { MIN_US, type Clock } from '../time.js';
import { qrContentFor } from './qr.js';
import type { QrRenderer } from './qr-renderer.js';
import { newTokenValue } from './token.js';

/** A profile as the domain presents it: the stored record plus what is derived from its token. */
export interface Profile extends ProfileRecord {
  qrCodeContent: string | null;
  /** Base64 PNG of the QR code of `qrCodeContent`; null when there is no token. */
  qrCodePng: string | null;
}

export interface ProfileFields {
  displayName: string;
  description: string | null;
}

/** A background QR render waiting for its profile to be quiet: the newest token and when it is due. */
interface PendingRender {
  token: string;
  due: number;
  timer?: NodeJS.Timeout;
}

/** How long after a profile's last createToken its QR code is rendered in the background. */
const RENDER_DELAY_MS = 200;

/**
 * Enrollment profiles and their tokens. Knows nothing of HTTP or Graph: absent profiles are
 * `undefined`/`false`, and the protocol layer turns them into errors.
 *
 * QR images: createToken stores only the token (one UPDATE). The PNG is derived from the token, so it
 * is rendered later — in the background once the profile has been quiet for a moment, or on the first
 * read that needs it — off the request path of createToken, in a worker pool, and cached in the store
 * under the condition that the profile still holds that token.
 */
export class ProfileService {
  private readonly pendingRenders = new Map<string, PendingRender>();
  /** The presented profile of a shared record (frozen: SQLite's read cache hands out the same one while the row is unchanged). */
  private readonly presented = new WeakMap<ProfileRecord, Profile>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly qr: QrRenderer,
  ) {}

  /** One page of a tenant's profiles (filter, order, keyset position and limit in store terms). */
  async list(tenantId: string, query: Omit<RowQuery, 'tenantId'>): Promise<Profile[]> {
    return Promise.all((await this.store.listProfiles({ ...query, tenantId })).map((r) => this.present(r)));
  }

  async count(tenantId: string, where?: Condition): Promise<number> {
    return this.store.countProfiles(tenantId, where);
  }

  async get(tenantId: string, id: string): Promise<Profile | undefined> {
    const r = await this.store.getProfile(tenantId, id);
    return r && this.present(r);
  }

  async create(tenantId: string, fields: ProfileFields): Promise<Profile> {
    const r = await this.store.insertProfile({ tenantId, id: randomUUID(), ...fields, nowUs: this.clock.nowUs(), tokenExpiresUs: MIN_US });
    return this.present(r);
  }

  async update(tenantId: string, id: string, patch: ProfilePatch): Promise<Profile | undefined> {
    const r = await this.store.updateProfile(tenantId, id, patch, this.clock.nowUs());
    return r && this.present(r);
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    this.cancelRender(tenantId, id);
    return this.store.deleteProfile(tenantId, id);
  }

  /** Issues a new token valid for `validitySeconds`; the previous one stops working. False when absent. */
  async createToken(tenantId: string, id: string, validitySeconds: number): Promise<boolean> {
    for (;;) {
      const now = this.clock.nowUs();
      const token = newTokenValue();
      const result = await this.store.setToken(tenantId, id, token, now + validitySeconds * 1_000_000, now);
      if (result === 'duplicate') continue; // another profile holds this value (≈ 2^-94): draw again
      if (result === 'not-found') return false;
      this.scheduleRender(tenantId, id, token);
      return true;
    }
  }

  /** Revokes the current token (a no-op success when there is none). False when the profile is absent. */
  async revokeToken(tenantId: string, id: string): Promise<boolean> {
    this.cancelRender(tenantId, id);
    return this.store.revokeToken(tenantId, id, this.clock.nowUs());
  }

  /** Stops background rendering (at shutdown). */
  close(): void {
    for (const p of this.pendingRenders.values()) clearTimeout(p.timer);
    this.pendingRenders.clear();
  }

  private async present(r: ProfileRecord): Promise<Profile> {
    // Only a store's shared records are frozen (and come back again); a fresh record is presented once.
    if (!Object.isFrozen(r)) return this.presentRecord(r);
    const hit = this.presented.get(r);
    if (hit) return hit;
    const p = Object.freeze(await this.presentRecord(r));
    this.presented.set(r, p);
    return p;
  }

  private async presentRecord(r: ProfileRecord): Promise<Profile> {
    if (r.tokenValue === null) return { ...r, qrCodeContent: null, qrCodePng: null };
    const content = qrContentFor(r.tokenValue);
    let png = r.qrPng ?? this.qr.peek(content);
    if (png === undefined || png === null) {
      png = await this.qr.render(content);
      this.cancelRender(r.tenantId, r.id);
      void this.store.saveQrImage(r.tenantId, r.id, r.tokenValue, png).catch(() => undefined);
    }
    return { ...r, qrCodeContent: content, qrCodePng: png };
  }

  /**
   * Renders the token's QR code once the profile has had no createToken for RENDER_DELAY_MS. A burst
   * of createToken on one profile moves the due time of its one pending render, which re-arms its
   * timer when it fires early, rather than making a timer per call.
   */
  private scheduleRender(tenantId: string, id: string, token: string): void {
    const key = `${tenantId}/${id}`;
    const due = performance.now() + RENDER_DELAY_MS;
    const pending = this.pendingRenders.get(key);
    if (pending) {
      pending.token = token;
      pending.due = due;
      return;
    }
    const render: PendingRender = { token, due };
    const fire = () => {
      const wait = render.due - performance.now();
      if (wait > 0) {
        render.timer = setTimeout(fire, Math.ceil(wait)).unref();
        return;
      }
      this.pendingRenders.delete(key);
      const t = render.token;
      this.qr
        .render(qrContentFor(t))
        .then((png) => this.store.saveQrImage(tenantId, id, t, png))
        .catch(() => undefined); // best effort: a read renders it anyway
    };
    render.timer = setTimeout(fire, RENDER_DELAY_MS).unref();
    this.pendingRenders.set(key, render);
  }

  private cancelRender(tenantId: string, id: string): void {
    const key = `${tenantId}/${id}`;
    const pending = this.pendingRenders.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.pendingRenders.delete(key);
    }
  }
}
