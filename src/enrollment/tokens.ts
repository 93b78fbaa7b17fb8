/**
 * The enrollment-token capability, for every kind of profile that carries one (the properties with
 * the token roles: src/model/common.ts). Knows nothing of HTTP or Graph: refusals are Problems.
 *
 * QR images: createToken stores only the token. The PNG is derived from the QR content, so it is
 * rendered later — in the background once the profile has been quiet for a moment, or on the first
 * read that needs it — off the request path of createToken, in a worker pool, and cached in the
 * record's qrImage column under the condition that the profile is as it was rendered from: every
 * stored property unchanged, since the content derives from more than the token (an AOSP payload's
 * Wi-Fi, the enrollment mode), and a PATCH on a frozen clock leaves the modification stamp as it was.
 */
import { storedProperties, withRole, type AnyRecord, type EntityDef, type PropertyDef } from '../model/edm.js';
import { entityNotFound, invalid } from '../problem.js';
import type { ConditionalSet, Store } from '../store/store.js';
import type { Clock } from '../time.js';
import type { QrRenderer } from './qr-renderer.js';
import { newTokenValue } from './token.js';

/** What an entity's domain file says about its tokens. */
export interface TokenRules {
  /** The QR code content of the record's current token (it holds one). */
  qrContent(record: AnyRecord): string;
  /** The longest validity the record's kind allows, in seconds (the action's own bound applies too). */
  maxValiditySeconds?(record: AnyRecord): number;
  /** A token value (some kinds use shorter ones). */
  newToken?(record: AnyRecord): string;
  /** Refuses a new token the record may not have now (throws a Problem); may read other state. */
  checkCreate?(record: AnyRecord): Promise<void>;
}

/** The token roles of an entity, looked up once. */
interface TokenProps {
  value: PropertyDef;
  expires: PropertyDef;
  created?: PropertyDef;
  usage?: PropertyDef;
  modified?: PropertyDef;
  content: PropertyDef;
  image: PropertyDef;
  /** What a cached image is conditional on: the stored properties the QR content may derive from (see `renderedFrom`). */
  stored: PropertyDef[];
}

function tokenProps(def: EntityDef): TokenProps {
  const need = (role: Parameters<typeof withRole>[1]) => {
    const p = withRole(def, role);
    if (!p) throw new Error(`${def.typeName} carries tokens but has no '${role}' property`);
    return p;
  };
  const props: TokenProps = {
    value: need('token'), expires: need('tokenExpires'), content: need('qrContent'), image: need('qrImage'),
    stored: storedProperties(def).filter((p) => !p.derived),
  };
  const created = withRole(def, 'tokenCreated');
  const usage = withRole(def, 'tokenUsage');
  const modified = withRole(def, 'modified');
  if (created) props.created = created;
  if (usage) props.usage = usage;
  if (modified) props.modified = modified;
  return props;
}

/** A background QR render waiting for its profile to be quiet: the newest content and when it is due. */
interface PendingRender {
  def: EntityDef;
  content: string;
  /** What the record must still hold for the image to be cached (see `renderedFrom`). */
  from: Record<string, unknown>;
  due: number;
  timer?: NodeJS.Timeout;
}

/** How long after a profile's last createToken its QR code is rendered in the background. */
const RENDER_DELAY_MS = 200;
/** Renders one read keeps in flight per worker thread: one rendering, one queued behind it. */
const RENDERS_PER_READ = 2;
/** Rendered images waiting to be cached in the store; past this, a new one is not cached (a later read renders it again). */
const MAX_PENDING_SAVES = 4096;
/** Rendered images cached in the store per write. */
const SAVE_BATCH = 32;
/** How long a batch that is not full waits for more images. */
const SAVE_DELAY_MS = 20;

/** A rendered image waiting to be cached in its record. */
interface PendingSave {
  def: EntityDef;
  tenantId: string;
  id: string;
  from: Record<string, unknown>;
  png: string;
}

export class EnrollmentTokens {
  private readonly pendingRenders = new Map<string, PendingRender>();
  private readonly props = new Map<string, TokenProps>();
  /** By entity, tenant and id, in the order they were rendered. */
  private readonly pendingSaves = new Map<string, PendingSave>();
  private saving = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly qr: QrRenderer,
    private readonly rules: ReadonlyMap<string, TokenRules>,
  ) {}

  private of(def: EntityDef): { props: TokenProps; rules: TokenRules } {
    let props = this.props.get(def.typeName);
    if (!props) this.props.set(def.typeName, (props = tokenProps(def)));
    const rules = this.rules.get(def.typeName);
    if (!rules) throw new Error(`no token rules for ${def.typeName}`);
    return { props, rules };
  }

  /** What the cached image of `r` is conditional on: the record as the QR content was derived from it (its stored, non-derived properties). */
  private renderedFrom(def: EntityDef, r: AnyRecord): Record<string, unknown> {
    return Object.fromEntries(this.of(def).props.stored.map((p) => [p.name, r[p.name] ?? null]));
  }

  /** Issues a new token valid for `validitySeconds`; the previous one stops working. */
  async createToken(def: EntityDef, tenantId: string, id: string, validitySeconds: number): Promise<void> {
    const { props, rules } = this.of(def);
    // Read first only for kinds whose rules depend on the profile (its enrollment mode).
    let draw: () => string = newTokenValue;
    if (rules.maxValiditySeconds || rules.checkCreate || rules.newToken) {
      const record = await this.store.get(def, tenantId, id);
      if (!record) throw entityNotFound(def.typeName, id);
      const max = rules.maxValiditySeconds?.(record);
      if (max !== undefined && validitySeconds > max) {
        throw invalid(`The parameter 'tokenValidityInSeconds' must be an integer from 1 to ${max} for this profile; got '${validitySeconds}'.`, 'tokenValidityInSeconds');
      }
      await rules.checkCreate?.(record);
      if (rules.newToken) draw = () => rules.newToken!(record);
    }
    for (;;) {
      const now = this.clock.nowUs();
      const token = draw();
      const set: Record<string, unknown> = {
        [props.value.name]: token,
        [props.expires.name]: now + validitySeconds * 1_000_000,
        [props.image.name]: null,
      };
      if (props.created) set[props.created.name] = now;
      if (props.usage) set[props.usage.name] = 0;
      if (props.modified) set[props.modified.name] = now;
      const result = await this.store.update(def, tenantId, id, { set, token });
      if (!result.ok && result.reason === 'duplicate-token') continue; // another profile holds this value: draw again
      if (!result.ok) throw entityNotFound(def.typeName, id);
      this.scheduleRender(def, result.record);
      return;
    }
  }

  /** Revokes the current token (a no-op success when there is none); its expiry becomes now. */
  async revokeToken(def: EntityDef, tenantId: string, id: string): Promise<void> {
    const { props } = this.of(def);
    this.cancelRender(tenantId, id);
    const now = this.clock.nowUs();
    const set: Record<string, unknown> = { [props.value.name]: null, [props.expires.name]: now, [props.image.name]: null };
    if (props.modified) set[props.modified.name] = now;
    const result = await this.store.update(def, tenantId, id, { set, token: null });
    if (!result.ok) throw entityNotFound(def.typeName, id);
  }

  /** The record with its derived values: the QR content and image of the current token (null without one). */
  async present(def: EntityDef, r: AnyRecord): Promise<AnyRecord> {
    return (await this.presentAll(def, [r]))[0]!;
  }

  /**
   * `present` for a list: the images of the list that are not cached yet are rendered at most
   * RENDERS_PER_READ × worker threads at a time, so a large first read keeps the workers busy without
   * queuing all its renders ahead of every other request's (a GET of one new profile waits for a few
   * renders, not for the whole list).
   */
  async presentAll(def: EntityDef, records: readonly AnyRecord[]): Promise<AnyRecord[]> {
    const { props, rules } = this.of(def);
    const out: AnyRecord[] = new Array(records.length);
    const missing: { i: number; content: string }[] = [];
    records.forEach((r, i) => {
      const token = r[props.value.name] as string | null;
      if (token === null) {
        out[i] = { ...r, [props.content.name]: null, [props.image.name]: null };
        return;
      }
      const content = rules.qrContent(r);
      const png = (r[props.image.name] as string | null) ?? this.qr.peek(content);
      if (png === null || png === undefined) missing.push({ i, content });
      else out[i] = { ...r, [props.content.name]: content, [props.image.name]: png };
    });
    let next = 0;
    const lane = async () => {
      while (next < missing.length) {
        const { i, content } = missing[next++]!;
        const r = records[i]!;
        const png = await this.qr.render(content);
        this.cancelRender(r.tenantId, r.id);
        this.saveImage(def, r.tenantId, r.id, this.renderedFrom(def, r), png);
        out[i] = { ...r, [props.content.name]: content, [props.image.name]: png };
      }
    };
    const lanes = Math.min(missing.length, this.qr.parallelism * RENDERS_PER_READ);
    await Promise.all(Array.from({ length: lanes }, lane));
    return out;
  }

  /**
   * What an update of the record's other properties also sets: the cached QR image is dropped, since
   * the QR content may derive from them (an AOSP payload carries the Wi-Fi settings). A read renders
   * it again (from the renderer's cache when the content did not change).
   */
  onUpdate(def: EntityDef): Record<string, unknown> {
    return { [this.of(def).props.image.name]: null };
  }

  /** Stops background rendering (at shutdown). */
  close(): void {
    this.closed = true;
    for (const p of this.pendingRenders.values()) clearTimeout(p.timer);
    this.pendingRenders.clear();
    clearTimeout(this.saveTimer);
    this.pendingSaves.clear();
  }

  /** Forgets a deleted profile's pending render. */
  forget(tenantId: string, id: string): void {
    this.cancelRender(tenantId, id);
  }

  /**
   * Caches a rendered image, only while the profile is as it was rendered from. Best effort, and in the
   * background: images are queued (a newer image of a profile replaces its queued one) and written
   * SAVE_BATCH at a time with `updateEach`, each batch its own turn of the event loop. On SQLite,
   * whose writes (and WAL checkpoints) run on this thread, one commit per batch rather than per image
   * writes far fewer pages (docs/performance.md), and so checkpoints far less often.
   */
  private saveImage(def: EntityDef, tenantId: string, id: string, from: Record<string, unknown>, png: string): void {
    if (this.closed) return;
    const key = `${def.typeName}/${tenantId}/${id}`;
    if (!this.pendingSaves.has(key) && this.pendingSaves.size >= MAX_PENDING_SAVES) return; // rendered again on a later read
    this.pendingSaves.set(key, { def, tenantId, id, from, png });
    this.scheduleSaves();
  }

  /** A batch soon: at once when one is full, else after SAVE_DELAY_MS for more images to join it. */
  private scheduleSaves(): void {
    if (this.saveTimer || this.saving || this.pendingSaves.size === 0) return;
    this.saveTimer = setTimeout(() => void this.writeImages(), this.pendingSaves.size >= SAVE_BATCH ? 0 : SAVE_DELAY_MS).unref();
  }

  private async writeImages(): Promise<void> {
    this.saveTimer = undefined;
    this.saving = true;
    try {
      const batch = new Map<EntityDef, ConditionalSet[]>();
      let n = 0;
      for (const [key, s] of this.pendingSaves) {
        if (n++ === SAVE_BATCH) break;
        this.pendingSaves.delete(key);
        const { props } = this.of(s.def);
        const list = batch.get(s.def) ?? [];
        list.push({ tenantId: s.tenantId, id: s.id, set: { [props.image.name]: s.png }, onlyIf: s.from });
        batch.set(s.def, list);
      }
      for (const [def, updates] of batch) await this.store.updateEach(def, updates).catch(() => undefined);
    } finally {
      this.saving = false;
    }
    if (!this.closed) this.scheduleSaves();
  }

  /**
   * Renders the token's QR code once the profile has had no createToken for RENDER_DELAY_MS. A burst
   * of createToken on one profile moves the due time of its one pending render, which re-arms its
   * timer when it fires early, rather than making a timer per call.
   */
  private scheduleRender(def: EntityDef, record: AnyRecord): void {
    const key = `${record.tenantId}/${record.id}`;
    const content = this.of(def).rules.qrContent(record);
    const from = this.renderedFrom(def, record);
    const due = performance.now() + RENDER_DELAY_MS;
    const pending = this.pendingRenders.get(key);
    if (pending) {
      Object.assign(pending, { content, from, due });
      return;
    }
    const render: PendingRender = { def, content, from, due };
    const fire = () => {
      const wait = render.due - performance.now();
      if (wait > 0) {
        render.timer = setTimeout(fire, Math.ceil(wait)).unref();
        return;
      }
      this.pendingRenders.delete(key);
      const { content: c, from: f } = render;
      this.qr
        .render(c)
        .then((png) => this.saveImage(def, record.tenantId, record.id, f, png))
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

