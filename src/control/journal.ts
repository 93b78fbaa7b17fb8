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

/** What a request leaves in the journal: the time as microseconds, formatted only when someone reads it. */
export type JournalRecord = Omit<JournalEntry, 'time'> & { timeUs: number };

/** The last `size` requests this process answered, oldest first (a ring buffer). */
export class RequestJournal {
  private readonly entries: (JournalRecord | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly size: number) {
    this.entries = new Array<JournalRecord | undefined>(size);
  }

  add(entry: JournalRecord): void {
    if (this.size === 0) return;
    this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.size;
    this.count = Math.min(this.count + 1, this.size);
  }

  /** The last `limit` entries (all by default), oldest first, optionally of one tenant. */
  list(opts: { limit?: number; tenant?: string } = {}): JournalEntry[] {
    const out: JournalRecord[] = [];
    for (let i = 0; i < this.count; i++) {
      const e = this.entries[(this.next - this.count + i + this.size) % this.size]!;
      if (opts.tenant === undefined || e.tenant === opts.tenant) out.push(e);
    }
    const last = opts.limit !== undefined && out.length > opts.limit ? out.slice(out.length - opts.limit) : out;
    return last.map(({ timeUs, ...rest }) => ({ time: formatUs(timeUs), ...rest }));
  }

  clear(): void {
    this.entries.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
