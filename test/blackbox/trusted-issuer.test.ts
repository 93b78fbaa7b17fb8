import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { call, newTenant, PROFILES, RW, startServer, tempDir, type TestServer } from '../helpers.js';

const ISSUER = 'https://idp.test.invalid/tenant-a/v2.0';

describe('a configured trusted issuer (--trusted-issuers)', () => {
  let server: TestServer;
  let key: CryptoKey;
  let dir: string;

  before(async () => {
    dir = tempDir();
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }] };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    writeFileSync(join(dir, 'issuers.json'), JSON.stringify([{ issuer: ISSUER, jwks: join(dir, 'jwks.json'), audiences: ['api://enrollgraph'] }]));
    server = await startServer({ args: ['--trusted-issuers', join(dir, 'issuers.json')] });
  });
  after(async () => {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const sign = (claims: Record<string, unknown>, aud = 'api://enrollgraph') =>
    new SignJWT({ tid: newTenant(), scp: RW, oid: newTenant(), ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
      .setIssuer(ISSUER)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);

  it('accepts its tokens with its own audience, partitioned by their tid', async () => {
    const tid = newTenant();
    const res = await call(server.url, 'POST', PROFILES, { token: await sign({ tid }), body: { displayName: 'external' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.accountId, tid);
  });

  it('refuses its tokens for another audience, and the built-in issuer keeps working', async () => {
    const res = await call(server.url, 'GET', PROFILES, { token: await sign({}, 'https://graph.microsoft.com') });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.message, 'Access token validation failure. Invalid audience.');
    assert.equal((await call(server.url, 'GET', PROFILES, { token: await server.token() })).status, 200);
  });
});
