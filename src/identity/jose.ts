/**
 * The parts of jose that Enrollgraph uses, from jose's subpath modules: its index loads every module
 * of jose (JWE, JWKS fetching and all), and the start paid for each one (docs/performance.md).
 */
export { decodeProtectedHeader } from 'jose/decode/protected_header';
export * as errors from 'jose/errors';
export { createLocalJWKSet } from 'jose/jwks/local';
export { createRemoteJWKSet } from 'jose/jwks/remote';
export { decodeJwt } from 'jose/jwt/decode';
export { SignJWT } from 'jose/jwt/sign';
export { jwtVerify } from 'jose/jwt/verify';
export { exportJWK } from 'jose/key/export';
export { generateKeyPair } from 'jose/key/generate/keypair';
export { importJWK } from 'jose/key/import';
export type { CryptoKey, JSONWebKeySet, JWK, JWTPayload, JWTVerifyGetKey } from 'jose';
