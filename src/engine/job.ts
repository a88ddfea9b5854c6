import type { HeapItem } from './heap.ts';
import type { JobState } from './types.ts';
import type { Tube } from './tube.ts';
import type { Connection } from './connection.ts';

/** One job (dat.h Jobrec + Job). Times are engine ms (see types.ts). */
export class Job implements HeapItem {
  heapIndex = -1;
  state: JobState = 'ready';
  /** Reserved: when TTR runs out. Delayed: when it becomes ready. Otherwise stale. */
  deadlineAt = 0;
  /** The connection holding the reservation, while state is 'reserved'. */
  reserver: Connection | null = null;
  reserveCount = 0;
  timeoutCount = 0;
  releaseCount = 0;
  buryCount = 0;
  kickCount = 0;
  /** Binlog file sequence number holding this job's full record; 0 when not logged. */
  file = 0;
  /** Bytes of binlog records this job keeps alive (for compaction). */
  walUsed = 0;

  constructor(
    readonly id: number,
    /** 0 is most urgent, 4294967295 least. */
    public pri: number,
    /** Last delay set by put or release, ms (always whole seconds). */
    public delay: number,
    /** Time to run, ms (at least 1000). */
    readonly ttr: number,
    /** The body without its trailing CRLF. */
    readonly body: Uint8Array,
    readonly tube: Tube,
    /** Instant of the put, ms; kept across binlog restarts so `age` continues. */
    readonly createdAt: number,
  ) {}
}

/** Ready order: priority, then id (job_pri_less). */
export function priLess(a: Job, b: Job): boolean {
  return a.pri < b.pri || (a.pri === b.pri && a.id < b.id);
}

/** Delay order: deadline, then id (job_delay_less). */
export function delayLess(a: Job, b: Job): boolean {
  return a.deadlineAt < b.deadlineAt || (a.deadlineAt === b.deadlineAt && a.id < b.id);
}
