/**
 * A web page of another origin calls Graph from real Chromium, as a single-page app calls
 * graph.microsoft.com with its bearer token: the browser's preflight, then a create, a PATCH and a
 * read whose answers and headers (request-id, Location) the page can read. The local authority stays
 * closed to such a page. Needs Debian's chromium; a missing one FAILS this test.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { PROFILES, startTenantServer, type TestServer } from '../helpers.js';
import { launch, newPage } from './console-helpers.js';

// The page's globals, for the function that runs there: the tests' tsconfig has no DOM library.
declare const fetch: (url: string, init?: unknown) => Promise<{ status: number; headers: { get(name: string): string | null }; json(): Promise<any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('Graph from a page of another origin, in Chromium', { timeout: 120_000 }, () => {
  let server: TestServer;
  let tenant: string;
  let token: string;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ({ server, tenant, token } = await startTenantServer());
    // The app's own origin: another port of the loopback address is another origin.
    site = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>portal</title>'));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    browser = await launch();
    ({ page } = await newPage(browser));
    await page.goto(siteUrl);
  });

  after(async () => {
    await browser?.close();
    site?.close();
    await server?.dispose();
  });

  test('the page creates, updates and reads a profile and reads Graph\'s headers', async () => {
    const out = await page.evaluate(async ({ graph, path, token }) => {
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'client-request-id': 'from-the-page' };
      const created = await fetch(graph + path, { method: 'POST', headers, body: JSON.stringify({ displayName: 'Made in a browser' }) });
      const body = await created.json();
      const patched = await fetch(`${graph}${path}/${body.id}`, { method: 'PATCH', headers, body: JSON.stringify({ description: 'patched from the page' }) });
      const read = await fetch(`${graph}${path}/${body.id}`, { headers });
      return {
        created: { status: created.status, id: body.id, location: created.headers.get('location'), requestId: created.headers.get('request-id'), clientRequestId: created.headers.get('client-request-id') },
        patched: patched.status,
        read: { status: read.status, body: await read.json() },
      };
    }, { graph: server.url, path: PROFILES, token });
    assert.equal(out.created.status, 201);
    assert.match(out.created.location ?? '', new RegExp(`${PROFILES}/${out.created.id}$`));
    assert.match(out.created.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(out.created.clientRequestId, 'from-the-page');
    assert.equal(out.patched, 204);
    assert.equal(out.read.status, 200);
    assert.equal(out.read.body.description, 'patched from the page');
    const stored = await server.stored(tenant, out.created.id);
    assert.equal(stored?.displayName, 'Made in a browser');
    assert.equal(stored?.description, 'patched from the page');
  });

  test('the page reads Graph\'s error when its token is missing', async () => {
    const out = await page.evaluate(async ({ graph, path }) => {
      const res = await fetch(graph + path);
      return { status: res.status, body: await res.json() };
    }, { graph: server.url, path: PROFILES });
    assert.equal(out.status, 401);
    assert.equal(out.body.error.code, 'InvalidAuthenticationToken');
  });

  test('the page cannot read a token from the local authority', async () => {
    const out = await page.evaluate(async ({ graph, tenant }) => {
      try {
        await fetch(`${graph}/${tenant}/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&client_id=c&client_secret=s&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default',
        });
        return 'read';
      } catch (err) {
        return String(err);
      }
    }, { graph: server.url, tenant });
    assert.match(out, /TypeError/);
  });
});
