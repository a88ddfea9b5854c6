import { Heap } from './heap.ts';
import { OrderedSet } from './ordered-set.ts';
import { Job, delayLess, priLess } from './job.ts';
import type { Connection } from './connection.ts';

/**
 * A named queue (dat.h Tube). It lives while anything refers to it: a connection using or watching
 * it, or a job in it; `default` is pinned by the server. When the last reference goes it is destroyed
 * with its pause and counters (tube.c).
 */
export class Tube {
  readonly ready = new Heap<Job>(priLess);
  readonly delay = new Heap<Job>(delayLess);
  /** FIFO: bury appends; kick and peek-buried take the oldest. JS Sets keep insertion order. */
  readonly buried = new Set<Job>();
  readonly waitingConns = new OrderedSet<Connection>();
  refs = 0;
  usingCount = 0;
  watchingCount = 0;
  /** Pause length in ms; 0 = not paused. `pause-tube t 0` pauses for a vanishing instant (see commands). */
  pause = 0;
  paused = false;
  unpauseAt = 0;
  urgentCount = 0;
  reservedCount = 0;
  waitingCount = 0;
  totalDeleteCount = 0;
  totalJobsCount = 0;
  pauseCount = 0;

  constructor(readonly name: string) {}
}
