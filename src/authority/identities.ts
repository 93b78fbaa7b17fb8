/**
 * Who may get a token from the local authority: the identity file (`--identities FILE`, JSON or
 * YAML) with tenants, apps and users — strict mode — or, without a file, anyone — open mode, the
 * emulator default.
 *
 * ```yaml
 * tenants:
 *   - id: 6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10
 *     domains: [contoso.onmicrosoft.com, contoso.com]
 *     licensed: true                     # optional; false marks the tenant unlicensed at start
 * apps:
 *   - clientId: 1b2c3d4e-…               # any string; a GUID like Entra's is usual
 *     displayName: Provisioning pipeline
 *     tenant: contoso.com                # optional: only in this tenant (default: every tenant)
 *     secrets: [s3cret]                  # or `secret: s3cret`; none and `publicClient: true` for public clients
 *     applicationPermissions: [DeviceManagementConfiguration.ReadWrite.All]   # app roles (client_credentials)
 *     delegatedScopes: [DeviceManagementConfiguration.Read.All]               # admin-consented delegated scopes
 * users:
 *   - upn: admin@contoso.com
 *     password: P@ssw0rd
 *     tenant: contoso.com
 *     objectId: 0f9c…                    # optional; default derived from tenant and upn
 *     consentedScopes: [DeviceManagementConfiguration.ReadWrite.All]          # optional: the user's own consent
 * ```
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import { isGuid, READ_WRITE_ALL } from '../identity/claims.js';
import { oauthErrors } from './errors.js';

/** yaml, loaded with the first identity file read or written rather than at every start. */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

export interface TenantEntry {
  id: string;
  displayName?: string;
  domains?: string[];
  licensed?: boolean;
}

export interface AppEntry {
  clientId: string;
  displayName?: string;
  tenant?: string;
  secret?: string;
  secrets?: string[];
  publicClient?: boolean;
  applicationPermissions?: string[];
  delegatedScopes?: string[];
}

export interface UserEntry {
  upn: string;
  password: string;
  tenant: string;
  objectId?: string;
  displayName?: string;
  consentedScopes?: string[];
}

export interface IdentityFile {
  tenants?: TenantEntry[];
  apps?: AppEntry[];
  users?: UserEntry[];
}

/** A client application as the token endpoint sees it. */
export interface AppIdentity {
  clientId: string;
  displayName: string;
  /** Object id of its service principal in the tenant (the `oid` of app-only tokens). */
  servicePrincipalId: string;
  /**
   * Authenticates the client. `secret` undefined: a public-client request (allowed only when the
   * grant permits it and the app is public). Throws an OAuthError.
   */
  authenticate(secret: string | undefined, publicAllowed: boolean): 'public' | 'confidential';
  /** Application permissions granted (the `roles` of client_credentials tokens for Graph). */
  applicationPermissions: readonly string[];
  /** Delegated Graph scopes consented for every user ('any' in open mode). */
  delegatedScopes: readonly string[] | 'any';
}

export interface UserIdentity {
  upn: string;
  objectId: string;
  displayName: string;
  tenantId: string;
  checkPassword(password: string): boolean;
  /** The user's own consent, added to the app's ('any' in open mode). */
  consentedScopes: readonly string[] | 'any';
}

/** The scopes `.default` means for a delegated token in open mode. */
export const OPEN_DEFAULT_SCOPES: readonly string[] = [READ_WRITE_ALL];

/** Namespaces of the name-based (v5) UUIDs this authority derives. */
const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const ENROLLGRAPH_NAMESPACE = '3d1f1c1e-5a8b-4f0e-9c55-7e2b8a0d6f41';

/** RFC 4122 name-based UUID (version 5, SHA-1). */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The stable tenant id of a domain in open mode: the name-based UUID of the domain in the DNS namespace. */
export function tenantIdForDomain(domain: string): string {
  return uuidV5(domain.toLowerCase(), DNS_NAMESPACE);
}

/** A stable object id for something named within a tenant (users without an objectId, service principals). */
export function derivedObjectId(tenantId: string, kind: 'user' | 'sp', name: string): string {
  return uuidV5(`${kind}:${tenantId.toLowerCase()}:${name.toLowerCase()}`, ENROLLGRAPH_NAMESPACE);
}

const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

export function isDomainName(value: string): boolean {
  return DOMAIN.test(value);
}

/** Tenant names that are not a tenant: they take the tenant from the user (password grant). */
export const MULTI_TENANT_NAMES = ['common', 'organizations'] as const;

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Who may get a token: open (anyone) or strict (the identity file). */
export class IdentityDirectory {
  private constructor(
    readonly mode: 'open' | 'strict',
    private readonly data: Required<IdentityFile>,
    /** Tenant ids by lower-case id and domain. */
    private readonly tenantIndex: Map<string, string>,
    readonly source: string | undefined,
  ) {}

  static open(): IdentityDirectory {
    return new IdentityDirectory('open', { tenants: [], apps: [], users: [] }, new Map(), undefined);
  }

  static fromFile(path: string): IdentityDirectory {
    return IdentityDirectory.fromData(readIdentityFile(path, { mustExist: true }), path);
  }

  static fromData(file: IdentityFile, source = 'identities'): IdentityDirectory {
    const data = validateIdentityFile(file, source);
    const index = new Map<string, string>();
    for (const t of data.tenants) {
      index.set(t.id, t.id);
      for (const d of t.domains ?? []) index.set(d, t.id);
    }
    return new IdentityDirectory('strict', data, index, source);
  }

  /** Licence states the file sets explicitly, to apply to the store at start. */
  get licensing(): { tenantId: string; licensed: boolean }[] {
    return this.data.tenants.filter((t) => t.licensed !== undefined).map((t) => ({ tenantId: t.id, licensed: t.licensed! }));
  }

  get counts(): { tenants: number; apps: number; users: number } {
    return { tenants: this.data.tenants.length, apps: this.data.apps.length, users: this.data.users.length };
  }

  /**
   * The tenant id for the `{tenant}` of a URL: a GUID or a domain. Open mode accepts any GUID and
   * maps any domain to a stable GUID; strict mode only registered ones. `common`/`organizations`
   * return undefined (the caller takes the tenant from the user).
   */
  resolveTenant(name: string, error: 'invalid_request' | 'invalid_tenant' = 'invalid_request'): string | undefined {
    const lower = name.toLowerCase();
    if ((MULTI_TENANT_NAMES as readonly string[]).includes(lower)) return undefined;
    if (!isGuid(lower) && !isDomainName(lower)) throw oauthErrors.invalidTenantName(name);
    if (this.mode === 'open') return isGuid(lower) ? lower : tenantIdForDomain(lower);
    const id = this.tenantIndex.get(lower);
    if (id === undefined) throw oauthErrors.tenantNotFound(name, error);
    return id;
  }

  /** The tenant of a user signing in through `common`/`organizations`. */
  tenantOfUser(upn: string): string {
    const lower = upn.toLowerCase();
    if (this.mode === 'open') {
      const domain = lower.split('@')[1];
      if (domain === undefined || !isDomainName(domain)) throw oauthErrors.noTenantInfo();
      return tenantIdForDomain(domain);
    }
    const user = this.data.users.find((u) => u.upn.toLowerCase() === lower);
    if (!user) throw oauthErrors.userNotFound('organizations');
    return this.tenantIndex.get(user.tenant.toLowerCase())!;
  }

  /** The client app in a tenant; throws unauthorized_client (AADSTS700016) when strict and unknown. */
  app(tenantId: string, clientId: string): AppIdentity {
    const servicePrincipalId = derivedObjectId(tenantId, 'sp', clientId);
    if (this.mode === 'open') {
      return {
        clientId,
        displayName: clientId,
        servicePrincipalId,
        authenticate: (secret) => (secret === undefined ? 'public' : 'confidential'),
        applicationPermissions: [READ_WRITE_ALL],
        delegatedScopes: 'any',
      };
    }
    const entry = this.data.apps.find(
      (a) => a.clientId.toLowerCase() === clientId.toLowerCase() && (a.tenant === undefined || this.tenantIndex.get(a.tenant.toLowerCase()) === tenantId),
    );
    if (!entry) throw oauthErrors.appNotFound(clientId, tenantId);
    const secrets = [...(entry.secrets ?? []), ...(entry.secret !== undefined ? [entry.secret] : [])];
    return {
      clientId: entry.clientId,
      displayName: entry.displayName ?? entry.clientId,
      servicePrincipalId,
      authenticate: (secret, publicAllowed) => {
        if (secret === undefined) {
          if (publicAllowed && entry.publicClient === true) return 'public';
          throw oauthErrors.secretRequired();
        }
        if (secrets.length === 0) throw entry.publicClient === true ? oauthErrors.publicClientWithSecret() : oauthErrors.invalidSecret(entry.clientId);
        // Compare with every secret (no early exit), so timing does not tell which one matched.
        let ok = false;
        for (const s of secrets) ok = sameSecret(secret, s) || ok;
        if (!ok) throw oauthErrors.invalidSecret(entry.clientId);
        return 'confidential';
      },
      applicationPermissions: entry.applicationPermissions ?? [],
      delegatedScopes: entry.delegatedScopes ?? [],
    };
  }

  /** Whether a client id names a known app in the tenant (for resources like `api://{clientId}`). */
  hasApp(tenantId: string, clientId: string): boolean {
    if (this.mode === 'open') return true;
    try {
      this.app(tenantId, clientId);
      return true;
    } catch {
      return false;
    }
  }

  /** A user of the tenant by UPN; undefined when strict and unknown. */
  user(tenantId: string, upn: string): UserIdentity | undefined {
    if (this.mode === 'open') {
      return {
        upn,
        objectId: derivedObjectId(tenantId, 'user', upn),
        displayName: upn.split('@')[0] ?? upn,
        tenantId,
        checkPassword: () => true,
        consentedScopes: 'any',
      };
    }
    const entry = this.data.users.find((u) => u.upn.toLowerCase() === upn.toLowerCase() && this.tenantIndex.get(u.tenant.toLowerCase()) === tenantId);
    return entry ? this.toUser(entry, tenantId) : undefined;
  }

  /** A user of the tenant by object id (on-behalf-of); undefined when unknown (or open mode). */
  userByObjectId(tenantId: string, objectId: string): UserIdentity | undefined {
    if (this.mode === 'open') return undefined;
    const entry = this.data.users.find(
      (u) => this.tenantIndex.get(u.tenant.toLowerCase()) === tenantId && (u.objectId ?? derivedObjectId(tenantId, 'user', u.upn)).toLowerCase() === objectId.toLowerCase(),
    );
    return entry ? this.toUser(entry, tenantId) : undefined;
  }

  private toUser(entry: UserEntry, tenantId: string): UserIdentity {
    return {
      upn: entry.upn,
      objectId: (entry.objectId ?? derivedObjectId(tenantId, 'user', entry.upn)).toLowerCase(),
      displayName: entry.displayName ?? entry.upn.split('@')[0] ?? entry.upn,
      tenantId,
      checkPassword: (password) => sameSecret(password, entry.password),
      consentedScopes: entry.consentedScopes ?? [],
    };
  }
}

// ---- the file ------------------------------------------------------------------------------------

function isYamlPath(path: string): boolean {
  return /^\.ya?ml$/i.test(extname(path));
}

/** Reads an identity file (JSON or YAML); a missing file is an empty one unless `mustExist`. */
export function readIdentityFile(path: string, opts: { mustExist?: boolean } = {}): IdentityFile {
  if (!existsSync(path)) {
    if (opts.mustExist) throw new Error(`identity file ${path} does not exist`);
    return {};
  }
  const text = readFileSync(path, 'utf8');
  let parsed: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    parsed = text.trim() === '' ? {} : yaml().parse(text);
  } catch (err) {
    throw new Error(`identity file ${path}: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`identity file ${path}: expected a mapping with tenants, apps and users`);
  return parsed as IdentityFile;
}

/** Writes an identity file atomically, as YAML for `.yaml`/`.yml`, else as JSON. */
export function writeIdentityFile(path: string, data: IdentityFile): void {
  validateIdentityFile(data, path);
  const text = isYamlPath(path) ? yaml().stringify(data) : `${JSON.stringify(data, null, 2)}\n`;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

type Json = Record<string, unknown>;

/** Checks the file's shape and references; returns it normalised (lower-case tenant ids and domains). */
export function validateIdentityFile(file: IdentityFile, source: string): Required<IdentityFile> {
  const fail = (where: string, msg: string): never => {
    throw new Error(`identity file ${source}: ${where}: ${msg}`);
  };
  const arr = (v: unknown, where: string): Json[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) return fail(where, 'expected a list');
    return v.map((x, i) => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : fail(`${where}[${i}]`, 'expected a mapping')));
  };
  const str = (o: Json, key: string, where: string, required: boolean): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return required ? fail(`${where}.${key}`, 'required') : undefined;
    if (typeof v !== 'string' || v === '') return fail(`${where}.${key}`, 'expected a non-empty string');
    return v;
  };
  const strs = (o: Json, key: string, where: string): string[] | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const list = typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== '')) return fail(`${where}.${key}`, 'expected a list of strings');
    return list as string[];
  };
  const bool = (o: Json, key: string, where: string): boolean | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return fail(`${where}.${key}`, 'expected true or false');
    return v;
  };
  const known = (o: Json, keys: string[], where: string) => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) fail(where, `unknown field '${k}' (known: ${keys.join(', ')})`);
  };
  const root = file as unknown as Json;
  known(root, ['tenants', 'apps', 'users'], 'top level');

  const tenantNames = new Set<string>();
  const tenants: TenantEntry[] = arr(root.tenants, 'tenants').map((t, i) => {
    const where = `tenants[${i}]`;
    known(t, ['id', 'displayName', 'domains', 'licensed'], where);
    const id = str(t, 'id', where, true)!.toLowerCase();
    if (!isGuid(id)) fail(`${where}.id`, `'${id}' is not a GUID`);
    const domains = strs(t, 'domains', where)?.map((d) => d.toLowerCase());
    for (const d of domains ?? []) if (!isDomainName(d)) fail(`${where}.domains`, `'${d}' is not a domain name`);
    for (const n of [id, ...(domains ?? [])]) {
      if (tenantNames.has(n)) fail(where, `'${n}' is used by another tenant`);
      tenantNames.add(n);
    }
    const out: TenantEntry = { id };
    const displayName = str(t, 'displayName', where, false);
    if (displayName !== undefined) out.displayName = displayName;
    if (domains) out.domains = domains;
    const licensed = bool(t, 'licensed', where);
    if (licensed !== undefined) out.licensed = licensed;
    return out;
  });
  const tenantRef = (o: Json, where: string, required: boolean): string | undefined => {
    const t = str(o, 'tenant', where, required);
    if (t !== undefined && !tenantNames.has(t.toLowerCase())) fail(`${where}.tenant`, `'${t}' is not a tenant id or domain of this file`);
    return t;
  };

  const apps: AppEntry[] = arr(root.apps, 'apps').map((a, i) => {
    const where = `apps[${i}]`;
    known(a, ['clientId', 'displayName', 'tenant', 'secret', 'secrets', 'publicClient', 'applicationPermissions', 'delegatedScopes'], where);
    const out: AppEntry = { clientId: str(a, 'clientId', where, true)! };
    const displayName = str(a, 'displayName', where, false);
    if (displayName !== undefined) out.displayName = displayName;
    const tenant = tenantRef(a, where, false);
    if (tenant !== undefined) out.tenant = tenant;
    const secret = str(a, 'secret', where, false);
    if (secret !== undefined) out.secret = secret;
    const secrets = a.secrets === undefined || a.secrets === null ? undefined : Array.isArray(a.secrets) ? strs(a, 'secrets', where) : fail(`${where}.secrets`, 'expected a list of strings');
    if (secrets) out.secrets = secrets;
    const publicClient = bool(a, 'publicClient', where);
    if (publicClient !== undefined) out.publicClient = publicClient;
    const roles = strs(a, 'applicationPermissions', where);
    if (roles) out.applicationPermissions = roles;
    const scopes = strs(a, 'delegatedScopes', where);
    if (scopes) out.delegatedScopes = scopes;
    if (!secret && !secrets?.length && publicClient !== true) fail(where, 'give the app a secret (secret/secrets) or mark it publicClient: true');
    return out;
  });

  const users: UserEntry[] = arr(root.users, 'users').map((u, i) => {
    const where = `users[${i}]`;
    known(u, ['upn', 'password', 'tenant', 'objectId', 'displayName', 'consentedScopes'], where);
    const out: UserEntry = { upn: str(u, 'upn', where, true)!, password: str(u, 'password', where, true)!, tenant: tenantRef(u, where, true)! };
    if (!out.upn.includes('@')) fail(`${where}.upn`, `'${out.upn}' is not a user principal name (name@domain)`);
    const objectId = str(u, 'objectId', where, false);
    if (objectId !== undefined) {
      if (!isGuid(objectId)) fail(`${where}.objectId`, `'${objectId}' is not a GUID`);
      out.objectId = objectId.toLowerCase();
    }
    const displayName = str(u, 'displayName', where, false);
    if (displayName !== undefined) out.displayName = displayName;
    const scopes = strs(u, 'consentedScopes', where);
    if (scopes) out.consentedScopes = scopes;
    return out;
  });
  return { tenants, apps, users };
}
