/**
 * The console's test controls in Chromium, for whoever holds the admin key: the server clock in the
 * header (set, advance, freeze, back to real time) and token countdowns by it, not by the browser's
 * clock; fault rules (add, list with hits, clear); reset; snapshot download and upload. Each is
 * checked on screen and in what the server holds afterwards.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { call, PROFILES, newTenant, startServer, type TestServer } from '../helpers.js';
import { eventually, graphGet, inViewport, isFocused, launch, newPage, signIn } from './console-helpers.js';

describe('test controls in the console', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const tenant = newTenant();
  const header = () => page.locator('#server-clock');
  const countdown = () => page.locator('.token .countdown');

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ page } = await newPage(browser));
    await signIn(page, server, tenant);
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const controls = async () => {
    await page.getByRole('link', { name: 'Test controls' }).click();
    await page.getByRole('heading', { name: 'Test controls' }).waitFor();
  };

  test('a wrong admin key is refused beside its form; the right one opens the controls', async () => {
    await controls();
    await page.getByRole('textbox', { name: 'Admin key' }).fill('not-the-key');
    await page.getByRole('button', { name: 'Use this key' }).click();
    const error = page.locator('form[aria-label="Admin key"] + .error');
    await error.getByText(/^401 Unauthorized/).waitFor();
    await eventually(async () => assert.ok(await isFocused(error)));
    assert.equal(await page.getByRole('heading', { name: 'Server clock' }).count(), 0);

    await page.getByRole('textbox', { name: 'Admin key' }).fill(server.adminKey!);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Server clock' }).waitFor();
  });

  test('set and freeze the server clock: the header shows it, the server holds it', async () => {
    const set = page.getByRole('form', { name: 'Set the clock' });
    await set.getByLabel('Date and time (UTC)').fill('2030-01-01T00:00:00');
    await set.getByLabel('Frozen').check();
    await set.getByRole('button', { name: 'Set the clock' }).click();
    await header().getByText('Server clock 2030-01-01 00:00:00 UTC · frozen').waitFor();
    await page.locator('#clock-state', { hasText: 'frozen' }).waitFor();
    const clock = (await server.admin('GET', '/_admin/clock')).json;
    assert.deepEqual({ now: clock.now.slice(0, 19), frozen: clock.frozen }, { now: '2030-01-01T00:00:00', frozen: true });
  });

  test('a countdown runs by the server clock: frozen it stands, advanced past expiry it says expired, as the server does', async () => {
    // The session's token (minted in real time) is expired by a clock at 2030: with the admin key the
    // console gets a new one minted on the server clock, so the user stays signed in and this works.
    await page.getByRole('link', { name: 'Android for Work' }).click();
    const create = page.getByRole('form', { name: 'New profile' });
    await create.getByLabel('Name').fill('Clock watch');
    await create.getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('heading', { level: 2, name: 'Clock watch' }).waitFor();
    await page.getByRole('form', { name: 'Create token' }).getByRole('button', { name: 'Create token' }).click();
    // The browser's clock says 2026 or later; only the server's (frozen at 2030-01-01) gives exactly an hour.
    await countdown().getByText('1 h 0 min 0 s left').waitFor();
    const token = (await page.locator('.tokenvalue').textContent())!;

    await controls();
    await page.getByRole('button', { name: 'Advance 1 hour' }).click();
    await header().getByText('Server clock 2030-01-01 01:00:00 UTC · frozen').waitFor();
    await page.getByRole('link', { name: 'Android for Work' }).click();
    await page.getByRole('button', { name: /^Clock watch/ }).click();
    await page.getByText(/^No valid token \(the last one ended 2030-01-01 01:00:00 UTC\)/).waitFor();
    const refused = await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken: token } });
    assert.equal(refused.json.error.code, 'EnrollmentTokenExpired', 'the server agrees: expired');

    // A minute back: valid again, 1 minute left; unfrozen, the countdown moves on by itself.
    await controls();
    const adv = page.getByRole('form', { name: 'Advance the clock' });
    await adv.getByLabel(/^Advance by/).fill('-60');
    await adv.getByRole('button', { name: 'Advance' }).click();
    await header().getByText('Server clock 2030-01-01 00:59:00 UTC · frozen').waitFor();
    await page.getByRole('button', { name: 'Unfreeze' }).click();
    await page.locator('#clock-state', { hasText: 'running' }).waitFor();
    await page.getByRole('link', { name: 'Android for Work' }).click();
    await page.getByRole('button', { name: /^Clock watch/ }).click();
    await countdown().getByText(/^0 h 0 min \d+ s left$/).waitFor();
    const first = (await countdown().textContent())!;
    await eventually(async () => assert.notEqual(await countdown().textContent(), first, 'it counts down'));

    // Back to real time: the token (until 2030) has years left.
    await controls();
    await page.getByRole('button', { name: 'Back to real time' }).click();
    await page.locator('#clock-state', { hasText: 'running' }).waitFor();
    const real = (await server.admin('GET', '/_admin/clock')).json;
    assert.ok(Math.abs(real.offsetSeconds) < 1, `machine time again (${real.offsetSeconds} s)`);
    assert.equal(real.frozen, false);
    await header().getByText(new RegExp(`^Server clock ${real.now.slice(0, 4)}-`)).waitFor();
    await page.getByRole('link', { name: 'Android for Work' }).click();
    await page.getByRole('button', { name: /^Clock watch/ }).click();
    await countdown().getByText(/^\d+ y \d+ d /).waitFor();
  });

  test('without the admin key, a clock moved by someone else reaches the countdown (public GET /clock)', async () => {
    await controls();
    await page.getByRole('button', { name: 'Forget the key' }).click();
    await page.getByRole('textbox', { name: 'Admin key' }).waitFor();
    await page.getByRole('link', { name: 'Android for Work' }).click();
    await page.getByRole('button', { name: /^Clock watch/ }).click();
    await countdown().getByText(/ y /).waitFor();
    // A ten-minute token (the session's own token, valid an hour, outlives the move below).
    const tokenForm = page.getByRole('form', { name: 'Create token' });
    await tokenForm.getByLabel('Validity').selectOption({ label: 'Number of seconds…' });
    await tokenForm.getByLabel('Seconds').fill('600');
    await tokenForm.getByRole('button', { name: 'Replace token' }).click();
    await countdown().getByText(/^0 h \d+ min \d+ s left$/).waitFor();
    assert.equal((await server.admin('POST', '/_admin/clock/advance', { seconds: 600 })).status, 200);
    // The console re-reads the clock every few seconds: no reload, no click.
    await page.getByText(/^No valid token/).waitFor({ timeout: 30_000 });
    const stored = (await graphGet(server, tenant, `${PROFILES}?$filter=displayName eq 'Clock watch'`)).value[0];
    assert.ok(stored.tokenValue, 'the token was not revoked: it expired by the server clock');
    assert.equal((await server.admin('DELETE', '/_admin/clock')).status, 200);
    // The key again, for the tests below.
    await controls();
    await page.getByRole('textbox', { name: 'Admin key' }).fill(server.adminKey!);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Server clock' }).waitFor();
  });

  test('fault rules: add one, see it fire beside the control it hit, its hits listed; clear them all', async () => {
    const form = page.getByRole('form', { name: 'Add a fault rule' });
    await form.getByLabel('Operation').selectOption('createToken');
    await form.getByLabel('Answer with status').fill('503');
    await form.getByLabel('Retry-After (s)').fill('2');
    await form.getByRole('button', { name: 'Add rule' }).click();
    const rules = page.getByRole('table', { name: 'Fault rules' });
    await rules.getByText(/createToken/).waitFor();
    assert.equal(await rules.locator('td.hits').textContent(), '0');
    const stored = (await server.admin('GET', '/_admin/faults')).json.value;
    assert.equal(stored.length, 1);
    assert.deepEqual({ op: stored[0].operation, status: stored[0].status, retry: stored[0].retryAfter, tenant: stored[0].tenant }, { op: 'createToken', status: 503, retry: 2, tenant });

    await page.getByRole('link', { name: 'Android for Work' }).click();
    await page.getByRole('button', { name: /^Clock watch/ }).click();
    await page.getByRole('form', { name: 'Create token' }).getByRole('button').click();
    const error = page.locator('form[aria-label="Create token"] + .error');
    await error.getByText(/retry after 2 s/).waitFor();
    assert.match((await error.textContent()) ?? '', /^503 /);
    await eventually(async () => assert.ok(await isFocused(error)));
    await inViewport(error);

    await controls();
    await rules.locator('td.hits', { hasText: '1' }).waitFor();
    await page.getByRole('button', { name: 'Clear all rules' }).click();
    await page.getByRole('button', { name: 'Yes, delete every rule' }).click();
    await page.getByText('No fault rules.').waitFor();
    assert.deepEqual((await server.admin('GET', '/_admin/faults')).json.value, []);
  });

  test('snapshot: download it, reset everything, upload it: the profiles are back', async () => {
    const before = await server.storedAll(tenant);
    assert.ok(before.length > 0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download snapshot' }).click()]);
    assert.match(download.suggestedFilename(), /^enrollgraph-snapshot-.*\.json$/);
    const path = (await download.path())!;
    const snapshot = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(snapshot.format, 'enrollgraph-snapshot');
    assert.ok(JSON.stringify(snapshot).includes('Clock watch'));

    await page.getByRole('button', { name: 'Reset everything' }).click();
    await page.getByRole('button', { name: 'Yes, reset the whole server' }).click();
    await page.locator('#reset-note', { hasText: 'The server was reset' }).waitFor();
    assert.equal((await server.storedAll(tenant)).length, 0, 'reset emptied the store');

    await page.getByLabel('Snapshot file').setInputFiles(path);
    await page.getByRole('button', { name: 'Upload snapshot' }).click();
    await page.getByRole('button', { name: 'Yes, replace all state with this file' }).click();
    await page.locator('#import-result', { hasText: /^Imported: / }).waitFor();
    assert.deepEqual((await server.storedAll(tenant)).map((p) => p.id).sort(), before.map((p) => p.id).sort());
    await page.getByRole('link', { name: 'Android for Work' }).click();
    await page.getByRole('button', { name: /^Clock watch/ }).waitFor();
  });

  test('reset this tenant: its profiles are gone, on screen and in the store', async () => {
    await controls();
    await page.getByRole('button', { name: 'Reset this tenant' }).click();
    await page.getByRole('button', { name: 'Yes, reset this tenant' }).click();
    await page.locator('#reset-note', { hasText: 'This tenant was reset' }).waitFor();
    assert.equal((await server.storedAll(tenant)).length, 0);
    await page.getByRole('link', { name: 'Android for Work' }).click();
    await page.getByText('No profiles yet: create one below.').waitFor();
  });
});
