// A checkpoint of a virtual-time cluster, as plain data: the queue server (engine and its sessions, the
// binlog files), what is on its way (the scheduler's queued events), every node as the page sees it (its
// view, horizon, link counters, connections) and its process as its last resume point plus what it was
// given since (node-resume.ts), the job history, the queue model, the key-value store, the traffic
// counters, and how far the trace had got. Cluster.checkpoint takes one, Cluster.restore takes one up.
//
// What the run keeps anyway is shared, not copied: the trace, the actions and the event times are the
// run's own append-only arrays, and a checkpoint holds them with its lengths; node reports, statuses and
// messages already given are never changed once made, so they are shared between checkpoints too.
import type { EngineSnapshot, MemoryBinlogSnapshot } from '../engine/snapshot.ts';
import type { SessionSnapshot } from '../protocol/session.ts';
import type { FromNode, NodeConfig, NodeReport, NodeStatus } from '../nodes/messages.ts';
import type { NodeLife } from '../nodes/process.ts';
import type { LinkEvent } from './links.ts';
import type { NodeResume } from './node-resume.ts';
import type { ConnOwner } from './queue-model.ts';
import type { RecordedAction, TraceEntry } from './run-record.ts';
import type { SchedulerState } from './scheduler.ts';

/**
 * Checkpoint spacing (events) for time travel, chosen from `npm run bench -- time-travel` (the run of
 * issue 12: 10^5 events, 16 workers): a seek restores one checkpoint and runs at most this many events,
 * about 5 µs each in Node, so 1000 keeps the run-forward part of a seek near 5 ms while a hundred
 * checkpoints stay well inside the 50 MB budget.
 */
export const CHECKPOINT_EVERY = 1000;

export interface NodeCheckpoint {
  id: number;
  name: string;
  config: NodeConfig;
  life: NodeLife;
  status: NodeStatus;
  slow: number;
  latency: number;
  done: number[];
  computeMs: number;
  reports: NodeReport[];
  log: string[];
  horizon: number;
  generation: number;
  msgSeq: number;
  queuedToNode: number;
  queuedFromNode: number;
  /** Its connections to the queue server by its own connection number, and to the store (with until when each is busy). */
  sessions: [number, SessionSnapshot][];
  store: { conn: number; session: Record<string, unknown>; busyUntil: number }[];
  /** Its process (null once dead). */
  process: NodeResume | null;
}

export interface ClusterCheckpoint {
  /** Events processed: it was taken just after this event, before any action taken at it. */
  n: number;
  clock: number;
  scheduler: SchedulerState<LinkEvent>;
  /** The queue server (null while crashed); its binlog files are `binlog`. */
  engine: EngineSnapshot | null;
  binlog: MemoryBinlogSnapshot;
  binlogEnabled: boolean;
  owners: [number, ConnOwner & { name: string }][];
  /** The replay's stand-ins for the page's connections, by name. */
  pageSessions: [string, SessionSnapshot][];
  /** Server connections no session of the cluster holds (the page's console): restored with replies going nowhere. */
  foreign: number[];
  nodes: NodeCheckpoint[];
  nextNodeId: number;
  nextRerun: number;
  shownSeq: number;
  shown: { at: number; seq: number; node: number; gen: number; m: Extract<FromNode, { t: 'status' | 'report' | 'log' }> }[];
  model: Record<string, unknown>;
  history: Record<string, unknown>;
  checker: Record<string, unknown>;
  store: Record<string, unknown> | null;
  traffic: { server: { messages: number; bytes: number }; store: { messages: number; bytes: number } };
  /** The run's own trace, actions and event times, and how much of each is the checkpoint's. */
  log: { trace: readonly TraceEntry[]; traceLength: number; actions: readonly RecordedAction[]; actionsLength: number; times: readonly number[] };
}

/**
 * An object's fields as a deep copy, but for its functions (the closures wiring it to the cluster) and
 * the fields named in `skip` (references to the cluster itself): the classes whose state it copies
 * (JobHistory, QueueModel, KvStore) keep it all in plain fields. Objects shared between fields stay
 * shared in the copy (structuredClone keeps identity within one call).
 */
export function dataOf(o: object, skip: readonly string[] = []): Record<string, unknown> {
  return structuredClone(Object.fromEntries(Object.entries(o).filter(([k, v]) => typeof v !== 'function' && !skip.includes(k))));
}

/** Puts a copy of `data` (from dataOf) back into `o`'s fields. */
export function restoreData(o: object, data: Record<string, unknown>): void {
  Object.assign(o, structuredClone(data));
}

/** The index of the last checkpoint at or before position `n` in `list` (ordered by position), or -1. */
export function checkpointAt(list: readonly ClusterCheckpoint[], n: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].n <= n) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
