// A checkpoint of a virtual-time cluster, as plain data: the queue server (engine and its sessions, the
// binlog files), what is on its way (the scheduler's queued events), every node as the page sees it (its
// view, horizon, link counters, connections) and its process as its last resume point plus what it was
// given since (node-resume.ts), the job history, the queue model, the key-value store, the traffic
// counters, and how far the trace had got. Cluster.checkpoint takes one, Cluster.restore takes one up.
//
// What the run keeps anyway is shared, not copied: the trace and the event times are lists that only
// grow (growing-list.ts), the actions the run's own append-only array, and a checkpoint holds them with
// their lengths; node reports, statuses and
// messages already given are never changed once made, so they are shared between checkpoints too.
import { joinBytes } from '../engine/binlog.ts';
import type { EngineSnapshot, JobColumns } from '../engine/snapshot.ts';
import type { SessionSnapshot } from '../protocol/session.ts';
import type { FromNode, NodeConfig, NodeReport, NodeStatus } from '../nodes/messages.ts';
import type { NodeLife } from '../nodes/process.ts';
import type { SharedList } from './growing-list.ts';
import type { LinkEvent } from './links.ts';
import type { NodeResume } from './node-resume.ts';
import type { ConnOwner } from './queue-model.ts';
import type { RecordedAction, TraceEntry } from './run-record.ts';
import type { SchedulerState } from './scheduler.ts';

/**
 * Checkpoint spacing (events) for time travel, from `npm run bench -- time-travel` (issue 12's run:
 * 10^5 events, 16 workers; measured on a loaded 2-core machine): a seek is a restore (6-9 ms at the
 * run's end in Node: the job history's records and maps, the engine's jobs, the nodes started again)
 * plus running at most this many events (0.05-0.4 ms each, every one a round trip with a node): a
 * median seek of 30-50 ms in Chromium, while the 118 checkpoints hold about 38 MB, heap and buffers
 * (the budget is 50); a smaller spacing would cost memory in proportion. Step backs run far fewer
 * events (see TimeTravel.stepBack).
 */
export const CHECKPOINT_EVERY = 1000;

export interface NodeCheckpoint {
  id: number;
  name: string;
  config: NodeConfig;
  life: NodeLife;
  status: NodeStatus;
  slow: number;
  /** The "wrong results" fault's rate, why verify results excluded it, its backup-task switch (see NodeView). */
  cheat: number;
  excluded?: string;
  backupTasks?: boolean;
  latency: number;
  /** Its lists that grow with the run, in chunks shared with the checkpoint before (see chunked). */
  done: number[][];
  computeMs: number;
  reports: NodeReport[][];
  log: string[][];
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
  /**
   * The queue server (null while crashed); its binlog files are `binlog`. Its `jobs` are none: they are
   * `engineJobs`, in chunks shared with the checkpoint before where unchanged (see JobChunker).
   */
  engine: EngineSnapshot | null;
  engineJobs: JobColumns[];
  /** The binlog storage's files, each as its chunks (see BinlogCopier), and the last job id it keeps. */
  binlog: { files: { seq: number; chunks: Uint8Array[] }[]; lastId: number; flushes: number };
  binlogEnabled: boolean;
  /** Which node's connection each server connection is, as keys and values in chunks (see chunked). */
  owners: { keys: number[][]; values: ConnOwner[][] };
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
  /** What each node put and finished, for excluding a cheater later (exclusion.ts). */
  work: Record<string, unknown>;
  store: Record<string, unknown> | null;
  traffic: { server: { messages: number; bytes: number }; store: { messages: number; bytes: number } };
  /** The run's trace and event times as they were, its own actions and how many are the checkpoint's. */
  log: { trace: SharedList<TraceEntry>; actions: readonly RecordedAction[]; actionsLength: number; times: SharedList<number> };
}

/**
 * A field holding many records (an array of them, or a map to them), as a checkpoint keeps it: its keys
 * (a map's) and its records' copies, both in chunks of CHUNK; a chunk equal to the last checkpoint's is
 * that chunk, so a checkpoint holds new chunks only where records changed or were added.
 */
interface SharedRecords {
  /** An array of records, a map to records, or an array of plain values (kept as they are). */
  shared: 'array' | 'map' | 'values';
  keys: unknown[][];
  copies: unknown[][];
}

const CHUNK = 256;

const isRecordList = (v: unknown): v is object[] => Array.isArray(v) && v.length > 0 && typeof v[0] === 'object' && v[0] !== null;
const isValueList = (v: unknown): v is unknown[] => Array.isArray(v) && v.length > CHUNK && v.every((x) => typeof x !== 'object' || x === null);
const isRecordMap = (v: unknown): v is Map<unknown, object> => v instanceof Map && v.size > 0 && typeof v.values().next().value === 'object';

/**
 * Whether `copy` still shows `x`: their plain fields are equal, their arrays as long (a record's arrays,
 * its lifecycle steps, only grow, and what is in them is never changed), their objects alike in turn.
 * Cheaper than comparing whole copies, and it allocates nothing.
 */
function alike(x: unknown, copy: unknown, depth = 0): boolean {
  if (x === copy) return true;
  if (typeof x !== 'object' || typeof copy !== 'object' || x === null || copy === null || depth > 3) return false;
  if (Array.isArray(x)) return Array.isArray(copy) && x.length === copy.length && (x.length === 0 || alike(x[x.length - 1], copy[copy.length - 1], depth + 1));
  // Bytes (a job's body the work book keeps) never change once kept, but a copy is a clone: compare them.
  if (ArrayBuffer.isView(x)) return ArrayBuffer.isView(copy) && sameBytes(x, copy);
  let keys = 0;
  for (const k in x) {
    keys++;
    if (!alike((x as Record<string, unknown>)[k], (copy as Record<string, unknown>)[k], depth + 1)) return false;
  }
  for (const _ in copy) keys--;
  return keys === 0;
}

/** `items` in chunks, each the same as `last`'s chunk at its place where all its items are the same. */
export function chunked<T>(items: readonly T[], last: T[][] | undefined): T[][] {
  const chunks: T[][] = [];
  for (let i = 0, c = 0; i < items.length; i += CHUNK, c++) {
    const before = last?.[c];
    const end = Math.min(items.length, i + CHUNK);
    let same = before !== undefined && before.length === end - i;
    for (let j = i; same && j < end; j++) same = before![j - i] === items[j];
    chunks.push(same ? before! : items.slice(i, end));
  }
  return chunks;
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Copies the state of the classes a checkpoint keeps whole (JobHistory, QueueModel, KvStore, the result
 * check), which keep it all in plain fields: each field but functions (the closures wiring it to the
 * cluster) and those named in `skip` (references to the cluster itself). A run's job records and
 * reservations grow with it and mostly stop changing once their job is done, so the records of an
 * array or map field are copied one by one and a copy is shared by every checkpoint in which its record
 * has not changed (the checkpoints' memory grows with what changes, not with the run); a record found
 * in two fields (the history's list and its maps) is one record again when restored.
 */
export class StateCopier {
  /** Each record's latest copy. */
  private readonly copies = new WeakMap<object, object>();
  /** The chunks each field was kept in last time, by object and field. */
  private readonly last = new WeakMap<object, Map<string, SharedRecords>>();

  /**
   * `o`'s state. `frozen`: its records' copies are deep-frozen, for an owner that takes them back as they
   * are and copies one only before changing it (JobHistory: restoring its records is then no copy at all).
   */
  dataOf(o: object, skip: readonly string[] = [], frozen = false): Record<string, unknown> {
    // A record in several fields (the history's list and maps) is looked at once.
    const seen = new Map<object, object>();
    const copyOf = (x: object) => {
      let copy = seen.get(x);
      if (copy) return copy;
      // A frozen record is a restored checkpoint's copy, unchanged since: it is its own copy.
      copy = frozen && Object.isFrozen(x) ? x : this.copies.get(x);
      if (!copy || !alike(x, copy)) {
        copy = frozen ? deepFreeze(structuredClone(x)) : structuredClone(x);
        this.copies.set(x, copy);
      }
      seen.set(x, copy);
      return copy;
    };
    let last = this.last.get(o);
    if (!last) this.last.set(o, (last = new Map()));
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'function' || skip.includes(k)) continue;
      const before = last.get(k);
      let shared: SharedRecords | null = null;
      if (isRecordList(v)) shared = { shared: 'array', keys: [], copies: chunked(v.map(copyOf), before?.copies) };
      else if (isValueList(v)) shared = { shared: 'values', keys: [], copies: chunked(v, before?.copies) };
      else if (isRecordMap(v)) shared = { shared: 'map', keys: chunked([...v.keys()], before?.keys), copies: chunked([...v.values()].map(copyOf), before?.copies) };
      if (shared) last.set(k, shared);
      data[k] = shared ?? structuredClone(v);
    }
    return data;
  }
}

function deepFreeze<T extends object>(x: T): T {
  // Bytes cannot be frozen: no owner changes the bytes it keeps (each gets its own when a job is read).
  if (ArrayBuffer.isView(x)) return x;
  for (const v of Object.values(x)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(x);
}

/** The chunks' items in one array (faster than flat(), which a restore would spend milliseconds in). */
export const joinChunks = <T>(chunks: readonly T[][]): T[] => ([] as T[]).concat(...chunks);

const isShared = (v: unknown): v is SharedRecords => typeof v === 'object' && v !== null && 'shared' in v && 'copies' in v;

/**
 * Puts a copy of `data` (from StateCopier.dataOf) back into `o`'s fields: records shared between
 * checkpoints are copied again, each once, or (`frozen`) taken back as they are.
 */
export function restoreData(o: object, data: Record<string, unknown>, frozen = false): void {
  let copyOf = (x: unknown) => x;
  if (!frozen) {
    const records = new Set<object>();
    for (const v of Object.values(data)) if (isShared(v) && v.shared !== 'values') for (const chunk of v.copies) for (const x of chunk) records.add(x as object);
    const list = [...records];
    // One structuredClone for them all: faster than one per record (and faster than JSON.parse, measured).
    const fresh = structuredClone(list);
    const copies = new Map(list.map((x, i) => [x, fresh[i]]));
    copyOf = (x) => copies.get(x as object);
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!isShared(v)) {
      fields[k] = structuredClone(v);
      continue;
    }
    const items = joinChunks(v.copies);
    if (v.shared === 'values') {
      fields[k] = items;
      continue;
    }
    const records = frozen ? items : items.map(copyOf);
    if (v.shared === 'array') {
      fields[k] = records;
      continue;
    }
    const keys = joinChunks(v.keys);
    const map = new Map();
    for (let i = 0; i < keys.length; i++) map.set(keys[i], records[i]);
    fields[k] = map;
  }
  Object.assign(o, fields);
}

/**
 * The binlog files as checkpoints keep them: each file as the chunks written between two checkpoints,
 * so a checkpoint shares with the one before it every byte both hold (a file only grows, until removed).
 */
export class BinlogCopier {
  /** For each file's list of writes (the storage's own), how many writes the last checkpoint took and its chunks. */
  private readonly seen = new WeakMap<readonly Uint8Array[], { writes: number; chunks: Uint8Array[] }>();

  /** Takes the files' writes as chunks already kept (a storage made of a checkpoint's chunks): the next checkpoint shares them. */
  keep(parts: ReadonlyMap<number, readonly Uint8Array[]>): void {
    for (const writes of parts.values()) this.seen.set(writes, { writes: writes.length, chunks: writes.slice() });
  }

  files(parts: ReadonlyMap<number, readonly Uint8Array[]>): { seq: number; chunks: Uint8Array[] }[] {
    return [...parts].map(([seq, writes]) => {
      const last = this.seen.get(writes);
      const chunks = last && last.writes <= writes.length ? last.chunks.slice() : [];
      const from = last && last.writes <= writes.length ? last.writes : 0;
      if (writes.length > from) chunks.push(joinBytes(writes.slice(from)));
      this.seen.set(writes, { writes: writes.length, chunks });
      return { seq, chunks };
    });
  }
}

/** Jobs by id range in a chunk of engine jobs: a change to a job (or its end) changes its own chunk only. */
const JOB_IDS_PER_CHUNK = 256;

const columnsOf = (c: JobColumns) => (Object.keys(c) as (keyof JobColumns)[]).filter((k): k is Exclude<keyof JobColumns, 'count' | 'bodies'> => k !== 'count' && k !== 'bodies');

/**
 * An engine snapshot's jobs as checkpoints keep them: in chunks by id range, each the very chunk the last
 * checkpoint kept for that range where all its jobs are unchanged. A queue holding thousands of jobs
 * then costs each checkpoint only the chunks whose jobs changed since the one before.
 */
export class JobChunker {
  private last = new Map<number, JobColumns>();

  /** Takes `chunks` (a restored checkpoint's) as the last kept: the next checkpoint shares what is unchanged. */
  keep(chunks: readonly JobColumns[]): void {
    this.last = new Map(chunks.map((c) => [Math.floor(c.id[0] / JOB_IDS_PER_CHUNK), c]));
  }

  chunks(jobs: JobColumns): JobColumns[] {
    const out: JobColumns[] = [];
    const next = new Map<number, JobColumns>();
    const columns = columnsOf(jobs);
    for (let i = 0, body = 0; i < jobs.count; ) {
      const key = Math.floor(jobs.id[i] / JOB_IDS_PER_CHUNK);
      let j = i;
      let bodyEnd = body;
      while (j < jobs.count && Math.floor(jobs.id[j] / JOB_IDS_PER_CHUNK) === key) bodyEnd += jobs.bytes[j++];
      const before = this.last.get(key);
      const chunk = before && sameJobs(jobs, columns, i, j, body, bodyEnd, before) ? before : sliceJobs(jobs, columns, i, j, body, bodyEnd);
      next.set(key, chunk);
      out.push(chunk);
      i = j;
      body = bodyEnd;
    }
    this.last = next;
    return out;
  }
}

function sliceJobs(c: JobColumns, columns: ReturnType<typeof columnsOf>, from: number, to: number, bodyFrom: number, bodyTo: number): JobColumns {
  const out = { ...c, count: to - from, bodies: c.bodies.slice(bodyFrom, bodyTo) };
  for (const k of columns) (out as Record<string, unknown>)[k] = c[k].slice(from, to);
  return out;
}

function sameJobs(c: JobColumns, columns: ReturnType<typeof columnsOf>, from: number, to: number, bodyFrom: number, bodyTo: number, chunk: JobColumns): boolean {
  if (chunk.count !== to - from || chunk.bodies.length !== bodyTo - bodyFrom) return false;
  for (const k of columns) {
    const a = c[k];
    const b = chunk[k];
    for (let i = 0; i < chunk.count; i++) if (a[from + i] !== b[i]) return false;
  }
  for (let i = 0; i < chunk.bodies.length; i++) if (c.bodies[bodyFrom + i] !== chunk.bodies[i]) return false;
  return true;
}

/** A JobColumns like `c` with no jobs: what a checkpoint's engine keeps in place of its jobs. */
export const noJobs = (c: JobColumns): JobColumns => sliceJobs(c, columnsOf(c), 0, 0, 0, 0);

/** The jobs of `chunks` as one JobColumns (new arrays: the engine restored from them owns them); `none` is an empty one. */
export function joinJobs(none: JobColumns, chunks: readonly JobColumns[]): JobColumns {
  const count = chunks.reduce((n, c) => n + c.count, 0);
  const out = { ...none, count, bodies: joinBytes(chunks.map((c) => c.bodies)) };
  for (const k of columnsOf(none)) {
    const all = new (none[k].constructor as new (n: number) => typeof none[typeof k])(count);
    let at = 0;
    for (const c of chunks) {
      (all as Float64Array).set(c[k] as Float64Array, at);
      at += c.count;
    }
    (out as Record<string, unknown>)[k] = all;
  }
  return out;
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
