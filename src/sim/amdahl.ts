// Amdahl's law fitted to a speedup experiment. With a serial fraction f of the work (the part no extra
// node shortens), k nodes give at most S(k) = 1 / (f + (1 − f)/k), and no number of nodes gives more
// than 1/f. Fitting f to the measured points says how much of the run behaved as serial: the lesson a
// speedup plot teaches.

/** One measured point: k nodes gave speedup s. */
export interface SpeedupSample {
  workers: number;
  speedup: number;
}

export interface AmdahlFit {
  /** The serial fraction, 0–1. */
  f: number;
  /** The speedup no number of nodes passes, 1/f (Infinity when f is 0). */
  limit: number;
  /** Root mean square of the measured speedups' distance from the fitted curve. */
  rms: number;
}

/** Amdahl's speedup on k nodes with serial fraction f. */
export function amdahlSpeedup(f: number, k: number): number {
  return 1 / (f + (1 - f) / k);
}

function squaredError(points: readonly SpeedupSample[], f: number): number {
  return points.reduce((t, p) => t + (p.speedup - amdahlSpeedup(f, p.workers)) ** 2, 0);
}

const GRID = 1000;

/**
 * The serial fraction f in [0, 1] that minimises the squared distance between the measured speedups and
 * Amdahl's curve (a grid of 1,000 steps, then a golden-section search in the best step's neighbourhood).
 * Points with k < 2 say nothing about f (every f gives S(1) = 1), so null without a point of k ≥ 2.
 * A run faster than linear (S(k) > k, e.g. caches) fits f = 0 (no serial part; the law's bound).
 */
export function fitAmdahl(points: readonly SpeedupSample[]): AmdahlFit | null {
  const usable = points.filter((p) => p.workers >= 2 && Number.isFinite(p.speedup) && p.speedup > 0);
  if (usable.length === 0) return null;
  let best = 0;
  for (let i = 1; i <= GRID; i++) if (squaredError(usable, i / GRID) < squaredError(usable, best / GRID)) best = i;
  let lo = Math.max(0, (best - 1) / GRID);
  let hi = Math.min(1, (best + 1) / GRID);
  const ratio = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 60; i++) {
    const a = hi - ratio * (hi - lo);
    const b = lo + ratio * (hi - lo);
    if (squaredError(usable, a) <= squaredError(usable, b)) hi = b;
    else lo = a;
  }
  const mid = (lo + hi) / 2;
  // The ends of [0, 1] are candidates too: the search above only narrows towards them.
  const f = [0, mid, 1].reduce((x, y) => (squaredError(usable, y) < squaredError(usable, x) ? y : x));
  return { f, limit: f === 0 ? Infinity : 1 / f, rms: Math.sqrt(squaredError(usable, f) / usable.length) };
}

/** "serial fraction 7%: no more than 14× however many nodes" (or, at f = 0, no limit). */
export function describeAmdahl(fit: AmdahlFit, nodes = 'nodes'): string {
  const pct = fit.f * 100;
  const share = pct > 0 && pct < 1 ? pct.toFixed(1) : pct.toFixed(0);
  if (fit.f === 0) return `serial fraction 0%: no limit from a serial part (the runs scaled at least linearly)`;
  const limit = fit.limit >= 100 ? fit.limit.toFixed(0) : fit.limit.toPrecision(2).replace(/\.0$/, '');
  return `serial fraction ${share}%: no more than ${limit}× however many ${nodes}`;
}
