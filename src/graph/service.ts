import type { Caller } from '../domain/behaviour.js';
import type { EntityService } from '../domain/entities.js';
import type { Principal } from '../identity/claims.js';
import { authorize, type PolicyOptions } from '../identity/policy.js';
import type { TokenVerifier } from '../identity/verify.js';
import type { ActionDef, AnyRecord, EntityDef } from '../model/edm.js';
import { ENTITIES } from '../model/registry.js';
import { Problem } from '../problem.js';
import type { Store } from '../store/store.js';
import { parseBatch, runBatch } from './batch.js';
import { errorBody, errors, fromProblem, type GraphError } from './errors.js';
import { csdl, serviceDocument } from './metadata.js';
import { parseGraphPath, type ApiVersion, type ParsedPath, type Target } from './path.js';
import {
  onlyAllow, parseCount, parseFilterOption, parseNonNegativeInt, parseOrderBy, parseSelect, readQueryOptions, SkipTokens, toCondition,
  type QueryOptions,
} from './query.js';
import { contextUrl, entityJson, entityUrl, JSON_CONTENT_TYPE } from './serialize.js';
import { validateActionBody, validateEntityBody } from './validate.js';

/** A Graph call, independent of the HTTP framework (so `$batch` items can go through it too). */
export interface GraphRequest {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | undefined>>;
  /** Parsed JSON body; undefined when none was sent. */
  body: unknown;
  /** Public base URL (scheme, host, port) for context URLs and Location. */
  baseUrl: string;
  /** Ids of the HTTP request (a `$batch` item shares its batch's). */
  requestId: string;
  clientRequestId: string;
  /** Set by the control plane once the caller is known, for the request journal and metrics. */
  caller?: GraphCaller;
}

/** An authenticated caller's tenant and the operation called (undefined for a wrong method). */
export interface GraphCaller {
  tenant: string;
  operation: string | undefined;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON or text; a Buffer holds UTF-8 bytes ready to send. */
  body?: string | Buffer;
}

/** The methods each kind of target answers. */
const METHODS: Record<Target['kind'], readonly string[]> = {
  serviceDocument: ['GET'],
  metadata: ['GET'],
  batch: ['POST'],
  singleton: ['GET'],
  collection: ['GET', 'POST'],
  count: ['GET'],
  entity: ['GET', 'PATCH', 'DELETE'],
  action: ['POST'],
};
/** A singleton's record is read and updated, never created or deleted by a client. */
const SINGLETON_METHODS: readonly string[] = ['GET', 'PATCH'];

/** An authenticated call as the control plane sees it, before it runs. */
export interface GraphCall {
  req: GraphRequest;
  /** Upper-case method. */
  method: string;
  target: Target;
  principal: Principal;
}

/**
 * Runs before every authenticated call, each `$batch` item too (src/control/: throttling and fault
 * injection): may delay the call or throw (a GraphError answers it); may return a function that is
 * given the call's response when it succeeds. Answers synchronously when it has nothing to wait for.
 */
export type GraphCallHook = (call: GraphCall) => CallObserver | void | Promise<CallObserver | void>;
type CallObserver = (res: GraphResponse) => void;

export interface GraphServiceDeps {
  store: Store;
  verifier: TokenVerifier;
  entities: EntityService;
  policy: PolicyOptions;
  paging: { pageSize: number; maxPageSize: number; secret: () => Buffer };
  onCall?: GraphCallHook;
}

/** The same request with `$skip`/`$skiptoken` replaced by the new skiptoken, as an absolute URL. */
function nextLink(req: GraphRequest, version: ApiVersion, options: QueryOptions, token: string): string {
  const drop = new Set(['skip', 'skiptoken'].flatMap((k) => (options.given.has(k) ? [options.given.get(k)!.name] : [])));
  const parts: string[] = [];
  for (const [name, value] of req.query) if (!drop.has(name)) parts.push(`${encodeURIComponent(name).replace(/^%24/, "$")}=${encodeURIComponent(value)}`);
  parts.push(`$skiptoken=${token}`);
  return `${req.baseUrl}${req.path}?${parts.join('&')}`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): GraphResponse {
  return { status, headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(body) };
}

const NO_CONTENT: GraphResponse = { status: 204, headers: {} };

/** The Problems that are Intune's own answers (not Graph's gateway's): they carry Intune's nested message. */
const INTUNE_KINDS: ReadonlySet<Problem['kind']> = new Set(['notFound', 'forbidden', 'conflict']);

/** A deviceManagement target as Intune's front end writes its path; undefined for the gateway's own documents. */
function intunePathOf(target: Target): string | undefined {
  switch (target.kind) {
    case 'singleton':
      return 'deviceManagement';
    case 'collection':
      return `deviceManagement/${target.entity.setName}`;
    case 'count':
      return `deviceManagement/${target.entity.setName}/$count`;
    case 'entity':
    case 'action': {
      const record = target.id === null ? `deviceManagement/${target.entity.setName}` : `deviceManagement/${target.entity.setName}('${target.id}')`;
      return target.kind === 'entity' ? record : `${record}/microsoft.management.services.api.${target.action}`;
    }
    default:
      return undefined;
  }
}

/** Intune's OData route template of a target, as its "No method match" errors name it. */
function routeTemplate(target: Target): string {
  switch (target.kind) {
    case 'singleton':
      return '~/singleton';
    case 'collection':
      return '~/singleton/navigation';
    case 'count':
      return '~/singleton/navigation/$count';
    case 'entity':
      return target.id === null ? '~/singleton/navigation' : '~/singleton/navigation/key';
    case 'action':
      return target.id === null ? '~/singleton/navigation/action' : '~/singleton/navigation/key/action';
    default:
      return '~';
  }
}

/** The caller as the domain sees it. */
function caller(who: Principal): Caller {
  return { tenantId: who.tenantId, ...(who.upn ? { upn: who.upn } : {}) };
}

/** The query options each kind of call takes. */
const LIST_OPTIONS = ['select', 'filter', 'orderby', 'top', 'skip', 'count', 'skiptoken'];
const COUNT_OPTIONS = ['filter'];
const GET_OPTIONS = ['select'];
const NO_OPTIONS: string[] = [];

/**
 * The Graph protocol: parse the path, authenticate, check the tenant's licence, route, authorise,
 * validate, call the domain, and shape the response. Errors are thrown as GraphError; the Problems
 * of the layers below become GraphErrors here (`fromProblem`), in one place.
 */
export class GraphService {
  /** Each version's `$metadata`, built by its first request (not on the start's path). */
  private readonly metadataXml: Partial<Record<ApiVersion, string>> = {};
  private readonly skipTokens: SkipTokens;
  /** Parsed paths by path text (clients repeat the same few URLs); bounded, valid paths only. */
  private readonly paths = new Map<string, ParsedPath>();

  constructor(private readonly deps: GraphServiceDeps) {
    this.skipTokens = new SkipTokens(deps.paging.secret);
  }

  /** True when the path belongs to the Graph surface (starts with a known version). */
  static isGraphPath(path: string): boolean {
    return /^\/(v1\.0|beta)(\/|$)/i.test(path);
  }

  async handle(req: GraphRequest): Promise<GraphResponse> {
    try {
      return await this.route(req);
    } catch (err) {
      const known = fromProblem(err);
      if (!known) throw err;
      // Errors Intune produces (its domain's refusals) carry its nested message (docs/errors.md).
      if (err instanceof Problem && INTUNE_KINDS.has(err.kind)) known.intunePath = this.intunePath(req.path);
      return Promise.reject(known);
    }
  }

  /** The request's path as Intune's front end names it, for its nested messages. */
  private intunePath(path: string): string | undefined {
    try {
      const parsed = this.parsePath(path);
      return parsed && intunePathOf(parsed.target);
    } catch {
      return undefined;
    }
  }

  private async route(req: GraphRequest): Promise<GraphResponse> {
    const parsed = this.parsePath(req.path);
    if (!parsed) throw errors.noRoute(req.method, req.path);
    const { version, target } = parsed;
    const method = req.method.toUpperCase();

    // Public documents, as on the live service: no token needed.
    if (target.kind === 'metadata' || target.kind === 'serviceDocument') {
      this.checkMethod(target, method);
      if (target.kind === 'metadata') {
        return { status: 200, headers: { 'Content-Type': 'application/xml;charset=utf-8' }, body: (this.metadataXml[version] ??= csdl(ENTITIES, version)) };
      }
      return json(200, serviceDocument(req.baseUrl, version));
    }

    const principal = await this.deps.verifier.verify(req.headers.authorization);
    const observe = await this.deps.onCall?.({ req, method, target, principal });
    let res: GraphResponse;
    if (target.kind === 'batch') {
      res = await this.batch(req, version, target, method);
    } else {
      const tenant = await this.deps.store.getTenant(principal.tenantId);
      if (tenant && !tenant.licensed) throw errors.unlicensedTenant();
      this.checkMethod(target, method);
      authorize(principal, this.access(target, method), this.deps.policy);
      res = await this.execute(req, version, target, method, principal);
    }
    observe?.(res);
    return res;
  }

  /** Reads need read permission; everything else, and actions that write, need write permission. */
  private access(target: Target, method: string): 'read' | 'write' {
    if (target.kind === 'action') return this.actionOf(target.entity, target.action).writes ? 'write' : 'read';
    return method === 'GET' ? 'read' : 'write';
  }

  private parsePath(path: string): ParsedPath | undefined {
    let parsed = this.paths.get(path);
    if (parsed === undefined) {
      parsed = parseGraphPath(path, ENTITIES);
      if (parsed === undefined) return undefined;
      if (this.paths.size >= 1000) this.paths.clear();
      this.paths.set(path, parsed);
    }
    return parsed;
  }

  /** `$batch`: each item goes through `handle` as a call of its own. */
  private async batch(req: GraphRequest, version: ApiVersion, target: Target, method: string): Promise<GraphResponse> {
    this.checkMethod(target, method);
    const items = parseBatch(req.body);
    const responses = await runBatch(items, req, version, (item) => this.handle(item), (err) => this.errorResponse(err, req));
    return json(200, { responses });
  }

  /** A GraphError as a response (used where errors are answered inside a 200, as in `$batch`). */
  errorResponse(err: GraphError, req: GraphRequest): GraphResponse {
    return {
      status: err.status,
      headers: { 'Content-Type': JSON_CONTENT_TYPE, ...err.headers },
      body: errorBody(err, req.requestId, req.clientRequestId, new Date()),
    };
  }

  /**
   * A method the route does not serve: on deviceManagement's routes, Intune's 400 "No method match
   * route template" naming its OData template; on the gateway's own documents, 405.
   */
  private checkMethod(target: Target, method: string): void {
    const allowed = target.kind === 'entity' && target.id === null ? SINGLETON_METHODS : METHODS[target.kind];
    if (allowed.includes(method)) return;
    const path = intunePathOf(target);
    if (path === undefined) throw errors.methodNotAllowed(method);
    throw errors.noMethodMatch(routeTemplate(target), method, path);
  }

  private execute(req: GraphRequest, version: ApiVersion, target: Target, method: string, who: Principal): Promise<GraphResponse> | GraphResponse {
    const tid = who.tenantId;
    const options = readQueryOptions(req.query, version);
    const allowed = target.kind === 'collection' && method === 'GET' ? LIST_OPTIONS
      : target.kind === 'count' ? COUNT_OPTIONS
      : target.kind === 'entity' && method === 'GET' ? GET_OPTIONS
      : NO_OPTIONS;
    onlyAllow(options, allowed, method);
    switch (target.kind) {
      case 'singleton':
        return json(200, { '@odata.context': `${req.baseUrl}/${version}/$metadata#deviceManagement`, id: tid });
      case 'count':
        return this.count(target.entity, tid, options);
      case 'collection':
        return method === 'GET' ? this.listPage(req, version, target.entity, tid, options) : this.create(req, version, target.entity, tid);
      case 'entity': {
        const id = this.recordId(target.entity, target.id, tid);
        if (method === 'GET') return this.getEntity(req, version, target.entity, tid, id, options, caller(who));
        if (method === 'DELETE') return this.deleteEntity(target.entity, tid, id);
        return this.updateEntity(req, version, target.entity, tid, id, caller(who));
      }
      case 'action':
        return this.runAction(req, target.entity, target.action, tid, this.recordId(target.entity, target.id, tid), who);
      default:
        throw errors.internal();
    }
  }

  /** The stored id of the addressed record: the key (as the entity reads it), or the tenant's singleton record. */
  private recordId(def: EntityDef, key: string | null, tenantId: string): string {
    return key === null ? tenantId : this.deps.entities.idOf(def, key);
  }

  private async count(def: EntityDef, tid: string, options: QueryOptions): Promise<GraphResponse> {
    const filter = parseFilterOption(options, def);
    const n = await this.deps.entities.count(def, tid, filter && toCondition(filter));
    return { status: 200, headers: { 'Content-Type': 'text/plain;charset=utf-8' }, body: String(n) };
  }

  private async create(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string): Promise<GraphResponse> {
    const created = await this.deps.entities.create(def, tid, validateEntityBody(def, req.body, 'create'));
    return json(201, this.entityBody(req.baseUrl, version, def, created), { Location: entityUrl(req.baseUrl, version, def, created.id) });
  }

  private async getEntity(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string, id: string, options: QueryOptions, who: Caller): Promise<GraphResponse> {
    const select = parseSelect(options, def);
    const r = await this.deps.entities.get(def, tid, id, who);
    return json(200, { '@odata.context': contextUrl(req.baseUrl, version, def, { entity: true, select }), ...entityJson(def, r, select) });
  }

  private async deleteEntity(def: EntityDef, tid: string, id: string): Promise<GraphResponse> {
    await this.deps.entities.delete(def, tid, id);
    return NO_CONTENT;
  }

  private async updateEntity(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string, id: string, who: Caller): Promise<GraphResponse> {
    const updated = await this.deps.entities.update(def, tid, id, validateEntityBody(def, req.body, 'update'), who);
    // Intune answers a PATCH 204 with no body, whatever its docs say (docs-contrib #6570, #8701: "by
    // design"); the entity comes back only when the client asks for it.
    const prefer = req.headers.prefer ?? '';
    if (/(^|[,;\s])return=representation($|[,;\s])/i.test(prefer)) {
      return json(200, this.entityBody(req.baseUrl, version, def, updated), { 'Preference-Applied': 'return=representation' });
    }
    return { status: 204, headers: /(^|[,;\s])return=minimal($|[,;\s])/i.test(prefer) ? { 'Preference-Applied': 'return=minimal' } : {} };
  }

  private actionOf(def: EntityDef, name: string): ActionDef {
    return def.actions.find((a) => a.name === name)!;
  }

  private async runAction(req: GraphRequest, def: EntityDef, name: string, tid: string, id: string, who: Principal): Promise<GraphResponse> {
    const action = this.actionOf(def, name);
    const params = validateActionBody(action, req.body);
    const value = await this.deps.entities.act(def, name, { tenantId: tid, id, params, caller: caller(who), baseUrl: req.baseUrl });
    if (!action.returns) return NO_CONTENT;
    return json(200, { '@odata.context': `${req.baseUrl}/${req.path.split('/')[1]}/$metadata#${action.returns}`, value });
  }

  /** A page of the collection: filter, order and keyset paging all run in the store. */
  private async listPage(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string, options: QueryOptions): Promise<GraphResponse> {
    const select = parseSelect(options, def);
    const filter = parseFilterOption(options, def);
    const ordering = parseOrderBy(options, def);
    const top = parseNonNegativeInt(options, 'top');
    const skip = parseNonNegativeInt(options, 'skip');
    const count = parseCount(options);
    const { pageSize, maxPageSize } = this.deps.paging;
    const limit = Math.min(top ?? pageSize, maxPageSize);
    const where = filter && toCondition(filter);
    const binding = SkipTokens.binding(tid, options.given.get('filter')?.value, ordering);
    const skiptoken = options.given.get('skiptoken');
    const after = skiptoken ? this.skipTokens.decode(skiptoken.value, binding, ordering.keys.length) : undefined;

    const rows = limit === 0 ? [] : await this.deps.entities.list(def, tid, {
      ...(where ? { where } : {}),
      orderBy: ordering.keys,
      ...(after ? { after } : {}),
      limit: limit + 1,
      ...(skip && !after ? { offset: skip } : {}),
    });
    const body: Record<string, unknown> = { '@odata.context': contextUrl(req.baseUrl, version, def, { entity: false, select }) };
    if (count) body['@odata.count'] = await this.deps.entities.count(def, tid, where);
    if (rows.length > limit) {
      rows.length = limit;
      const last = rows[limit - 1]!;
      const token = this.skipTokens.encode(binding, ordering.properties.map((o) => (last[o.property.name] ?? null) as string | number | boolean | null));
      body['@odata.nextLink'] = nextLink(req, version, options, token);
    }
    body.value = rows.map((r) => entityJson(def, r, select));
    return json(200, body);
  }

  private entityBody(base: string, version: ApiVersion, def: EntityDef, r: AnyRecord): Record<string, unknown> {
    return { '@odata.context': contextUrl(base, version, def, { entity: true }), ...entityJson(def, r) };
  }
}
