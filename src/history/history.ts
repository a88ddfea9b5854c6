// The job history: every job's record, kept by the simulator beside the queue server, the way Ruby
// Queue (rq) keeps one. beanstalkd forgets a job once it is deleted; the history remembers who put it,
// who ran it, how often it was tried and how it ended. It is built from the engine's event stream (the
// connection names tell which node owns which connection) and from the nodes' reports (results and
// exit status). It belongs to the simulator, not to the server: a crash does not erase it, and jobs a
// crash loses (no binlog) are marked lost.
import type { EngineEvent, JobEvent } from '../engine/events.ts';
import type { JobState } from '../engine/types.ts';
import type { NodeReport } from '../nodes/messages.ts';

/** rq's words for a job's state. */
export type RqState = 'pending' | 'holding' | 'running' | 'finished' | 'dead';
export const RQ_STATES: readonly RqState[] = ['pending', 'holding', 'running', 'finished', 'dead'];

/** Where the job is in beanstalkd terms: in the server, deleted from it, or lost with it in a crash. */
export type QueueState = JobState | 'deleted' | 'lost';
export const QUEUE_STATES: readonly QueueState[] = ['ready', 'delayed', 'reserved', 'buried', 'deleted', 'lost'];

/** One step of a job's life. `node` is the node (or console) that caused it, when one did. */
export interface LifecycleStep {
  /** ms since the run started. */
  at: number;
  what: string;
  node: string | null;
}

export interface JobRecord {
  /** Unique in the history (rq's jid): beanstalkd reuses ids after a restart without binlog. */
  key: number;
  /** beanstalkd's job id. */
  id: number;
  pri: number;
  tube: string;
  /** ms */
  ttr: number;
  queueState: QueueState;
  state: RqState;
  /** ms since the run started. */
  submitted: number;
  /** When the latest attempt began (its reserve). */
  started: number | null;
  /** When it was deleted (finished), or buried after failing / lost (dead). */
  finished: number | null;
  submitter: string | null;
  /** Node that ran (or runs) the latest attempt. */
  runner: string | null;
  reserves: number;
  timeouts: number;
  releases: number;
  /** Came back because its runner's connection closed (a killed worker, a dropped link). */
  returns: number;
  /** 0 when its task succeeded, 1 when it failed; null while nobody reported. */
  exitStatus: number | null;
  /** The worker's result text, or the error of a failed task. */
  result: string | null;
  tag: string | null;
  /** The job body (shortened): what the job asks for, rq's `command`. */
  command: string;
  /** Read from a file rather than seen in this run. */
  imported: boolean;
  steps: LifecycleStep[];
  /** The result check's verdict, for a job it picked. */
  check?: ResultVerdict;
}

/** What the host's result check found (src/sim/verify.ts): `by` re-ran the job's task outside the queue. */
export type ResultVerdict =
  /** `overruled`: a first re-run disagreed, and this one (by a third machine) showed that re-run was the bad result. */
  | { verdict: 'agreed'; by: string; claimed: string; rerun: string; overruled?: { by: string; rerun: string } }
  /** `confirmedBy`: a third machine's re-run gave what `by`'s did. */
  | { verdict: 'disagreed'; by: string; claimed: string; rerun: string; confirmedBy?: string }
  | { verdict: 'unchecked'; why: string };

/** Longest job body kept as a record's command. */
const COMMAND_CHARS = 120;

/** The rq state of a job from its queue state and whether its task failed. */
export function rqState(q: QueueState, exitStatus: number | null): RqState {
  switch (q) {
    case 'ready':
      return 'pending';
    case 'delayed':
      return 'holding';
    case 'reserved':
      return 'running';
    case 'buried':
      return exitStatus !== null && exitStatus !== 0 ? 'dead' : 'holding';
    case 'deleted':
      return 'finished';
    case 'lost':
      return 'dead';
  }
}

/** ms -> seconds, for showing. */
export const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

/** Elapsed time of the latest attempt (ms), once it ended. */
export const elapsed = (r: JobRecord) => (r.started !== null && r.finished !== null && r.finished >= r.started ? r.finished - r.started : null);

const STEP_WORDS: Record<JobEvent['action'], string> = {
  put: 'put',
  reserved: 'reserved',
  released: 'released',
  buried: 'buried',
  kicked: 'kicked',
  touched: 'touched',
  deleted: 'deleted',
  'timed-out': 'TTR expired',
  returned: 'returned (connection closed)',
  'delay-ended': 'delay ended',
  recovered: 'recovered from the binlog',
};

/** `node`'s latest reserve of the job, if it ever reserved it. */
function lastReserve(r: JobRecord, node: string | null): LifecycleStep | null {
  for (let k = r.steps.length - 1; k >= 0; k--) if (r.steps[k].what === STEP_WORDS.reserved && r.steps[k].node === node) return r.steps[k];
  return null;
}

export class JobHistory {
  /** Every record, oldest first: in key order (a record is found by its key in it, with no map to copy in each checkpoint). */
  readonly records: JobRecord[] = [];
  /** Bumped on every change: views recompute when it moves. */
  version = 0;
  /** The newest record for each beanstalkd id (reports and rq commands name jobs by id). */
  private readonly byId = new Map<number, JobRecord>();
  /** Jobs the running server holds, by id. */
  private live = new Map<number, JobRecord>();
  /** Jobs the server held when it crashed: the binlog may bring them back. */
  private inDoubt = new Map<number, JobRecord>();
  private connNames = new Map<number, string>();
  /** The node that owns an engine connection (the cluster knows), null for one of its own (the console). */
  private ownerOf: (conn: number) => string | null = () => null;
  private nextKey = 1;

  constructor(
    /** Engine ms at which the run started: records keep times relative to it. */
    private readonly origin = 0,
    /** The body of a job the engine holds, for the record's command. */
    private body: (id: number) => string | null = () => null,
  ) {}

  /** The server (re)started: bodies now come from this engine, and `ownerOf` names its connections' nodes. */
  attach(body: (id: number) => string | null, ownerOf: (conn: number) => string | null = () => null): void {
    this.body = body;
    this.ownerOf = ownerOf;
    this.connNames.clear();
  }

  private changed(): void {
    this.version++;
  }

  get(key: number): JobRecord | undefined {
    const r = this.records[this.indexOf(key)];
    return r?.key === key ? r : undefined;
  }

  /** Where the record with key `key` is in `records`, or would be. */
  private indexOf(key: number): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid].key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The newest record of beanstalkd job `id`. */
  byJobId(id: number): JobRecord | undefined {
    return this.byId.get(id);
  }

  /** Is this record's job still in the running server? */
  isLive(r: JobRecord): boolean {
    return this.live.get(r.id) === r;
  }

  apply(e: EngineEvent): void {
    if (e.kind === 'conn') {
      if (e.action === 'opened') this.connNames.set(e.conn, e.name);
      // Only open connections act on jobs: a run whose workers connect anew for each job (the seed's
      // worker.py) would otherwise keep every name, and copy them all in every checkpoint and restore.
      else if (e.action === 'closed') this.connNames.delete(e.conn);
      return;
    }
    if (e.kind !== 'job') return;
    const at = e.at - this.origin;
    const node = e.conn === null ? null : (this.ownerOf(e.conn) ?? this.connNames.get(e.conn) ?? `connection ${e.conn}`);
    let r = this.live.get(e.id);
    if (e.action === 'put' || (e.action === 'recovered' && !r)) {
      r = e.action === 'recovered' ? this.inDoubt.get(e.id) : undefined;
      if (r) this.inDoubt.delete(e.id);
      else r = this.create(e, at, e.action === 'put' ? node : null);
      this.live.set(e.id, r);
      this.byId.set(e.id, r);
    }
    if (!r) return;
    r = this.writable(r);
    this.step(r, at, STEP_WORDS[e.action], node);
    r.pri = e.pri;
    switch (e.action) {
      case 'reserved':
        r.reserves++;
        r.started = at;
        r.finished = null;
        // A new attempt: its own outcome decides the exit status.
        r.exitStatus = null;
        r.runner = node;
        break;
      case 'released':
        r.releases++;
        break;
      case 'timed-out':
        r.timeouts++;
        break;
      case 'returned':
        r.returns++;
        break;
      case 'kicked':
        r.finished = null;
        break;
      case 'deleted': {
        r.finished = at;
        this.live.delete(e.id);
        // A worker still running after its TTR ran out may delete the job another has reserved since
        // (once that one's TTR ran out too): the deleter finished it, in the attempt it reserved.
        if (node !== r.runner) {
          const attempt = lastReserve(r, node);
          if (attempt) {
            r.runner = node;
            r.started = attempt.at;
          }
        }
        break;
      }
    }
    r.queueState = e.state;
    if (e.state === 'buried' && r.exitStatus !== null && r.exitStatus !== 0) r.finished = at;
    r.state = rqState(r.queueState, r.exitStatus);
    this.changed();
  }

  /**
   * `r`, ready to change: a record a checkpoint shares (time travel restores records frozen and copies
   * one only when it changes) is replaced, wherever it is held, by a copy of its own.
   */
  private writable(r: JobRecord): JobRecord {
    if (!Object.isFrozen(r)) return r;
    const copy = structuredClone(r);
    const at = this.indexOf(r.key);
    if (this.records[at] === r) this.records[at] = copy;
    if (this.byId.get(r.id) === r) this.byId.set(r.id, copy);
    if (this.live.get(r.id) === r) this.live.set(r.id, copy);
    if (this.inDoubt.get(r.id) === r) this.inDoubt.set(r.id, copy);
    return copy;
  }

  private create(e: JobEvent, at: number, submitter: string | null): JobRecord {
    const body = this.body(e.id) ?? '';
    const r: JobRecord = {
      key: this.nextKey++,
      id: e.id,
      pri: e.pri,
      tube: e.tube,
      ttr: e.ttr,
      queueState: e.state === 'deleted' ? 'deleted' : e.state,
      state: 'pending',
      submitted: at,
      started: null,
      finished: null,
      submitter,
      runner: null,
      reserves: 0,
      timeouts: 0,
      releases: 0,
      returns: 0,
      exitStatus: null,
      result: null,
      tag: null,
      command: body.length > COMMAND_CHARS ? body.slice(0, COMMAND_CHARS) + '…' : body,
      imported: false,
      steps: [],
    };
    this.records.push(r);
    return r;
  }

  private step(r: JobRecord, at: number, what: string, node: string | null): void {
    r.steps.push({ at, what, node });
  }

  /** A node's report: a task's result (exit status 0) or its failure (1). */
  report(node: string, report: NodeReport, atMs: number): void {
    if (report.kind !== 'task-done' && report.kind !== 'task-failed') return;
    const held = this.byId.get(report.job);
    if (!held) return;
    const r = this.writable(held);
    const at = atMs - this.origin;
    if (r.queueState === 'deleted' && node !== r.runner) {
      // A late attempt's outcome (its TTR ran out, and the runner has finished the job): part of the
      // job's life, not its result.
      this.step(r, at, report.kind === 'task-done' ? `task done too${report.result ? `: ${report.result}` : ''}` : `task failed too: ${report.error}`, node);
      this.changed();
      return;
    }
    if (report.kind === 'task-done') {
      r.exitStatus = 0;
      r.result = report.result ?? null;
      this.step(r, at, `task done${report.result ? `: ${report.result}` : ''}`, node);
    } else {
      r.exitStatus = 1;
      r.result = report.error;
      this.step(r, at, `task failed: ${report.error}`, node);
    }
    r.state = rqState(r.queueState, r.exitStatus);
    if (r.state === 'dead' && r.finished === null) r.finished = at;
    this.changed();
  }

  /** The result check's verdict on record `key`'s result (the job may be long deleted). */
  checked(key: number, v: ResultVerdict, atMs: number): void {
    const held = this.get(key);
    if (!held) return;
    const r = this.writable(held);
    r.check = v;
    const at = atMs - this.origin;
    if (v.verdict === 'unchecked') this.step(r, at, `result not checked: ${v.why}`, null);
    else if (v.verdict === 'disagreed') this.step(r, at, `result disagreed: ${v.claimed} given, ${v.rerun} from a re-run${v.confirmedBy ? ` by ${v.confirmedBy} and` : ''}`, v.by);
    else {
      if (v.overruled) this.step(r, at, `re-run by ${v.overruled.by} disagreed: ${v.overruled.rerun}, not ${v.claimed}; a third re-run decides`, null);
      this.step(r, at, 'result verified: the same result from a re-run', v.by);
    }
    this.changed();
  }

  /** Labels a job (rq's tag); the submitter knows it, the queue server does not. */
  tag(id: number, tag: string | null): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.writable(r).tag = tag;
    this.changed();
  }

  /** The server crashed: what it held may come back from the binlog, or is lost. */
  serverDown(atMs: number): void {
    const at = atMs - this.origin;
    for (const [id, held] of this.live) {
      const r = this.writable(held);
      this.step(r, at, 'server crashed', null);
      this.inDoubt.set(id, r);
    }
    this.live = new Map();
    this.changed();
  }

  /** The server is back (after replaying its binlog, if any): jobs it did not recover are lost. */
  serverUp(atMs: number): void {
    const at = atMs - this.origin;
    for (const held of this.inDoubt.values()) {
      const r = this.writable(held);
      r.queueState = 'lost';
      r.state = 'dead';
      r.finished = at;
      r.result ??= 'lost: the server crashed without a binlog';
      this.step(r, at, 'lost (the server restarted without it)', null);
    }
    this.inDoubt = new Map();
    this.changed();
  }

  /** Forgets records (rq delete of finished or dead jobs). */
  remove(keys: Iterable<number>): number {
    const gone = new Set(keys);
    if (!gone.size) return 0;
    let kept = 0;
    for (const r of this.records) {
      if (gone.has(r.key)) {
        if (this.byId.get(r.id) === r) this.byId.delete(r.id);
        if (this.live.get(r.id) === r) this.live.delete(r.id);
        continue;
      }
      this.records[kept++] = r;
    }
    const removed = this.records.length - kept;
    this.records.length = kept;
    this.changed();
    return removed;
  }

  /** Adds records read from a file; they get keys of their own and stay apart from the live queue. */
  addImported(records: Omit<JobRecord, 'key' | 'imported'>[]): JobRecord[] {
    const added = records.map((r) => ({ ...r, key: this.nextKey++, imported: true }));
    for (const r of added) this.records.push(r);
    this.changed();
    return added;
  }
}
