import type { Metric, Registry } from 'prom-client';

/** Requests of one operation: counts by status, and the latency histogram (non-cumulative buckets). */
interface OperationStats {
  operation: string;
  statuses: Map<number, number>;
  buckets: Float64Array;
  sum: number;
  count: number;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The per-request metrics (a counter by operation and status, a latency histogram by operation),
 * counted in plain numbers and handed to prom-client's registry as finished values when /metrics is
 * read. prom-client's own Counter and Histogram hash a label object on every observation, which cost
 * several microseconds per request on the hot path; the exposition format is still prom-client's.
 */
class RequestMetrics {
  /** By operation (a handful of constant names), each with its statuses: no label key is built per request. */
  private readonly operations = new Map<string, OperationStats>();

  observe(operation: string, status: number, seconds: number): void {
    let op = this.operations.get(operation);
    if (op === undefined) {
      op = { operation, statuses: new Map(), buckets: new Float64Array(LATENCY_BUCKETS.length), sum: 0, count: 0 };
      this.operations.set(operation, op);
    }
    op.statuses.set(status, (op.statuses.get(status) ?? 0) + 1);
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) {
        op.buckets[i]!++;
        break;
      }
    }
    op.sum += seconds;
    op.count++;
  }

  /** The two metrics, in the shape prom-client's registry formats (see Registry.getMetricsAsString). */
  metrics(): Metric[] {
    const counter = {
      name: 'enrollgraph_http_requests_total',
      help: 'HTTP requests served, by operation and status.',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({
        name: counter.name, help: counter.help, type: 'counter', aggregator: 'sum',
        values: [...this.operations.values()].flatMap((op) =>
          [...op.statuses].map(([status, n]) => ({ labels: { operation: op.operation, status: String(status) }, value: n }))),
      }),
    };
    const histogram = {
      name: 'enrollgraph_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by operation.',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName?: string }[] = [];
        for (const { operation, ...l } of this.operations.values()) {
          let cumulative = 0;
          LATENCY_BUCKETS.forEach((le, i) => {
            cumulative += l.buckets[i]!;
            values.push({ labels: { le, operation }, value: cumulative, metricName: `${histogram.name}_bucket` });
          });
          values.push({ labels: { le: '+Inf', operation }, value: l.count, metricName: `${histogram.name}_bucket` });
          values.push({ labels: { operation }, value: l.sum, metricName: `${histogram.name}_sum` });
          values.push({ labels: { operation }, value: l.count, metricName: `${histogram.name}_count` });
        }
        return { name: histogram.name, help: histogram.help, type: 'histogram', aggregator: 'sum', values };
      },
    };
    return [counter, histogram] as unknown as Metric[];
  }
}

/**
 * A counter with at most one label, counted in plain numbers like RequestMetrics, and handed to
 * prom-client's registry when /metrics is first read.
 */
class PlainCounter<L extends string = never> {
  private readonly counts = new Map<string, number>();

  constructor(readonly name: string, readonly help: string, private readonly label?: L) {}

  inc(labels?: Record<L, string>): void {
    const key = this.label !== undefined && labels ? labels[this.label] : '';
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  metric(): Metric {
    const values = () => {
      if (this.label === undefined) return [{ labels: {}, value: this.counts.get('') ?? 0 }];
      return [...this.counts].map(([v, value]) => ({ labels: { [this.label!]: v }, value }));
    };
    const { name, help } = this;
    return { name, help, type: 'counter', aggregator: 'sum', get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: values() }) } as unknown as Metric;
  }
}

/**
 * Prometheus metrics of one process (`GET /metrics`). Each process counts what it served; with
 * several processes, sum them in Prometheus. prom-client (with the process metrics it collects) is
 * loaded by the first read of /metrics, not at start: it is a good part of the start-up's module
 * loading, and the counts before then are plain numbers anyway. Its event-loop lag and GC histograms
 * therefore begin with that first read; the CPU, memory and other process figures are whole-process.
 */
export class Metrics {
  /** prom-client's text format (its Registry.PROMETHEUS_CONTENT_TYPE), known before it is loaded. */
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private registry: Promise<Registry> | undefined;
  private readonly requestMetrics = new RequestMetrics();
  readonly throttled = new PlainCounter(
    'enrollgraph_throttled_requests_total', 'Graph calls (batch items included) refused with 429 by throttling, by the limit that refused them.', 'scope',
  );
  readonly tokensCreated = new PlainCounter('enrollgraph_enrollment_tokens_created_total', 'Successful createToken calls.');
  readonly tokensRevoked = new PlainCounter('enrollgraph_enrollment_tokens_revoked_total', 'Successful revokeToken calls.');
  readonly devicesEnrolled = new PlainCounter('enrollgraph_devices_enrolled_total', 'Devices enrolled with a token.');
  readonly enrollmentsRefused = new PlainCounter('enrollgraph_enrollments_refused_total', 'Enrollment attempts refused, by reason.', 'reason');
  readonly faults = new PlainCounter('enrollgraph_faults_injected_total', 'Fault rules that fired, by kind.', 'kind');

  constructor(private readonly opts: { processMetrics?: boolean } = {}) {}

  /** Counts one answered HTTP request and its latency. */
  observeRequest(operation: string, status: number, seconds: number): void {
    this.requestMetrics.observe(operation, status, seconds);
  }

  async text(): Promise<string> {
    this.registry ??= import('prom-client').then(({ collectDefaultMetrics, Registry }) => {
      const registry = new Registry();
      for (const m of this.requestMetrics.metrics()) registry.registerMetric(m);
      for (const c of [this.throttled, this.tokensCreated, this.tokensRevoked, this.devicesEnrolled, this.enrollmentsRefused, this.faults]) registry.registerMetric(c.metric());
      if (this.opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'enrollgraph_' });
      return registry;
    });
    return (await this.registry).metrics();
  }
}
