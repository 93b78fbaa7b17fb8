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

/** The last `size` requests this process answered, oldest first (a ring buffer). */
export class RequestJournal {
  private readonly entries: (JournalEntry | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly size: number) {
    this.entries = new Array<JournalEntry | undefined>(size);
  }

  add(entry: JournalEntry): void {
    if (this.size === 0) return;
    this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.size;
    this.count = Math.min(this.count + 1, this.size);
  }

  /** The last `limit` entries (all by default), oldest first, optionally of one tenant. */
  list(opts: { limit?: number; tenant?: string } = {}): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (let i = 0; i < this.count; i++) {
      const e = this.entries[(this.next - this.count + i + this.size) % this.size]!;
      if (opts.tenant === undefined || e.tenant === opts.tenant) out.push(e);
    }
    return opts.limit !== undefined && out.length > opts.limit ? out.slice(out.length - opts.limit) : out;
  }

  clear(): void {
    this.entries.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
