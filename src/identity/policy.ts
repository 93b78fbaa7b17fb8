import { Problem } from '../problem.js';
import { PERSONAL_ACCOUNT_TENANT, READ_ALL, READ_WRITE_ALL, type Principal } from './claims.js';

/** Whether an operation reads or changes state: the seed's permission table distinguishes only these. */
export type Access = 'read' | 'write';

const ACCEPTED: Record<Access, readonly string[]> = {
  read: [READ_ALL, READ_WRITE_ALL],
  write: [READ_WRITE_ALL],
};

export interface PolicyOptions {
  /** Accept app-only tokens whose `roles` hold the permission (the current beta pages); off = the seed's "Not supported". */
  allowAppOnly: boolean;
}

/**
 * The seed's permission table: delegated work/school accounts need the scope; personal accounts are
 * not supported; application permissions are not supported unless the server allows app-only.
 * Throws a 'forbidden' Problem that names what is missing.
 */
export function authorize(principal: Principal, access: Access, opts: PolicyOptions): void {
  if (principal.kind === 'user' && principal.tenantId === PERSONAL_ACCOUNT_TENANT) {
    throw new Problem('forbidden', 'Personal Microsoft accounts are not supported for this API. Sign in with a work or school account.');
  }
  if (principal.kind === 'app' && !opts.allowAppOnly) {
    throw new Problem('forbidden', 
      'Application permissions are not supported for this API. Call it with a delegated (work or school account) token that has ' +
        `${ACCEPTED[access].join(' or ')}.`,
    );
  }
  const held = new Set(principal.permissions.map((p) => p.toLowerCase()));
  if (!ACCEPTED[access].some((p) => held.has(p.toLowerCase()))) {
    const kind = principal.kind === 'app' ? 'roles' : 'scopes';
    throw new Problem('forbidden', 
      `Application is not authorized to perform this operation. Application must have one of the following ${kind}: ${ACCEPTED[access].join(', ')}.`,
    );
  }
}
