/**
 * `enrollgraph identities …`: edits the identity file of the local authority.
 *
 *   enrollgraph identities add-tenant --identities FILE --id GUID [--domains "a.com b.com"] [--unlicensed | --licensed] [--name N]
 *   enrollgraph identities add-app    --identities FILE [--client-id ID] [--secret S | --public] [--tenant T]
 *                                     [--roles "R1 R2"] [--scopes "S1 S2"] [--name N]
 *   enrollgraph identities add-user   --identities FILE --upn UPN --password P --tenant T [--object-id GUID] [--scopes "S1 S2"] [--name N]
 *   enrollgraph identities show       --identities FILE
 *
 * Adding an entry that exists (same tenant id, client id, or UPN) updates the fields given. The file
 * is written as YAML when it ends in .yaml/.yml, else as JSON, and created when missing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ParseArgsConfig } from 'node:util';
import { isGuid } from '../identity/claims.js';
import { readIdentityFile, validateIdentityFile, writeIdentityFile, type AppEntry, type IdentityFile, type TenantEntry, type UserEntry } from './identities.js';

type Values = Record<string, string | boolean | undefined>;

export const IDENTITIES_USAGE = `enrollgraph identities add-tenant --identities FILE --id GUID [--domains "D1 D2"] [--unlicensed | --licensed] [--name N]
  enrollgraph identities add-app --identities FILE [--client-id ID] [--secret S | --public] [--tenant T] [--roles "R1 R2"] [--scopes "S1 S2"] [--name N]
  enrollgraph identities add-user --identities FILE --upn UPN --password P --tenant T [--object-id GUID] [--scopes "S1 S2"] [--name N]
  enrollgraph identities show --identities FILE`;

export const IDENTITIES_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  identities: { type: 'string' },
  id: { type: 'string' },
  domains: { type: 'string' },
  licensed: { type: 'boolean' },
  unlicensed: { type: 'boolean' },
  name: { type: 'string' },
  'client-id': { type: 'string' },
  secret: { type: 'string' },
  public: { type: 'boolean' },
  tenant: { type: 'string' },
  roles: { type: 'string' },
  scopes: { type: 'string' },
  upn: { type: 'string' },
  password: { type: 'string' },
  'object-id': { type: 'string' },
};

function s(v: Values, key: string): string | undefined {
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
}

function need(v: Values, key: string): string {
  const x = s(v, key);
  if (x === undefined || x === '') throw new Error(`--${key} is required`);
  return x;
}

function list(x: string | undefined): string[] | undefined {
  return x === undefined ? undefined : x.split(/[\s,]+/).filter(Boolean);
}

/** Runs one `identities` subcommand; returns the exit code. */
export async function runIdentities(v: Values, positionals: string[]): Promise<number> {
  const [sub, ...extra] = positionals;
  if (sub === undefined || extra.length > 0) throw new Error(`give one subcommand: add-tenant, add-app, add-user or show\nusage: ${IDENTITIES_USAGE}`);
  const path = need(v, 'identities');
  const file: IdentityFile = readIdentityFile(path);
  file.tenants ??= [];
  file.apps ??= [];
  file.users ??= [];
  switch (sub) {
    case 'add-tenant': {
      const id = need(v, 'id').toLowerCase();
      if (!isGuid(id)) throw new Error(`--id must be a GUID, got '${id}'`);
      if (v.licensed === true && v.unlicensed === true) throw new Error('give --licensed or --unlicensed, not both');
      const entry: TenantEntry = file.tenants.find((t) => t.id.toLowerCase() === id) ?? pushed(file.tenants, { id });
      const domains = list(s(v, 'domains'));
      if (domains) entry.domains = domains.map((d) => d.toLowerCase());
      if (v.licensed === true) entry.licensed = true;
      if (v.unlicensed === true) entry.licensed = false;
      const name = s(v, 'name');
      if (name !== undefined) entry.displayName = name;
      writeIdentityFile(path, file);
      console.log(`tenant ${id}${entry.domains?.length ? ` (${entry.domains.join(', ')})` : ''} saved in ${path}`);
      return 0;
    }
    case 'add-app': {
      const clientId = s(v, 'client-id') ?? randomUUID();
      const entry: AppEntry = file.apps.find((a) => a.clientId.toLowerCase() === clientId.toLowerCase()) ?? pushed(file.apps, { clientId });
      let generated: string | undefined;
      if (v.public === true) {
        if (s(v, 'secret') !== undefined) throw new Error('a --public app has no --secret');
        entry.publicClient = true;
        delete entry.secret;
        delete entry.secrets;
      } else if (s(v, 'secret') !== undefined) {
        entry.secrets = [need(v, 'secret')];
        delete entry.secret;
      } else if (!entry.secret && !entry.secrets?.length && entry.publicClient !== true) {
        generated = randomBytes(30).toString('base64url');
        entry.secrets = [generated];
      }
      const tenant = s(v, 'tenant');
      if (tenant !== undefined) entry.tenant = ensureTenant(file, tenant);
      const roles = list(s(v, 'roles'));
      if (roles) entry.applicationPermissions = roles;
      const scopes = list(s(v, 'scopes'));
      if (scopes) entry.delegatedScopes = scopes;
      const name = s(v, 'name');
      if (name !== undefined) entry.displayName = name;
      writeIdentityFile(path, file);
      console.log(`app ${clientId} saved in ${path}`);
      if (generated !== undefined) console.log(`client secret: ${generated}`);
      return 0;
    }
    case 'add-user': {
      const upn = need(v, 'upn');
      const entry: UserEntry =
        file.users.find((u) => u.upn.toLowerCase() === upn.toLowerCase()) ?? pushed(file.users, { upn, password: '', tenant: '' });
      const password = s(v, 'password');
      if (password !== undefined) entry.password = password;
      if (entry.password === '') throw new Error('--password is required for a new user');
      const tenant = s(v, 'tenant');
      if (tenant !== undefined) entry.tenant = ensureTenant(file, tenant);
      if (entry.tenant === '') throw new Error('--tenant is required for a new user');
      const objectId = s(v, 'object-id');
      if (objectId !== undefined) entry.objectId = objectId;
      const scopes = list(s(v, 'scopes'));
      if (scopes) entry.consentedScopes = scopes;
      const name = s(v, 'name');
      if (name !== undefined) entry.displayName = name;
      writeIdentityFile(path, file);
      console.log(`user ${upn} saved in ${path}`);
      return 0;
    }
    case 'show': {
      const data = validateIdentityFile(file, path);
      for (const t of data.tenants) console.log(`tenant ${t.id}${t.domains?.length ? ` ${t.domains.join(', ')}` : ''}${t.licensed === false ? ' (unlicensed)' : ''}`);
      for (const a of data.apps) {
        const kind = a.publicClient ? 'public' : `${(a.secrets?.length ?? 0) + (a.secret ? 1 : 0)} secret(s)`;
        console.log(`app ${a.clientId}${a.displayName ? ` "${a.displayName}"` : ''} ${kind}; roles: ${(a.applicationPermissions ?? []).join(' ') || '-'}; scopes: ${(a.delegatedScopes ?? []).join(' ') || '-'}`);
      }
      for (const u of data.users) console.log(`user ${u.upn} in ${u.tenant}${u.consentedScopes?.length ? `; scopes: ${u.consentedScopes.join(' ')}` : ''}`);
      return 0;
    }
    default:
      throw new Error(`unknown subcommand '${sub}'\nusage: ${IDENTITIES_USAGE}`);
  }
}

function pushed<T>(arr: T[], item: T): T {
  arr.push(item);
  return item;
}

/** A tenant reference for an app or user: a known id or domain; an unknown GUID adds the tenant. */
function ensureTenant(file: IdentityFile, tenant: string): string {
  const lower = tenant.toLowerCase();
  const known = (file.tenants ?? []).some((t) => t.id.toLowerCase() === lower || (t.domains ?? []).some((d) => d.toLowerCase() === lower));
  if (known) return tenant;
  if (isGuid(lower)) {
    (file.tenants ??= []).push({ id: lower });
    return lower;
  }
  throw new Error(`tenant '${tenant}' is not in the file; add it first with: enrollgraph identities add-tenant --id GUID --domains ${tenant}`);
}
