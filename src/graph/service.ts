import type { Profile, ProfileService } from '../enrollment/profiles.js';
import type { Principal } from '../identity/claims.js';
import { authorize, type Access, type PolicyOptions } from '../identity/policy.js';
import type { TokenVerifier } from '../identity/verify.js';
import { androidForWorkEnrollmentProfile as profileDef } from '../model/androidForWorkEnrollmentProfile.js';
import type { EntityDef } from '../model/edm.js';
import type { Store } from '../store/store.js';
import { errors } from './errors.js';
import { csdl, serviceDocument } from './metadata.js';
import { parseGraphPath, type ApiVersion, type Target } from './path.js';
import { contextUrl, entityUrl, JSON_CONTENT_TYPE, profileJson } from './serialize.js';
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
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export const ENTITIES: readonly EntityDef[] = [profileDef];

/** The methods each kind of target answers. */
const METHODS: Record<Target['kind'], readonly string[]> = {
  serviceDocument: ['GET'],
  metadata: ['GET'],
  singleton: ['GET'],
  collection: ['GET', 'POST'],
  entity: ['GET', 'PATCH', 'DELETE'],
  action: ['POST'],
};

export interface GraphServiceDeps {
  store: Store;
  verifier: TokenVerifier;
  profiles: ProfileService;
  policy: PolicyOptions;
}

/** Query options are not served yet: refuse them rather than silently ignore them. */
function rejectQueryOptions(query: URLSearchParams): void {
  for (const name of query.keys()) {
    if (name.startsWith('$')) throw errors.badRequest(`Query option '${name}' is not supported.`);
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): GraphResponse {
  return { status, headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(body) };
}

const NO_CONTENT: GraphResponse = { status: 204, headers: {} };

/**
 * The Graph protocol: parse the path, authenticate, check the tenant's licence, route, authorise,
 * validate, call the domain, and shape the response. Errors are thrown as GraphError.
 */
export class GraphService {
  private readonly metadataXml = csdl(ENTITIES);

  constructor(private readonly deps: GraphServiceDeps) {}

  /** True when the path belongs to the Graph surface (starts with a known version). */
  static isGraphPath(path: string): boolean {
    return /^\/(v1\.0|beta)(\/|$)/i.test(path);
  }

  async handle(req: GraphRequest): Promise<GraphResponse> {
    const parsed = parseGraphPath(req.path, ENTITIES);
    if (!parsed) throw errors.noRoute(req.method, req.path);
    const { version, target } = parsed;
    const method = req.method.toUpperCase();

    // Public documents, as on the live service: no token needed.
    if (target.kind === 'metadata' || target.kind === 'serviceDocument') {
      this.checkMethod(target, method);
      if (target.kind === 'metadata') {
        return { status: 200, headers: { 'Content-Type': 'application/xml;charset=utf-8' }, body: this.metadataXml };
      }
      return json(200, serviceDocument(req.baseUrl, version));
    }

    const principal = await this.deps.verifier.verify(req.headers.authorization);
    const tenant = await this.deps.store.getTenant(principal.tenantId);
    if (tenant && !tenant.licensed) throw errors.unlicensedTenant();
    this.checkMethod(target, method);
    rejectQueryOptions(req.query);
    const access: Access = method === 'GET' ? 'read' : 'write';
    authorize(principal, access, this.deps.policy);
    return this.execute(req, version, target, method, principal);
  }

  private checkMethod(target: Target, method: string): void {
    if (!METHODS[target.kind].includes(method)) throw errors.methodNotAllowed(method);
  }

  private async execute(req: GraphRequest, version: ApiVersion, target: Target, method: string, who: Principal): Promise<GraphResponse> {
    const tid = who.tenantId;
    const profiles = this.deps.profiles;
    const base = req.baseUrl;
    switch (target.kind) {
      case 'singleton':
        return json(200, { '@odata.context': `${base}/${version}/$metadata#deviceManagement`, id: tid });
      case 'collection': {
        const def = target.entity;
        if (method === 'GET') {
          const list = await profiles.list(tid);
          return json(200, { '@odata.context': contextUrl(base, version, def, { entity: false }), value: list.map((p) => profileJson(p)) });
        }
        const input = validateEntityBody(def, req.body, 'create');
        const created = await profiles.create(tid, {
          displayName: input.displayName as string,
          description: (input.description as string | null | undefined) ?? null,
        });
        return json(201, this.entityBody(base, version, def, created), { Location: entityUrl(base, version, def, created.id) });
      }
      case 'entity': {
        const def = target.entity;
        if (method === 'GET') return json(200, this.entityBody(base, version, def, await this.found(profiles.get(tid, target.id), target.id)));
        if (method === 'DELETE') {
          if (!(await profiles.delete(tid, target.id))) throw this.notFound(target.id);
          return NO_CONTENT;
        }
        const input = validateEntityBody(def, req.body, 'update');
        const patch: { displayName?: string; description?: string | null } = {};
        if ('displayName' in input) patch.displayName = input.displayName as string;
        if ('description' in input) patch.description = input.description as string | null;
        const updated = await this.found(profiles.update(tid, target.id, patch), target.id);
        if (/(^|[,;\s])return=minimal($|[,;\s])/i.test(req.headers.prefer ?? '')) {
          return { status: 204, headers: { 'Preference-Applied': 'return=minimal' } };
        }
        return json(200, this.entityBody(base, version, def, updated));
      }
      case 'action': {
        const action = target.entity.actions.find((a) => a.name === target.action)!;
        const params = validateActionBody(action, req.body);
        const ok =
          action.name === 'createToken'
            ? await profiles.createToken(tid, target.id, params.tokenValidityInSeconds!)
            : await profiles.revokeToken(tid, target.id);
        if (!ok) throw this.notFound(target.id);
        return NO_CONTENT;
      }
      default:
        throw errors.internal();
    }
  }

  private entityBody(base: string, version: ApiVersion, def: EntityDef, p: Profile): Record<string, unknown> {
    return { '@odata.context': contextUrl(base, version, def, { entity: true }), ...profileJson(p) };
  }

  private async found<T>(p: Promise<T | undefined>, id: string): Promise<T> {
    const v = await p;
    if (v === undefined) throw this.notFound(id);
    return v;
  }

  private notFound(id: string) {
    return errors.notFound(`The ${profileDef.typeName} with id '${id}' was not found.`);
  }
}
