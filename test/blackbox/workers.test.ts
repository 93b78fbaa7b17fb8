/**
 * `enrollgraph serve --workers N`: N processes on one port, on the store of this run (SQLite in WAL
 * mode, or PostgreSQL with ENROLLGRAPH_TEST_STORE=postgres). A dead worker is replaced; SIGTERM to the
 * primary stops every worker gracefully; a primary killed outright takes its workers with it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { call, cli, createProfile, PROFILES, startServer } from '../helpers.js';

/** Pids of the live child processes of `pid` (from /proc). */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < end, `${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('serve --workers', () => {
  it('serves from N processes on one port and replaces a worker that dies', async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    try {
      await until('the store line names the workers', 5_000, () => /2 worker processes/.test(server.output()));
      const workers = children(server.proc.pid!);
      assert.equal(workers.length, 2, `two workers: ${workers}`);
      const token = await server.token();
      const p = await createProfile(server.url, token);
      // Fresh connections (Connection: close) are spread over the workers; all answer the same.
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          i % 2
            ? call(server.url, 'GET', `${PROFILES}/${p.id}`, { token, headers: { Connection: 'close' } })
            : call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 60 }, headers: { Connection: 'close' } }),
        ),
      );
      assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200, 204]));

      process.kill(workers[0]!, 'SIGKILL');
      await until('a new worker replaces the dead one', 10_000, () => {
        const now = children(server.proc.pid!);
        return now.length === 2 && !now.includes(workers[0]!);
      });
      await until('the new worker serves', 10_000, async () => {
        const rs = await Promise.all(Array.from({ length: 10 }, () => call(server.url, 'GET', `${PROFILES}/${p.id}`, { token, headers: { Connection: 'close' } }).catch(() => undefined)));
        return rs.every((r) => r?.status === 200);
      });
      assert.match(server.output(), /exited with signal SIGKILL; starting another/);
    } finally {
      await server.dispose();
    }
  });

  it('SIGTERM to the primary lets every worker finish its requests, then all exit 0', async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    try {
      const workers = children(server.proc.pid!);
      const token = await server.token();
      const p = await createProfile(server.url, token);
      const inflight = Array.from({ length: 30 }, () =>
        call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 60 } }).then(
          (r) => r.status,
          () => 'refused',
        ),
      );
      await new Promise((r) => setTimeout(r, 10));
      const started = Date.now();
      assert.equal(await server.stop(), 0);
      assert.ok(Date.now() - started < 8_000, `stopped in ${Date.now() - started} ms`);
      const statuses = await Promise.all(inflight);
      assert.ok(statuses.every((s) => s === 204 || s === 503 || s === 'refused'), JSON.stringify(statuses));
      for (const w of workers) assert.ok(!alive(w), `worker ${w} exited`);
    } finally {
      await server.dispose();
    }
  });

  it('workers stop when their primary is killed outright', async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    try {
      const workers = children(server.proc.pid!);
      assert.equal(workers.length, 2);
      await server.kill9();
      await until('the orphaned workers exit', 10_000, () => workers.every((w) => !alive(w)));
    } finally {
      await server.dispose();
    }
  });

  it('refuses --workers with --memory (the workers would not share state)', async () => {
    const r = await cli(['serve', '--memory', '--workers', '2', '--port', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--workers needs a store the workers share/);
  });
});
