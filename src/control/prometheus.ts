import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type CounterChild = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

/** One operation's label children: its latency histogram and its counter child per status. */
interface OperationChildren {
  latency: HistogramChild;
  byStatus: Map<number, CounterChild>;
}

/** The metrics of one process as prom-client's Counters and Histogram, in a Registry (loaded by metrics.ts when first needed). */
export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'status'>;
  readonly requestDuration: Histogram<'operation'>;
  readonly throttled: Counter<'scope'>;
  readonly tokensCreated: Counter;
  readonly tokensRevoked: Counter;
  readonly devicesEnrolled: Counter;
  readonly enrollmentsRefused: Counter<'reason'>;
  readonly faults: Counter<'kind'>;
  /** Label children by operation, then status: a request looks its children up instead of building label objects. */
  private readonly children = new Map<string, OperationChildren>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'enrollgraph_http_requests_total', help: 'HTTP requests served, by operation and status.', labelNames: ['operation', 'status'], registers,
    });
    this.requestDuration = new Histogram({
      name: 'enrollgraph_http_request_duration_seconds', help: 'Time to answer an HTTP request, by operation.',
      labelNames: ['operation'], buckets: LATENCY_BUCKETS, registers,
    });
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

  /** Counts one answered HTTP request (status 0: its connection was dropped) and its latency. */
  observeRequest(operation: string, status: number, seconds: number): void {
    let op = this.children.get(operation);
    if (op === undefined) {
      op = { latency: this.requestDuration.labels(operation), byStatus: new Map() };
      this.children.set(operation, op);
    }
    let counter = op.byStatus.get(status);
    if (counter === undefined) {
      counter = this.requests.labels(operation, String(status));
      op.byStatus.set(status, counter);
    }
    counter.inc();
    op.latency.observe(seconds);
  }

}
