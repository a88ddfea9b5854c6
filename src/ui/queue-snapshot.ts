// What the tube views draw: for every tube and job state, the first few jobs in the order a student
// expects (the same order as QueueModel.list) and how many there are in all. One pass over the jobs
// keeps only the best `limit` per lane, so 100,000 queued jobs cost one linear scan, not a sort.
import type { JobState } from '../engine/types.ts';
import type { JobView, QueueModel } from '../sim/queue-model.ts';

export const JOB_STATES: readonly JobState[] = ['ready', 'delayed', 'reserved', 'buried'];

export interface Lane {
  /** The first jobs of the lane, in display order. */
  jobs: JobView[];
  /** All jobs in this state in the tube. */
  count: number;
}

export interface TubeSnapshot {
  name: string;
  paused: boolean;
  lanes: Record<JobState, Lane>;
  /** Jobs in the tube, all states. */
  total: number;
}

type Less = (a: JobView, b: JobView) => boolean;

const LESS: Record<JobState, Less> = {
  ready: (a, b) => a.pri < b.pri || (a.pri === b.pri && a.id < b.id),
  delayed: (a, b) => a.deadlineAt < b.deadlineAt || (a.deadlineAt === b.deadlineAt && a.id < b.id),
  reserved: (a, b) => a.deadlineAt < b.deadlineAt || (a.deadlineAt === b.deadlineAt && a.id < b.id),
  buried: (a, b) => a.since < b.since || (a.since === b.since && a.id < b.id),
};

/** Inserts `job` into the sorted `best` if it belongs among the first `limit`. */
function offer(best: JobView[], job: JobView, less: Less, limit: number): void {
  if (best.length === limit && !less(job, best[limit - 1])) return;
  let lo = 0;
  let hi = best.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (less(best[mid], job)) lo = mid + 1;
    else hi = mid;
  }
  best.splice(lo, 0, job);
  if (best.length > limit) best.pop();
}

/** Tubes in the model's order, `default` last (it is usually empty and least interesting). */
export function snapshotQueue(model: QueueModel, limit: number): TubeSnapshot[] {
  const byName = new Map<string, TubeSnapshot>();
  for (const t of model.tubes.values()) {
    const lanes = {} as Record<JobState, Lane>;
    let total = 0;
    for (const s of JOB_STATES) {
      lanes[s] = { jobs: [], count: t.counts[s] };
      total += t.counts[s];
    }
    byName.set(t.name, { name: t.name, paused: t.paused, lanes, total });
  }
  if (limit > 0) {
    for (const j of model.jobs.values()) {
      const tube = byName.get(j.tube);
      if (tube) offer(tube.lanes[j.state].jobs, j, LESS[j.state], limit);
    }
  }
  const tubes = [...byName.values()];
  const i = tubes.findIndex((t) => t.name === 'default');
  if (i >= 0) tubes.push(tubes.splice(i, 1)[0]);
  return tubes;
}
