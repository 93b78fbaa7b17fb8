/**
 * The web console end to end, in real Chromium (Debian's `chromium`, driven by playwright-core):
 * sign in through the local authority (authorization code + PKCE), create an Android for Work
 * profile, find it by any part of its name in any case, create a token, read the QR code from a
 * screenshot's pixels and compare it with Graph's qrCodeContent, enroll a simulated device, see a
 * 429 beside the control that caused it (focused, in view), revoke after a confirmation, delete,
 * page. Also: the console's JavaScript budget (150 KB gzipped) and the authorize endpoint's refusals.
 * Device-owner profiles, the binding, test controls, dark mode, zoom and keyboard: the other
 * console-*.test.ts files.
 *
 * Needs the built server and console (`npm run build`). A missing chromium FAILS this test.
 * ENROLLGRAPH_SCREENSHOTS=1 also writes docs/screenshots/*.png.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { decodeQrPng } from '../qr-decode.js';
import { newTenant, PROFILES, ROOT, startServer, tempDir, type TestServer } from '../helpers.js';
import { eventually, graphGet, inViewport, isFocused, launch, newPage, qrFromScreen, shot } from './console-helpers.js';

const CONSOLE_CLIENT_ID = 'e7a1c0de-5a1e-4c0a-8d3e-c0a501e00001';

test('the console JavaScript is at most 150 KB gzipped', () => {
  const dir = join(ROOT, 'dist', 'console', 'assets');
  assert.ok(existsSync(join(ROOT, 'dist', 'console', 'index.html')), 'console built (node scripts/build-console.mjs)');
  const js = readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(js.length > 0);
  const bytes = js.reduce((n, f) => n + gzipSync(readFileSync(join(dir, f))).length, 0);
  assert.ok(bytes <= 150 * 1024, `${bytes} bytes gzipped`);
});

describe('web console in Chromium', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const tenant = newTenant();
  const name = 'Warehouse scanners';
  let id: string;

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ page } = await newPage(browser));
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  test('authorize refuses a foreign redirect_uri and a missing PKCE challenge', async () => {
    const base = `${server.url}/organizations/oauth2/v2.0/authorize?client_id=${CONSOLE_CLIENT_ID}&response_type=code&scope=openid`;
    const foreign = await fetch(`${base}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    assert.equal(foreign.status, 400);
    assert.match(await foreign.text(), /redirect_uri must be/);
    const noPkce = await fetch(`${base}&redirect_uri=${encodeURIComponent(`${server.url}/console/`)}`);
    assert.equal(noPkce.status, 400);
    assert.match(await noPkce.text(), /PKCE is required/);
  });

  test('sign in, create a profile, find it by any part of its name in any case', async () => {
    await page.goto(`${server.url}/console`);
    await shot(page, '1-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // The authority's login page (open mode): tenant and name.
    await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
    await page.getByLabel('Tenant').fill(tenant);
    await page.getByLabel('Name').fill('alice');
    await shot(page, '2-login-page');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Back in the console, signed in; the address bar no longer holds the code.
    await page.waitForURL(`${server.url}/console/`);
    await page.getByRole('heading', { name: 'Android for Work profiles' }).waitFor();
    assert.match((await page.locator('#who').textContent()) ?? '', new RegExp(tenant));

    for (const other of ['Lobby kiosks', 'Software test rigs']) {
      const create = page.getByRole('form', { name: 'New profile' });
      await create.getByLabel('Name').fill(other);
      await create.getByRole('button', { name: 'Create profile' }).click();
      await page.getByRole('heading', { level: 2, name: other }).waitFor();
    }
    const create = page.getByRole('form', { name: 'New profile' });
    await create.getByLabel('Name').fill(name);
    await create.getByLabel('Description (optional)').fill('Handhelds in the warehouse');
    await create.getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('heading', { level: 2, name }).waitFor();
    const stored = await server.storedAll(tenant);
    assert.equal(stored.length, 3, 'created through Graph in the signed-in tenant');
    id = stored.find((p) => p.displayName === name)!.id;

    const search = async (text: string) => {
      await page.getByLabel('Search by name').fill(text);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator('#search-result', { hasText: `“${text}”` }).waitFor();
      return page.getByRole('list', { name: 'Profiles' }).locator('.name').allTextContents();
    };
    // "ware" is inside both "Warehouse" (another case) and "Software": a substring, in any case.
    assert.deepEqual(await search('ware'), ['Software test rigs', name]);
    assert.deepEqual(await search('WAREHOUSE'), [name]);
    assert.deepEqual(await search('scan'), [name]);
    assert.deepEqual(await search('Nothing'), []);
    await page.getByText('0 profiles match “Nothing”.').waitFor();
    assert.deepEqual(await search('o'), ['Lobby kiosks', 'Software test rigs', name]);
  });

  test('a token: its QR code read from the screen equals qrCodeContent; a simulated device enrolls', async () => {
    await page.getByRole('list', { name: 'Profiles' }).getByRole('button', { name: new RegExp(`^${name}`) }).click();
    const tokenForm = page.getByRole('form', { name: 'Create token' });
    await tokenForm.getByLabel('Validity').selectOption({ label: '1 day' });
    await tokenForm.getByRole('button', { name: 'Create token' }).click();
    const qr = page.getByRole('img', { name: /^QR code for enrollment token/ });
    const text = await qrFromScreen(qr);
    await page.getByText(/^23 h \d+ min \d+ s left$/).waitFor();
    const profile = await graphGet(server, tenant, `${PROFILES}/${id}`);
    assert.ok(profile.qrCodeContent);
    assert.equal(text, profile.qrCodeContent, "the QR code on screen holds the profile's qrCodeContent");
    const tokenValue = (await page.locator('.tokenvalue').textContent()) ?? '';
    assert.equal(tokenValue, profile.tokenValue);
    assert.match(tokenValue, /^[A-Z]{20}$/);
    const box = await qr.boundingBox();
    assert.ok(box && box.width >= 200, `QR code shown large (${box?.width}px)`);
    const scale = Number(await qr.getAttribute('data-scale'));
    assert.ok(Number.isInteger(scale) && scale >= 2, `whole pixels per module (${scale})`);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download PNG' }).click()]);
    assert.equal(decodeQrPng(readFileSync((await download.path())!))?.text, profile.qrCodeContent, 'the PNG download decodes to qrCodeContent');

    await page.getByRole('button', { name: 'Enroll a simulated device' }).click();
    await page.locator('.devices .count', { hasText: '1' }).waitFor();
    assert.equal((await server.stored(tenant, id))?.enrolledDeviceCount, 1);
    await shot(page, '3-profile-with-token');
  });

  test('while a profile loads, its panel offers nothing to use: a choice made there would be lost when the profile is drawn', async () => {
    const rule = await server.admin('POST', '/_admin/faults', { tenant, operation: 'get', latencyMs: 1500, nth: 1 });
    assert.equal(rule.status, 201);
    const detail = page.locator('#detail');
    await page.getByRole('list', { name: 'Profiles' }).getByRole('button', { name: new RegExp(`^${name}`) }).click();
    await detail.locator('xpath=self::*[@aria-busy="true"]').waitFor();
    assert.equal(await detail.getByRole('form').count(), 0, 'no form while the profile loads');
    await detail.locator('xpath=self::*[not(@aria-busy)]').waitFor();
    await page.getByRole('form', { name: 'Create token' }).waitFor();
    assert.equal((await server.admin('GET', '/_admin/faults')).json.value.find((r: { id: string }) => r.id === rule.json.id)?.hits, 1);
    assert.equal((await server.admin('DELETE', `/_admin/faults/${rule.json.id}`)).status, 204);
  });

  test('a 429 on "Replace token" at the bottom of the page shows beside the form, focused and in view', async () => {
    await page.setViewportSize({ width: 1280, height: 600 });
    const rule = await server.admin('POST', '/_admin/faults', { tenant, operation: 'createToken', status: 429, retryAfter: 7, nth: 1 });
    assert.equal(rule.status, 201);
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
    const replace = page.getByRole('form', { name: 'Create token' }).getByRole('button', { name: 'Replace token' });
    await inViewport(replace);
    await replace.click();
    const error = page.locator('form[aria-label="Create token"] + .error[role="alert"]');
    await error.getByText(/retry after 7 s/).waitFor();
    assert.match((await error.textContent()) ?? '', /^429 TooManyRequests: .+request-id: [0-9a-f-]{36}/);
    await eventually(async () => assert.ok(await isFocused(error), 'focus is on the error'));
    await inViewport(error);
    assert.equal(await page.locator('#alert').isVisible(), false, 'not at the top of the page');
    assert.equal((await server.stored(tenant, id))?.tokenValue, (await page.locator('.tokenvalue').textContent()), 'the token did not change');
    await shot(page, '5-throttled');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('revoke asks first: Cancel keeps the token, Yes revokes it', async () => {
    const qr = page.getByRole('img', { name: /^QR code for enrollment token/ });
    await page.getByRole('button', { name: 'Revoke token' }).click();
    await page.getByRole('group', { name: 'Confirm: Revoke token' }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Revoke token' }).waitFor();
    assert.ok((await server.stored(tenant, id))?.tokenValue, 'Cancel revoked nothing');
    await qr.waitFor();

    await page.getByRole('button', { name: 'Revoke token' }).click();
    await page.getByRole('button', { name: 'Yes, revoke the token' }).click();
    await qr.waitFor({ state: 'detached' });
    await page.getByText(/No valid token/).waitFor();
    assert.equal((await server.stored(tenant, id))?.tokenValue ?? null, null);
  });

  test('delete, with confirmation', async () => {
    await page.getByRole('button', { name: 'Delete profile' }).click();
    await page.getByRole('button', { name: `Yes, delete \u201c${name}\u201d` }).click();
    await page.getByRole('heading', { level: 2, name: 'Profile', exact: true }).waitFor();
    await page.locator('#search-result', { hasText: '2 profiles match' }).waitFor();
    assert.deepEqual((await server.storedAll(tenant)).map((p) => p.displayName).sort(), ['Lobby kiosks', 'Software test rigs']);
  });

  test('paging: the list shows 20 profiles, then "Load more" follows @odata.nextLink', async () => {
    const bearer = await server.token({ tenantId: tenant });
    for (let i = 0; i < 21; i++) {
      const res = await fetch(`${server.url}${PROFILES}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ displayName: `Page ${String(i).padStart(2, '0')}` }),
      });
      assert.equal(res.status, 201);
    }
    await page.reload();
    const items = page.getByRole('list', { name: 'Profiles' }).getByRole('listitem');
    await page.getByRole('button', { name: 'Load more' }).waitFor();
    assert.equal(await items.count(), 20);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByRole('button', { name: /^Software test rigs/ }).waitFor();
    assert.equal(await items.count(), 23);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
  });

  test('a refused session token returns to sign-in with the error and its request-id', async () => {
    await page.evaluate(`(() => {
      const key = 'enrollgraph.console.session';
      const s = JSON.parse(sessionStorage.getItem(key));
      s.accessToken = 'not-a-token';
      sessionStorage.setItem(key, JSON.stringify(s));
    })()`);
    await page.reload();
    await page.getByText('Your session has ended: sign in again.').waitFor();
    await page.locator('#alert').getByText(/request-id/).waitFor();
  });
});

describe('authorization code + PKCE in strict mode (HTTP)', () => {
  const TENANT = '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10';
  let server: TestServer;
  let dir: string;
  const redirect = () => `${server.url}/console/`;

  before(async () => {
    dir = tempDir();
    const file = join(dir, 'ids.json');
    writeFileSync(
      file,
      JSON.stringify({
        tenants: [{ id: TENANT, domains: ['contoso.com'] }],
        users: [{ upn: 'admin@contoso.com', password: 'change-me-too', tenant: 'contoso.com' }],
      }),
    );
    server = await startServer({ args: ['--identities', file] });
  });
  after(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const authorize = (verifier: string, form: Record<string, string>) =>
    fetch(`${server.url}/organizations/oauth2/v2.0/authorize`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({
        client_id: CONSOLE_CLIENT_ID,
        response_type: 'code',
        redirect_uri: redirect(),
        scope: 'https://graph.microsoft.com/DeviceManagementConfiguration.ReadWrite.All openid',
        state: 'xyz',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        ...form,
      }),
    });
  const redeem = async (code: string, verifier: string) => {
    const res = await fetch(`${server.url}/organizations/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: CONSOLE_CLIENT_ID, code, code_verifier: verifier, redirect_uri: redirect() }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  test('the login page checks the password; the code is one-time and bound to the PKCE verifier', async () => {
    const page = await fetch(`${server.url}/contoso.com/oauth2/v2.0/authorize?client_id=${CONSOLE_CLIENT_ID}&response_type=code&redirect_uri=${encodeURIComponent(redirect())}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /type="password"/);

    const wrong = await authorize('v'.repeat(50), { username: 'admin@contoso.com', password: 'nope' });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /AADSTS50126/);

    const verifier = 'v'.repeat(50);
    const ok = await authorize(verifier, { username: 'admin@contoso.com', password: 'change-me-too' });
    assert.equal(ok.status, 302);
    const location = new URL(ok.headers.get('location') ?? '');
    assert.equal(location.origin + location.pathname, redirect());
    assert.equal(location.searchParams.get('state'), 'xyz');
    const code = location.searchParams.get('code')!;

    const bad = await redeem(code, 'w'.repeat(50));
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_grant');
    assert.match(String(bad.json.error_description), /AADSTS50148/);
    const reused = await redeem(code, verifier);
    assert.equal(reused.status, 400, 'a code is gone after its first redemption');
    assert.match(String(reused.json.error_description), /AADSTS70008/);

    const again = await authorize(verifier, { username: 'admin@contoso.com', password: 'change-me-too' });
    const good = await redeem(new URL(again.headers.get('location')!).searchParams.get('code')!, verifier);
    assert.equal(good.status, 200, JSON.stringify(good.json));
    assert.equal(typeof good.json.id_token, 'string');
    const list = await fetch(`${server.url}${PROFILES}`, { headers: { Authorization: `Bearer ${String(good.json.access_token)}` } });
    assert.equal(list.status, 200, 'the token works on Graph');
  });
});
