import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** WAL frames (pages of 4 KiB) after which a checkpoint also starts the WAL over: 16 MiB. */
export const RESTART_FRAMES = 4096;

/** What the writer's connection trims the WAL file to when it starts over (`PRAGMA journal_size_limit`), in bytes. */
export const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/** How long the writer's RESTART checkpoint waits for other connections before it gives up for now. */
const RESTART_BUSY_TIMEOUT_MS = 10;

/** After a RESTART checkpoint gave up, how long until the worker asks for another. */
const RESTART_RETRY_MS = 500;

/** How long a connection waits for another's lock before SQLITE_BUSY (`PRAGMA busy_timeout`). */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Moves SQLite's WAL checkpoints off the event loop. With the default automatic checkpoint, every
 * ~1000th commit copies the WAL back into the database inside that commit, stalling the request (and
 * every other one) for 1–70 ms. The server's connection turns automatic checkpoints off, and this
 * worker thread, on its own connection, runs a PASSIVE checkpoint (never blocks writers or readers)
 * every `intervalMs`, plus a TRUNCATE one when the server closes.
 *
 * A PASSIVE checkpoint alone cannot bound the WAL under steady writes: the WAL starts over only when
 * a writer finds every frame already copied back, and commits keep arriving while a checkpoint runs,
 * so the file grew for as long as the writes went on (measured: 1.8 GB after 16 s of createToken at
 * full speed, with reads slowing down as the WAL index grew). A RESTART checkpoint from this worker
 * needs the write lock, which SQLite's busy handler only polls for: a busy writer starved it. So once
 * a PASSIVE checkpoint leaves the WAL at `restartFrames` frames or more, the worker raises a flag and
 * pauses; the writer, before its next group commit, runs a RESTART checkpoint itself
 * (`restartIfWanted`), which copies only the frames committed since the worker's checkpoint and
 * syncs the database file (measured: 3 ms median, 7 ms at most, about four times a second under
 * writes at full speed), and that commit starts the WAL over;
 * `journal_size_limit` on the writer's connection then trims the file. While another connection
 * keeps an old snapshot open, the RESTART gives up after 10 ms and is asked for again 500 ms later.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private closed = false;
  /** [0]: 1 while the worker waits for the writer's RESTART checkpoint, 2 when that gave up, else 0. */
  private readonly restartWanted = new Int32Array(new SharedArrayBuffer(4));

  constructor(file: string, intervalMs = 250, restartFrames = RESTART_FRAMES) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // An eval'd CommonJS worker: no separate file to locate in source and compiled layouts alike.
    this.worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const Database = require(workerData.driver);
      const db = new Database(workerData.file);
      db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
      const restartWanted = new Int32Array(workerData.restartWanted);
      let askAgainAt = 0;
      const tick = () => {
        const state = Atomics.load(restartWanted, 0);
        if (state === 1) return; // the writer has not run its RESTART checkpoint yet
        if (state === 2) {
          // It could not (another connection kept reading or writing): ask again later, not at every tick.
          askAgainAt = Date.now() + workerData.retryMs;
          Atomics.store(restartWanted, 0, 0);
        }
        try {
          const { log } = db.pragma('wal_checkpoint(PASSIVE)')[0];
          if (log >= workerData.restartFrames && Date.now() >= askAgainAt) Atomics.store(restartWanted, 0, 1);
        } catch {}
      };
      const timer = setInterval(tick, workerData.intervalMs);
      parentPort.on('message', (m) => {
        if (m !== 'close') return;
        clearInterval(timer);
        try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
        db.close();
        parentPort.postMessage('closed');
      });
      `,
      { eval: true, workerData: { driver, file, intervalMs, restartFrames, restartWanted: this.restartWanted.buffer, busyTimeoutMs: BUSY_TIMEOUT_MS, retryMs: RESTART_RETRY_MS } },
    );
    this.worker.unref();
    this.worker.on('error', () => undefined); // checkpointing is best effort; the WAL is still durable
  }

  /**
   * Called by the writer outside any transaction, before a group commit: when the worker asked for
   * it, a RESTART checkpoint on the writer's connection, so that its next commit starts the WAL over.
   */
  restartIfWanted(db: { pragma(source: string): unknown }): void {
    if (Atomics.load(this.restartWanted, 0) !== 1) return;
    // RESTART waits for other connections' writes and WAL reads to end; another process's long read
    // must not stall this event loop for the whole busy timeout: give up after a few milliseconds.
    db.pragma(`busy_timeout = ${RESTART_BUSY_TIMEOUT_MS}`);
    let done = false;
    try {
      done = (db.pragma('wal_checkpoint(RESTART)') as { busy: number }[])[0]?.busy === 0;
    } catch {
      // Best effort: the worker asks again later.
    } finally {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      Atomics.store(this.restartWanted, 0, done ? 0 : 2);
    }
  }

  /** Final checkpoint, then stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      timer.unref();
      this.worker.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage('close');
    });
    await this.worker.terminate();
  }
}
