// A run as data: the trace of every processed event (messages, engine timers, the student's actions,
// the cluster's notes), the actions themselves (each at the event count it was taken at), and the
// exported file (RunRecord) that replays them. Entries carry what happened as data (the action, the node,
// the connection, the job a RESERVED handed out); labels are made from that data by one function.
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import type { NodeConfig } from '../nodes/messages.ts';
import { faultLabel } from './faults.ts';
import { GrowingList } from './growing-list.ts';

export interface TraceEntry {
  /** Position in the run: the n-th processed event. */
  n: number;
  at: number;
  /**
   * Messages between a node and the queue server (to-server, to-node) or the key-value store (to-store,
   * from-store); engine timers; the student's actions and the cluster's notes (an action without `action`).
   */
  kind: 'to-server' | 'to-node' | 'to-store' | 'from-store' | 'timer' | 'action';
  /** The node a message went to or came from; for an action, the node it acted on (the one added, for add-node). */
  node?: number;
  /** The node's connection number, for a message on a connection. */
  conn?: number;
  /** The action taken, as data (views read this, never the label). */
  action?: ClusterAction;
  /** The job a `RESERVED <job>` reply delivered to the node handed it. */
  job?: number;
  /** What happened, as shown: the message (its first 200 chars), or the action's label. */
  text: string;
}

/** A student's action, as data: replaying a run re-applies each at the same event position. */
export type ClusterAction =
  | { op: 'add-node'; name: string; config: NodeConfig }
  | { op: 'add-store' }
  | { op: 'kill' | 'hang' | 'restart' | 'drop'; node: number }
  | { op: 'remove'; node: number }
  | { op: 'slow'; node: number; factor: number }
  | { op: 'latency'; node: number; ms: number }
  /** A producer's backup tasks switched on or off. */
  | { op: 'backup-tasks'; node: number; on: boolean }
  /** The "wrong results" fault: the node falsifies a share `rate` of its results (0: honest; 1 if not given). */
  | { op: 'cheat'; node: number; rate?: number }
  /** Verify results: re-run a share `fraction` of the jobs on a second node, and exclude a node caught. */
  | { op: 'verify'; fraction: number }
  | { op: 'crash-server' }
  /** Bytes one of the page's own connections (the console, rq) sent to the queue server. */
  | { op: 'page-input'; conn: string; text: string }
  | { op: 'restart-server'; binlog: boolean };

export interface RecordedAction {
  /** Events processed before the action was taken. */
  n: number;
  /** Cluster time it was taken at (between events, while time runs). */
  at: number;
  action: ClusterAction;
}

export interface RunRecord {
  format: 'beanlab-run';
  /** 2: trace entries carry their action and the job a RESERVED delivered; 1 had only their text. */
  version: 2;
  seed: number;
  mode: 'virtual' | 'live';
  latency: number;
  binlog: boolean;
  /** Events processed in the run. */
  events: number;
  actions: RecordedAction[];
  trace: TraceEntry[];
  /**
   * The run's branches (time travel: a new action taken at an earlier event forks the run), when it has
   * more than one. The record itself is the branch that was on screen, `branches[branch]`.
   */
  branches?: BranchRecord[];
  branch?: number;
}

/** A branch of a run, as exported. */
export interface BranchRecord {
  /** What it is, as the branch list shows it ("hang worker 2 at 3.1 s"). */
  label: string;
  /** The branch it forked from (its index in `branches`), and the event it forked at; null for the first. */
  parent: number | null;
  forkAt: number | null;
  /** Its run; absent for the branch the file's own record is. */
  run?: RunRecord;
}

export const textOf = (b: Uint8Array) => {
  const s = latin1(b, 0, Math.min(b.length, 200));
  return (s.length < b.length ? s + '…' : s).replace(/\r\n$/, '').replace(/\r\n/g, '⏎');
};

/** The job a reply hands out (`RESERVED <id> <bytes>`), read once where the reply is recorded. */
export function reservedJob(bytes: Uint8Array): number | undefined {
  const m = /^RESERVED (\d+) /.exec(latin1(bytes, 0, Math.min(bytes.length, 40)));
  return m ? Number(m[1]) : undefined;
}

/** An action in words, as the trace and the timeline show it; `name` is the name of the node it acts on. */
export function actionLabel(a: ClusterAction, name = ''): string {
  switch (a.op) {
    case 'add-node':
      return `add ${a.name}`;
    case 'add-store':
      return 'add the key-value store';
    case 'remove':
      return `remove ${name}`;
    case 'page-input':
      return `${a.conn}: ${textOf(latin1Bytes(a.text))}`;
    case 'verify':
      return a.fraction ? `verify ${Math.round(a.fraction * 100)}% of the results` : 'stop verifying results';
    default:
      return faultLabel(a, name);
  }
}


/** Records a run as it goes: its trace and the student's actions. */
export class RunLog {
  /** `trace` and `actions`: a run's up to some point, to go on from (a restored checkpoint). */
  constructor(
    readonly trace = GrowingList.of<TraceEntry>(),
    readonly actions: RecordedAction[] = [],
  ) {}

  /** An event at `at` (cluster ms): a message, the timers that fired, or a note (an action entry without an action). */
  record(at: number, kind: TraceEntry['kind'], node: number | undefined, conn: number | undefined, text: string, job?: number): void {
    const e: TraceEntry = { n: this.trace.length, at, kind, node, conn, text };
    if (job !== undefined) e.job = job;
    this.trace.push(e);
  }

  /** The student's action `a`, taken after `events` events at clock time `clockAt` (cluster ms `at`), on node `on` if it acts on one. */
  action(events: number, clockAt: number, at: number, a: ClusterAction, on?: { id: number; name: string }): void {
    this.actions.push({ n: events, at: clockAt, action: structuredClone(a) });
    this.trace.push({ n: this.trace.length, at, kind: 'action', node: on?.id, action: structuredClone(a), text: actionLabel(a, on?.name) });
  }

  /** The run as JSON-ready data: enough to replay it (seed, mode, actions) and to check it (trace). */
  export(run: Pick<RunRecord, 'seed' | 'mode' | 'latency' | 'binlog' | 'events'>): RunRecord {
    return { format: 'beanlab-run', version: 2, seed: run.seed, mode: run.mode, latency: run.latency, binlog: run.binlog, events: run.events, actions: this.actions, trace: this.trace.toArray() };
  }
}

export function parseRun(json: string): RunRecord {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`not a beanlab run: ${(err as Error).message}`);
  }
  return checkRun(data);
}

/** `data` as a run, or an error saying what it lacks. */
function checkRun(data: unknown): RunRecord {
  const r = data as Partial<Omit<RunRecord, 'version'>> & { version?: unknown };
  if (r?.format !== 'beanlab-run' || (r.version !== 1 && r.version !== 2)) throw new Error('not a beanlab run (format "beanlab-run", version 1 or 2 expected)');
  if (r.mode !== 'virtual') throw new Error('only runs in virtual time can be replayed: live runs depend on real timing');
  if (!Array.isArray(r.actions) || !Array.isArray(r.trace) || typeof r.seed !== 'number' || typeof r.events !== 'number') {
    throw new Error('a beanlab run needs seed, events, actions and trace');
  }
  if (!r.actions.every((a) => typeof a?.n === 'number' && typeof a.at === 'number' && typeof a.action?.op === 'string')) {
    throw new Error('every action of a beanlab run needs n, at and action');
  }
  if (r.branches !== undefined) {
    const count = Array.isArray(r.branches) ? r.branches.length : 0;
    const isBranch = (p: unknown) => p === null || (Number.isInteger(p) && (p as number) >= 0 && (p as number) < count);
    if (!count || !Number.isInteger(r.branch) || !isBranch(r.branch) || (r.branches as BranchRecord[])[r.branch as number].run) {
      throw new Error("a beanlab run's branches need a list and the index of the file's own branch (which has no run of its own)");
    }
    r.branches = (r.branches as BranchRecord[]).map((b, i) => {
      if (typeof b?.label !== 'string' || !isBranch(b.parent) || !(b.forkAt === null || typeof b.forkAt === 'number')) {
        throw new Error(`branch ${i} of this beanlab run needs label, parent and forkAt`);
      }
      return b.run === undefined ? b : { ...b, run: checkRun(b.run) };
    });
  }
  return r.version === 1 ? fromVersion1(r as unknown as RunRecordV1) : (r as RunRecord);
}

/** A run exported before trace entries carried their action: actions were only labels in the trace. */
type RunRecordV1 = Omit<RunRecord, 'version'> & { version: 1 };

/**
 * A version-1 run as version 2: each action entry of its trace gets the recorded action it labels (they
 * came in the same order; the cluster's notes, `binlog: …`, have none) and the node it acted on, and
 * each RESERVED delivered to a node the job it handed out. A trace whose labels do not follow its actions
 * cannot be converted: the error says so.
 */
function fromVersion1(r: RunRecordV1): RunRecord {
  const actions = r.actions.map((a) => a.action);
  const names = new Map<number, string>();
  let next = 0;
  let nodes = 0;
  const trace = r.trace.map((e): TraceEntry => {
    if (e.kind === 'to-node' && e.text.startsWith('RESERVED ')) return { ...e, job: Number(e.text.split(' ', 2)[1]) };
    if (e.kind !== 'action' || e.text.startsWith('binlog: ')) return e;
    const a = actions[next++];
    const node = a?.op === 'add-node' ? ++nodes : a && 'node' in a ? a.node : undefined;
    if (a?.op === 'add-node') names.set(node as number, a.name);
    const label = a && actionLabel(a, node === undefined ? undefined : names.get(node));
    if (label !== e.text) {
      throw new Error(`this run was saved by an older beanlab (run format version 1) and cannot be converted: trace entry ${e.n} "${e.text}" matches none of its recorded actions`);
    }
    return { n: e.n, at: e.at, kind: 'action', node, action: a, text: e.text };
  });
  return { ...r, version: 2, trace };
}
