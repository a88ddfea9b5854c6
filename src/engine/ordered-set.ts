// beanstalkd's "Ms" set (ms.c). Its quirks are observable, so they are copied exactly:
// removal moves the LAST element into the freed slot, and take() walks a cursor that is never reset.
// It orders `list-tubes`, `list-tubes-watched`, and decides which blocked worker gets a job.

export class OrderedSet<T> {
  items: T[] = [];
  private cursor = 0;

  constructor(
    private readonly onInsert?: (x: T) => void,
    private readonly onRemove?: (x: T) => void,
  ) {}

  get length(): number {
    return this.items.length;
  }

  append(x: T): void {
    this.items.push(x);
    this.onInsert?.(x);
  }

  contains(x: T): boolean {
    return this.items.includes(x);
  }

  /** Swap-remove; returns false when x is not in the set. */
  remove(x: T): boolean {
    const i = this.items.indexOf(x);
    if (i < 0) return false;
    this.deleteAt(i);
    return true;
  }

  /** Where the next take() starts (for snapshots). */
  get takeCursor(): number {
    return this.cursor;
  }

  /** Sets the items and cursor of a restored set, without the insert callbacks (their effects are restored too). */
  load(items: T[], cursor: number): void {
    this.items = items;
    this.cursor = cursor;
  }

  /** Round-robin take: the element at the cursor, swap-removed; the cursor then moves on. */
  take(): T | undefined {
    if (!this.items.length) return undefined;
    this.cursor = this.cursor % this.items.length;
    const x = this.items[this.cursor];
    this.deleteAt(this.cursor);
    this.cursor++;
    return x;
  }

  /** Empties the set the way ms_clear does: always deleting slot 0, so the last element moves up. */
  clear(): void {
    while (this.items.length) this.deleteAt(0);
    this.cursor = 0;
  }

  private deleteAt(i: number): void {
    const x = this.items[i];
    const last = this.items.pop() as T;
    if (i < this.items.length) this.items[i] = last;
    this.onRemove?.(x);
  }
}
