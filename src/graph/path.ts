import { errors } from './errors.js';
import { NAMESPACE, type ApiVersion, type EntityDef } from '../model/edm.js';

export type { ApiVersion } from '../model/edm.js';

/** What a Graph URL path addresses. */
export type Target =
  | { kind: 'serviceDocument' }
  | { kind: 'metadata' }
  | { kind: 'batch' }
  | { kind: 'singleton' }
  | { kind: 'collection'; entity: EntityDef }
  | { kind: 'count'; entity: EntityDef }
  /** One record: of a collection by its key, or (id null) the tenant's record of a singleton. */
  | { kind: 'entity'; entity: EntityDef; id: string | null }
  | { kind: 'action'; entity: EntityDef; id: string | null; action: string };

export interface ParsedPath {
  version: ApiVersion;
  target: Target;
}

const VERSIONS: Record<string, ApiVersion> = { 'v1.0': 'v1.0', beta: 'beta' };

/** A collection segment with key-as-parentheses: `name('id')`, `name(id)`, `name(id='x')`. */
const KEY_SYNTAX = /^([^()]+)\((.*)\)$/s;

function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    throw errors.badRequest(`The URL segment '${segment}' is not correctly percent-encoded.`);
  }
  // Neither store can hold a NUL in text, so no key or name can contain one.
  if (text.includes('\u0000')) throw errors.badRequest(`The URL segment '${segment}' contains a NUL character (%00), which is not allowed.`);
  return text;
}

function parseKey(raw: string): string {
  let key = raw.trim();
  const named = /^id\s*=\s*(.*)$/is.exec(key);
  if (named) key = named[1]!.trim();
  if (key.length >= 2 && key.startsWith("'") && key.endsWith("'")) {
    const inner = key.slice(1, -1);
    if (/(^|[^'])'($|[^'])/.test(inner.replace(/''/g, ''))) throw errors.badRequest(`Bad key literal: ${raw}.`);
    return inner.replace(/''/g, "'");
  }
  if (key === '' || key.includes("'")) throw errors.badRequest(`Bad key literal: ${raw}.`);
  return key;
}

/**
 * Parses `/{version}/…` into what it addresses. Segment names, the namespace of actions and the
 * version are case-insensitive; keys are not. Unknown segments are Graph's 400 "Resource not found
 * for the segment".
 */
export function parseGraphPath(pathname: string, entities: readonly EntityDef[]): ParsedPath | undefined {
  const raw = pathname.split('/');
  // raw[0] is '' (leading slash); a trailing slash leaves one '' at the end.
  if (raw.length > 2 && raw[raw.length - 1] === '') raw.pop();
  const versionName = decode(raw[1] ?? '');
  const version = VERSIONS[versionName.toLowerCase()];
  if (!version) return undefined;
  const segs = raw.slice(2).map(decode);
  if (segs.length === 0) return { version, target: { kind: 'serviceDocument' } };
  const first = segs[0]!;
  if (segs.length === 1 && first.toLowerCase() === '$metadata') return { version, target: { kind: 'metadata' } };
  if (segs.length === 1 && first.toLowerCase() === '$batch') return { version, target: { kind: 'batch' } };
  if (first.toLowerCase() !== 'devicemanagement') throw errors.segmentNotFound(first);
  if (segs.length === 1) return { version, target: { kind: 'singleton' } };

  let second = segs[1]!;
  let keyFromParens: string | undefined;
  const keyed = KEY_SYNTAX.exec(second);
  if (keyed) {
    second = keyed[1]!;
    keyFromParens = parseKey(keyed[2]!);
  }
  const entity = entities.find((e) => e.setName.toLowerCase() === second.toLowerCase() && e.versions.includes(version));
  if (!entity) throw errors.segmentNotFound(segs[1]!);

  const rest = segs.slice(2);
  if (entity.exposed === 'singleton') {
    if (keyFromParens !== undefined) throw errors.segmentNotFound(segs[1]!);
    if (rest.length === 0) return { version, target: { kind: 'entity', entity, id: null } };
    return { version, target: actionTarget(entity, null, rest) };
  }
  let id = keyFromParens;
  if (id === undefined) {
    if (rest.length === 0) return { version, target: { kind: 'collection', entity } };
    if (rest.length === 1 && rest[0]!.toLowerCase() === '$count') return { version, target: { kind: 'count', entity } };
    id = rest.shift()!;
    if (id === '') throw errors.segmentNotFound(id);
  }
  if (rest.length === 0) return { version, target: { kind: 'entity', entity, id } };
  return { version, target: actionTarget(entity, id, rest) };
}

/** `…/{action}` (or `microsoft.graph.{action}`) after a record; nothing may follow it. */
function actionTarget(entity: EntityDef, id: string | null, rest: string[]): Target {
  if (rest.length === 1) {
    const name = rest[0]!;
    const lower = name.toLowerCase();
    const unqualified = lower.startsWith(`${NAMESPACE.toLowerCase()}.`) ? lower.slice(NAMESPACE.length + 1) : lower;
    const action = entity.actions.find((a) => a.name.toLowerCase() === unqualified);
    if (action) return { kind: 'action', entity, id, action: action.name };
    throw errors.segmentNotFound(name);
  }
  // Nothing follows an action: name the first segment after it, else the unknown one.
  const first0 = rest[0]!.toLowerCase().replace(new RegExp(`^${NAMESPACE.replace('.', '\\.')}\\.`, 'i'), '');
  throw errors.segmentNotFound(entity.actions.some((a) => a.name.toLowerCase() === first0) ? rest[1]! : rest[0]!);
}
