// Scenarios: the starting state of a run (which nodes, which tubes, which jobs), as plain data, so
// lessons and tests can describe a cluster without touching code.
import { taskAt, type PiJobs, type TaskSpec } from '../tasks/index.ts';
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
  /**
   * A producer with backup tasks (src/nodes/backup-tasks.ts), off or on at the start and switched on its
   * card at run time. Absent: the report's own client, without them.
   */
  backupTasks?: 'off' | 'on';
}

/** The report's matrix multiplication with memcached: A and B in a key-value store node, jobs naming parts of C. */
export interface MatrixScenario {
  kind: 'matrix';
  /** Size of the square matrices A, B and C. */
  n: number;
  /** One job per entry C[i][j] (the report's design), or one per block of rows of C. */
  granularity: 'cell' | 'row-block';
  /** Rows of C per job, for row blocks. */
  rowsPerJob: number;
  workers: number;
  ttr: number;
  autostart: boolean;
}

/** Sample sort: seeded values, splitters from a sample, one sort-chunk job per bucket. */
export interface SortScenario {
  kind: 'sort';
  /** How many values to sort. */
  values: number;
  /** Buckets, one job each. */
  buckets: number;
  workers: number;
  ttr: number;
  autostart: boolean;
}

/** Queueing (lesson 12): Poisson arrivals of jobs with exponential service times, c workers (an M/M/c queue). */
export interface QueueingScenario {
  kind: 'queueing';
  /** Arrival rate λ, jobs a minute (whole numbers, as every scenario field: 60 a minute is one a second). */
  rate: number;
  /** Mean service time S, ms. */
  service: number;
  /** How many jobs arrive (each a job: not `jobs`, which a form switching kinds would share with π's). */
  arrivals: number;
  workers: number;
  ttr: number;
  autostart: boolean;
}

export type Scenario = PiScenario | MatrixScenario | SortScenario | QueueingScenario;

/** π's default: at ×1 each job holds its worker 2.5 s of cluster time, long enough for a newcomer to watch it move. */
export const DEFAULT_SCENARIO: PiScenario = { kind: 'pi', darts: 40_000_000, jobs: 8, workers: 4, ttr: 40, autostart: false };
export const DEFAULT_MATRIX: MatrixScenario = { kind: 'matrix', n: 16, granularity: 'cell', rowsPerJob: 4, workers: 4, ttr: 40, autostart: false };
export const DEFAULT_SORT: SortScenario = { kind: 'sort', values: 20_000, buckets: 8, workers: 4, ttr: 40, autostart: false };
/** ρ = λS/c = 60/min × 1 s / 2 = 0.5: the workers are busy half the time. */
export const DEFAULT_QUEUEING: QueueingScenario = { kind: 'queueing', rate: 60, service: 1000, arrivals: 200, workers: 2, ttr: 60, autostart: false };

/** Each kind's starting values, for a form switching between kinds. */
export const DEFAULT_SCENARIOS = { pi: DEFAULT_SCENARIO, matrix: DEFAULT_MATRIX, sort: DEFAULT_SORT, queueing: DEFAULT_QUEUEING } as const satisfies { [K in Scenario['kind']]: Extract<Scenario, { kind: K }> };

/** What each kind computes, in a word (the producer's button). */
export const SCENARIO_NAMES: Record<Scenario['kind'], string> = { pi: 'π', matrix: 'matrix', sort: 'sort', queueing: 'Poisson' };

/** Scenario fields a kind may be given beyond its defaults (which leave them out), with the words each takes. */
export const OPTIONAL_SCENARIO_FIELDS: { readonly [K in Scenario['kind']]?: Readonly<Record<string, readonly string[]>> } = { pi: { backupTasks: ['off', 'on'] } };

/** Sample values drawn per bucket to choose the splitters: more gives more even buckets. */
export const SORT_OVERSAMPLING = 8;

export const WORKER: WorkerConfig = { watch: 'msg_for_worker', use: 'msg_for_client', onFailure: 'release-then-delete', reconnectEachJob: true };

/** The K tasks of a π run: darts split evenly, each job with its own seed. */
export const piJobs = (s: PiScenario, seed: number): PiJobs => ({ kind: 'pi-jobs', jobs: s.jobs, darts: s.darts, seed });

export function piTasks(s: PiScenario, seed: number): TaskSpec[] {
  const jobs = piJobs(s, seed);
  return Array.from({ length: s.jobs }, (_, i) => taskAt(jobs, i));
}

/** The scenario's producer; `asPrinted`: π's client.py exactly as the report prints it, with its total_count bug. */
export function producerConfig(s: Scenario, seed: number, asPrinted = false): NodeConfig {
  const tubes = { use: WORKER.watch, watch: WORKER.use };
  switch (s.kind) {
    case 'pi':
      return {
        role: 'producer',
        producer: {
          ...tubes,
          tasks: piJobs(s, seed),
          ttr: s.ttr,
          pri: 0,
          pollMs: 1000,
          resume: true,
          ...(s.backupTasks ? { backups: { on: s.backupTasks === 'on' } } : {}),
          ...(asPrinted ? { totalCountBug: true } : {}),
        },
      };
    case 'matrix':
      return { role: 'producer', matrix: { ...tubes, n: s.n, rowsPerJob: s.granularity === 'cell' ? 0 : s.rowsPerJob, seed, ttr: s.ttr } };
    case 'sort':
      return { role: 'producer', sort: { ...tubes, values: s.values, buckets: s.buckets, oversampling: SORT_OVERSAMPLING, seed, ttr: s.ttr } };
    case 'queueing':
      return { role: 'producer', poisson: { ...tubes, jobs: s.arrivals, perMinute: s.rate, serviceMs: s.service, seed, ttr: s.ttr } };
  }
}

/** How many jobs the scenario's producer puts. */
export function jobCount(s: Scenario): number {
  switch (s.kind) {
    case 'pi':
      return s.jobs;
    case 'matrix':
      return s.granularity === 'cell' ? s.n * s.n : Math.ceil(s.n / Math.max(1, s.rowsPerJob));
    case 'sort':
      return s.buckets;
    case 'queueing':
      return s.arrivals;
  }
}

/** What a run computes, in words: "10,000,000 darts in 8 jobs". */
export function describeScenario(s: Scenario): string {
  const n = (x: number) => x.toLocaleString('en-US');
  switch (s.kind) {
    case 'pi':
      return `${n(s.darts)} darts in ${n(s.jobs)} jobs`;
    case 'matrix':
      return `${s.n}×${s.n} matrices, ${s.granularity === 'cell' ? 'one job per cell' : `${s.rowsPerJob} rows per job`} (${n(jobCount(s))} jobs)`;
    case 'sort':
      return `${n(s.values)} values in ${n(s.buckets)} buckets`;
    case 'queueing':
      return `${n(s.arrivals)} jobs arriving at ${n(s.rate)} a minute, ${n(s.service)} ms of work each on average`;
  }
}

export function workerName(i: number): string {
  return `worker ${i}`;
}

/** Adds the scenario's store (matrix), workers (and producer, if it autostarts) to a fresh cluster. */
export function setUp(cluster: Cluster, s: Scenario, seed: number): void {
  if (s.kind === 'matrix') cluster.addStore();
  for (let i = 1; i <= s.workers; i++) cluster.addNode(workerName(i), { role: 'worker', worker: WORKER });
  if (s.autostart) cluster.addNode('producer', producerConfig(s, seed));
}
