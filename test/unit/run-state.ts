// What the student sees of a virtual-time run at its position, as one value to compare: the checkpoint
// and time-travel tests check a restored or sought run against a fresh replay with it.
import type { Cluster } from '../../src/sim/cluster.ts';

/** The trace, the queue server's whole state, job records, the queue model, every node's card. */
export function runState(c: Cluster) {
  return {
    events: c.eventCount,
    now: c.now,
    trace: c.trace.toArray(),
    engine: c.engine?.snapshot() ?? null,
    history: c.history.records,
    model: { jobs: [...c.model.jobs.values()], tubes: [...c.model.tubes.values()], reservations: c.model.reservations },
    traffic: c.traffic,
    nodes: [...c.nodes.values()].map((n) => ({ id: n.id, life: n.life, status: n.status, done: n.done, reports: n.reports, log: n.log, computeMs: n.computeMs })),
  };
}
