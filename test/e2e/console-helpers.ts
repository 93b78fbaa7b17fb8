/**
 * What the console's Chromium tests share: launching Debian's chromium, signing in through the local
 * authority, reading a QR code from a screenshot's pixels, Graph and store reads to compare with
 * what the page shows, and polling assertions (no sleeps: a loaded machine only makes them slower).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import { decodeQrPng } from '../qr-decode.js';
import { call, ROOT, type TestServer } from '../helpers.js';

// The page's globals, for the functions that run there (evaluate): the tests' tsconfig has no DOM library.
declare const document: any, window: any, getComputedStyle: any, devicePixelRatio: number; // eslint-disable-line @typescript-eslint/no-explicit-any

export const CHROMIUM = '/usr/bin/chromium';
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

/** ENROLLGRAPH_SCREENSHOTS=1 rewrites the screenshots of docs/console.md. */
export const SHOTS = process.env.ENROLLGRAPH_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : undefined;

export async function launch(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 30_000 });
}

export async function newPage(browser: Browser, opts: BrowserContextOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...opts });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

/** Signs in through the console's button and the authority's login page (open mode). */
export async function signIn(page: Page, server: TestServer, tenant: string, name = 'alice'): Promise<void> {
  await page.goto(`${server.url}/console/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/console/`);
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

/** Polls `check` until it stops throwing (the last failure is the test's), as expect-style assertions do. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Reads the QR code off the screen: a screenshot of its element, decoded by jsQR from the pixels. */
export async function qrFromScreen(qr: Locator): Promise<string> {
  await qr.locator('xpath=self::*[@data-ready="true"]').waitFor();
  return eventually(async () => {
    const png = await qr.screenshot({ animations: 'disabled' });
    const decoded = decodeQrPng(png);
    assert.ok(decoded, 'the QR code on screen decodes');
    return decoded.text;
  });
}

/** A profile as Graph answers it (the server's truth to compare the page with). */
export async function graphGet(server: TestServer, tenant: string, path: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const token = await server.token({ tenantId: tenant });
  const res = await call(server.url, 'GET', path, { token });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** The element is inside the viewport, fully. */
export async function inViewport(loc: Locator): Promise<void> {
  const ok = await loc.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth && r.height > 0;
  });
  assert.ok(ok, 'in the viewport');
}

export async function isFocused(loc: Locator): Promise<boolean> {
  return loc.evaluate((el) => el === document.activeElement);
}

export async function noHorizontalScroll(page: Page): Promise<void> {
  const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px)`);
}

export async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/**
 * Pixels of a screenshot of the QR code that are neither black nor white: a code drawn at whole
 * device pixels per module, not resampled, has none (a fractional scale blurs every module edge grey).
 */
export async function greyPixels(qr: Locator): Promise<{ grey: number; total: number }> {
  const img = PNG.sync.read(await qr.screenshot({ animations: 'disabled' }));
  let grey = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const v = img.data[i]!;
    if (v !== 0 && v !== 255) grey++;
  }
  return { grey, total: img.width * img.height };
}
