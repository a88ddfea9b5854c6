// The engine's whole state as plain data (Engine.snapshot / Engine.restore), so a run can be
// checkpointed, sent to another thread (structuredClone, postMessage) and taken up again. No class
// instances but typed arrays, no functions, no object shared with the live engine. Objects refer to
// each other by key: jobs by id, tubes by name, connections by id. Jobs, the bulk of a big queue, are
// stored as columns (one typed array per field, job i in slot i of each), so a snapshot of 10^5 jobs
// is a few arrays to fill and copy rather than 10^5 objects for the garbage collector.
// Times are engine ms (see types.ts); Infinity stands for "never" where the engine uses it.
import type { CountedOp } from './command.ts';
import type { JobState } from './types.ts';

/** JobColumns.state codes. */
export const JOB_STATES: readonly JobState[] = ['ready', 'delayed', 'reserved', 'buried'];

/** Bumped whenever a field changes meaning; restore refuses any other. */
export const SNAPSHOT_VERSION = 1;

export interface EngineSnapshot {
  version: typeof SNAPSHOT_VERSION;
  /** `-z`: largest job body in bytes. */
  maxJobSize: number;
  /** `id` in stats. */
  instanceId: string;
  /** `binlog-max-size` shown without a binlog. */
  binlogMaxSize: number;
  /** Instant the server started: `uptime` = now - startedAt. */
  startedAt: number;
  /** Id the next put gets; above every id handed out (a failed put's included). */
  nextId: number;
  /** Id the next connection gets. */
  nextConnId: number;
  /** Earliest instant at which tick() has work (cached; Infinity when nothing is scheduled). */
  nextDue: number;
  draining: boolean;
  // Global counters, as `stats` shows them (current-* and totals).
  readyCount: number;
  /** Ready jobs with pri < 1024. */
  urgentCount: number;
  reservedCount: number;
  buriedCount: number;
  /** Connections blocked in a reserve. */
  waitingCount: number;
  totalJobs: number;
  timeoutCount: number;
  currentConnections: number;
  totalConnections: number;
  currentProducers: number;
  currentWorkers: number;
  /** `cmd-*` counters. */
  cmdCounts: Record<CountedOp, number>;
  /** Every tube, in `list-tubes` order. */
  tubes: TubeSnapshot[];
  /** Every job, by id. */
  jobs: JobColumns;
  /** Open connections, by id. */
  connections: ConnectionSnapshot[];
  /** Ids of the connections with a timer, in the timer heap's slot order (tickAt order at its root). */
  timers: number[];
  /** The binlog writer, when the engine has one. */
  binlog: BinlogSnapshot | null;
}

export interface TubeSnapshot {
  name: string;
  /** Connections using or watching it, and jobs in it; `default` holds one more (pinned). */
  refs: number;
  usingCount: number;
  watchingCount: number;
  /** Pause length in ms; meaningful while paused. */
  pause: number;
  paused: boolean;
  /** Instant the pause ends. */
  unpauseAt: number;
  urgentCount: number;
  reservedCount: number;
  waitingCount: number;
  totalDeleteCount: number;
  totalJobsCount: number;
  pauseCount: number;
  /** Ready job ids in the ready heap's slot order (min pri, id at slot 0). */
  ready: number[];
  /** Delayed job ids in the delay heap's slot order (min deadline, id at slot 0). */
  delayed: number[];
  /** Buried job ids, oldest first (kick and peek-buried take the oldest). */
  buried: number[];
  /** Connections blocked in a reserve watching this tube, in the set's order, and its round-robin cursor. */
  waiting: number[];
  waitingCursor: number;
}

/** Job i of `count`, in id order, is slot i of every column. */
export interface JobColumns {
  count: number;
  id: Float64Array;
  /** Index of its tube in EngineSnapshot.tubes. */
  tube: Uint32Array;
  /** Index in JOB_STATES. */
  state: Uint8Array;
  /** 0 most urgent .. 4294967295. */
  pri: Uint32Array;
  /** Last delay set by put or release, ms. */
  delay: Float64Array;
  /** Time to run, ms (≥ 1000). */
  ttr: Float64Array;
  /** Instant of the put. */
  createdAt: Float64Array;
  /** Reserved: TTR deadline. Delayed: when it becomes ready. Otherwise stale, kept as is. */
  deadlineAt: Float64Array;
  /** Id of the connection holding it while reserved; 0 when none (connection ids start at 1). */
  reserver: Float64Array;
  reserveCount: Uint32Array;
  timeoutCount: Uint32Array;
  releaseCount: Uint32Array;
  buryCount: Uint32Array;
  kickCount: Uint32Array;
  /** Binlog file holding its full record (0 = none), and the bytes of its records that file keeps alive. */
  file: Float64Array;
  walUsed: Float64Array;
  /** Body length in bytes. */
  bytes: Uint32Array;
  /** The bodies one after another: job i's is `bytes[i]` bytes after those of jobs 0..i-1. */
  bodies: Uint8Array;
}

export interface ConnectionSnapshot {
  id: number;
  name: string;
  /** Name of the tube it uses. */
  use: string;
  /** Names of the tubes it watches, in `list-tubes-watched` order, and that set's cursor. */
  watch: string[];
  watchCursor: number;
  /** Ids of its reserved jobs, in the order it reserved them (returned in that order on close). */
  reserved: number[];
  /** Cached reserved job with the earliest deadline; null = recompute when asked. */
  soonest: number | null;
  isProducer: boolean;
  isWorker: boolean;
  /** Blocked in reserve / reserve-with-timeout. */
  waiting: boolean;
  /** Seconds a blocked reserve may wait; -1 = for ever. */
  pendingTimeout: number;
  /** Instant its timer fires (Infinity or 0 when it has none). */
  tickAt: number;
}

/** The binlog writer's bookkeeping (walg.c's Wal and its Files); bytes as beanstalkd counts them. */
export interface BinlogSnapshot {
  /** `-s`: size of each file. */
  fileSize: number;
  /** Files from the oldest (head) to the newest (tail). */
  files: {
    seq: number;
    /** Bytes neither written nor reserved (may be negative). */
    free: number;
    /** Bytes reserved for records to come. */
    resv: number;
    /** Bytes written, header included. */
    size: number;
    open: boolean;
    /** Ids of the live jobs whose full record is in this file, in the order they were added. */
    jobs: number[];
  }[];
  /** Seq of the file being written. */
  current: number;
  /** Seq the next new file gets. */
  nextSeq: number;
  /** Bytes reserved in all files. */
  reserved: number;
  /** Bytes of records that still describe live jobs. */
  alive: number;
  /** binlog-records-written, binlog-records-migrated. */
  written: number;
  migrated: number;
  /** False once a write failed: nothing more is logged. */
  on: boolean;
  /** The files themselves when they are kept in memory (MemoryBinlogStorage), else null: restore then needs the storage. */
  storage: MemoryBinlogSnapshot | null;
}

export interface MemoryBinlogSnapshot {
  /** Each file's bytes as written so far, by seq. */
  files: { seq: number; bytes: Uint8Array }[];
  /** The highest job id kept beside the files (keepLastId). */
  lastId: number;
  /** flush() calls so far. */
  flushes: number;
}
