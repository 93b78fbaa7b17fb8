import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Moves SQLite's WAL checkpoints off the event loop. With the default automatic checkpoint, every
 * ~1000th commit copies the WAL back into the database inside that commit, stalling the request (and
 * every other one) for 1–70 ms. The server's connection turns automatic checkpoints off, and this
 * worker thread, on its own connection, runs a PASSIVE checkpoint (never blocks writers or readers)
 * every `intervalMs`, plus a TRUNCATE one when the server closes.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private closed = false;

  constructor(file: string, intervalMs = 250) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // An eval'd CommonJS worker: no separate file to locate in source and compiled layouts alike.
    this.worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const Database = require(workerData.driver);
      const db = new Database(workerData.file);
      db.pragma('busy_timeout = 5000');
      const tick = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
      const timer = setInterval(tick, workerData.intervalMs);
      parentPort.on('message', (m) => {
        if (m !== 'close') return;
        clearInterval(timer);
        try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
        db.close();
        parentPort.postMessage('closed');
      });
      `,
      { eval: true, workerData: { driver, file, intervalMs } },
    );
    this.worker.unref();
    this.worker.on('error', () => undefined); // checkpointing is best effort; the WAL is still durable
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
