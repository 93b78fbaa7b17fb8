import { formatUs } from '../time.js';

/** One request as `GET /_admin/requests` shows it. */
export interface JournalEntry {
  /** When it arrived, by the server clock. */
  time: string;
  method: string;
  path: string;
  operation: string;
  tenant: string | null;
  status: number;
  latencyMs: number;
  requestId: string;
  clientRequestId: string;
}

/**
 * The last `size` requests this process answered, oldest first: a ring buffer kept in columns, so a
 * request adds numbers and references to preallocated arrays rather than an object of its own (on a
 * busy server, every such object outlived a young-generation collection and was copied into the old
 * one). Times stay microseconds until someone reads them.
 */
export class RequestJournal {
  private readonly timeUs: Float64Array;
  private readonly latencyMs: Float64Array;
  private readonly status: Uint16Array;
  private readonly method: string[];
  private readonly path: string[];
  private readonly operation: string[];
  private readonly tenant: (string | null)[];
  private readonly requestId: string[];
  private readonly clientRequestId: string[];
  private next = 0;
  private count = 0;

  constructor(readonly size: number) {
    this.timeUs = new Float64Array(size);
    this.latencyMs = new Float64Array(size);
    this.status = new Uint16Array(size);
    this.method = new Array<string>(size).fill('');
    this.path = new Array<string>(size).fill('');
    this.operation = new Array<string>(size).fill('');
    this.tenant = new Array<string | null>(size).fill(null);
    this.requestId = new Array<string>(size).fill('');
    this.clientRequestId = new Array<string>(size).fill('');
  }

  add(timeUs: number, method: string, path: string, operation: string, tenant: string | null, status: number, latencyMs: number, requestId: string, clientRequestId: string): void {
    if (this.size === 0) return;
    const i = this.next;
    this.timeUs[i] = timeUs;
    this.method[i] = method;
    this.path[i] = path;
    this.operation[i] = operation;
    this.tenant[i] = tenant;
    this.status[i] = status;
    this.latencyMs[i] = latencyMs;
    this.requestId[i] = requestId;
    this.clientRequestId[i] = clientRequestId;
    this.next = i + 1 === this.size ? 0 : i + 1;
    if (this.count < this.size) this.count++;
  }

  /** The last `limit` entries (all by default), oldest first, optionally of one tenant. */
  list(opts: { limit?: number; tenant?: string } = {}): JournalEntry[] {
    const slots: number[] = [];
    for (let k = 0; k < this.count; k++) {
      const i = (this.next - this.count + k + this.size) % this.size;
      if (opts.tenant === undefined || this.tenant[i] === opts.tenant) slots.push(i);
    }
    const last = opts.limit !== undefined && slots.length > opts.limit ? slots.slice(slots.length - opts.limit) : slots;
    return last.map((i) => ({
      time: formatUs(this.timeUs[i]!),
      method: this.method[i]!,
      path: this.path[i]!,
      operation: this.operation[i]!,
      tenant: this.tenant[i]!,
      status: this.status[i]!,
      latencyMs: this.latencyMs[i]!,
      requestId: this.requestId[i]!,
      clientRequestId: this.clientRequestId[i]!,
    }));
  }

  /** Forgets every entry (and the strings it held). */
  clear(): void {
    for (const column of [this.method, this.path, this.operation, this.requestId, this.clientRequestId]) column.fill('');
    this.tenant.fill(null);
    this.next = 0;
    this.count = 0;
  }
}
