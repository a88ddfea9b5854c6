// Scenarios: the starting state of a run (which nodes, which tubes, which jobs), as plain data, so
// lessons and tests can describe a cluster without touching code.
import type { TaskSpec } from '../tasks/index.ts';
import type { NodeConfig, WorkerConfig } from '../nodes/messages.ts';
import type { Cluster } from './cluster.ts';

export interface PiScenario {
  kind: 'pi';
  /** Total darts (the report's N). */
  darts: number;
  /** Jobs to split them into (the report's K). */
  jobs: number;
  workers: number;
  /** TTR of each job, seconds (the report's 40). */
  ttr: number;
  /** Start the producer at once. */
  autostart: boolean;
}

export type Scenario = PiScenario;

export const DEFAULT_SCENARIO: PiScenario = { kind: 'pi', darts: 10_000_000, jobs: 8, workers: 4, ttr: 40, autostart: false };

export const WORKER: WorkerConfig = { watch: 'msg_for_worker', use: 'msg_for_client', onFailure: 'release-then-delete', reconnectEachJob: true };

/** The K tasks of a π run: darts split evenly, each job with its own seed. */
export function piTasks(s: PiScenario, seed: number): TaskSpec[] {
  const per = Math.floor(s.darts / s.jobs);
  return Array.from({ length: s.jobs }, (_, i) => ({ kind: 'pi', darts: i === s.jobs - 1 ? s.darts - per * (s.jobs - 1) : per, seed: (seed * 1000 + i) >>> 0 }));
}

export function producerConfig(s: PiScenario, seed: number): NodeConfig {
  return {
    role: 'producer',
    producer: { use: 'msg_for_worker', watch: 'msg_for_client', tasks: piTasks(s, seed), ttr: s.ttr, pri: 0, pollMs: 1000, resume: true },
  };
}

export function workerName(i: number): string {
  return `worker ${i}`;
}

/** Adds the scenario's workers (and producer, if it autostarts) to a fresh cluster. */
export function setUp(cluster: Cluster, s: Scenario, seed: number): void {
  for (let i = 1; i <= s.workers; i++) cluster.addNode(workerName(i), { role: 'worker', worker: WORKER });
  if (s.autostart) cluster.addNode('producer', producerConfig(s, seed));
}
