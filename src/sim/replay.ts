// Replaying an exported run: a fresh cluster with the same seed, stepped event by event, with each
// recorded action applied when the same number of events has been processed. In virtual time the
// replay's trace is the original's, event for event.
import { Cluster, type RunRecord } from './cluster.ts';
import type { NodeProcess } from '../nodes/process.ts';

export function parseRun(json: string): RunRecord {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`not a beanlab run: ${(err as Error).message}`);
  }
  const r = data as Partial<RunRecord>;
  if (r.format !== 'beanlab-run' || r.version !== 1) throw new Error('not a beanlab run (format "beanlab-run", version 1 expected)');
  if (r.mode !== 'virtual') throw new Error('only runs in virtual time can be replayed: live runs depend on real timing');
  if (!Array.isArray(r.actions) || !Array.isArray(r.trace) || typeof r.seed !== 'number' || typeof r.events !== 'number') {
    throw new Error('a beanlab run needs seed, events, actions and trace');
  }
  if (!r.actions.every((a) => typeof a?.n === 'number' && typeof a.at === 'number' && typeof a.action?.op === 'string')) {
    throw new Error('every action of a beanlab run needs n, at and action');
  }
  return r as RunRecord;
}

/** Replays `run` up to its last recorded event; returns the new cluster (its trace can be compared). */
export async function replayRun(run: RunRecord, spawn: () => NodeProcess, progress?: (events: number, total: number) => void): Promise<Cluster> {
  const cluster = new Cluster({ seed: run.seed, mode: 'virtual', spawn, latency: run.latency, binlog: run.binlog });
  const actions = [...run.actions];
  for (;;) {
    while (actions.length && actions[0].n <= cluster.eventCount) {
      await cluster.settle();
      const next = actions.shift() as RunRecord['actions'][number];
      cluster.advanceClock(next.at);
      await cluster.apply(next.action);
    }
    if (cluster.eventCount >= run.events && !actions.length) break;
    if (!(await cluster.step()) && !actions.length) break;
    progress?.(cluster.eventCount, run.events);
  }
  await cluster.settle();
  return cluster;
}
