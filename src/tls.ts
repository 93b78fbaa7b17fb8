/**
 * TLS material for `enrollgraph serve --tls`: a self-signed certificate for `localhost`,
 * `127.0.0.1` and `::1` — created once in the data directory (SQLite), kept in the database
 * (PostgreSQL: every instance serves the same one), or made for this process in a temporary
 * directory (in-memory store) — or the user's own certificate and key (`--cert`/`--key`).
 *
 * The key pair comes from node:crypto (native, fast); node-forge only writes and signs the X.509
 * structure, so the server needs no `openssl` binary. No function here puts a private key into an
 * error message or a log line.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import forge from 'node-forge';
import type { StorageConfig, TlsConfig } from './config.js';
import type { ControlStore } from './store/control.js';

/** Names the generated certificate is valid for. */
export const LOCAL_DNS_NAMES = ['localhost'] as const;
export const LOCAL_IPS = ['127.0.0.1', '::1'] as const;

/** Lifetime of a generated certificate; it is renewed at start when less than a week is left. */
const GENERATED_DAYS = 825;
const RENEW_BEFORE_MS = 7 * 86_400_000;

export interface TlsMaterial {
  /** PEM of the certificate (the one a client must trust). */
  cert: string;
  /** PEM of the private key. */
  key: string;
  /** Where the certificate's PEM is, for `NODE_EXTRA_CA_CERTS`. */
  certFile: string;
  /** True when Enrollgraph made the certificate (not given with --cert/--key). */
  generated: boolean;
  notAfter: Date;
  /** Removes what only this process needed (the temporary certificate file of an in-memory or PostgreSQL store). */
  dispose(): void;
}

/** Creates a self-signed certificate (RSA 2048, SHA-256) for local names; returns PEMs. */
export function createSelfSignedCertificate(opts: { dnsNames?: readonly string[]; ips?: readonly string[]; days?: number; now?: Date } = {}): {
  cert: string;
  key: string;
} {
  const now = opts.now ?? new Date();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // A positive serial of 16 random bytes (the leading 0x01 keeps the high bit clear).
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + (opts.days ?? GENERATED_DAYS) * 86_400_000);
  const name = [
    { name: 'commonName', value: 'localhost' },
    { name: 'organizationName', value: 'Enrollgraph local development' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...(opts.dnsNames ?? LOCAL_DNS_NAMES).map((value) => ({ type: 2, value })),
        ...(opts.ips ?? LOCAL_IPS).map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

/** Checks that a certificate and key are PEM, belong together, and returns the certificate's expiry. */
export function checkPair(cert: string, key: string): { notAfter: Date } {
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the private key does not belong to the certificate');
  return { notAfter: new Date(x509.validTo) };
}

/**
 * The TLS material for a server: the user's files, else a generated certificate kept in the data
 * directory (SQLite) or in the database (PostgreSQL) — created on first start, shared by every
 * process on that store — else, for an in-memory store, one made for this process.
 * With PostgreSQL, call it once the store is open (migrated): the certificate is a control setting.
 */
export async function prepareTls(tls: TlsConfig, storage: StorageConfig, now: Date = new Date()): Promise<TlsMaterial> {
  if (tls.certFile !== undefined || tls.keyFile !== undefined) {
    if (tls.certFile === undefined || tls.keyFile === undefined) throw new Error('--cert and --key go together');
    return loadTlsFiles(tls.certFile, tls.keyFile);
  }
  switch (storage.kind) {
    case 'sqlite':
      return loadOrCreateTls(join(resolve(storage.dataDir), 'tls'), now);
    case 'memory':
      return tempCertFile(createSelfSignedCertificate({ now }));
    case 'postgres': {
      const { openPostgresControlStore } = await import('./store/postgres-control.js');
      const control = await openPostgresControlStore({ url: storage.url, ...(storage.timeoutMs !== undefined ? { timeoutMs: storage.timeoutMs } : {}) });
      try {
        return tempCertFile(await loadOrCreateStoredPair(control, now));
      } finally {
        await control.close();
      }
    }
  }
}

/** The user's own certificate and key (PEM files). */
export function loadTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  const cert = readFileSync(certFile, 'utf8');
  const key = readFileSync(keyFile, 'utf8');
  let notAfter: Date;
  try {
    ({ notAfter } = checkPair(cert, key));
  } catch (err) {
    throw new Error(`--cert ${certFile} / --key ${keyFile}: ${(err as Error).message}`);
  }
  return { cert, key, certFile: resolve(certFile), generated: false, notAfter, dispose: () => undefined };
}

const CERT_FILE = 'cert.pem';
const KEY_FILE = 'key.pem';

/**
 * `dir/cert.pem` + `dir/key.pem`, created if absent (renewed if unusable or about to expire).
 * Creation happens under a lock file beside `dir`, so processes starting together on one data
 * directory end up with, and serve, the same pair.
 */
export function loadOrCreateTls(dir: string, now: Date = new Date()): TlsMaterial {
  const usable = (p: ReturnType<typeof readPair>): p is NonNullable<ReturnType<typeof readPair>> =>
    p !== undefined && p.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS;
  const material = (p: { cert: string; key: string; notAfter: Date }): TlsMaterial => ({
    ...p,
    certFile: join(dir, CERT_FILE),
    generated: true,
    dispose: () => undefined,
  });
  const existing = readPair(dir);
  if (usable(existing)) return material(existing);
  mkdirSync(dirname(dir), { recursive: true });
  return withLock(`${dir}.lock`, () => {
    const again = readPair(dir); // another process may have made it while we waited
    if (usable(again)) return material(again);
    const pair = createSelfSignedCertificate({ now });
    mkdirSync(dir, { recursive: true });
    replaceFile(join(dir, KEY_FILE), pair.key, 0o600);
    replaceFile(join(dir, CERT_FILE), pair.cert, 0o644);
    return material({ ...pair, notAfter: checkPair(pair.cert, pair.key).notAfter });
  });
}

function replaceFile(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** Runs `fn` holding an exclusive lock file (a stale one, older than 30 s, is taken over). */
function withLock<T>(lock: string, fn: () => T): T {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 30_000) rmSync(lock, { force: true });
      } catch {
        // removed meanwhile: try again
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}; remove it if no other Enrollgraph is starting`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // a synchronous 50 ms pause
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function readPair(dir: string): { cert: string; key: string; notAfter: Date } | undefined {
  try {
    const cert = readFileSync(join(dir, CERT_FILE), 'utf8');
    const key = readFileSync(join(dir, KEY_FILE), 'utf8');
    return { cert, key, notAfter: checkPair(cert, key).notAfter };
  } catch {
    return undefined;
  }
}

/** The control setting that holds a generated pair in a shared store: `{"cert": PEM, "key": PEM}`, one value so both change together. */
export const TLS_SETTING = 'tls_certificate';

type Settings = Pick<ControlStore, 'getSetting' | 'initSetting' | 'replaceSetting'>;
type Pair = { cert: string; key: string; notAfter: Date };

/**
 * The generated certificate and key kept in a store's settings: created by the first process to
 * start, replaced by the first to start when it is unusable or less than a week from expiry.
 * Processes doing either at the same time converge on one pair: each writes only if nothing is
 * stored (or the stored value is still the one it found stale), then uses what is stored.
 */
export async function loadOrCreateStoredPair(settings: Settings, now: Date = new Date()): Promise<Pair> {
  // A second round only if the setting changed under us in an unexpected way (e.g. deleted meanwhile).
  for (let round = 0; round < 2; round++) {
    const stored = await settings.getSetting(TLS_SETTING);
    const current = usableStoredPair(stored, now);
    if (current) return current;
    const fresh = JSON.stringify(createSelfSignedCertificate({ now }));
    const after = stored === undefined
      ? await settings.initSetting(TLS_SETTING, fresh)
      : await settings.replaceSetting(TLS_SETTING, stored, fresh);
    const winner = usableStoredPair(after, now);
    if (winner) return winner;
  }
  throw new Error(`the TLS certificate stored in the database (control setting '${TLS_SETTING}') stayed unusable`);
}

/** The stored pair when it parses, belongs together and has more than a week left; else undefined (never an error: it could quote the key). */
function usableStoredPair(value: string | undefined, now: Date): Pair | undefined {
  if (value === undefined) return undefined;
  try {
    const { cert, key } = JSON.parse(value) as { cert: unknown; key: unknown };
    if (typeof cert !== 'string' || typeof key !== 'string') return undefined;
    const { notAfter } = checkPair(cert, key);
    return notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS ? { cert, key, notAfter } : undefined;
  } catch {
    return undefined;
  }
}

/** A generated pair served from memory, its certificate's PEM (only) in a temporary directory removed by dispose(). */
function tempCertFile(pair: { cert: string; key: string }): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'enrollgraph-tls-'));
  const certFile = join(dir, CERT_FILE);
  writeFileSync(certFile, pair.cert, { mode: 0o644 });
  return {
    cert: pair.cert,
    key: pair.key,
    certFile,
    generated: true,
    notAfter: checkPair(pair.cert, pair.key).notAfter,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
