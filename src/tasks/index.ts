// Task kernels: pure functions a worker node runs on a job's body. No DOM and no Node imports, so the
// same code runs in Web Workers, in the page and in Node tests.
import { countPiHits } from './pi.ts';
import { checkTask, type TaskResult, type TaskSpec } from './spec.ts';

export type { PiJobs, TaskKind, TaskList, TaskResult, TaskSpec } from './spec.ts';
export { TASK_KINDS, checkResult, checkTask, taskAt, taskCount } from './spec.ts';
export { decodeResult, decodeTask, encodeResult, encodeTask } from './codec.ts';
export { PI_LANES, countPiHits, defaultPiEngine, type PiEngine } from './pi.ts';

/** Runs a task synchronously (sleep returns at once: its time is modelled by the caller). Throws a clear Error on invalid specs. */
export function runTask(spec: TaskSpec): TaskResult {
  const s = checkTask(spec);
  switch (s.kind) {
    case 'pi':
      return { kind: 'pi', darts: s.darts, hits: countPiHits(s.darts, s.seed) };
    case 'matrix-block':
      return { kind: 'matrix-block', row0: s.row0, rows: s.rows.map((row) => rowTimes(row, s.b)) };
    case 'matrix-cell':
      return { kind: 'matrix-cell', i: s.i, j: s.j, value: dot(s.row, s.col) };
    case 'sort-chunk':
      return { kind: 'sort-chunk', values: Array.from(Float64Array.from(s.values).sort()) };
    case 'busy':
      spin(s.ms);
      return { kind: 'busy', ms: s.ms };
    case 'sleep':
      return { kind: 'sleep', ms: s.ms };
  }
}

/** row x B, accumulating row[p] * B[p] so the inner loop walks B's rows in order. */
function rowTimes(row: number[], b: number[][]): number[] {
  const out = new Array<number>(b[0].length).fill(0);
  for (let p = 0; p < row.length; p++) {
    const a = row[p];
    const bp = b[p];
    for (let j = 0; j < out.length; j++) out[j] += a * bp[j];
  }
  return out;
}

function dot(row: number[], col: number[]): number {
  let sum = 0;
  for (let p = 0; p < row.length; p++) sum += row[p] * col[p];
  return sum;
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy on purpose: this task exists to occupy a core.
  }
}

/**
 * The reference node of virtual time: a lab PC of the seed report running its Python worker (about two
 * million darts a second), so that at 1x a student can watch a job of a million darts take half a second,
 * long against the simulated network's latency, as on the report's cluster. The real kernel is hundreds
 * of times faster (`npm run bench`), which keeps many simulated nodes cheap to run.
 */
export const REFERENCE_NODE = {
  dartsPerSecond: 2e6,
  /**
   * The report's worker multiplies in Python (reduce over map): about ten million multiply-adds a second.
   * A product costs the same per multiply-add however it is cut into jobs: what one job per cell costs
   * more is messages, which the cluster models and counts.
   */
  multiplyAddsPerSecond: 10e6,
  /** Sorting n values counts as n * log2(n + 2) comparisons (the + 2 keeps tiny chunks above zero). */
  comparisonsPerSecond: 50e6,
} as const;

/** Abstract amount of work, for modelling how long a task takes in virtual time: seconds on a reference node. */
export function referenceSeconds(spec: TaskSpec): number {
  const s = checkTask(spec);
  switch (s.kind) {
    case 'pi':
      return s.darts / REFERENCE_NODE.dartsPerSecond;
    case 'matrix-block':
      return (s.rows.length * s.b.length * s.b[0].length) / REFERENCE_NODE.multiplyAddsPerSecond;
    case 'matrix-cell':
      return s.row.length / REFERENCE_NODE.multiplyAddsPerSecond;
    case 'sort-chunk': {
      const n = s.values.length;
      return (n * Math.log2(n + 2)) / REFERENCE_NODE.comparisonsPerSecond;
    }
    case 'busy':
    case 'sleep':
      return s.ms / 1000;
  }
}

/** 4 * sum(hits) / sum(darts): the master's step in the seed report. */
export function piEstimate(results: { darts: number; hits: number }[]): number {
  let darts = 0;
  let hits = 0;
  for (const r of results) {
    darts += r.darts;
    hits += r.hits;
  }
  if (darts === 0) throw new Error('piEstimate needs at least one dart');
  return (4 * hits) / darts;
}
