/**
 * QR PNG rendering off the request path: an LRU cache of base64 PNGs keyed by
 * content, de-duplication of concurrent renders of the same content, and a
 * small pool of worker threads (or inline rendering when threads = 0).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { renderQrPng } from './qr.js';
import type { QrWorkerReply, QrWorkerRequest } from './qr-worker.js';

export interface QrRendererOptions {
  /** Worker threads to render on; 0 renders on the calling thread (the API stays async). */
  threads: number;
  /** Maximum number of rendered PNGs kept in the LRU cache; 0 disables caching. */
  cacheSize: number;
}

interface Pending {
  resolve: (base64: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Set once the worker failed or exited; its pending requests have been rejected. */
  dead: boolean;
}

/**
 * How to start the worker.
 *
 * Compiled (`dist/enrollment/qr-renderer.js` under plain node): the sibling
 * `qr-worker.js` is the worker's entry point, with the parent's execArgv.
 *
 * From source (`node --import tsx`; this module's URL ends in `.ts`): the
 * worker is `qr-worker.ts`, which needs tsx in the worker thread too. Passing
 * `execArgv: ['--import', 'tsx']` is not enough on Node 20: module hooks
 * registered through a worker's execArgv are not applied to its entry point
 * (nodejs/node#47747, tsx#354), so the entry fails with
 * ERR_UNKNOWN_FILE_EXTENSION. Instead the worker starts from a tiny eval'd
 * bootstrap that registers tsx through its API (`tsx/esm/api`, resolved from
 * this module so the process's cwd does not matter) and then imports
 * `qr-worker.ts`. Messages posted meanwhile are queued on the port until the
 * worker attaches its listener.
 */
type WorkerSpec = { entry: URL | string; options: WorkerOptions };

function workerSpec(): WorkerSpec {
  const fromSource = new URL(import.meta.url).pathname.endsWith('.ts');
  if (!fromSource) return { entry: new URL('./qr-worker.js', import.meta.url), options: {} };
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const workerUrl = new URL('./qr-worker.ts', import.meta.url).href;
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then(({ register }) => { register(); return import(${JSON.stringify(workerUrl)}); });`;
  // execArgv []: tsx is registered exactly once, by the bootstrap.
  return { entry: bootstrap, options: { eval: true, execArgv: [] } };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class QrRenderer {
  private readonly threads: number;
  private readonly cacheSize: number;
  /** LRU: Map iteration order is insertion order; a hit is deleted and re-inserted at the end. */
  private readonly cache = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly slots: (Slot | undefined)[];
  private nextId = 1;
  private closed = false;

  constructor(opts: QrRendererOptions) {
    const { threads, cacheSize } = opts;
    if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`QrRenderer: threads must be an integer >= 0, got ${threads}`);
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError(`QrRenderer: cacheSize must be an integer >= 0, got ${cacheSize}`);
    this.threads = threads;
    this.cacheSize = cacheSize;
    // Workers are started lazily on first use, and a crashed one is replaced on the next request.
    this.slots = new Array<Slot | undefined>(threads).fill(undefined);
  }

  /** How many renders run at once: one per worker thread (one when rendering inline). */
  get parallelism(): number {
    return Math.max(1, this.threads);
  }

  /**
   * Base64 PNG for this content; served from the LRU cache (keyed by content)
   * when present; concurrent calls for the same content share one render.
   */
  render(content: string): Promise<string> {
    if (this.closed) return Promise.reject(new Error('QrRenderer is closed'));
    const hit = this.peek(content);
    if (hit !== undefined) return Promise.resolve(hit);
    const running = this.inflight.get(content);
    if (running) return running;

    let work: Promise<string>;
    try {
      work = this.threads === 0 ? this.renderInline(content) : this.renderOnWorker(content);
    } catch (err) {
      work = Promise.reject(asError(err)); // e.g. a worker that cannot be constructed: reject, never throw
    }
    const p = work.then(
      (base64) => {
        this.inflight.delete(content);
        if (!this.closed) this.remember(content, base64);
        return base64;
      },
      (err: unknown) => {
        this.inflight.delete(content);
        throw asError(err);
      },
    );
    this.inflight.set(content, p);
    return p;
  }

  /** Cached base64 or undefined; never renders. A hit counts as a use for the LRU order. */
  peek(content: string): string | undefined {
    const hit = this.cache.get(content);
    if (hit !== undefined) {
      this.cache.delete(content);
      this.cache.set(content, hit);
    }
    return hit;
  }

  /** Terminates the workers; pending and later render() calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const terminating: Promise<number>[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot) continue;
      this.slots[i] = undefined;
      this.fail(slot, new Error('QrRenderer closed before the render finished'));
      terminating.push(slot.worker.terminate());
    }
    this.cache.clear();
    await Promise.all(terminating);
  }

  private remember(content: string, base64: string): void {
    if (this.cacheSize === 0) return;
    this.cache.delete(content);
    this.cache.set(content, base64);
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  private async renderInline(content: string): Promise<string> {
    // A macrotask per render, not a microtask: a burst of inline renders lets I/O in between them.
    await new Promise((resolve) => setImmediate(resolve));
    return renderQrPng(content).toString('base64');
  }

  private renderOnWorker(content: string): Promise<string> {
    const slot = this.pickSlot();
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.pending.size === 1) slot.worker.ref(); // keep the process alive only while work is outstanding
      const msg: QrWorkerRequest = { id, content };
      try {
        slot.worker.postMessage(msg);
      } catch (err) {
        this.settle(slot, id);
        reject(asError(err));
      }
    });
  }

  /** Least-busy live worker; spawns into an empty (never started or crashed) slot first. */
  private pickSlot(): Slot {
    let best: Slot | undefined;
    for (let i = 0; i < this.slots.length; i++) {
      let slot = this.slots[i];
      if (!slot) {
        slot = this.spawn(i);
        this.slots[i] = slot;
        return slot;
      }
      if (!best || slot.pending.size < best.pending.size) best = slot;
    }
    return best!;
  }

  private spawn(index: number): Slot {
    const { entry, options } = workerSpec();
    const worker = new Worker(entry, options);
    worker.unref(); // an idle worker never keeps the process alive
    const slot: Slot = { worker, pending: new Map(), dead: false };

    worker.on('message', (reply: QrWorkerReply) => {
      const p = this.settle(slot, reply.id);
      if (!p) return;
      if ('base64' in reply) p.resolve(reply.base64);
      else p.reject(new Error(`QR render failed: ${reply.error}`));
    });
    worker.on('messageerror', (err: Error) => this.crashed(index, slot, err));
    worker.on('error', (err: Error) => this.crashed(index, slot, err));
    worker.on('exit', (code: number) => this.crashed(index, slot, new Error(`QR worker exited with code ${code}`)));
    return slot;
  }

  /** Removes and returns a pending request; unrefs the worker once it is idle. */
  private settle(slot: Slot, id: number): Pending | undefined {
    const p = slot.pending.get(id);
    if (!p) return undefined;
    slot.pending.delete(id);
    if (slot.pending.size === 0) slot.worker.unref();
    return p;
  }

  private crashed(index: number, slot: Slot, err: Error): void {
    if (slot.dead) return;
    if (this.slots[index] === slot) this.slots[index] = undefined; // replaced on next use
    this.fail(slot, new Error(`QR worker failed: ${err.message}`, { cause: err }));
    if (!this.closed) void slot.worker.terminate().catch(() => {});
  }

  private fail(slot: Slot, err: Error): void {
    slot.dead = true;
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    slot.worker.unref();
    for (const p of pending) p.reject(err);
  }
}
