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
  private signerJwk = '';

  private constructor(
    private readonly store: Store,
    private signer: SigningKey,
    private publicKeys: Map<string, CryptoKey>,
    private publicJwks: JWK[],
  ) {}

  /** Loads the keys, creating the first one if the store has none. */
  static async open(store: Store, clock: Clock): Promise<KeyRing> {
    let records = await store.listSigningKeys();
    if (records.length === 0) {
      // Inserted only if the store still has no key: of processes starting together, one key wins.
      await store.insertFirstSigningKey(await newSigningKeyRecord(clock.nowUs()));
      records = await store.listSigningKeys();
    }
    const ring = new KeyRing(store, undefined as never, new Map(), []);
    await ring.load(records);
    return ring;
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
    this.signerJwk = first.privateJwk;
    this.signer = { kid: first.kid, privateKey: (await importJWK(JSON.parse(first.privateJwk) as JWK, 'RS256')) as CryptoKey };
    this.publicKeys = publicKeys;
    this.publicJwks = jwks;
  }

  get signingKey(): SigningKey {
    return this.signer;
  }

  /** A secret for another purpose (e.g. signing skiptokens), derived from the signing key: the same on every process of a store. */
  deriveSecret(label: string): Buffer {
    return createHash('sha256').update(`${label}\0`).update(this.signerJwk).digest();
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
