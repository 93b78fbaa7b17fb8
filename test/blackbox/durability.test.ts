import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { call, createProfile, newTenant, PROFILES, startServer, tempDir } from '../helpers.js';

describe('durability and shutdown', () => {
  it('every acknowledged write survives SIGKILL and a restart on the same data directory', async () => {
    const dataDir = tempDir();
    try {
      const first = await startServer({ dataDir, keepData: true });
      const tenant = newTenant();
      const token = await first.token({ tenantId: tenant });
      const ids: string[] = [];
      const tokens = new Map<string, number>();
      // Writes acknowledged in parallel bursts, then an immediate kill -9.
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const p = await createProfile(first.url, token, { displayName: `durable ${i}` });
          ids.push(p.id);
          if (i % 2 === 0) {
            const r = await call(first.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 600 + i } });
            assert.equal(r.status, 204);
            tokens.set(p.id, 600 + i);
          }
          if (i % 5 === 0) {
            const r = await call(first.url, 'PATCH', `${PROFILES}/${p.id}`, { token, body: { description: `patched ${i}` } });
            assert.equal(r.status, 204);
          }
        }),
      );
      const deleted = ids.pop()!;
      assert.equal((await call(first.url, 'DELETE', `${PROFILES}/${deleted}`, { token })).status, 204);
      await first.kill9();
      await first.dispose();

      const second = await startServer({ dataDir, keepData: true });
      try {
        const token2 = await second.token({ tenantId: tenant });
        assert.equal(token2.split('.')[0], token.split('.')[0], 'the same signing key after restart');
        // The token minted before the crash is still accepted.
        const list = await call(second.url, 'GET', PROFILES, { token });
        assert.equal(list.status, 200);
        const byId = new Map<string, Record<string, any>>(list.json.value.map((p: { id: string }) => [p.id, p])); // eslint-disable-line @typescript-eslint/no-explicit-any
        assert.equal(byId.size, ids.length);
        assert.ok(!byId.has(deleted));
        for (const id of ids) {
          const p = byId.get(id)!;
          assert.ok(p, `profile ${id} survived`);
          const i = Number(p.displayName.split(' ')[1]);
          if (i % 5 === 0) assert.equal(p.description, `patched ${i}`);
          if (tokens.has(id)) {
            assert.match(p.tokenValue, /^[A-Z]{20}$/);
            const validity = (Date.parse(p.tokenExpirationDateTime) - Date.parse(p.lastModifiedDateTime)) / 1000;
            if (i % 5 !== 0) assert.equal(validity, tokens.get(id));
          } else {
            assert.equal(p.tokenValue, null);
          }
        }
      } finally {
        await second.dispose();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGTERM finishes in-flight requests, then exits 0', async () => {
    const server = await startServer();
    try {
      const tenant = newTenant();
      const token = await server.token({ tenantId: tenant });
      const p = await createProfile(server.url, token);
      // Every createToken waits 3 s in a fault rule; SIGTERM goes once the rule has seen all 20, so
      // each of them is in flight when it arrives, however slow the machine.
      const rule = await server.admin('POST', '/_admin/faults', { operation: 'createToken', latencyMs: 3000 });
      assert.equal(rule.status, 201, rule.text);
      const inflight = Array.from({ length: 20 }, () =>
        call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 60 } }).then(
          (r) => r.status,
          () => 'refused',
        ),
      );
      const hits = async () => ((await server.admin('GET', '/_admin/faults')).json.value as { id: string; hits: number }[]).find((f) => f.id === rule.json.id)?.hits ?? 0;
      while ((await hits()) < 20) await new Promise((r) => setTimeout(r, 20));
      const code = await server.stop();
      assert.equal(code, 0);
      const statuses = await Promise.all(inflight);
      // Every request that was in flight was finished, not cut off.
      assert.deepEqual(statuses, Array(20).fill(204));
      const stored = await server.stored(tenant, p.id);
      assert.match(stored?.tokenValue ?? '', /^[A-Z]{20}$/);
    } finally {
      await server.dispose();
    }
  });
});
