/**
 * The web console end to end, in real Chromium (Debian's `chromium`, driven by playwright-core):
 * sign in through the local authority (authorization code + PKCE), create a profile, create a token,
 * read the QR code off the page and decode it, enroll a simulated device, revoke, delete.
 * Also: the console's JavaScript budget (150 KB gzipped) and the authorize endpoint's refusals.
 *
 * Needs the built server and console (`npm run build`). A missing chromium FAILS this test.
 * ENROLLGRAPH_SCREENSHOTS=1 also writes docs/screenshots/*.png.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { decodeQrPng } from '../qr-decode.js';
import { newTenant, PROFILES, ROOT, startServer, tempDir, type TestServer } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const CONSOLE_CLIENT_ID = 'e7a1c0de-5a1e-4c0a-8d3e-c0a501e00001';
const SHOTS = process.env.ENROLLGRAPH_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : undefined;

test('the console JavaScript is at most 150 KB gzipped', () => {
  const dir = join(ROOT, 'dist', 'console', 'assets');
  assert.ok(existsSync(join(ROOT, 'dist', 'console', 'index.html')), 'console built (node scripts/build-console.mjs)');
  const js = readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(js.length > 0);
  const bytes = js.reduce((n, f) => n + gzipSync(readFileSync(join(dir, f))).length, 0);
  assert.ok(bytes <= 150 * 1024, `${bytes} bytes gzipped`);
});

describe('web console in Chromium', { timeout: 60_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const tenant = newTenant();

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 20_000 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  test('authorize refuses a foreign redirect_uri and a missing PKCE challenge', async () => {
    const base = `${server.url}/organizations/oauth2/v2.0/authorize?client_id=${CONSOLE_CLIENT_ID}&response_type=code&scope=openid`;
    const foreign = await fetch(`${base}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    assert.equal(foreign.status, 400);
    assert.match(await foreign.text(), /redirect_uri must be/);
    const noPkce = await fetch(`${base}&redirect_uri=${encodeURIComponent(`${server.url}/console/`)}`);
    assert.equal(noPkce.status, 400);
    assert.match(await noPkce.text(), /PKCE is required/);
  });

  test('sign in, create a profile and a token, scan its QR code, enroll, revoke, delete', async () => {
    await page.goto(`${server.url}/console`);
    await shot('1-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // The authority's login page (open mode): tenant and name.
    await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
    await page.getByLabel('Tenant').fill(tenant);
    await page.getByLabel('Name').fill('alice');
    await shot('2-login-page');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Back in the console, signed in; the address bar no longer holds the code.
    await page.waitForURL(`${server.url}/console/`);
    await page.getByRole('heading', { name: 'Enrollment profiles' }).waitFor();
    assert.match((await page.locator('#who').textContent()) ?? '', new RegExp(tenant));

    // Create a profile.
    const name = `Lobby kiosks ${Date.now()}`;
    const create = page.getByRole('form', { name: 'New profile' });
    await create.getByLabel('Name').fill(name);
    await create.getByLabel('Description (optional)').fill('Tablets at the front desk');
    await create.getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('heading', { level: 2, name }).waitFor();
    const profiles = await server.storedAll(tenant);
    assert.equal(profiles.length, 1, 'created through Graph in the signed-in tenant');
    const id = profiles[0]!.id;

    // Search finds it; a non-matching prefix does not.
    await page.getByLabel('Search by name (starts with)').fill('Nothing');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText(/name starts with .Nothing./).waitFor();
    await page.getByLabel('Search by name (starts with)').fill('Lobby');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('list', { name: 'Profiles' }).getByRole('button', { name: new RegExp(name) }).waitFor();

    // A token for one day, shown with its QR code.
    const tokenForm = page.getByRole('form', { name: 'Create token' });
    await tokenForm.getByLabel('Validity').selectOption({ label: '1 day' });
    await tokenForm.getByRole('button', { name: 'Create token' }).click();
    const qr = page.getByRole('img', { name: /^QR code for enrollment token/ });
    await qr.waitFor();
    await page.getByText(/\d+ h \d+ min \d+ s left/).waitFor();
    const src = (await qr.getAttribute('src')) ?? '';
    assert.match(src, /^data:image\/png;base64,/);
    const decoded = decodeQrPng(src.slice(src.indexOf(',') + 1));
    assert.ok(decoded, 'the QR code on the page decodes');
    const bearer = await server.token({ tenantId: tenant });
    const profile = (await (await fetch(`${server.url}${PROFILES}/${id}`, { headers: { Authorization: `Bearer ${bearer}` } })).json()) as {
      qrCodeContent: string | null;
    };
    assert.ok(profile.qrCodeContent);
    assert.equal(decoded.text, profile.qrCodeContent, "the QR code holds the profile's qrCodeContent");
    const tokenValue = (await page.locator('.tokenvalue').textContent()) ?? '';
    assert.match(tokenValue, /^[A-Z]{20}$/);
    assert.ok(decoded.text.includes(tokenValue));
    const box = await qr.boundingBox();
    assert.ok(box && box.width >= 200, `QR code shown large (${box?.width}px)`);

    // 200 % zoom (half the CSS width at twice the pixel density): one column, no horizontal scrolling.
    await page.setViewportSize({ width: 640, height: 900 });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
    assert.ok(overflow <= 0, `no horizontal scrolling at 200 % zoom (${overflow}px)`);
    await shot('4-zoom-200');
    await page.setViewportSize({ width: 1280, height: 900 });

    // A simulated device enrolls: the count goes up.
    await page.getByRole('button', { name: 'Enroll a simulated device' }).click();
    await page.locator('dd.count', { hasText: '1' }).waitFor();
    await shot('3-profile-with-token');

    // A throttled call (429, injected by the control API) shows Graph's message, request-id and when to retry.
    const rule = await server.admin('POST', '/_admin/faults', { tenant, operation: 'update', status: 429, retryAfter: 7, nth: 1 });
    assert.equal(rule.status, 201);
    await page.getByRole('form', { name: 'Edit profile' }).getByRole('button', { name: 'Save changes' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText(/retry after 7 s/).waitFor();
    assert.match((await alert.textContent()) ?? '', /^429 TooManyRequests: .+request-id: [0-9a-f-]{36}/);
    await shot('5-throttled');

    // Revoke: the QR code goes away.
    await page.getByRole('button', { name: 'Revoke token' }).click();
    await qr.waitFor({ state: 'detached' });
    await page.getByText(/No valid token/).waitFor();
    assert.equal((await server.stored(tenant, id))?.tokenValue ?? null, null);

    // Delete, with confirmation.
    await page.getByRole('button', { name: 'Delete profile' }).click();
    await page.getByRole('button', { name: `Yes, delete \u201c${name}\u201d` }).click();
    await page.getByText(/^No profile/).waitFor();
    assert.equal((await server.storedAll(tenant)).length, 0);
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
    await page.getByRole('button', { name: /^Page 20/ }).waitFor();
    assert.equal(await items.count(), 21);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
  });

  test('a Graph error shows its message and request-id', async () => {
    // Expire the session's token in the page: the next call is a 401 that returns to sign-in.
    await page.evaluate(`(() => {
      const key = 'enrollgraph.console.session';
      const s = JSON.parse(sessionStorage.getItem(key));
      s.accessToken = 'not-a-token';
      sessionStorage.setItem(key, JSON.stringify(s));
    })()`);
    await page.reload();
    await page.getByText('Your session has ended: sign in again.').waitFor();
    await page.getByRole('alert').getByText(/request-id/).waitFor();
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
