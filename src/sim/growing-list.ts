// A list that only grows (a run's trace, its event times), kept in fixed chunks so that its state at any
// length can be shared rather than copied: a checkpoint holds the chunks and a length, and a cluster
// restored from it copies only the last, partly filled chunk. Copying a plain array of 10^5 entries
// (and growing it by one afterwards) cost a step back about 10 ms, all of it memory traffic.

const CHUNK = 1024;

/** A GrowingList's state at some length: its chunks, the last of which may hold more than `length` covers. */
export interface SharedList<T> {
  chunks: readonly (readonly T[])[];
  length: number;
}

/** A GrowingList to read, not to add to (a cluster's trace as views see it). */
export type ListView<T> = Omit<GrowingList<T>, 'push'>;

export class GrowingList<T> implements Iterable<T> {
  /** Every chunk but the last is full and never changes again; the last is this list's own. */
  private chunks: T[][];
  private size: number;

  private constructor(chunks: T[][], size: number) {
    this.chunks = chunks;
    this.size = size;
  }

  static of<T>(items: readonly T[] = []): GrowingList<T> {
    const chunks: T[][] = [];
    for (let i = 0; i < items.length; i += CHUNK) chunks.push(items.slice(i, i + CHUNK));
    return new GrowingList(chunks, items.length);
  }

  /** A list at `s`: the full chunks shared (they never change), the last one copied up to `s.length`. */
  static from<T>(s: SharedList<T>): GrowingList<T> {
    const full = Math.floor(s.length / CHUNK);
    const chunks = s.chunks.slice(0, full) as T[][];
    const rest = s.length - full * CHUNK;
    if (rest > 0) chunks.push(s.chunks[full].slice(0, rest));
    return new GrowingList(chunks, s.length);
  }

  get length(): number {
    return this.size;
  }

  /** A list of its own, as this one is now (sharing the full chunks). */
  snapshot(): GrowingList<T> {
    return GrowingList.from(this.share());
  }

  /** Its state now, for GrowingList.from: entries already in it never change, so they are shared, not copied. */
  share(): SharedList<T> {
    return { chunks: this.chunks.slice(), length: this.size };
  }

  push(x: T): void {
    const last = this.chunks[this.chunks.length - 1];
    if (last && last.length < CHUNK) last.push(x);
    else this.chunks.push([x]);
    this.size++;
  }

  get(i: number): T | undefined {
    return i >= 0 && i < this.size ? this.chunks[Math.floor(i / CHUNK)][i % CHUNK] : undefined;
  }

  last(): T | undefined {
    return this.get(this.size - 1);
  }

  /** Entries `from` (inclusive) to `to` (exclusive), as an array. */
  slice(from = 0, to = this.size): T[] {
    const out: T[] = [];
    for (let i = Math.max(0, from), end = Math.min(to, this.size); i < end; i++) out.push(this.get(i)!);
    return out;
  }

  toArray(): T[] {
    return ([] as T[]).concat(...this.chunks);
  }

  /** JSON sees the list as the array it is. */
  toJSON(): T[] {
    return this.toArray();
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const chunk of this.chunks) yield* chunk;
  }
}
