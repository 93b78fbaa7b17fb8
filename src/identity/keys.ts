import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from './jose.js';
import type { Clock } from '../time.js';
import type { SigningKeyRecord, Store } from '../store/store.js';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/**
 * A new RS256 signing key, as the store keeps it; `keyPair`: an RSA pair (node:crypto) already being
 * made, e.g. started while the server's modules load, since making one takes 0.1 s or more.
 */
export async function newSigningKeyRecord(createdUs: number, keyPair?: Promise<{ privateKey: KeyObject; publicKey: KeyObject }>): Promise<SigningKeyRecord> {
  const { privateKey, publicKey } = await (keyPair ?? generateKeyPair('RS256', { extractable: true, modulusLength: 2048 }));
  const kid = randomUUID().replace(/-/g, '');
  const pub = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const priv = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
  return { kid, privateJwk: JSON.stringify(priv), publicJwk: JSON.stringify(pub), createdUs };
}

/**
 * The issuer's RS256 keys, kept in the store so every process on that store (servers, the `token`
 * command) signs and verifies with the same keys. The oldest key signs; all keys verify.
 */
export class KeyRing {
  private lastReload = 0;
  private signer: SigningKey | undefined;
  private signerJwk = '';
  private publicKeys = new Map<string, CryptoKey>();
  private publicJwks: JWK[] = [];
  private readonly secrets = new Map<string, Buffer>();
  /** Settles once the keys are loaded: nothing signs or verifies before (the server listens after it). */
  readonly ready: Promise<void>;

  private constructor(private readonly store: Store, clock: Clock, firstKey: Promise<SigningKeyRecord> | undefined) {
    firstKey?.catch(() => undefined); // awaited below only if the store has no key by then
    this.ready = (async () => {
      let records = await store.listSigningKeys();
      if (records.length === 0) {
        // Inserted only if the store still has no key: of processes starting together, one key wins.
        await store.insertFirstSigningKey(await (firstKey ?? newSigningKeyRecord(clock.nowUs())));
        records = await store.listSigningKeys();
      }
      await this.load(records);
    })();
    this.ready.catch(() => undefined); // whoever opened the ring awaits it; a failed start must not also be an unhandled rejection
  }

  /** Loads the keys, creating the first one if the store has none. */
  static async open(store: Store, clock: Clock): Promise<KeyRing> {
    const ring = KeyRing.opening(store, clock);
    await ring.ready;
    return ring;
  }

  /**
   * A ring whose keys load meanwhile (see `ready`), so that the app can be built while a new
   * store's first key is made (`firstKey`, begun before the app's modules loaded: 0.1 s or more).
   */
  static opening(store: Store, clock: Clock, firstKey?: Promise<SigningKeyRecord>): KeyRing {
    return new KeyRing(store, clock, firstKey);
  }

  private async load(records: Awaited<ReturnType<Store['listSigningKeys']>>): Promise<void> {
    const first = records[0];
    if (!first) throw new Error('no signing key in the store');
    const publicKeys = new Map<string, CryptoKey>();
    const jwks: JWK[] = [];
    for (const r of records) {
      const jwk = JSON.parse(r.publicJwk) as JWK;
      publicKeys.set(r.kid, (await importJWK(jwk, 'RS256')) as CryptoKey);
      jwks.push(jwk);
    }
    this.signer = { kid: first.kid, privateKey: (await importJWK(JSON.parse(first.privateJwk) as JWK, 'RS256')) as CryptoKey };
    if (this.signerJwk !== first.privateJwk) this.secrets.clear();
    this.signerJwk = first.privateJwk;
    this.publicKeys = publicKeys;
    this.publicJwks = jwks;
  }

  get signingKey(): SigningKey {
    if (!this.signer) throw new Error('the signing keys are not loaded yet');
    return this.signer;
  }

  /** A secret for another purpose (e.g. signing skiptokens), derived from the signing key: the same on every process of a store. */
  deriveSecret(label: string): Buffer {
    if (!this.signer) throw new Error('the signing keys are not loaded yet');
    let secret = this.secrets.get(label);
    if (!secret) this.secrets.set(label, (secret = createHash('sha256').update(`${label}\0`).update(this.signerJwk).digest()));
    return secret;
  }

  get jwks(): JSONWebKeySet {
    return { keys: this.publicJwks };
  }

  /**
   * The public key for a kid. An unknown kid reloads the keys from the store (at most once a second),
   * so a key added by another process is picked up without a restart.
   */
  async publicKey(kid: string | undefined): Promise<CryptoKey | undefined> {
    if (kid === undefined) return undefined;
    const known = this.publicKeys.get(kid);
    if (known) return known;
    const now = Date.now();
    if (now - this.lastReload < 1000) return undefined;
    this.lastReload = now;
    await this.load(await this.store.listSigningKeys());
    return this.publicKeys.get(kid);
  }
}
