/**
 * Calls made in one turn of the event loop, handed over together once that turn is done (from a
 * `setImmediate`): the stores' group commit (SQLite) and their batched reads and token writes
 * (PostgreSQL). Whatever runs the batch runs after every call in it was made, so each call still
 * sees every commit made before it.
 */
export class PerTurn<T> {
  private items: T[] | undefined;

  constructor(private readonly run: (items: T[]) => void | Promise<void>) {}

  add(item: T): void {
    if (this.items === undefined) {
      this.items = [];
      setImmediate(() => {
        const items = this.items!;
        this.items = undefined;
        void this.run(items);
      });
    }
    this.items.push(item);
  }
}
