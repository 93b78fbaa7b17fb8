/**
 * Paging at scale: 1,000,000 profiles in one tenant, written straight into the SQLite store, then
 * page 1 against page 5,000 (reached through @odata.nextLink) and a `startswith(displayName,…)` page,
 * each measured with autocannon. Prints cost ratios (page-1 req/s ÷ that page's req/s); the issue's
 * targets are page 5,000 ≤ 1.5× page 1 and the startswith page ≤ 2× page 1.
 *
 *   node --import tsx bench/paging.ts          (after npm run build; also run by `npm run bench`)
 *   BENCH_ROWS=200000 …                         (a smaller table for a quick look)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { KeyRing } from '../src/identity/keys.js';
import { androidForWorkEnrollmentProfile as def } from '../src/model/androidForWorkEnrollmentProfile.js';
import { EntityTable } from '../src/store/sql.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { sqliteFile } from '../src/store/sqlite-file.js';
import { MIN_US, SystemClock } from '../src/time.js';
import { cleanup, measure, printTable, PROFILES, startEnrollgraph, tempDir, type Load, type Row } from './lib.js';

const PAGE = 100;
const DEEP_PAGE = 5000;

export interface PagingResult {
  rows: number;
  insertSeconds: number;
  deepPageRatio: number;
  startswithRatio: number;
  table: Row[];
}

/** Inserts `count` profiles for one tenant in one transaction, with random 8-letter display names. */
export function bulkInsert(dataDir: string, tenantId: string, count: number): number {
  const started = performance.now();
  const db = new Database(sqliteFile(dataDir));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const table = new EntityTable(def, 'sqlite');
  const insert = db.prepare(table.sql.insert);
  const t0 = Date.now() * 1000 - count * 1000;
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const r = randomBytes(8);
      let name = '';
      for (const b of r) name += letters[b % 26];
      insert.run(...table.insertParams({
        tenantId, id: randomUUID(), accountId: tenantId, displayName: name, description: null, createdDateTime: t0 + i * 1000,
        lastModifiedDateTime: t0 + i * 1000, tokenValue: null, tokenExpirationDateTime: MIN_US, enrolledDeviceCount: 0, qrCodeImage: null,
      }));
    }
  })();
  db.exec('ANALYZE');
  db.close();
  return (performance.now() - started) / 1000;
}

async function json(url: string, token: string): Promise<{ value: unknown[]; '@odata.nextLink'?: string }> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { value: unknown[]; '@odata.nextLink'?: string };
}

export async function runPaging(load: Load, serverArgs: string[], count = Number(process.env.BENCH_ROWS ?? 1_000_000)): Promise<PagingResult> {
  const dataDir = tempDir('enrollgraph-paging-');
  const tenantId = randomUUID();
  // Create the schema and the signing key, then load the rows with the server stopped.
  const store = openSqliteStore(dataDir);
  const keys = await KeyRing.open(store, new SystemClock());
  await store.close();
  const insertSeconds = bulkInsert(dataDir, tenantId, count);
  console.error(`bench: inserted ${count} profiles in ${insertSeconds.toFixed(1)} s`);

  const server = await startEnrollgraph(serverArgs, { dataDir, env: { ENROLLGRAPH_THROTTLING: 'off' } });
  try {
    const { mintAccessToken } = await import('../src/identity/mint.js');
    const token = await mintAccessToken(keys, { tenantId });
    const base = `${server.url}${PROFILES}?$top=${PAGE}`;
    // Walk to page 5,000 through nextLinks: 1,000-row pages to get close, then 100-row pages. The
    // skiptoken is bound to the tenant, filter and order (not the page size), so the last link is a
    // genuine nextLink of the `$top=100` query.
    const deepRows = PAGE * (DEEP_PAGE - 1);
    let link = `${server.url}${PROFILES}?$top=1000`;
    let seen = 0;
    while (seen + 1000 <= deepRows) {
      const page = await json(link, token);
      seen += page.value.length;
      link = page['@odata.nextLink']!;
    }
    let skiptoken = new URL(link).searchParams.get('$skiptoken')!;
    let deepUrl = `${base}&$skiptoken=${skiptoken}`;
    while (seen < deepRows) {
      const page = await json(deepUrl, token);
      seen += page.value.length;
      skiptoken = new URL(page['@odata.nextLink']!).searchParams.get('$skiptoken')!;
      deepUrl = `${base}&$skiptoken=${skiptoken}`;
    }
    const deep = await json(deepUrl, token);
    if (deep.value.length !== PAGE) throw new Error(`page ${DEEP_PAGE} has ${deep.value.length} rows`);

    const headers = { Authorization: `Bearer ${token}` };
    const startswith = `${base}&$filter=${encodeURIComponent("startswith(displayName,'ab')")}`;
    // Page 1 is measured right before each page it is compared with: the machine's speed drifts.
    const first = await measure({ name: 'page 1', url: base, headers, expectStatus: 200, server, ...load });
    const deepM = await measure({ name: `page ${DEEP_PAGE} (nextLink)`, url: deepUrl, headers, expectStatus: 200, server, ...load });
    const firstAgain = await measure({ name: 'page 1', url: base, headers, expectStatus: 200, server, ...load });
    const sw = await measure({ name: "startswith(displayName,'ab')", url: startswith, headers, expectStatus: 200, server, ...load });
    const table: Row[] = [
      { measurement: first },
      { measurement: deepM, baselineRps: first.rps, target: 1 / 1.5 },
      { measurement: firstAgain },
      { measurement: sw, baselineRps: firstAgain.rps, target: 1 / 2 },
    ];
    return { rows: count, insertSeconds, deepPageRatio: first.rps / deepM.rps, startswithRatio: firstAgain.rps / sw.rps, table };
  } finally {
    await server.stop();
  }
}

export function printPaging(r: PagingResult): void {
  console.log(`\nPaging over ${r.rows} profiles in one tenant (inserted in ${r.insertSeconds.toFixed(1)} s); ratios are of page 1's req/s:`);
  printTable(r.table);
  const verdict = (x: number, max: number) => `${x.toFixed(2)}× page 1 (target ≤ ${max}×) ${x <= max ? 'PASS' : 'FAIL'}`;
  console.log(`page ${DEEP_PAGE} through nextLink costs ${verdict(r.deepPageRatio, 1.5)}`);
  console.log(`a startswith(displayName,'ab') page costs ${verdict(r.startswithRatio, 2)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const load: Load = { seconds: Number(process.env.BENCH_SECONDS ?? 5), warmupSeconds: 1, connections: 10, pipelining: 1 };
  runPaging(load, ['--log-level', 'warn'])
    .then(printPaging)
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => cleanup());
}
