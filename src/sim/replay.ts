// Replaying an exported run: a fresh cluster with the same seed, stepped event by event, with each
// recorded action applied when the same number of events has been processed. In virtual time the
// replay's trace is the original's, event for event.
import { Cluster } from './cluster.ts';
import type { RunRecord } from './run-record.ts';
import type { NodeProcess } from '../nodes/process.ts';

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
