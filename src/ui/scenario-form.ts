// The scenario form's draft: every kind's fields at once, so switching the kind back and forth keeps
// what the student typed; Reset turns it into a scenario, each number clamped to what the lab can run.
import { DEFAULT_SCENARIOS, type Scenario } from '../sim/scenario.ts';

export const MAX_WORKERS = 64;

/** The range of each number a scenario takes (the form clamps to it; a scenario link must keep to it). */
export const LIMITS = {
  seed: { min: 0, max: 2 ** 32 - 1 },
  workers: { min: 0, max: MAX_WORKERS },
  ttr: { min: 1, max: 86_400 },
  darts: { min: 1, max: 1e10 },
  jobs: { min: 1, max: 100_000 },
  // One job per cell is n² jobs: 64×64 (4096 jobs) is as far as a lesson needs to go.
  n: { min: 1, max: 256 },
  nPerCell: { min: 1, max: 64 },
  rowsPerJob: { min: 1, max: 256 },
  values: { min: 1, max: 1_000_000 },
  buckets: { min: 1, max: 1000 },
  // Arrivals a minute (60 is one a second) and mean service in ms: whole numbers, as every field.
  rate: { min: 1, max: 60_000 },
  service: { min: 1, max: 3_600_000 },
} as const;

export interface ScenarioDraft {
  kind: Scenario['kind'];
  seed: number;
  workers: number;
  ttr: number;
  darts: number;
  jobs: number;
  n: number;
  granularity: 'cell' | 'row-block';
  rowsPerJob: number;
  values: number;
  buckets: number;
  rate: number;
  service: number;
  arrivals: number;
}

/** The draft showing `s` (the other kinds' fields at their defaults). */
export function draftOf(s: Scenario, seed: number): ScenarioDraft {
  const { pi, matrix, sort, queueing } = DEFAULT_SCENARIOS;
  return { ...pi, ...matrix, ...sort, ...queueing, ...s, seed };
}

/** A whole number in [min, max], or the fallback if the field is empty or not a number. */
function whole(v: unknown, min: number, max: number, fallback: number): number {
  const n = Math.round(Number(v));
  return v === null || v === '' || !Number.isFinite(n) ? fallback : Math.min(max, Math.max(min, n));
}

/** The scenario and seed a draft asks for; an empty or unreadable field keeps the current value. */
export function scenarioOf(d: ScenarioDraft, current: Scenario, seed: number): { scenario: Scenario; seed: number } {
  const was = draftOf(current, seed);
  const L = LIMITS;
  const base = { workers: whole(d.workers, L.workers.min, L.workers.max, was.workers), ttr: whole(d.ttr, L.ttr.min, L.ttr.max, was.ttr), autostart: current.autostart };
  const nextSeed = whole(d.seed, L.seed.min, L.seed.max, seed);
  switch (d.kind) {
    case 'pi':
      return {
        seed: nextSeed,
        scenario: {
          kind: 'pi',
          darts: whole(d.darts, L.darts.min, L.darts.max, was.darts),
          jobs: whole(d.jobs, L.jobs.min, L.jobs.max, was.jobs),
          ...base,
          // Not in the form: a lesson's producer with backup tasks keeps them over a Reset.
          ...(current.kind === 'pi' && current.backupTasks ? { backupTasks: current.backupTasks } : {}),
        },
      };
    case 'matrix': {
      const n = whole(d.n, L.n.min, d.granularity === 'cell' ? L.nPerCell.max : L.n.max, was.n);
      return { seed: nextSeed, scenario: { kind: 'matrix', n, granularity: d.granularity === 'row-block' ? 'row-block' : 'cell', rowsPerJob: whole(d.rowsPerJob, L.rowsPerJob.min, n, was.rowsPerJob), ...base } };
    }
    case 'sort':
      return { seed: nextSeed, scenario: { kind: 'sort', values: whole(d.values, L.values.min, L.values.max, was.values), buckets: whole(d.buckets, L.buckets.min, L.buckets.max, was.buckets), ...base } };
    case 'queueing':
      return {
        seed: nextSeed,
        scenario: { kind: 'queueing', rate: whole(d.rate, L.rate.min, L.rate.max, was.rate), service: whole(d.service, L.service.min, L.service.max, was.service), arrivals: whole(d.arrivals, L.jobs.min, L.jobs.max, was.arrivals), ...base },
      };
  }
}

/** Whether Reset would start something other than the current run's scenario. */
export function draftDiffers(d: ScenarioDraft, current: Scenario, seed: number): boolean {
  const now = draftOf(current, seed);
  if (d.kind !== now.kind || d.seed !== now.seed || d.workers !== now.workers || d.ttr !== now.ttr) return true;
  switch (d.kind) {
    case 'pi':
      return d.darts !== now.darts || d.jobs !== now.jobs;
    case 'matrix':
      return d.n !== now.n || d.granularity !== now.granularity || (d.granularity === 'row-block' && d.rowsPerJob !== now.rowsPerJob);
    case 'sort':
      return d.values !== now.values || d.buckets !== now.buckets;
    case 'queueing':
      return d.rate !== now.rate || d.service !== now.service || d.arrivals !== now.arrivals;
  }
}
