/**
 * The Managed Google Play binding in the console (Chromium): its status as Graph holds it, app sync
 * (at the server clock's time), unbind after a confirmation, and binding again through the stand-in
 * signup page in a new tab, whose return address is pasted back, as Intune's admin would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { newTenant, startServer, type TestServer } from '../helpers.js';
import { eventually, graphGet, isFocused, launch, newPage, signIn } from './console-helpers.js';

const BINDING = '/beta/deviceManagement/androidManagedStoreAccountEnterpriseSettings';

describe('the Managed Google Play binding in the console', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const tenant = newTenant();
  const status = () => page.locator('#bind-status');

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ context, page } = await newPage(browser));
    await signIn(page, server, tenant);
    // Where the signup returns to resolves nowhere; here it answers a blank page, so the address can be read.
    await context.route('https://enrollgraph.invalid/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<title>returned</title>' }));
    await page.getByRole('link', { name: 'Managed Google Play' }).click();
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  test('status and owner as Graph holds them; app sync at the server clock’s time', async () => {
    await status().getByText('boundAndValidated').waitFor();
    const held = await graphGet(server, tenant, BINDING);
    await page.getByText(held.ownerUserPrincipalName, { exact: true }).waitFor();
    // Ten minutes ahead, frozen (the session's one-hour token stays valid): the sync happens at that instant.
    const moved = (await server.admin('POST', '/_admin/clock/advance', { seconds: 600 })).json.now as string;
    const frozen = (await server.admin('PUT', '/_admin/clock', { frozen: true })).json.now as string;
    assert.ok(frozen >= moved);
    await page.getByRole('button', { name: 'Sync apps' }).click();
    await page.locator('#app-sync', { hasText: `${frozen.slice(0, 19).replace('T', ' ')} UTC · success` }).waitFor();
    const synced = await graphGet(server, tenant, BINDING);
    assert.equal(synced.lastAppSyncDateTime, frozen);
    assert.equal(synced.lastAppSyncStatus, 'success');
    assert.equal((await server.admin('DELETE', '/_admin/clock')).status, 200);
  });

  test('unbind asks first: Cancel keeps the binding, Yes unbinds', async () => {
    await page.getByRole('button', { name: 'Unbind' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Unbind' }).waitFor();
    assert.equal((await graphGet(server, tenant, BINDING)).bindStatus, 'boundAndValidated');

    await page.getByRole('button', { name: 'Unbind' }).click();
    await page.getByRole('button', { name: 'Yes, unbind Managed Google Play' }).click();
    await status().getByText('notBound').waitFor();
    assert.equal((await graphGet(server, tenant, BINDING)).bindStatus, 'notBound');
    await page.getByRole('button', { name: 'Sync apps' }).click();
    await page.locator('#app-sync', { hasText: 'credentialsNotValid' }).waitFor();
  });

  test('bind again through the stand-in signup page; its token works once', async () => {
    await page.getByRole('button', { name: 'Get a signup link' }).click();
    const link = page.getByRole('link', { name: 'Open the signup page (new tab)' });
    const [signup] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await signup.getByRole('heading', { name: 'Bind Managed Google Play' }).waitFor();
    await signup.getByRole('button', { name: /^Sign up and return to enrollgraph\.invalid/ }).click();
    await signup.waitForURL(/^https:\/\/enrollgraph\.invalid\/\?enterpriseToken=/);
    const returned = signup.url();
    await signup.close();

    const form = page.getByRole('form', { name: 'Complete binding' });
    await form.getByLabel(/^Address the signup returned to/).fill(returned);
    await form.getByRole('button', { name: 'Complete binding' }).click();
    await status().getByText('boundAndValidated').waitFor();
    const held = await graphGet(server, tenant, BINDING);
    assert.equal(held.bindStatus, 'boundAndValidated');
    await page.getByText(held.ownerUserPrincipalName, { exact: true }).waitFor();

    // The same enterprise token a second time: Graph's 400, beside the form.
    await form.getByLabel(/^Address the signup returned to/).fill(returned);
    await form.getByRole('button', { name: 'Complete binding' }).click();
    const error = page.locator('form[aria-label="Complete binding"] + .error');
    await error.getByText(/enterpriseToken/).waitFor();
    assert.match((await error.textContent()) ?? '', /^400 /);
    await eventually(async () => assert.ok(await isFocused(error)));
  });
});
