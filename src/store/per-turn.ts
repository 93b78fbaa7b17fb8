/** A call waiting for the statement it shares with others. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/**
 * What is added in one turn of the event loop, by key: on the next turn, `flush` gets each key's
 * items, in the order they were added. A database's cost is per statement and per commit rather than
 * per row, so calls made in one turn share them (SQLite's group commit, PostgreSQL's batched token
 * writes and reads); `npm run bench` shows the floors they hold up (docs/performance.md).
 */
export class PerTurn<T> {
  private readonly open = new Map<string, T[]>();

  constructor(private readonly flush: (items: T[]) => unknown) {}

  add(item: T, key = ''): void {
    let items = this.open.get(key);
    if (!items) {
      const batch: T[] = (items = []);
      this.open.set(key, batch);
      setImmediate(() => {
        this.open.delete(key);
        void this.flush(batch);
      });
    }
    items.push(item);
  }
}
