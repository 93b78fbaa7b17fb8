/**
 * `enrollgraph serve --workers N`: N server processes on one port (node:cluster). The primary only
 * supervises: it forks the workers (each runs the same command line and builds its own app on the
 * shared store), prints the address once all of them listen, replaces a worker that dies, and on
 * SIGTERM/SIGINT asks every worker to finish its in-flight requests and exit. A worker whose primary
 * goes away (even by SIGKILL) stops too, so no orphan keeps the port.
 */
import cluster, { type Worker } from 'node:cluster';

type Message = { enrollgraph: 'listening'; url: string } | { enrollgraph: 'shutdown' };

function isMessage(m: unknown): m is Message {
  return typeof m === 'object' && m !== null && typeof (m as { enrollgraph?: unknown }).enrollgraph === 'string';
}

export const isWorkerProcess = (): boolean => cluster.isWorker;

export interface PrimaryOptions {
  workers: number;
  /** How long a worker may take to finish its requests at shutdown before it is killed, in ms. */
  shutdownTimeoutMs: number;
  log(msg: string): void;
  /** Called once, when every worker listens, with the workers' base URL. */
  onListening(url: string): void;
}

/** Runs the primary until it is told to stop; resolves with the exit code. */
export function runPrimary(opts: PrimaryOptions): Promise<number> {
  return new Promise<number>((resolve) => {
    const listening = new Set<Worker>();
    let started = false;
    let stopping = false;
    let exitCode = 0;
    let restartTimer: NodeJS.Timeout | undefined;

    const alive = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());

    const fork = () => {
      const w = cluster.fork();
      w.on('message', (m: unknown) => {
        if (!isMessage(m) || m.enrollgraph !== 'listening') return;
        listening.add(w);
        if (!started && listening.size === opts.workers) {
          started = true;
          opts.onListening(m.url);
        }
      });
    };

    const finish = () => {
      if (alive().length > 0) return;
      resolve(exitCode);
    };

    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      if (restartTimer) clearTimeout(restartTimer);
      for (const w of alive()) {
        if (w.isConnected()) w.send({ enrollgraph: 'shutdown' } satisfies Message);
        else w.process.kill('SIGTERM');
      }
      const killer = setTimeout(() => {
        opts.log('workers did not stop in time; killing them');
        exitCode = 1;
        for (const w of alive()) w.process.kill('SIGKILL');
      }, opts.shutdownTimeoutMs + 2_000);
      killer.unref();
      finish();
    };

    cluster.on('exit', (w, code, signal) => {
      listening.delete(w);
      if (stopping) {
        if (code !== 0) exitCode = 1;
        finish();
        return;
      }
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!started) {
        // A worker that cannot start (port taken, store unreachable) would fail again: give up.
        opts.log(`a worker exited with ${how} before the server was listening`);
        stop(1);
        return;
      }
      opts.log(`worker ${w.process.pid} exited with ${how}; starting another`);
      restartTimer = setTimeout(fork, 1_000);
    });

    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        for (const w of alive()) w.process.kill('SIGKILL');
        process.exit(1);
      }
      signalled = true;
      opts.log(`${signal}: stopping ${alive().length} worker(s)`);
      stop(0);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    for (let i = 0; i < opts.workers; i++) fork();
  });
}

/**
 * In a worker, once its server listens: reports the URL to the primary, and stops gracefully (finish
 * in-flight requests, close the store, exit 0) on the primary's request, on SIGTERM/SIGINT, or when
 * the primary is gone.
 */
export function runWorker(url: string, stopServer: () => Promise<void>, timeoutMs: number, log: (msg: string) => void): void {
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`worker ${process.pid}: ${why}: finishing in-flight requests`);
    const timer = setTimeout(() => process.exit(1), timeoutMs);
    timer.unref();
    stopServer().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`worker ${process.pid}: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('message', (m: unknown) => {
    if (isMessage(m) && m.enrollgraph === 'shutdown') stop('shutdown');
  });
  process.on('disconnect', () => stop('primary gone'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.send?.({ enrollgraph: 'listening', url } satisfies Message);
}
