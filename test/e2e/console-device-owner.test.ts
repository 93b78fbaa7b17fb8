/**
 * The console's device-owner profiles in Chromium: every enrollment mode's token and QR code (read
 * from a screenshot's pixels, compared with Graph's qrCodeContent), drawn at a whole number of
 * device pixels per module, with a PNG download; Wi-Fi settings, token type and device name template
 * saved through Graph and carried in the AOSP payload; the AOSP userless cap refused beside its
 * control; the binding a GMS mode needs; devices enrolled with a profile listed under it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { decodeQrPng } from '../qr-decode.js';
import { call, DEVICE_OWNER_PROFILES as DO, newTenant, startServer, type TestServer } from '../helpers.js';
import { eventually, graphGet, greyPixels, inViewport, isFocused, launch, newPage, qrFromScreen, signIn } from './console-helpers.js';

// The page's globals, for the functions that run there (evaluate): the tests' tsconfig has no DOM library.
declare const document: any, window: any, getComputedStyle: any, devicePixelRatio: number; // eslint-disable-line @typescript-eslint/no-explicit-any

const MODES: [string, string, RegExp][] = [
  ['corporateOwnedDedicatedDevice', 'Dedicated device', /^[A-Z]{20}$/],
  ['corporateOwnedFullyManaged', 'Fully managed', /^[A-Z]{8}$/],
  ['corporateOwnedWorkProfile', 'Corporate-owned work profile', /^[A-Z]{8}$/],
  ['corporateOwnedAOSPUserlessDevice', 'AOSP userless', /^[A-Z]{20}$/],
  ['corporateOwnedAOSPUserAssociatedDevice', 'AOSP user-associated', /^[A-Z]{20}$/],
];

describe('device-owner profiles in the console', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const tenant = newTenant();

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ page } = await newPage(browser));
    await signIn(page, server, tenant);
    await page.getByRole('link', { name: 'Device owner' }).click();
    await page.getByRole('heading', { name: 'Device-owner profiles' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  async function create(name: string, modeLabel: string): Promise<string> {
    const form = page.getByRole('form', { name: 'New profile' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Enrollment mode').selectOption({ label: modeLabel });
    await form.getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('heading', { level: 2, name }).waitFor();
    const list = await graphGet(server, tenant, `${DO}?$filter=displayName eq '${name}'`);
    assert.equal(list.value.length, 1);
    return list.value[0].id as string;
  }

  for (const [mode, label, pattern] of MODES) {
    test(`${label}: a token, its QR code read from the screen equals qrCodeContent, and its PNG download`, async () => {
      const name = `Mode ${label}`;
      const id = await create(name, label);
      assert.equal((await graphGet(server, tenant, `${DO}/${id}`)).enrollmentMode, mode);
      const tokenForm = page.getByRole('form', { name: 'Create token' });
      await tokenForm.getByLabel('Validity').selectOption({ label: '1 day' });
      await tokenForm.getByRole('button', { name: 'Create token' }).click();
      const qr = page.getByRole('img', { name: /^QR code for enrollment token/ });
      const text = await qrFromScreen(qr);
      const profile = await graphGet(server, tenant, `${DO}/${id}`);
      assert.ok(profile.qrCodeContent);
      assert.equal(text, profile.qrCodeContent, "the code on screen holds the profile's qrCodeContent");
      assert.match(profile.tokenValue, pattern);
      assert.equal(await page.locator('.tokenvalue').textContent(), profile.tokenValue);
      if (mode.includes('AOSP')) {
        const payload = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
        assert.equal(payload['android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE']['com.microsoft.intune.EXTRA_ENROLLMENT_TOKEN'], profile.tokenValue);
      } else {
        assert.ok(text.includes(profile.tokenValue));
      }

      // Crisp: a whole number of device pixels per module, and the canvas shown at exactly its size.
      const geometry = await qr.evaluate((c: any) => ({
        scale: Number(c.dataset.scale), modules: Number(c.dataset.modules), width: c.width, css: c.getBoundingClientRect().width, dpr: devicePixelRatio,
      }));
      assert.ok(Number.isInteger(geometry.scale) && geometry.scale >= 2, `integer scale ${geometry.scale}`);
      assert.equal(geometry.width, geometry.scale * geometry.modules);
      assert.ok(Math.abs(geometry.css * geometry.dpr - geometry.width) < 0.01, `no resampling: ${geometry.css} CSS px × ${geometry.dpr} = ${geometry.width}`);
      assert.deepEqual((await greyPixels(qr)).grey, 0, 'on screen, every pixel of the code is black or white');

      // The PNG download is Graph's image, and it decodes to the same content.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download PNG' }).click()]);
      assert.match(download.suggestedFilename(), /-qr\.png$/);
      const file = readFileSync((await download.path())!);
      assert.equal(file.toString('base64'), profile.qrCodeImage.value);
      assert.equal(decodeQrPng(file)?.text, profile.qrCodeContent);
    });
  }

  test('Wi-Fi, token type and device name template are saved, and the AOSP QR code on screen carries the Wi-Fi', async () => {
    const name = 'Warehouse scanners';
    const id = await create(name, 'AOSP user-associated');
    const edit = page.getByRole('form', { name: 'Edit profile' });
    await edit.getByLabel('Token type').selectOption({ label: 'Device staging' });
    await edit.getByLabel('Device name template').fill('SCAN-{{SERIAL}}');
    await edit.getByLabel('Network name (SSID)').fill('Warehouse-5G');
    await edit.getByLabel('Security').selectOption({ label: 'WPA' });
    await edit.getByLabel('Password').fill('correct horse');
    await edit.getByLabel('Hidden network').check();
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Profile saved.').waitFor({ state: 'attached' });
    const saved = await graphGet(server, tenant, `${DO}/${id}`);
    assert.deepEqual(
      { t: saved.enrollmentTokenType, n: saved.deviceNameTemplate, s: saved.wifiSsid, sec: saved.wifiSecurityType, p: saved.wifiPassword, h: saved.wifiHidden, c: saved.configureWifi },
      { t: 'deviceStaging', n: 'SCAN-{{SERIAL}}', s: 'Warehouse-5G', sec: 'wpa', p: 'correct horse', h: true, c: true },
    );
    // After a reload the form shows what Graph holds.
    await page.reload();
    await page.getByRole('button', { name: new RegExp(`^${name}`) }).click();
    await page.getByRole('heading', { level: 2, name }).waitFor();
    assert.equal(await edit.getByLabel('Network name (SSID)').inputValue(), 'Warehouse-5G');
    assert.equal(await edit.getByLabel('Hidden network').isChecked(), true);

    await page.getByRole('form', { name: 'Create token' }).getByRole('button', { name: 'Create token' }).click();
    const text = await qrFromScreen(page.getByRole('img', { name: /^QR code for enrollment token/ }));
    const payload = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    assert.equal(payload['android.app.extra.PROVISIONING_WIFI_SSID'], 'Warehouse-5G');
    assert.equal(payload['android.app.extra.PROVISIONING_WIFI_SECURITY_TYPE'], 'WPA');
    assert.equal(payload['android.app.extra.PROVISIONING_WIFI_HIDDEN'], true);
    assert.equal(payload['android.app.extra.PROVISIONING_WIFI_PASSWORD'], 'correct horse');
    assert.equal(text, (await graphGet(server, tenant, `${DO}/${id}`)).qrCodeContent);
  });

  test('AOSP userless: 65 years is refused by Graph, shown beside the token form, focused and in view', async () => {
    const id = await create('Userless lobby', 'AOSP userless');
    const tokenForm = page.getByRole('form', { name: 'Create token' });
    await tokenForm.getByLabel('Validity').selectOption({ label: '65 years (the maximum)' });
    await tokenForm.getByRole('button', { name: 'Create token' }).click();
    const error = page.locator('form[aria-label="Create token"] + .error');
    await error.getByText(/tokenValidityInSeconds/).waitFor();
    assert.match((await error.textContent()) ?? '', /^400 /);
    await eventually(async () => assert.ok(await isFocused(error)));
    await inViewport(error);
    assert.equal((await graphGet(server, tenant, `${DO}/${id}`)).tokenValue, null, 'nothing changed');
  });

  test('a GMS mode needs the binding: unbound, createToken is refused beside its control; bound again, it works', async () => {
    const id = await create('Needs Play', 'Fully managed');
    await page.getByRole('link', { name: 'Managed Google Play' }).click();
    await page.getByRole('button', { name: 'Unbind' }).click();
    await page.getByRole('button', { name: 'Yes, unbind Managed Google Play' }).click();
    await page.locator('#bind-status', { hasText: 'notBound' }).waitFor();

    await page.getByRole('link', { name: 'Device owner' }).click();
    await page.getByRole('button', { name: /^Needs Play/ }).click();
    await page.getByRole('form', { name: 'Create token' }).getByRole('button', { name: 'Create token' }).click();
    const error = page.locator('form[aria-label="Create token"] + .error');
    await error.getByText(/Managed Google Play/).waitFor();
    assert.equal((await graphGet(server, tenant, `${DO}/${id}`)).tokenValue, null);

    // Bound again (the stand-in signup, as console-binding.test.ts drives it; here straight through Graph), the same button works.
    await bindThroughGraph(server, tenant);
    await page.getByRole('form', { name: 'Create token' }).getByRole('button', { name: 'Create token' }).click();
    const text = await qrFromScreen(page.getByRole('img', { name: /^QR code for enrollment token/ }));
    assert.equal(text, (await graphGet(server, tenant, `${DO}/${id}`)).qrCodeContent);
  });

  test('devices enrolled with a profile are listed under it (with the admin key)', async () => {
    await page.getByRole('link', { name: 'Test controls' }).click();
    await page.getByRole('textbox', { name: 'Admin key' }).fill(server.adminKey!);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Server clock' }).waitFor();

    await page.getByRole('link', { name: 'Device owner' }).click();
    await page.getByRole('button', { name: /^Mode Dedicated device/ }).click();
    await page.getByRole('heading', { level: 2, name: 'Mode Dedicated device' }).waitFor();
    await page.getByRole('button', { name: 'Enroll a simulated device' }).click();
    await page.getByRole('button', { name: 'Enroll a simulated device' }).click();
    const table = page.getByRole('table', { name: 'Enrolled devices' });
    await table.locator('tbody tr').nth(1).waitFor();
    await page.locator('.devices .count', { hasText: '2' }).waitFor();
    await page.locator('dd.usage', { hasText: '2' }).waitFor();
    const serials = await table.locator('tbody tr td:first-child').allTextContents();
    const admin = await server.admin('GET', `/_admin/devices?tenant=${tenant}`);
    const id = (await graphGet(server, tenant, `${DO}?$filter=displayName eq 'Mode Dedicated device'`)).value[0].id;
    assert.deepEqual(serials.sort(), admin.json.value.filter((d: { profileId: string }) => d.profileId === id).map((d: { serialNumber: string }) => d.serialNumber).sort());
  });
});

const BINDING = '/beta/deviceManagement/androidManagedStoreAccountEnterpriseSettings';

/** requestSignupUrl, submit the stand-in page, completeSignup: the binding, without the browser. */
async function bindThroughGraph(server: TestServer, tenant: string): Promise<void> {
  const token = await server.token({ tenantId: tenant });
  const url = await call(server.url, 'POST', `${BINDING}/requestSignupUrl`, { token, body: { hostName: 'intune.contoso.example' } });
  const submitted = await fetch(url.json.value, { method: 'POST', redirect: 'manual' });
  const enterpriseToken = new URL(submitted.headers.get('location')!).searchParams.get('enterpriseToken');
  assert.equal((await call(server.url, 'POST', `${BINDING}/completeSignup`, { token, body: { enterpriseToken } })).status, 204);
}
