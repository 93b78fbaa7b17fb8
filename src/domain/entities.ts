/**
 * Entities of every kind, generically: create, read, update, delete and actions, driven by the
 * model's definitions, with each entity's behaviour (domain file) for derived values and actions.
 * Knows nothing of HTTP or Graph: values come decoded by the protocol, refusals are Problems.
 */
import { randomUUID } from 'node:crypto';
import { decodeProperty } from '../model/codecs.js';
import { hasTokens, type AnyRecord, type EntityDef } from '../model/edm.js';
import { entityNotFound } from '../problem.js';
import type { Condition, RowQuery } from '../store/query.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../time.js';
import type { EnrollmentTokens } from '../enrollment/tokens.js';
import type { ActionHandler, Caller, EntityBehaviour } from './behaviour.js';

export class EntityService {
  private readonly handlers = new Map<string, ActionHandler>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly tokens: EnrollmentTokens,
    entities: readonly EntityDef[],
    private readonly behaviours: ReadonlyMap<string, EntityBehaviour>,
  ) {
    // Every action of the model has its handler: the token capability's, or the entity's own.
    for (const def of entities) {
      for (const a of def.actions) {
        const own = behaviours.get(def.typeName)?.actions?.[a.name];
        const handler = own ?? (hasTokens(def) ? this.tokenAction(a.name) : undefined);
        if (!handler) throw new Error(`no handler for ${def.typeName}.${a.name}`);
        this.handlers.set(`${def.typeName}.${a.name}`, handler);
      }
    }
  }

  private tokenAction(name: string): ActionHandler | undefined {
    if (name === 'createToken') return (c) => this.tokens.createToken(c.def, c.tenantId, c.id, c.params.tokenValidityInSeconds as number);
    if (name === 'revokeToken') return (c) => this.tokens.revokeToken(c.def, c.tenantId, c.id);
    return undefined;
  }

  /** The record id a path key names. */
  idOf(def: EntityDef, key: string): string {
    return this.behaviours.get(def.typeName)?.keyToId?.(key) ?? key;
  }

  async list(def: EntityDef, tenantId: string, query: Omit<RowQuery, 'tenantId'>): Promise<AnyRecord[]> {
    const records = await this.store.list(def, { ...query, tenantId });
    // One call for the page: its QR renders are paced together (EnrollmentTokens.presentAll).
    return hasTokens(def) ? this.tokens.presentAll(def, records) : records;
  }

  count(def: EntityDef, tenantId: string, where?: Condition): Promise<number> {
    return this.store.count(def, tenantId, where);
  }

  async get(def: EntityDef, tenantId: string, id: string, caller?: Caller): Promise<AnyRecord> {
    const r = def.exposed === 'singleton' && caller ? await this.ensure(def, caller) : await this.store.get(def, tenantId, id);
    if (!r) throw entityNotFound(def.typeName, id);
    return this.present(def, r);
  }

  /**
   * A singleton's record of the caller's tenant (its id is the tenant's), made with the model's
   * defaults and the behaviour's initial values when the tenant first reaches it.
   */
  async ensure(def: EntityDef, caller: Caller): Promise<AnyRecord> {
    const found = await this.store.get(def, caller.tenantId, caller.tenantId);
    if (found) return found;
    try {
      return await this.store.insert(def, this.newRecord(def, caller.tenantId, caller.tenantId, this.behaviours.get(def.typeName)?.initial?.(caller) ?? {}));
    } catch (err) {
      // Another request of the tenant made it first.
      const raced = await this.store.get(def, caller.tenantId, caller.tenantId);
      if (raced) return raced;
      throw err;
    }
  }

  /** A new record from the client's values (decoded), the model's defaults and the server's stamps. */
  async create(def: EntityDef, tenantId: string, input: Record<string, unknown>): Promise<AnyRecord> {
    const r = this.newRecord(def, tenantId, randomUUID(), input);
    this.behaviours.get(def.typeName)?.check?.(r);
    return this.present(def, await this.store.insert(def, r));
  }

  private newRecord(def: EntityDef, tenantId: string, id: string, input: Record<string, unknown>): AnyRecord {
    const now = this.clock.nowUs();
    const r: AnyRecord = { tenantId, id };
    for (const p of def.properties) {
      if (!p.column || p.name === 'id') continue;
      if (p.column.name === 'tenant_id') r[p.name] = tenantId;
      else if (p.name in input) r[p.name] = input[p.name];
      else if (p.role === 'created' || p.role === 'modified') r[p.name] = now;
      else if (p.default !== undefined) r[p.name] = decodeProperty({ ...p, required: false }, p.default);
      else r[p.name] = null;
    }
    return r;
  }

  /** Applies the client's values (decoded) and the modification stamp. */
  async update(def: EntityDef, tenantId: string, id: string, input: Record<string, unknown>, caller?: Caller): Promise<AnyRecord> {
    if (def.exposed === 'singleton' && caller) await this.ensure(def, caller);
    const check = this.behaviours.get(def.typeName)?.check;
    if (check) {
      const current = await this.store.get(def, tenantId, id);
      if (!current) throw entityNotFound(def.typeName, id);
      check({ ...current, ...input });
    }
    const set: Record<string, unknown> = { ...input, ...(hasTokens(def) ? this.tokens.onUpdate(def) : {}) };
    const modified = def.properties.find((p) => p.role === 'modified');
    if (modified) set[modified.name] = this.clock.nowUs();
    const result = await this.store.update(def, tenantId, id, { set });
    if (!result.ok) throw entityNotFound(def.typeName, id);
    return this.present(def, result.record);
  }

  async delete(def: EntityDef, tenantId: string, id: string): Promise<void> {
    if (hasTokens(def)) this.tokens.forget(tenantId, id);
    if (!(await this.store.delete(def, tenantId, id))) throw entityNotFound(def.typeName, id);
  }

  async act(def: EntityDef, action: string, call: { tenantId: string; id: string; params: Record<string, unknown>; caller: Caller; baseUrl: string }): Promise<unknown> {
    if (def.exposed === 'singleton') await this.ensure(def, call.caller);
    return this.handlers.get(`${def.typeName}.${action}`)!({ def, ...call });
  }

  /** The record with the values its domain derives (QR content and image, and the behaviour's own). */
  present(def: EntityDef, r: AnyRecord): Promise<AnyRecord> | AnyRecord {
    const derive = this.behaviours.get(def.typeName)?.derive;
    const own = derive ? { ...r, ...derive(r) } : r;
    return hasTokens(def) ? this.tokens.present(def, own) : own;
  }

  close(): void {
    this.tokens.close();
  }
}

