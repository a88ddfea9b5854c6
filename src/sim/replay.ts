// Replaying an exported run: a fresh cluster with the same seed, stepped event by event, with each
// recorded action applied when the same number of events has been processed. In virtual time the
// replay's trace is the original's, event for event.
import { actionLabel, Cluster, type RunRecord, type TraceEntry } from './cluster.ts';
import type { NodeProcess } from '../nodes/process.ts';

export function parseRun(json: string): RunRecord {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`not a beanlab run: ${(err as Error).message}`);
  }
  const r = data as Partial<Omit<RunRecord, 'version'>> & { version?: unknown };
  if (r.format !== 'beanlab-run' || (r.version !== 1 && r.version !== 2)) throw new Error('not a beanlab run (format "beanlab-run", version 1 or 2 expected)');
  if (r.mode !== 'virtual') throw new Error('only runs in virtual time can be replayed: live runs depend on real timing');
  if (!Array.isArray(r.actions) || !Array.isArray(r.trace) || typeof r.seed !== 'number' || typeof r.events !== 'number') {
    throw new Error('a beanlab run needs seed, events, actions and trace');
  }
  if (!r.actions.every((a) => typeof a?.n === 'number' && typeof a.at === 'number' && typeof a.action?.op === 'string')) {
    throw new Error('every action of a beanlab run needs n, at and action');
  }
  return r.version === 1 ? fromVersion1(r as unknown as RunRecordV1) : (r as RunRecord);
}

/** A run exported before trace entries carried their action: actions were only labels in the trace. */
type RunRecordV1 = Omit<RunRecord, 'version'> & { version: 1 };

/**
 * A version-1 run as version 2: each action entry of its trace gets the recorded action it labels (they
 * came in the same order; the cluster's notes, `binlog: …`, have none) and the node it acted on, and
 * each RESERVED delivered to a node the job it handed out. A trace whose labels do not follow its actions
 * cannot be converted: the error says so.
 */
function fromVersion1(r: RunRecordV1): RunRecord {
  const actions = r.actions.map((a) => a.action);
  const names = new Map<number, string>();
  let next = 0;
  let nodes = 0;
  const trace = r.trace.map((e): TraceEntry => {
    if (e.kind === 'to-node' && e.text.startsWith('RESERVED ')) return { ...e, job: Number(e.text.split(' ', 2)[1]) };
    if (e.kind !== 'action' || e.text.startsWith('binlog: ')) return e;
    const a = actions[next++];
    const node = a?.op === 'add-node' ? ++nodes : a && 'node' in a ? a.node : undefined;
    if (a?.op === 'add-node') names.set(node as number, a.name);
    const label = a && actionLabel(a, node === undefined ? undefined : names.get(node));
    if (label !== e.text) {
      throw new Error(`this run was saved by an older beanlab (run format version 1) and cannot be converted: trace entry ${e.n} "${e.text}" matches none of its recorded actions`);
    }
    return { n: e.n, at: e.at, kind: 'action', node, action: a, text: e.text };
  });
  return { ...r, version: 2, trace };
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
