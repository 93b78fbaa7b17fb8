import type { PrometheusMetrics } from './prometheus.js';

/** Observations that may wait for prom-client before it is loaded anyway (a server nobody scrapes keeps no more). */
const MAX_PENDING = 10_000;

type CounterName = 'throttled' | 'tokensCreated' | 'tokensRevoked' | 'devicesEnrolled' | 'enrollmentsRefused' | 'faults';

/** A counter as the server uses it: `inc()`, or `inc({ label: value })` for a counter with a label. */
export interface CounterHandle {
  inc(labels?: Record<string, string>): void;
}

/**
 * Prometheus metrics of one process (`GET /metrics`). Each process counts what it served; with
 * several processes, sum them in Prometheus.
 *
 * prom-client (prometheus.ts) is loaded by the first read of /metrics, or once MAX_PENDING
 * observations wait for it, not at start: it is a good part of the start's module loading. What is
 * counted before then waits in `pending` and is replayed into prom-client's own metrics, so no count
 * is lost; only its GC and event-loop lag histograms begin with the load.
 */
export class Metrics {
  readonly throttled = this.counter('throttled');
  readonly tokensCreated = this.counter('tokensCreated');
  readonly tokensRevoked = this.counter('tokensRevoked');
  readonly devicesEnrolled = this.counter('devicesEnrolled');
  readonly enrollmentsRefused = this.counter('enrollmentsRefused');
  readonly faults = this.counter('faults');
  private prometheus: PrometheusMetrics | undefined;
  private loading: Promise<PrometheusMetrics> | undefined;
  private pending: ((m: PrometheusMetrics) => void)[] = [];

  constructor(private readonly opts: { processMetrics?: boolean } = {}) {}

  /** Counts one answered HTTP request (status 0: its connection was dropped) and its latency. */
  observeRequest(operation: string, status: number, seconds: number): void {
    if (this.prometheus) this.prometheus.observeRequest(operation, status, seconds);
    else this.defer((m) => m.observeRequest(operation, status, seconds));
  }

  /** The Prometheus text exposition and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    const { registry } = await this.load();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  private counter(name: CounterName): CounterHandle {
    const inc = (m: PrometheusMetrics, labels?: Record<string, string>) => (labels ? m[name].inc(labels) : m[name].inc());
    return { inc: (labels) => (this.prometheus ? inc(this.prometheus, labels) : this.defer((m) => inc(m, labels))) };
  }

  private defer(observe: (m: PrometheusMetrics) => void): void {
    this.pending.push(observe);
    if (this.pending.length >= MAX_PENDING) this.load().catch(() => undefined); // a failed load shows at the next /metrics read
  }

  private load(): Promise<PrometheusMetrics> {
    this.loading ??= import('./prometheus.js').then(({ PrometheusMetrics }) => {
      const m = new PrometheusMetrics(this.opts);
      for (const observe of this.pending) observe(m);
      this.pending = [];
      this.prometheus = m;
      return m;
    });
    return this.loading;
  }
}
