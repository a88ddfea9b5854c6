// Replaying an exported run: a fresh cluster with the same seed, stepped event by event, with each
// recorded action applied when the same number of events has been processed. In virtual time the
// replay's trace is the original's, event for event. A replay can stop at any event (time travel seeks
// this way) and go on later: the recorded actions still ahead are applied as their positions come.
import { Cluster, type ClusterOptions } from './cluster.ts';
import type { RecordedAction, RunRecord } from './run-record.ts';
import type { NodeProcess } from '../nodes/process.ts';

export interface ReplayOptions {
  /** Stop once this many events are processed (and the actions recorded at positions ≤ it applied); the whole run by default. */
  until?: number;
  progress?: (events: number, total: number) => void;
  /** Take a checkpoint every this many events on the way. */
  checkpointEvery?: number;
}

/** A replay stopped at some event: its cluster, and the recorded actions not applied yet (in order). */
export interface ReplayPosition {
  cluster: Cluster;
  ahead: RecordedAction[];
}

/** Applies, in order, the actions of `ahead` whose position `cluster` has reached; they leave `ahead`. */
export async function applyDue(cluster: Cluster, ahead: RecordedAction[]): Promise<void> {
  while (ahead.length && ahead[0].n <= cluster.eventCount) {
    await cluster.settle();
    const next = ahead.shift() as RecordedAction;
    cluster.advanceClock(next.at);
    await cluster.apply(next.action);
  }
}

/** The options of a cluster that replays `run` (taking a checkpoint every `checkpointEvery` events, if given). */
export const replayOptions = (run: RunRecord, spawn: () => NodeProcess, checkpointEvery?: number): ClusterOptions => ({
  seed: run.seed,
  mode: 'virtual',
  spawn,
  latency: run.latency,
  binlog: run.binlog,
  checkpointEvery,
});

/** Replays `run` on a fresh cluster up to `until` events (its end by default). */
export async function replayTo(run: RunRecord, spawn: () => NodeProcess, opts: ReplayOptions = {}): Promise<ReplayPosition> {
  const cluster = new Cluster(replayOptions(run, spawn, opts.checkpointEvery));
  return runForward({ cluster, ahead: [...run.actions] }, Math.min(opts.until ?? run.events, run.events), opts.progress);
}

/**
 * Runs a replay on to `until` events, applying the recorded actions as their positions come; the
 * cluster is disposed of if that fails.
 */
export async function runForward(at: ReplayPosition, until: number, progress?: (events: number, total: number) => void): Promise<ReplayPosition> {
  const { cluster, ahead } = at;
  try {
    for (;;) {
      await applyDue(cluster, ahead);
      if (cluster.eventCount >= until) break;
      // Nothing more can happen: a recorded action further on can never be reached.
      if (!(await cluster.step())) break;
      progress?.(cluster.eventCount, until);
    }
    await cluster.settle();
  } catch (err) {
    cluster.dispose();
    throw err;
  }
  return at;
}

/** Replays `run` up to `until` events (its last recorded event by default); returns the new cluster (its trace can be compared). */
export async function replayRun(run: RunRecord, spawn: () => NodeProcess, opts: ReplayOptions = {}): Promise<Cluster> {
  return (await replayTo(run, spawn, opts)).cluster;
}
