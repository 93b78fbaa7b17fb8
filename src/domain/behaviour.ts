import type { AnyRecord, EntityDef } from '../model/edm.js';
import type { TokenRules } from '../enrollment/tokens.js';

/** Who calls, as the domain needs to know it. */
export interface Caller {
  tenantId: string;
  /** The signed-in user's UPN (delegated tokens). */
  upn?: string;
}

export interface ActionCall {
  def: EntityDef;
  tenantId: string;
  /** The record's id (for a singleton: the tenant's record id). */
  id: string;
  /** Decoded parameters, by canonical name. */
  params: Record<string, unknown>;
  caller: Caller;
  /** The public base URL (scheme, host, port) the call came in on, for URLs an action answers with. */
  baseUrl: string;
}

/** Returns the action's value (for actions with a return type) or nothing. */
export type ActionHandler = (call: ActionCall) => Promise<unknown>;

/**
 * What an entity's domain file adds to its model definition: the rules of its tokens, the handlers
 * of its actions (beyond the token capability's createToken/revokeToken), and checks the model's
 * per-property rules cannot express. The service checks at start that every action of the model has
 * a handler.
 */
export interface EntityBehaviour {
  tokens?: TokenRules;
  actions?: Readonly<Record<string, ActionHandler>>;
  /** Checks a whole record before it is stored (create or update); throws a Problem. */
  check?(record: AnyRecord): void;
  /** The record id a path key names (Microsoft's own samples address AOSP profiles as `AOSP-{id}`). */
  keyToId?(key: string): string;
  /** A singleton's values when its tenant first reaches it (beyond the model's defaults). */
  initial?(caller: Caller): Record<string, unknown>;
  /** Values derived from a record (properties without a column), for reads. */
  derive?(record: AnyRecord): Record<string, unknown>;
}
