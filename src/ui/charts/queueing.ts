// Pure transforms behind lesson 12's charts: the queue length over time, and the measured mean wait of
// each run against the M/M/c prediction as the utilisation ρ varies.
import { mmcMeanWait, type QueueingRunPoint, type QueueVisit } from '../../sim/queueing.ts';
import type { Point } from './series.ts';

/**
 * Jobs waiting (put, not yet reserved) over time, as a step line: (0, 0), a point after each instant the
 * count changes, flat to `until`. Jobs put and reserved at the same instant never wait: they leave no step.
 */
export function queueLengthSeries(visits: readonly QueueVisit[], until: number): Point[] {
  const changes = new Map<number, number>();
  for (const v of visits) {
    if (v.put > until) continue;
    changes.set(v.put, (changes.get(v.put) ?? 0) + 1);
    if (v.reserved !== null && v.reserved <= until) changes.set(v.reserved, (changes.get(v.reserved) ?? 0) - 1);
  }
  const pts: Point[] = [{ x: 0, y: 0 }];
  let waiting = 0;
  for (const t of [...changes.keys()].sort((a, b) => a - b)) {
    const d = changes.get(t)!;
    if (d === 0) continue;
    waiting += d;
    pts.push({ x: t, y: waiting });
  }
  pts.push({ x: Math.max(until, pts[pts.length - 1].x), y: waiting });
  return pts;
}

/** The area under a step line (each point's y holds until the next point's x) divided by its span: its time average. */
export function timeAverage(steps: readonly Point[]): number {
  let area = 0;
  for (let i = 1; i < steps.length; i++) area += steps[i - 1].y * (steps[i].x - steps[i - 1].x);
  const span = steps.length ? steps[steps.length - 1].x - steps[0].x : 0;
  return span > 0 ? area / span : 0;
}

/**
 * The M/M/c mean wait (s) against ρ for `servers` workers of mean service `serviceSeconds`, at `samples`
 * evenly spaced values of ρ from 0 up to `rhoMax`, stopping at the first that would pass `waitMax`.
 */
export function predictedWaitCurve(servers: number, serviceSeconds: number, rhoMax: number, waitMax: number, samples = 120): Point[] {
  const pts: Point[] = [];
  for (let i = 0; i <= samples; i++) {
    const rho = (rhoMax * i) / samples;
    const w = mmcMeanWait((rho * servers) / serviceSeconds, serviceSeconds, servers);
    if (!(w <= waitMax)) {
      // The curve leaves the chart through its top edge rather than stopping short of it.
      const lo = pts[pts.length - 1];
      if (lo) pts.push({ x: lo.x + ((waitMax - lo.y) / (w - lo.y)) * (rho - lo.x), y: waitMax });
      break;
    }
    pts.push({ x: rho, y: w });
  }
  return pts;
}

/** The distinct set-ups (workers, mean service) among the runs, each drawn as its own predicted curve. */
export function curveSetups(runs: readonly Pick<QueueingRunPoint, 'servers' | 'service'>[]): { servers: number; service: number }[] {
  const seen = new Map<string, { servers: number; service: number }>();
  for (const r of runs) seen.set(`${r.servers} ${r.service}`, { servers: r.servers, service: r.service });
  return [...seen.values()].sort((a, b) => a.servers - b.servers || a.service - b.service);
}
