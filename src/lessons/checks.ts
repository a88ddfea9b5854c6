// The conditions a lesson step can wait for, by name. A lesson file names a check and gives its
// arguments as plain data (`tube-jobs: { tube: msg_for_worker, state: ready, count: 4 }`); this table
// is the whole vocabulary, so a lesson never runs code of its own. Each check reads the live run: the
// queue model, the nodes, the job history, the student's console and the speedup experiment.
import type { Cluster } from '../sim/cluster.ts';
import type { SpeedupPoint } from '../sim/experiment.ts';
import type { BackupStats, NodeReport } from '../nodes/messages.ts';
import { DEFAULT_SCENARIOS, type Scenario } from '../sim/scenario.ts';
import { RQ_STATES, type RqState } from '../history/history.ts';
import { queueFigures, queueVisits } from '../sim/queueing.ts';
import { RECORD_KINDS, decodeBinlog, type RecordKind } from '../engine/binlog-records.ts';

/** What the lesson's checks may look at. */
export interface CheckContext {
  cluster: Cluster;
  /** Console lines since the step began: what the student typed (`in`) and what the server replied (`out`). */
  console: readonly { kind: string; text: string }[];
  /** The last speedup experiment's measurements. */
  speedup: readonly SpeedupPoint[];
  /** The scenario the run was started from. */
  scenario: Scenario;
}

export interface CheckDef<A> {
  /** The argument, as the lesson file gives it, checked and normalised; throws an Error saying what is wrong. */
  parse(raw: unknown): A;
  /** The check in words, shown beside its tick in the lesson pane. */
  describe(a: A): string;
  holds(ctx: CheckContext, a: A): boolean;
}

/** A loaded check: its name, its parsed argument and the line of the lesson file it came from. */
export interface Check {
  name: CheckName;
  args: unknown;
  text: string;
  line: number;
}

/** "exactly n" or "at least n". */
interface Amount {
  count?: number;
  min?: number;
}

const JOB_STATES = ['ready', 'delayed', 'reserved', 'buried', 'deleted'] as const;
type JobStateName = (typeof JOB_STATES)[number];
const OUTCOMES = ['deleted', 'released', 'buried', 'timed-out', 'returned'] as const;
type Outcome = (typeof OUTCOMES)[number];
const NODE_STATES = ['running', 'hung', 'dead', 'idle', 'waiting', 'working', 'sending', 'sleeping', 'done', 'failed'] as const;
type NodeStateName = (typeof NODE_STATES)[number];

// ---- argument parsing ---------------------------------------------------------------------------

function record(raw: unknown, keys: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`expected a map with ${required.map((k) => `"${k}"`).join(', ')}`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!keys.includes(k)) throw new Error(`unknown field "${k}" (allowed: ${keys.join(', ')})`);
  for (const k of required) if (r[k] === undefined || r[k] === null) throw new Error(`missing field "${k}"`);
  return r;
}

function text(v: unknown, what: string): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || !v.trim()) throw new Error(`${what} must be some text`);
  return v;
}

function whole(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${what} must be a whole number ≥ ${min}, not ${JSON.stringify(v)}`);
  return v;
}

function positive(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${what} must be a number > 0, not ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, options: readonly T[], what: string): T {
  if (typeof v !== 'string' || !options.includes(v as T)) throw new Error(`${what} must be one of ${options.join(', ')}, not ${JSON.stringify(v)}`);
  return v as T;
}

function amount(r: Record<string, unknown>): Amount {
  if (r.count !== undefined && r.min !== undefined) throw new Error('give "count" (exactly) or "min" (at least), not both');
  if (r.count === undefined && r.min === undefined) throw new Error('missing field "count" (exactly) or "min" (at least)');
  return r.count !== undefined ? { count: whole(r.count, 'count') } : { min: whole(r.min, 'min') };
}

const meets = (n: number, a: Amount) => (a.count !== undefined ? n === a.count : n >= (a.min ?? 0));
const amountText = (a: Amount, one: string, many: string) => {
  const n = a.count ?? a.min ?? 0;
  return `${a.count !== undefined ? '' : 'at least '}${n} ${n === 1 ? one : many}`;
};

// ---- reading the run ----------------------------------------------------------------------------

function nodeNamed(ctx: CheckContext, name: string) {
  for (const n of ctx.cluster.nodes.values()) if (n.name === name) return n;
  return undefined;
}

function producerDone(ctx: CheckContext): Extract<NodeReport, { kind: 'producer-done' }> | undefined {
  for (const n of ctx.cluster.nodes.values()) {
    const r = n.reports.find((x): x is Extract<NodeReport, { kind: 'producer-done' }> => x.kind === 'producer-done');
    if (r) return r;
  }
  return undefined;
}

/** What backup tasks have cost the producer so far: its latest count (none before it reports one). */
function backupStats(ctx: CheckContext): BackupStats | undefined {
  for (const n of ctx.cluster.nodes.values()) {
    const r = n.reports.filter((x): x is Extract<NodeReport, { kind: 'backup-tasks' }> => x.kind === 'backup-tasks');
    if (r.length) return r[r.length - 1];
  }
  return undefined;
}

/** Lines the server wrote to the console since the step began, one reply line at a time. */
function replyLines(ctx: CheckContext): string[] {
  return ctx.console.filter((l) => l.kind === 'out').flatMap((l) => l.text.split('\n'));
}

// ---- the checks ---------------------------------------------------------------------------------

const consoleReply: CheckDef<string> = {
  parse: (raw) => text(raw, 'the reply'),
  describe: (r) => `the console has seen the reply ${r}`,
  holds: (ctx, r) => replyLines(ctx).some((l) => l.startsWith(r)),
};

const consoleSent: CheckDef<string> = {
  parse: (raw) => text(raw, 'the command'),
  describe: (c) => `you sent ${c} from the console`,
  holds: (ctx, c) => ctx.console.some((l) => l.kind === 'in' && l.text.trim().startsWith(c)),
};

const jobState: CheckDef<{ job: number; state: JobStateName }> = {
  parse: (raw) => {
    const r = record(raw, ['job', 'state'], ['job', 'state']);
    return { job: whole(r.job, 'job', 1), state: oneOf(r.state, JOB_STATES, 'state') };
  },
  describe: (a) => `job ${a.job} is ${a.state}`,
  holds: (ctx, a) => ctx.cluster.history.byJobId(a.job)?.queueState === a.state,
};

const tubeJobs: CheckDef<{ tube?: string; state: JobStateName; amount: Amount }> = {
  parse: (raw) => {
    const r = record(raw, ['tube', 'state', 'count', 'min'], ['state']);
    const state = oneOf(r.state, JOB_STATES, 'state');
    if (state === 'deleted') throw new Error('state must be one a job in a tube can have: ready, delayed, reserved or buried');
    return { tube: r.tube === undefined ? undefined : text(r.tube, 'tube'), state, amount: amount(r) };
  },
  describe: (a) => `${a.tube ? `tube ${a.tube}` : 'the server'} has ${amountText(a.amount, `${a.state} job`, `${a.state} jobs`)}`,
  holds: (ctx, a) => {
    const model = ctx.cluster.model;
    if (!ctx.cluster.serverUp) return false;
    const state = a.state as Exclude<JobStateName, 'deleted'>;
    const n = a.tube ? (model.tubes.get(a.tube)?.counts[state] ?? 0) : model.totals()[state];
    return meets(n, a.amount);
  },
};

const nodeState: CheckDef<{ node: string; is: NodeStateName }> = {
  parse: (raw) => {
    const r = record(raw, ['node', 'is'], ['node', 'is']);
    return { node: text(r.node, 'node'), is: oneOf(r.is, NODE_STATES, 'is') };
  },
  describe: (a) => `${a.node} is ${a.is}`,
  holds: (ctx, a) => {
    const n = nodeNamed(ctx, a.node);
    if (!n) return false;
    if (a.is === 'running' || a.is === 'hung' || a.is === 'dead') return n.life === a.is;
    return n.life === 'running' && n.status.state === a.is;
  },
};

const workers: CheckDef<Amount> = {
  parse: (raw) => amount(record(raw, ['count', 'min'], [])),
  describe: (a) => `the cluster has ${amountText(a, 'running worker', 'running workers')}`,
  holds: (ctx, a) => meets([...ctx.cluster.nodes.values()].filter((n) => n.role === 'worker' && n.life === 'running').length, a),
};

const producerFinished: CheckDef<true> = {
  parse: (raw) => {
    if (raw !== true && raw !== null) throw new Error('write "producer-done: true"');
    return true;
  },
  describe: () => 'the producer has combined all the results',
  holds: (ctx) => producerDone(ctx) !== undefined,
};

const piWithin: CheckDef<number> = {
  parse: (raw) => positive(raw, 'the tolerance'),
  describe: (tol) => `the producer's π is within ${tol} of π`,
  holds: (ctx, tol) => {
    const e = producerDone(ctx)?.estimate;
    return e !== undefined && Math.abs(e - Math.PI) <= tol;
  },
};

const producerTime: CheckDef<{ min?: number; max?: number }> = {
  parse: (raw) => {
    const r = record(raw, ['min', 'max'], []);
    if (r.min === undefined && r.max === undefined) throw new Error('give "min" (at least) or "max" (at most) seconds, or both');
    return { min: r.min === undefined ? undefined : positive(r.min, 'min'), max: r.max === undefined ? undefined : positive(r.max, 'max') };
  },
  describe: (a) => `the producer had every result after ${[a.min !== undefined ? `at least ${a.min} s` : '', a.max !== undefined ? `at most ${a.max} s` : ''].filter(Boolean).join(' and ')}`,
  holds: (ctx, a) => {
    const s = producerDone(ctx)?.seconds;
    return s !== undefined && s >= (a.min ?? 0) && s <= (a.max ?? Infinity);
  },
};

const backupCopies: CheckDef<Amount> = {
  parse: (raw) => amount(record(raw, ['count', 'min'], [])),
  describe: (a) => `the producer put ${amountText(a, 'backup copy', 'backup copies')}`,
  holds: (ctx, a) => meets(backupStats(ctx)?.copies ?? 0, a),
};

const lateResults: CheckDef<Amount> = {
  parse: (raw) => amount(record(raw, ['count', 'min'], [])),
  describe: (a) => `the producer threw away ${amountText(a, 'late result', 'late results')}`,
  holds: (ctx, a) => meets(backupStats(ctx)?.late ?? 0, a),
};

const piOff: CheckDef<number> = {
  parse: (raw) => positive(raw, 'the distance'),
  describe: (d) => `the producer's π is off by more than ${d}`,
  holds: (ctx, d) => {
    const e = producerDone(ctx)?.estimate;
    return e !== undefined && Math.abs(e - Math.PI) > d;
  },
};

const excluded: CheckDef<string> = {
  parse: (raw) => text(raw, 'the node'),
  describe: (node) => `${node} was excluded for wrong results`,
  holds: (ctx, node) => nodeNamed(ctx, node)?.excluded !== undefined,
};

const VERDICTS = ['agreed', 'disagreed'] as const;

const resultChecks: CheckDef<{ verdict: (typeof VERDICTS)[number]; amount: Amount }> = {
  parse: (raw) => {
    const r = record(raw, ['verdict', 'count', 'min'], ['verdict']);
    return { verdict: oneOf(r.verdict, VERDICTS, 'verdict'), amount: amount(r) };
  },
  describe: (a) => `${amountText(a.amount, 'result', 'results')} ${a.verdict} with a re-run on another node`,
  holds: (ctx, a) => meets(ctx.cluster.checker.totals[a.verdict], a.amount),
};

/** The estimate lies in [min, max]: a wrong answer a lesson wants seen (π/3 from client.py as printed). */
const piEstimate: CheckDef<{ min: number; max: number }> = {
  parse: (raw) => {
    const r = record(raw, ['min', 'max'], ['min', 'max']);
    const min = positive(r.min, 'min');
    const max = positive(r.max, 'max');
    if (max <= min) throw new Error(`max must be more than min (${min}), not ${max}`);
    return { min, max };
  },
  describe: (a) => `the producer's π estimate is between ${a.min} and ${a.max}`,
  holds: (ctx, a) => {
    const e = producerDone(ctx)?.estimate;
    return e !== undefined && e >= a.min && e <= a.max;
  },
};

/** Counted in the binlog files as they lie (what a restart would read, the server up or crashed): the Binlog tab's records. */
const binlogRecords: CheckDef<{ kind: RecordKind; amount: Amount }> = {
  parse: (raw) => {
    const r = record(raw, ['kind', 'count', 'min'], ['kind']);
    return { kind: oneOf(r.kind, RECORD_KINDS, 'kind'), amount: amount(r) };
  },
  describe: (a) => `the binlog holds ${amountText(a.amount, `${a.kind} record`, `${a.kind} records`)}`,
  holds: (ctx, a) => {
    const files = ctx.cluster.binlog.snapshot?.();
    return !!files && meets(decodeBinlog(files).records.filter((r) => r.kind === a.kind).length, a.amount);
  },
};

const resultVerified: CheckDef<true> = {
  parse: (raw) => {
    if (raw !== true && raw !== null) throw new Error('write "result-verified: true"');
    return true;
  },
  describe: () => 'the producer checked its combined result and found it right',
  holds: (ctx) => producerDone(ctx)?.check?.ok === true,
};

const traffic: CheckDef<{ server: 'queue' | 'store'; min?: number; max?: number }> = {
  parse: (raw) => {
    const r = record(raw, ['server', 'min', 'max'], ['server']);
    if (r.min === undefined && r.max === undefined) throw new Error('give "min" (at least) or "max" (at most), or both');
    return {
      server: oneOf(r.server, ['queue', 'store'] as const, 'server'),
      min: r.min === undefined ? undefined : whole(r.min, 'min'),
      max: r.max === undefined ? undefined : whole(r.max, 'max'),
    };
  },
  describe: (a) =>
    `the run sent ${[a.min !== undefined ? `at least ${a.min}` : '', a.max !== undefined ? `at most ${a.max}` : ''].filter(Boolean).join(' and ')} messages to and from the ${a.server === 'queue' ? 'queue server' : 'key-value store'}`,
  holds: (ctx, a) => {
    const n = ctx.cluster.traffic[a.server === 'queue' ? 'server' : 'store'].messages;
    return n >= (a.min ?? 0) && n <= (a.max ?? Infinity);
  },
};

const speedup: CheckDef<{ workers: number; min?: number; max?: number }> = {
  parse: (raw) => {
    const r = record(raw, ['workers', 'min', 'max'], ['workers']);
    if (r.min === undefined && r.max === undefined) throw new Error('give "min" (at least) or "max" (at most), or both');
    return { workers: whole(r.workers, 'workers', 1), min: r.min === undefined ? undefined : positive(r.min, 'min'), max: r.max === undefined ? undefined : positive(r.max, 'max') };
  },
  describe: (a) =>
    `the speedup experiment measured a speedup ${[a.min !== undefined ? `≥ ${a.min}` : '', a.max !== undefined ? `≤ ${a.max}` : ''].filter(Boolean).join(' and ')} with ${a.workers} worker${a.workers === 1 ? '' : 's'}`,
  holds: (ctx, a) => ctx.speedup.some((p) => p.workers === a.workers && p.speedup >= (a.min ?? 0) && p.speedup <= (a.max ?? Infinity)),
};

/** Every field any kind of scenario has. */
const SCENARIO_FIELDS = [...new Set(Object.values(DEFAULT_SCENARIOS).flatMap((d) => Object.keys(d)))];

const scenario: CheckDef<Record<string, string | number | boolean>> = {
  parse: (raw) => {
    const r = record(raw, SCENARIO_FIELDS, []);
    if (!Object.keys(r).length) throw new Error(`give at least one of ${SCENARIO_FIELDS.join(', ')}`);
    for (const [k, v] of Object.entries(r)) if (!['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`${k} must be a number, a word or true/false`);
    return r as Record<string, string | number | boolean>;
  },
  describe: (a) => `the run was started (Reset) with ${Object.entries(a).map(([k, v]) => `${k} = ${v}`).join(', ')}`,
  holds: (ctx, a) => Object.entries(a).every(([k, v]) => (ctx.scenario as unknown as Record<string, unknown>)[k] === v),
};

const server: CheckDef<'up' | 'down'> = {
  parse: (raw) => oneOf(raw, ['up', 'down'] as const, 'server'),
  describe: (s) => (s === 'up' ? 'the queue server is running' : 'the queue server is down'),
  holds: (ctx, s) => ctx.cluster.serverUp === (s === 'up'),
};

const time: CheckDef<'live' | 'virtual'> = {
  parse: (raw) => oneOf(raw, ['live', 'virtual'] as const, 'time'),
  describe: (t) => `the run is in ${t} time`,
  holds: (ctx, t) => ctx.cluster.virtual === (t === 'virtual'),
};

const serverRestarted: CheckDef<'binlog' | 'no-binlog'> = {
  parse: (raw) => oneOf(raw, ['binlog', 'no-binlog'] as const, 'server-restarted'),
  describe: (b) => (b === 'binlog' ? 'the queue server was restarted from its binlog' : 'the queue server was restarted without its binlog'),
  holds: (ctx, b) => ctx.cluster.actions.some(({ action }) => action.op === 'restart-server' && action.binlog === (b === 'binlog')),
};

const failedAndDeleted: CheckDef<Amount> = {
  parse: (raw) => amount(record(raw, ['count', 'min'], [])),
  describe: (a) => `${amountText(a, 'job whose task failed was', 'jobs whose task failed were')} deleted all the same`,
  holds: (ctx, a) => meets(ctx.cluster.history.records.filter((r) => r.queueState === 'deleted' && r.exitStatus !== null && r.exitStatus !== 0).length, a),
};

const reservations: CheckDef<{ outcome: Outcome; amount: Amount }> = {
  parse: (raw) => {
    const r = record(raw, ['outcome', 'count', 'min'], ['outcome']);
    return { outcome: oneOf(r.outcome, OUTCOMES, 'outcome'), amount: amount(r) };
  },
  describe: (a) => `${amountText(a.amount, 'reservation', 'reservations')} ended ${a.outcome === 'deleted' ? 'in a delete' : a.outcome}`,
  holds: (ctx, a) => meets(ctx.cluster.model.reservations.filter((r) => r.outcome === a.outcome).length, a.amount),
};

const executedTwice: CheckDef<Amount> = {
  parse: (raw) => amount(record(raw, ['count', 'min'], [])),
  describe: (a) => `${amountText(a, 'job was', 'jobs were')} run to the end more than once`,
  holds: (ctx, a) => {
    const runs = new Map<number, number>();
    for (const n of ctx.cluster.nodes.values()) for (const r of n.reports) if (r.kind === 'task-done') runs.set(r.job, (runs.get(r.job) ?? 0) + 1);
    return meets([...runs.values()].filter((k) => k > 1).length, a);
  },
};

const rqJobs: CheckDef<{ state: RqState; amount: Amount }> = {
  parse: (raw) => {
    const r = record(raw, ['state', 'count', 'min'], ['state']);
    return { state: oneOf(r.state, RQ_STATES, 'state'), amount: amount(r) };
  },
  describe: (a) => `the job history shows ${amountText(a.amount, `${a.state} job`, `${a.state} jobs`)}`,
  holds: (ctx, a) => meets(ctx.cluster.history.records.filter((r) => r.state === a.state).length, a.amount),
};

const meanWait: CheckDef<{ tube: string; min?: number; max?: number }> = {
  parse: (raw) => {
    const r = record(raw, ['tube', 'min', 'max'], ['tube']);
    if (r.min === undefined && r.max === undefined) throw new Error('give "min" (at least) or "max" (at most) seconds, or both');
    return { tube: text(r.tube, 'tube'), min: r.min === undefined ? undefined : positive(r.min, 'min'), max: r.max === undefined ? undefined : positive(r.max, 'max') };
  },
  describe: (a) => `the jobs of ${a.tube} waited ${[a.min !== undefined ? `≥ ${a.min} s` : '', a.max !== undefined ? `≤ ${a.max} s` : ''].filter(Boolean).join(' and ')} on average (put → first reserve)`,
  holds: (ctx, a) => {
    const f = queueFigures(queueVisits(ctx.cluster.history.records, a.tube), ctx.cluster.now);
    return f.served > 0 && f.meanWait >= (a.min ?? 0) && f.meanWait <= (a.max ?? Infinity);
  },
};

/** Every check a lesson may use. `lessons/README.md` documents each one; keep the two in step. */
export const CHECKS = {
  'console-reply': consoleReply,
  'console-sent': consoleSent,
  'job-state': jobState,
  'tube-jobs': tubeJobs,
  'node-state': nodeState,
  workers,
  'producer-done': producerFinished,
  'pi-within': piWithin,
  'producer-time': producerTime,
  'backup-copies': backupCopies,
  'late-results': lateResults,
  'pi-off': piOff,
  'pi-estimate': piEstimate,
  'binlog-records': binlogRecords,
  'result-verified': resultVerified,
  traffic,
  speedup,
  scenario,
  server,
  'server-restarted': serverRestarted,
  time,
  reservations,
  'failed-and-deleted': failedAndDeleted,
  'executed-twice': executedTwice,
  'rq-jobs': rqJobs,
  'mean-wait': meanWait,
  excluded,
  'result-checks': resultChecks,
};

export type CheckName = keyof typeof CHECKS;

export function isCheckName(name: string): name is CheckName {
  return Object.hasOwn(CHECKS, name);
}

/** Parses one check's argument; throws an Error naming what is wrong. */
export function parseCheck(name: CheckName, raw: unknown): { args: unknown; text: string } {
  const def = CHECKS[name] as CheckDef<unknown>;
  const args = def.parse(raw);
  return { args, text: def.describe(args) };
}

export function checkHolds(check: Check, ctx: CheckContext): boolean {
  return (CHECKS[check.name] as CheckDef<unknown>).holds(ctx, check.args);
}
