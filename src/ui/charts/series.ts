// Small pure transforms from what the nodes report to the points the live charts draw.
import type { NodeReport } from '../../nodes/messages.ts';

export interface Point {
  x: number;
  y: number;
}

/** Jobs done by time t (a step line): (0, 0), one step up at each completion, flat to `until`. Times in ms. */
export function cumulativeDone(sortedTimes: readonly number[], until: number): Point[] {
  const pts: Point[] = [{ x: 0, y: 0 }];
  sortedTimes.forEach((t, i) => pts.push({ x: t, y: i + 1 }));
  pts.push({ x: Math.max(until, sortedTimes[sortedTimes.length - 1] ?? 0), y: sortedTimes.length });
  return pts;
}

const WINDOWS_MS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000];

/** A round moving-window length for a run this long: about a twentieth of it, so the curve is smooth but still moves. */
export function throughputWindow(spanMs: number): number {
  return WINDOWS_MS.find((w) => w >= spanMs / 20) ?? WINDOWS_MS[WINDOWS_MS.length - 1];
}

/**
 * Throughput (jobs/s) over the window (t − w, t] at `samples` evenly spaced instants in [0, until];
 * early on, while t < w, over what has elapsed so far. Times in ms; sortedTimes ascending.
 */
export function throughput(sortedTimes: readonly number[], until: number, windowMs: number, samples = 200): Point[] {
  const pts: Point[] = [];
  if (until <= 0) return pts;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i <= samples; i++) {
    const t = (until * i) / samples;
    while (hi < sortedTimes.length && sortedTimes[hi] <= t) hi++;
    while (lo < hi && sortedTimes[lo] <= t - windowMs) lo++;
    const span = Math.min(windowMs, t);
    pts.push({ x: t, y: span > 0 ? (hi - lo) / (span / 1000) : 0 });
  }
  return pts;
}

/**
 * The time the jobs chart's caption gives ("8 of 8 jobs done in T"): the clock while jobs are still
 * expected, and once every expected job is done, the time the last of them finished, which stays put
 * while the clock runs on. `times` ascending.
 */
export function jobsDoneTime(times: readonly number[], expected: number, now: number): number {
  return expected > 0 && times.length >= expected ? times[expected - 1] : now;
}

/** Merges the completion times of several nodes into one ascending list. */
export function mergeTimes(lists: readonly (readonly number[])[]): number[] {
  return lists.flat().sort((a, b) => a - b);
}

/** What the jobs chart and the timeline read of a node. */
export interface ProgressNode {
  readonly role: string;
  readonly done: readonly number[];
  readonly reports: readonly NodeReport[];
}

/** When the workers finished each task (cluster ms), ascending. */
export function workerDoneTimes(nodes: readonly ProgressNode[]): number[] {
  return mergeTimes(nodes.filter((n) => n.role === 'worker').map((n) => n.done));
}

/** The latest producer that has combined results (a restarted producer replaces the old one). */
export function combiningProducer<N extends ProgressNode>(nodes: readonly N[]): N | undefined {
  return nodes.filter((n) => n.role === 'producer' && n.reports.some((r) => r.kind === 'pi-progress')).at(-1);
}

/** The jobs the run waits for: as many as that producer expects, else the scenario's count. */
export function expectedJobCount(nodes: readonly ProgressNode[], scenarioJobs: number): number {
  const progress = combiningProducer(nodes)?.reports.filter((r) => r.kind === 'pi-progress').at(-1);
  return progress?.kind === 'pi-progress' ? progress.expected : scenarioJobs;
}

export interface PiPoint {
  darts: number;
  estimate: number;
  error: number;
}

/**
 * The π estimate after each result the producer combined. A producer restarted from scratch counts
 * again from zero: only its latest run is shown.
 */
export function piProgress(reports: readonly NodeReport[]): PiPoint[] {
  let pts: PiPoint[] = [];
  for (const r of reports) {
    if (r.kind !== 'pi-progress' || r.darts <= 0) continue;
    const last = pts[pts.length - 1];
    if (last && r.darts <= last.darts) pts = [];
    const estimate = (4 * r.hits) / r.darts;
    pts.push({ darts: r.darts, estimate, error: Math.abs(estimate - Math.PI) });
  }
  return pts;
}

/** Standard error of the dart estimate after n darts: sqrt(π(4 − π)/n) ≈ 1.64/√n. */
export function expectedError(n: number): number {
  return Math.sqrt((Math.PI * (4 - Math.PI)) / n);
}
