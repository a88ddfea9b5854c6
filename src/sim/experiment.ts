// The speedup experiment: the same run (any scenario kind) on 1, 2, 4, … workers, each on a fresh cluster, timed from the
// cluster's start to the producer's final report. Speedup S(k) = T(1) / T(k), efficiency E(k) = S(k) / k.
import { Cluster, type NodeProcess } from './cluster.ts';
import { setUp, type Scenario } from './scenario.ts';
import type { NodeReport } from '../nodes/messages.ts';

type ProducerDone = Extract<NodeReport, { kind: 'producer-done' }>;

export interface SpeedupOptions {
  /** Worker counts to try, e.g. [1, 2, 4, 8]. The speedup baseline is the smallest count's time. */
  workers: number[];
  scenario: Scenario;
  seed: number;
  mode: 'virtual' | 'live';
  spawn: () => NodeProcess;
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
  /** The run that just finished. */
  last?: SpeedupPoint;
}

export interface SpeedupPoint {
  workers: number;
  /** Cluster time from start to the producer's final report, seconds. */
  seconds: number;
  /** The producer's own measurement (from its start to its report), seconds. */
  producerSeconds: number;
  speedup: number;
  efficiency: number;
  /** The run's π estimate, to check the answer did not change with the worker count. */
  estimate: number | null;
}

export interface RunMeasurement {
  workers: number;
  seconds: number;
  producerSeconds: number;
  estimate: number | null;
}

/** Speedup and efficiency relative to the run with the fewest workers (T1 when 1 is among them). */
export function speedupPoints(runs: RunMeasurement[]): SpeedupPoint[] {
  const sorted = [...runs].sort((a, b) => a.workers - b.workers);
  const base = sorted[0];
  return sorted.map((r) => {
    // With a baseline of b workers, S(k) = b·T(b)/T(k), so that ideal scaling is still S(k) = k.
    const speedup = base ? (base.seconds * base.workers) / r.seconds : 0;
    return { ...r, speedup, efficiency: speedup / r.workers };
  });
}

/** One run: a fresh cluster with `workers` workers and an autostarting producer, to the producer's report. */
async function measureRun(opts: Omit<SpeedupOptions, 'workers' | 'onProgress'>, workers: number): Promise<RunMeasurement> {
  const limitMs = opts.limitMs ?? 3_600_000;
  const cluster = new Cluster({ seed: opts.seed, mode: opts.mode, spawn: opts.spawn });
  try {
    setUp(cluster, { ...opts.scenario, workers, autostart: true }, opts.seed);
    const report = (): ProducerDone | undefined => {
      for (const n of cluster.nodes.values()) {
        if (n.role !== 'producer') continue;
        const r = n.reports.find((x): x is ProducerDone => x.kind === 'producer-done');
        if (r) return r;
      }
      return undefined;
    };
    await cluster.runUntil(() => report() !== undefined || opts.signal?.aborted === true, limitMs);
    opts.signal?.throwIfAborted();
    const done = report();
    if (!done) throw new Error(`speedup run with ${workers} worker${workers === 1 ? '' : 's'} did not finish within ${limitMs / 1000} s of cluster time`);
    return { workers, seconds: cluster.now / 1000, producerSeconds: done.seconds, estimate: done.estimate ?? null };
  } finally {
    cluster.dispose();
  }
}

export async function runSpeedup(opts: SpeedupOptions): Promise<SpeedupPoint[]> {
  const counts = [...new Set(opts.workers)].filter((k) => Number.isInteger(k) && k > 0).sort((a, b) => a - b);
  if (counts.length === 0) throw new Error('runSpeedup: choose at least one worker count');
  const runs: RunMeasurement[] = [];
  for (const k of counts) {
    opts.onProgress?.({ done: runs.length, total: counts.length, running: k });
    runs.push(await measureRun(opts, k));
    opts.onProgress?.({ done: runs.length, total: counts.length, last: speedupPoints(runs).find((p) => p.workers === k) });
  }
  return speedupPoints(runs);
}

const CSV_COLUMNS = ['workers', 'seconds', 'producerSeconds', 'speedup', 'efficiency', 'estimate'] as const;

export function exportCsv(points: SpeedupPoint[]): string {
  const rows = points.map((p) => CSV_COLUMNS.map((c) => (p[c] === null ? '' : String(p[c]))).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** What was measured, so an exported file says which run it came from. */
export interface SpeedupSetup {
  scenario: Scenario;
  seed: number;
  mode: 'virtual' | 'live';
}

export function exportJson(points: SpeedupPoint[], setup?: SpeedupSetup): string {
  return JSON.stringify({ setup: setup ?? null, points }, null, 2) + '\n';
}
