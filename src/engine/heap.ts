// A binary min-heap whose items remember their own slot, so any item can be removed in O(log n)
// (beanstalkd heap.c). Used for tube ready/delay queues and the connection timer queue.

export interface HeapItem {
  /** Slot in the heap that holds this item; -1 when not in a heap. */
  heapIndex: number;
}

export class Heap<T extends HeapItem> {
  readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  insert(x: T): void {
    const items = this.items;
    items.push(x);
    x.heapIndex = items.length - 1;
    this.siftUp(items.length - 1);
  }

  /** Removes the item at slot k and returns it. */
  removeAt(k: number): T {
    const items = this.items;
    const x = items[k];
    const last = items.pop() as T;
    if (k < items.length) {
      items[k] = last;
      last.heapIndex = k;
      this.siftDown(k);
      this.siftUp(last.heapIndex);
    }
    x.heapIndex = -1;
    return x;
  }

  remove(x: T): boolean {
    const k = x.heapIndex;
    if (k < 0 || this.items[k] !== x) return false;
    this.removeAt(k);
    return true;
  }

  /** Refills an empty heap with items already in heap order (a snapshot's slot order). */
  load(items: T[]): void {
    if (this.items.length) throw new Error('Heap.load: the heap is not empty');
    for (const x of items) {
      x.heapIndex = this.items.length;
      this.items.push(x);
    }
  }

  take(): T | undefined {
    return this.items.length ? this.removeAt(0) : undefined;
  }

  private siftUp(k: number): void {
    const items = this.items;
    const x = items[k];
    while (k > 0) {
      const p = (k - 1) >> 1;
      const parent = items[p];
      if (!this.less(x, parent)) break;
      items[k] = parent;
      parent.heapIndex = k;
      k = p;
    }
    items[k] = x;
    x.heapIndex = k;
  }

  private siftDown(k: number): void {
    const items = this.items;
    const n = items.length;
    const x = items[k];
    for (;;) {
      let c = 2 * k + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(items[c + 1], items[c])) c++;
      const child = items[c];
      if (!this.less(child, x)) break;
      items[k] = child;
      child.heapIndex = k;
      k = c;
    }
    items[k] = x;
    x.heapIndex = k;
  }
}
