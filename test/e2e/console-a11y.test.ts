/**
 * The console as people use it, in Chromium: dark mode from the system setting (the QR code stays
 * dark on light and reads from a screenshot), 200 % zoom (640 CSS px at two device pixels each: one
 * column, no horizontal scrolling, the QR code still whole pixels per module), and the keyboard
 * alone (navigate, create a profile and a token, revoke through the confirmation). With
 * ENROLLGRAPH_SCREENSHOTS=1 it writes each main screen, light and dark, for docs/console.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { call, createProfile, DEVICE_OWNER_PROFILES as DO, newTenant, PROFILES, startServer, type TestServer } from '../helpers.js';
import { graphGet, greyPixels, launch, newPage, noHorizontalScroll, qrFromScreen, shot, signIn } from './console-helpers.js';

// The page's globals, for the functions that run there (evaluate): the tests' tsconfig has no DOM library.
declare const document: any, window: any, getComputedStyle: any, devicePixelRatio: number; // eslint-disable-line @typescript-eslint/no-explicit-any

const SCREENS = [
  ['profiles', 'Android for Work', 'Lobby kiosks'],
  ['device-owner', 'Device owner', 'Warehouse AOSP'],
  ['managed-play', 'Managed Google Play', undefined],
  ['test-controls', 'Test controls', undefined],
] as const;

describe('dark mode, 200 % zoom and the keyboard', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  const tenant = newTenant();
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startServer();
    browser = await launch();
    const token = await server.token({ tenantId: tenant, upn: 'alice@contoso.example' });
    const work = await createProfile(server.url, token, { displayName: 'Lobby kiosks', description: 'Tablets at the front desk' });
    const owner = await createProfile(server.url, token, {
      displayName: 'Warehouse AOSP', enrollmentMode: 'corporateOwnedAOSPUserAssociatedDevice', wifiSsid: 'Warehouse-5G', wifiSecurityType: 'wpa', wifiPassword: 'correct horse', deviceNameTemplate: 'SCAN-{{SERIAL}}',
    }, DO);
    ids.work = work.id;
    ids.owner = owner.id;
    for (const [path, id] of [[PROFILES, work.id], [DO, owner.id]] as const) {
      assert.equal((await call(server.url, 'POST', `${path}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 86_400 } })).status, 204);
    }
    const tokenValue = (await graphGet(server, tenant, `${PROFILES}/${work.id}`)).tokenValue;
    assert.equal((await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken: tokenValue, serialNumber: 'R58N12ABC', model: 'Pixel 8' } })).status, 200);
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  async function open(page: Page, section: string, profile: string | undefined): Promise<void> {
    await page.getByRole('link', { name: section }).click();
    if (profile) {
      await page.getByRole('list', { name: 'Profiles' }).getByRole('button', { name: new RegExp(`^${profile}`) }).click();
      await page.getByRole('heading', { level: 2, name: profile }).waitFor();
    } else if (section === 'Managed Google Play') {
      await page.locator('#bind-status').waitFor();
    } else {
      await page.getByRole('heading', { name: 'Server clock' }).waitFor();
    }
  }

  async function useAdminKey(page: Page): Promise<void> {
    await page.getByRole('link', { name: 'Test controls' }).click();
    await page.getByRole('textbox', { name: 'Admin key' }).fill(server.adminKey!);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Server clock' }).waitFor();
  }

  /** Relative luminance (WCAG) of a CSS rgb() colour. */
  const luminance = (rgb: string) => {
    const [r, g, b] = (rgb.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };

  for (const scheme of ['light', 'dark'] as const) {
    test(`${scheme} mode follows the system setting; the QR codes read from the screen; each main screen`, async () => {
      const { context, page } = await newPage(browser, { colorScheme: scheme });
      try {
        await signIn(page, server, tenant);
        await useAdminKey(page);
        const colours = await page.evaluate(() => ({ bg: getComputedStyle(document.body).backgroundColor, fg: getComputedStyle(document.body).color }));
        if (scheme === 'dark') {
          assert.ok(luminance(colours.bg) < 0.05 && luminance(colours.fg) > 0.6, `dark: ${JSON.stringify(colours)}`);
        } else {
          assert.ok(luminance(colours.bg) > 0.8 && luminance(colours.fg) < 0.05, `light: ${JSON.stringify(colours)}`);
        }
        for (const [screen, section, profile] of SCREENS) {
          await open(page, section, profile);
          if (profile) {
            const path = screen === 'profiles' ? `${PROFILES}/${ids.work}` : `${DO}/${ids.owner}`;
            const text = await qrFromScreen(page.getByRole('img', { name: /^QR code for enrollment token/ }));
            assert.equal(text, (await graphGet(server, tenant, path)).qrCodeContent, `${scheme} ${screen}: the QR code on screen`);
          }
          await shot(page, `console-${screen}-${scheme}`);
        }
      } finally {
        await context.close();
      }
    });
  }

  test('200 % zoom: one column, no horizontal scrolling on any screen, the QR code whole device pixels per module', async () => {
    const { context, page } = await newPage(browser, { viewport: { width: 640, height: 900 }, deviceScaleFactor: 2 });
    try {
      await signIn(page, server, tenant);
      await useAdminKey(page);
      for (const [screen, section, profile] of SCREENS) {
        await open(page, section, profile);
        await noHorizontalScroll(page);
        if (screen === 'profiles') {
          const list = await page.locator('section.list').boundingBox();
          const detail = await page.locator('#detail').boundingBox();
          assert.ok(list && detail && detail.y >= list.y + list.height, 'the detail is below the list');
          const qr = page.getByRole('img', { name: /^QR code for enrollment token/ });
          const text = await qrFromScreen(qr);
          assert.equal(text, (await graphGet(server, tenant, `${PROFILES}/${ids.work}`)).qrCodeContent);
          const g = await qr.evaluate((c: any) => ({ scale: Number(c.dataset.scale), width: c.width, css: c.getBoundingClientRect().width, dpr: devicePixelRatio }));
          assert.equal(g.dpr, 2);
          assert.ok(Number.isInteger(g.scale) && g.scale >= 2, `whole device pixels per module (${g.scale})`);
          assert.ok(Math.abs(g.css * 2 - g.width) < 0.01, 'drawn 1:1 in device pixels');
          assert.equal((await greyPixels(qr)).grey, 0, 'on screen, every pixel of the code is black or white');
          await shot(page, '4-zoom-200');
        }
      }
    } finally {
      await context.close();
    }
  });

  test('the keyboard alone: navigate, create a profile and a token, revoke through the confirmation', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, server, tenant);
      /** Presses Tab until `target` has the focus (at most `max` times); Shift+Tab with `back`. */
      const tabTo = async (target: Locator, back = false, max = 80) => {
        for (let i = 0; i < max; i++) {
          if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
          await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
        }
        assert.fail(`Tab never reached ${String(target)}`);
      };
      await page.locator('body').click({ position: { x: 1, y: 1 } });
      const skip = page.getByRole('link', { name: 'Skip to content' });
      await tabTo(skip);
      assert.ok((await skip.boundingBox())!.x >= 0, 'the skip link shows when focused');
      const nav = page.getByRole('link', { name: 'Device owner' });
      await tabTo(nav);
      const outline = await nav.evaluate((el) => ({ style: getComputedStyle(el).outlineStyle, width: parseFloat(getComputedStyle(el).outlineWidth) }));
      assert.ok(outline.style !== 'none' && outline.width >= 2, `a visible focus ring (${JSON.stringify(outline)})`);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Device-owner profiles' }).waitFor();

      const form = page.getByRole('form', { name: 'New profile' });
      await tabTo(form.getByLabel('Name'));
      await page.keyboard.type('Keyboard kiosks');
      await tabTo(form.getByLabel('Enrollment mode'));
      // AOSP userless is the fourth mode: three presses down from the first.
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
      assert.equal(await form.getByLabel('Enrollment mode').inputValue(), 'corporateOwnedAOSPUserlessDevice');
      await tabTo(form.getByRole('button', { name: 'Create profile' }));
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 2, name: 'Keyboard kiosks' }).waitFor();
      const created = (await graphGet(server, tenant, `${DO}?$filter=displayName eq 'Keyboard kiosks'`)).value[0];
      assert.equal(created.enrollmentMode, 'corporateOwnedAOSPUserlessDevice');

      await tabTo(page.getByRole('form', { name: 'Create token' }).getByRole('button', { name: 'Create token' }));
      await page.keyboard.press('Enter');
      const text = await qrFromScreen(page.getByRole('img', { name: /^QR code for enrollment token/ }));
      assert.equal(text, (await graphGet(server, tenant, `${DO}/${created.id}`)).qrCodeContent);

      await tabTo(page.getByRole('button', { name: 'Revoke token' }));
      await page.keyboard.press('Enter');
      // The confirmation takes the focus on Cancel: Enter twice never revokes by accident.
      await page.getByRole('button', { name: 'Cancel' }).waitFor();
      assert.ok(await page.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement));
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Enter');
      await page.getByText(/^No valid token/).waitFor();
      assert.equal((await graphGet(server, tenant, `${DO}/${created.id}`)).tokenValue, null);
    } finally {
      await context.close();
    }
  });
});
