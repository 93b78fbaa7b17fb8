import type { Operation } from '../faults/rules.js';
import { parseGraphPath, type Target } from '../graph/path.js';
import { ENTITIES } from '../model/registry.js';

/** The operation a Graph call performs (fault rules and metrics name them); undefined for documents and wrong methods. */
export function operationOf(target: Target, method: string): Operation | undefined {
  switch (target.kind) {
    case 'batch':
      return method === 'POST' ? 'batch' : undefined;
    case 'singleton':
      return method === 'GET' ? 'get' : undefined;
    case 'count':
      return method === 'GET' ? 'list' : undefined;
    case 'collection':
      return method === 'GET' ? 'list' : method === 'POST' ? 'create' : undefined;
    case 'entity':
      return method === 'GET' ? 'get' : method === 'PATCH' ? 'update' : method === 'DELETE' ? 'delete' : undefined;
    case 'action':
      if (method !== 'POST') return undefined;
      return target.action === 'createToken' ? 'createToken' : target.action === 'revokeToken' ? 'revokeToken' : undefined;
    default:
      return undefined;
  }
}

/** The operation of an HTTP path (for metrics and the request journal): Graph operations, `enroll`, else a coarse label. */
export function operationOfPath(method: string, path: string): string {
  if (path === '/enrollment/android/enroll') return 'enroll';
  try {
    const parsed = parseGraphPath(path, ENTITIES);
    if (parsed) {
      if (parsed.target.kind === 'metadata' || parsed.target.kind === 'serviceDocument') return 'metadata';
      return operationOf(parsed.target, method.toUpperCase()) ?? 'other';
    }
  } catch {
    // A malformed Graph path.
  }
  return 'other';
}
