import type { HeapItem } from './heap.ts';
import { OrderedSet } from './ordered-set.ts';
import type { Job } from './job.ts';
import type { Tube } from './tube.ts';

/** Where the engine sends a connection's replies: a reply line (no CRLF) and, for body replies, the body. */
export type ReplySink = (line: string, body?: Uint8Array) => void;

/** The engine's side of one client connection (conn.c). Transports own the bytes; this owns the state. */
export class Connection implements HeapItem {
  heapIndex = -1;
  use: Tube;
  readonly watch: OrderedSet<Tube>;
  /** Reserved jobs in the order they were reserved (released in that order on close). */
  readonly reserved = new Set<Job>();
  /** Cached reserved job with the earliest deadline; null = recompute. */
  soonest: Job | null = null;
  isProducer = false;
  isWorker = false;
  /** Blocked in reserve / reserve-with-timeout. */
  waiting = false;
  /** Seconds a blocked reserve may wait; -1 = for ever. */
  pendingTimeout = -1;
  /** Instant the timer of this connection fires (ms); 0 = no timer. */
  tickAt = 0;
  closed = false;

  constructor(
    readonly id: number,
    /** A label for views and traces: "worker 3", "console", "127.0.0.1:5123". */
    public name: string,
    /** Set again when a restored connection's Session takes it up (Session.restore). */
    public send: ReplySink,
    use: Tube,
    watch: OrderedSet<Tube>,
  ) {
    this.use = use;
    this.watch = watch;
  }

  soonestJob(): Job | null {
    if (this.soonest) return this.soonest;
    for (const j of this.reserved) {
      if (!this.soonest || j.deadlineAt < this.soonest.deadlineAt) this.soonest = j;
    }
    return this.soonest;
  }
}
