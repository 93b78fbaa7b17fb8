/**
 * The QR image of a new token is rendered in the background once its profile has had no createToken
 * for a moment: a burst of createToken on one profile renders once, the last token, after the burst.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ProfileService } from '../../src/enrollment/profiles.js';
import { qrContentFor } from '../../src/enrollment/qr.js';
import type { QrRenderer } from '../../src/enrollment/qr-renderer.js';
import type { Store } from '../../src/store/store.js';
import { SystemClock } from '../../src/time.js';

const TENANT = '3c9d2a71-0b4e-4f58-8a6d-2e1f0c9b8a77';

function fakes() {
  const rendered: { content: string; at: number }[] = [];
  const saved: { id: string; token: string }[] = [];
  const store = {
    setToken: async () => 'ok' as const,
    revokeToken: async () => true,
    saveQrImage: async (_t: string, id: string, token: string) => void saved.push({ id, token }),
  } as unknown as Store;
  const qr = {
    peek: () => undefined,
    render: async (content: string) => (rendered.push({ content, at: performance.now() }), 'PNG'),
  } as unknown as QrRenderer;
  return { profiles: new ProfileService(store, new SystemClock(), qr), rendered, saved };
}

/** What ProfileService waits for (RENDER_DELAY_MS), and a margin for a loaded machine. */
const DELAY_MS = 200;

describe('background QR rendering', () => {
  it('renders once, the last token of a burst, after the profile went quiet', async () => {
    const { profiles, rendered, saved } = fakes();
    let last = 0;
    for (let i = 0; i < 5; i++) {
      await profiles.createToken(TENANT, 'p1', 3600);
      last = performance.now();
      await sleep(60); // each call inside the previous one's delay: the render moves on
    }
    await sleep(DELAY_MS + 300);
    assert.equal(rendered.length, 1);
    assert.ok(rendered[0]!.at - last >= DELAY_MS - 5, `rendered ${Math.round(rendered[0]!.at - last)} ms after the last call`);
    assert.equal(saved.length, 1);
    assert.equal(rendered[0]!.content, qrContentFor(saved[0]!.token));
    profiles.close();
  });

  it('renders each profile of its own, and nothing for a token revoked before its render', async () => {
    const { profiles, rendered, saved } = fakes();
    await profiles.createToken(TENANT, 'a', 3600);
    await profiles.createToken(TENANT, 'b', 3600);
    await profiles.createToken(TENANT, 'c', 3600);
    await profiles.revokeToken(TENANT, 'c');
    await sleep(DELAY_MS + 300);
    assert.deepEqual(saved.map((s) => s.id).sort(), ['a', 'b']);
    assert.equal(rendered.length, 2);
    profiles.close();
  });

  it('close() cancels pending renders', async () => {
    const { profiles, rendered } = fakes();
    await profiles.createToken(TENANT, 'p', 3600);
    profiles.close();
    await sleep(DELAY_MS + 300);
    assert.equal(rendered.length, 0);
  });
});
