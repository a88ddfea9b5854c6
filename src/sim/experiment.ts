// The speedup experiment: the same run (any scenario kind) on 1, 2, 4, … workers, each on a fresh cluster, timed from the
// cluster's start to the producer's final report. Speedup S(k) = T(1) / T(k), efficiency E(k) = S(k) / k.
// With a room's remote nodes (real-node mode) the baseline is 1 local worker, then k remote nodes per run: speedup across
// machines against one core of this one. Every run also says which node did how many jobs and how long the nodes spent
// outside their jobs (dispatch overhead).
import { Cluster } from './cluster.ts';
import type { NodeProcess } from '../nodes/process.ts';
import { jobCount, setUp, type Scenario } from './scenario.ts';
import type { NodeReport } from '../nodes/messages.ts';
import { fitAmdahl, type AmdahlFit } from './amdahl.ts';

type ProducerDone = Extract<NodeReport, { kind: 'producer-done' }>;
type TaskDone = Extract<NodeReport, { kind: 'task-done' }>;

/** Where a run's worker nodes are: the page's own Web Workers, or other browsers of the room. */
export type NodeKind = 'local' | 'remote';

/** Worker nodes in other browsers (a room's joiners), lent to the experiment: k of them join each run. */
export interface RemoteWorkers {
  /** How many there are. */
  readonly size: number;
  /** Frees them from the previous run; resolves once nothing that run's nodes sent is still on its way. */
  settle(): Promise<void>;
  /** Adds `k` of them to a run's fresh cluster as worker nodes. */
  attach(cluster: Cluster, k: number): void;
}

export interface SpeedupOptions {
  /**
   * Worker counts to try, e.g. [1, 2, 4, 8]. The speedup baseline is the smallest count's time. With `remote`:
   * the counts of remote nodes, after a baseline run on 1 local worker.
   */
  workers: number[];
  scenario: Scenario;
  seed: number;
  mode: 'virtual' | 'live';
  spawn: () => NodeProcess;
  /** Run on these remote nodes (live time only). */
  remote?: RemoteWorkers;
  /** Cluster-time limit of one run (ms); a run that does not finish in time fails the experiment. */
  limitMs?: number;
  onProgress?: (p: SpeedupProgress) => void;
  /** Stops the experiment (the run in progress is abandoned and the promise rejects). */
  signal?: AbortSignal;
}

export interface SpeedupProgress {
  /** Runs finished so far, of `total`. */
  done: number;
  total: number;
  /** Worker count of the run that is starting (undefined once all are done). */
  running?: number;
  /** Whose nodes the starting run uses. */
  kind?: NodeKind;
  /** The run that just finished. */
  last?: SpeedupPoint;
}

/** What one worker node of a run did. */
export interface NodeWork {
  name: string;
  kind: NodeKind;
  /** Jobs it finished (its task-done reports). */
  jobs: number;
  /** Time on those jobs, from reservation to delete (the reports' ms), seconds. */
  jobSeconds: number;
  /** Last heartbeat round trip over its data channel, ms (null for a local node or before one is measured). */
  rttMs: number | null;
}

export interface NodeShare extends NodeWork {
  /** Its part of the run's jobs, 0–1. */
  share: number;
}

export interface RunMeasurement {
  kind: NodeKind;
  workers: number;
  /** Cluster time from start to the producer's final report, seconds. */
  seconds: number;
  /** The producer's own measurement (from its start to its report), seconds. */
  producerSeconds: number;
  /** The run's π estimate, to check the answer did not change with the worker count. */
  estimate: number | null;
  /** Its worker nodes, in the order they joined the run. */
  nodes: NodeWork[];
}

export interface SpeedupPoint extends RunMeasurement {
  speedup: number;
  efficiency: number;
  /** Jobs finished, by all nodes (a job run twice counts twice). */
  jobs: number;
  /** The nodes' time on their jobs, summed, seconds. */
  jobSeconds: number;
  /**
   * Dispatch overhead: node time not spent on jobs, per job, ms: (seconds × workers − jobSeconds) / jobs. Getting a job
   * (reserve, the round trips over the link), starting up, and waiting idle at the end all count.
   */
  overheadMs: number | null;
  /** Mean data-channel round trip of the run's remote nodes, ms (null without remote nodes). */
  rttMs: number | null;
  nodes: NodeShare[];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Speedup and efficiency relative to the baseline: the local run with the fewest workers (T1 when 1 is among them),
 * or without local runs the run with the fewest workers.
 */
export function speedupPoints(runs: RunMeasurement[]): SpeedupPoint[] {
  const sorted = [...runs].sort((a, b) => Number(a.kind === 'remote') - Number(b.kind === 'remote') || a.workers - b.workers);
  const base = sorted[0];
  return sorted.map((r) => {
    // With a baseline of b workers, S(k) = b·T(b)/T(k), so that ideal scaling is still S(k) = k.
    const speedup = base ? (base.seconds * base.workers) / r.seconds : 0;
    const jobs = sum(r.nodes.map((n) => n.jobs));
    const jobSeconds = sum(r.nodes.map((n) => n.jobSeconds));
    const rtts = r.nodes.flatMap((n) => (n.rttMs === null ? [] : [n.rttMs]));
    return {
      ...r,
      speedup,
      efficiency: speedup / r.workers,
      jobs,
      jobSeconds,
      overheadMs: jobs > 0 ? ((r.seconds * r.workers - jobSeconds) * 1000) / jobs : null,
      rttMs: rtts.length ? sum(rtts) / rtts.length : null,
      nodes: r.nodes.map((n) => ({ ...n, share: jobs > 0 ? n.jobs / jobs : 0 })),
    };
  });
}

/** Grace after the producer's report for the workers' last reports (a worker reports a job once its delete is answered). */
const LAST_REPORTS_MS = 5000;

/**
 * One run: a fresh cluster with `workers` workers (local ones, or remote ones lent by a room) and an autostarting producer,
 * to the producer's report.
 */
async function measureRun(opts: Omit<SpeedupOptions, 'workers' | 'onProgress'>, kind: NodeKind, workers: number): Promise<RunMeasurement> {
  const limitMs = opts.limitMs ?? 3_600_000;
  const remote = kind === 'remote' ? opts.remote : undefined;
  await remote?.settle();
  const cluster = new Cluster({ seed: opts.seed, mode: opts.mode, spawn: opts.spawn });
  const what = `${workers} ${kind === 'remote' ? 'remote node' : 'worker'}${workers === 1 ? '' : 's'}`;
  try {
    remote?.attach(cluster, workers);
    setUp(cluster, { ...opts.scenario, workers: remote ? 0 : workers, autostart: true }, opts.seed);
    const workerNodes = [...cluster.nodes.values()].filter((n) => n.role === 'worker');
    const report = (): ProducerDone | undefined => {
      for (const n of cluster.nodes.values()) {
        if (n.role !== 'producer') continue;
        const r = n.reports.find((x): x is ProducerDone => x.kind === 'producer-done');
        if (r) return r;
      }
      return undefined;
    };
    const taskDone = (n: (typeof workerNodes)[number]) => n.reports.filter((r): r is TaskDone => r.kind === 'task-done');
    await cluster.runUntil(() => report() !== undefined || opts.signal?.aborted === true, limitMs);
    opts.signal?.throwIfAborted();
    const done = report();
    if (!done) throw new Error(`speedup run with ${what} did not finish within ${limitMs / 1000} s of cluster time`);
    const seconds = cluster.now / 1000;
    const jobs = jobCount(opts.scenario);
    await cluster.runUntil(() => new Set(workerNodes.flatMap((n) => taskDone(n).map((r) => r.job))).size >= jobs || opts.signal?.aborted === true, LAST_REPORTS_MS);
    opts.signal?.throwIfAborted();
    // A node that left mid-run (its browser closed) leaves a run that did not measure `workers` nodes.
    const gone = workerNodes.find((n) => n.life === 'dead');
    if (gone) throw new Error(`${gone.name} stopped during the run with ${what} (${gone.status.detail ?? 'killed'}): that run did not measure ${what}`);
    return {
      kind,
      workers,
      seconds,
      producerSeconds: done.seconds,
      estimate: done.estimate ?? null,
      nodes: workerNodes.map((n) => ({
        name: n.name,
        kind: n.remote ? 'remote' : 'local',
        jobs: taskDone(n).length,
        jobSeconds: sum(taskDone(n).map((r) => r.ms)) / 1000,
        rttMs: n.remote?.rtt ?? null,
      })),
    };
  } finally {
    cluster.dispose();
  }
}

export async function runSpeedup(opts: SpeedupOptions): Promise<SpeedupPoint[]> {
  const counts = [...new Set(opts.workers)].filter((k) => Number.isInteger(k) && k > 0).sort((a, b) => a - b);
  if (counts.length === 0) throw new Error('runSpeedup: choose at least one worker count');
  const remote = opts.remote;
  if (remote && opts.mode !== 'live') throw new Error('runSpeedup: remote nodes run on the real clock only: choose live time');
  if (remote && counts[counts.length - 1] > remote.size) throw new Error(`runSpeedup: the room has ${remote.size} remote node${remote.size === 1 ? '' : 's'}, fewer than ${counts[counts.length - 1]}`);
  const plan: { kind: NodeKind; workers: number }[] = remote
    ? [{ kind: 'local', workers: 1 }, ...counts.map((k) => ({ kind: 'remote' as const, workers: k }))]
    : counts.map((k) => ({ kind: 'local', workers: k }));
  const runs: RunMeasurement[] = [];
  for (const { kind, workers } of plan) {
    opts.onProgress?.({ done: runs.length, total: plan.length, running: workers, kind });
    runs.push(await measureRun(opts, kind, workers));
    opts.onProgress?.({ done: runs.length, total: plan.length, last: speedupPoints(runs).find((p) => p.kind === kind && p.workers === workers) });
  }
  return speedupPoints(runs);
}

/**
 * The columns of the first exports come first, unchanged. `nodeJobs` and `nodeShares` list each node's jobs and its share
 * of them (0–1): `remote 1.1=3;remote 2.1=5` and `remote 1.1=0.375;remote 2.1=0.625`.
 */
const CSV_COLUMNS = ['workers', 'seconds', 'producerSeconds', 'speedup', 'efficiency', 'estimate', 'kind', 'jobs', 'jobSeconds', 'overheadMsPerJob', 'rttMs', 'nodeJobs', 'nodeShares'] as const;

function csvCell(p: SpeedupPoint, c: (typeof CSV_COLUMNS)[number]): string {
  const perNode = (value: (n: NodeShare) => number) => p.nodes.map((n) => `${n.name}=${value(n)}`).join(';');
  const v = c === 'overheadMsPerJob' ? p.overheadMs : c === 'nodeJobs' ? perNode((n) => n.jobs) : c === 'nodeShares' ? perNode((n) => n.share) : p[c];
  const text = v === null ? '' : String(v);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function exportCsv(points: SpeedupPoint[]): string {
  const rows = points.map((p) => CSV_COLUMNS.map((c) => csvCell(p, c)).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** What was measured, so an exported file says which run it came from. */
export interface SpeedupSetup {
  scenario: Scenario;
  seed: number;
  mode: 'virtual' | 'live';
  /** Local Web Workers only, or 1 local worker then the room's remote nodes. */
  nodes: 'local' | 'room';
}

/**
 * What a live experiment of local Web Workers can show on this machine, in words: how many cores the
 * browser reports (navigator.hardwareConcurrency), that the page needs part of one, and why a
 * measured speedup under 1 is no bug. Null for a virtual-time experiment (its node speeds are modelled).
 */
export function liveCoresNote(cores: number, mode: SpeedupSetup['mode'], points: readonly Pick<SpeedupPoint, 'kind' | 'workers' | 'speedup'>[]): string | null {
  if (mode !== 'live') return null;
  const local = points.filter((p) => p.kind === 'local');
  const most = Math.max(0, ...local.map((p) => p.workers));
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  let text = `This browser reports ${plural(cores, 'core')}, and the page itself needs part of one while it runs.`;
  if (most > cores) text += ` ${plural(most, 'worker')} share ${plural(cores, 'core')}: the speedup cannot pass about ${cores}.`;
  const slower = local.filter((p) => p.speedup < 1).map((p) => p.workers);
  if (slower.length) {
    text +=
      ` With ${slower.join(' and ')} workers the run was slower than with one (speedup under 1): the workers waited for ` +
      'cores that the page, the other workers or other programs were using.';
  }
  return text;
}

/**
 * Before an experiment, when some of its node counts are more than the scenario's jobs, in words: those
 * runs leave nodes without a job, so their speedup cannot pass the job count, and Amdahl's law fitted to
 * them reads the idle nodes as serial work. A class room of 128 nodes against the default 8 jobs is the
 * case. Null when every count has a job for each of its nodes. `noun`: what the counts count.
 */
export function idleNodesNote(jobs: number, counts: readonly number[], noun: 'workers' | 'nodes'): string | null {
  const over = [...new Set(counts.filter((k) => k > jobs))].sort((a, b) => a - b);
  if (!over.length) return null;
  const most = over[over.length - 1];
  const which = over.length === 1 ? String(most) : `${over.slice(0, -1).join(', ')} or ${most}`;
  return (
    `The scenario has ${jobs} job${jobs === 1 ? '' : 's'}: on ${which} ${noun}, some get no job and wait, so ${over.length === 1 ? "that run's" : "those runs'"} ` +
    `speedup cannot pass ${jobs}. Give it at least ${most} jobs for every one of them to work; a few jobs each evens out the end of a run.`
  );
}

/**
 * Amdahl's law fitted to an experiment: to its remote runs when it used a room (with the local baseline, which fits any f),
 * else to its runs. Null while no run had 2 or more nodes.
 */
export function experimentAmdahl(points: readonly SpeedupPoint[]): AmdahlFit | null {
  const remote = points.some((p) => p.kind === 'remote');
  return fitAmdahl(points.filter((p) => !remote || p.kind === 'remote'));
}

/** The experiment and its Amdahl fit (`limit` is null when f is 0: no limit). */
export function exportJson(points: SpeedupPoint[], setup?: SpeedupSetup): string {
  return JSON.stringify({ setup: setup ?? null, points, amdahl: experimentAmdahl(points) }, null, 2) + '\n';
}
