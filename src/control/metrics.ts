import { collectDefaultMetrics, Counter, Registry, type Metric } from 'prom-client';

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
 * Prometheus metrics of one process (`GET /metrics`). Each process counts what it served; with
 * several processes, sum them in Prometheus.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requestMetrics = new RequestMetrics();
  readonly throttled: Counter<'scope'>;
  readonly tokensCreated: Counter;
  readonly tokensRevoked: Counter;
  readonly devicesEnrolled: Counter;
  readonly enrollmentsRefused: Counter<'reason'>;
  readonly faults: Counter<'kind'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    for (const m of this.requestMetrics.metrics()) this.registry.registerMetric(m);
    this.throttled = new Counter({
      name: 'enrollgraph_throttled_requests_total', help: 'Graph calls (batch items included) refused with 429 by throttling, by the limit that refused them.',
      labelNames: ['scope'], registers,
    });
    this.tokensCreated = new Counter({ name: 'enrollgraph_enrollment_tokens_created_total', help: 'Successful createToken calls.', registers });
    this.tokensRevoked = new Counter({ name: 'enrollgraph_enrollment_tokens_revoked_total', help: 'Successful revokeToken calls.', registers });
    this.devicesEnrolled = new Counter({ name: 'enrollgraph_devices_enrolled_total', help: 'Devices enrolled with a token.', registers });
    this.enrollmentsRefused = new Counter({
      name: 'enrollgraph_enrollments_refused_total', help: 'Enrollment attempts refused, by reason.', labelNames: ['reason'], registers,
    });
    this.faults = new Counter({ name: 'enrollgraph_faults_injected_total', help: 'Fault rules that fired, by kind.', labelNames: ['kind'], registers });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'enrollgraph_' });
  }

  /** Counts one answered HTTP request and its latency. */
  observeRequest(operation: string, status: number, seconds: number): void {
    this.requestMetrics.observe(operation, status, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
