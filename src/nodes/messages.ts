// Plain messages between the page and a node (a Web Worker, or later a remote tab). Beanstalkd traffic
// travels as raw wire bytes; everything else is small control data. Every message carries `vt`, the
// node's virtual time, so the page can order events deterministically (see src/sim/scheduler.ts).
import type { TaskList, TaskSpec } from '../tasks/index.ts';

export type Role = 'worker' | 'producer';

/** The seed report's matrix program (client.py with memcached): A and B go into the key-value store, jobs name what to compute. */
export interface MatrixProducerConfig {
  use: string;
  watch: string;
  /** Size of the square matrices A, B and C. */
  n: number;
  /** Rows of C per job; 0 means one job per cell C[i][j], as in the report. */
  rowsPerJob: number;
  /** Seeds the entries of A and B. */
  seed: number;
  ttr: number;
}

/** Sample sort (the report's future work): sample, splitters, one sort-chunk job per bucket, concatenate. */
export interface SortProducerConfig {
  use: string;
  watch: string;
  /** How many values to sort. */
  values: number;
  /** Buckets, one job each. */
  buckets: number;
  /** Sample values drawn per bucket to choose the splitters. */
  oversampling: number;
  seed: number;
  ttr: number;
}

/** Lesson 12's producer: Poisson arrivals of sleep jobs with exponential lengths (src/nodes/poisson.ts). */
export interface PoissonProducerConfig {
  use: string;
  watch: string;
  /** How many jobs arrive. */
  jobs: number;
  /** Arrival rate λ, jobs a minute. */
  perMinute: number;
  /** Mean service time S of a job, ms. */
  serviceMs: number;
  /** Seeds the arrival times and service times. */
  seed: number;
  ttr: number;
}

export interface WorkerConfig {
  /** Tube the worker reserves from (the report's msg_for_worker). */
  watch: string;
  /** Tube it puts results into (msg_for_client). */
  use: string;
  /** What to do when a task throws: the seed's worker releases the job and then deletes it anyway. */
  onFailure: 'release-then-delete' | 'bury';
  /** Open a new connection for every job, as the seed's worker loop does. */
  reconnectEachJob: boolean;
  /**
   * Keep to fewer round trips (a room's remote nodes, whose every round trip crosses a data channel):
   * `use` once per connection, and the next `reserve` sent with the `delete` that ends a job (beanstalkd
   * answers pipelined commands in order). Off by default, as in the seed.
   */
  pipelined?: boolean;
  /** Put each result into `use`, as the seed's worker does (default); rq's feeders keep results in the job history instead. */
  putResults?: boolean;
  /** Bury a job reserved more often than this (a retry limit; beanstalkd's stats-job counts reserves). None by default, as in the seed. */
  maxReserves?: number;
}

export interface ProducerConfig {
  use: string;
  watch: string;
  /** Jobs to put (the report's K), one per task of `tasks`. */
  tasks: TaskList;
  ttr: number;
  pri: number;
  /** How often the resume logic polls stats-tube while the queue is not empty (ms). */
  pollMs: number;
  /** Skip the resume check (the first version of the report's client). */
  resume: boolean;
  /**
   * client.py as the report prints it: `total_count = total_circle_count + int(job.body)` never adds
   * up, so only the last result counts (π/K instead of π). Lesson 2's "find the bug".
   */
  totalCountBug?: boolean;
  /**
   * Keep the bookkeeping of backup tasks (src/nodes/backup-tasks.ts), and put copies of stragglers while
   * `on`: the page switches it at run time. Absent: the report's client, which cannot have them.
   */
  backups?: { on: boolean };
  /**
   * Live time: put the jobs without waiting for each INSERTED, and send each result's delete with the
   * next reserve. A page busy with a class's remote nodes answers a command a while later, and a producer
   * waiting on every answer lagged far behind the results (254 read of 885 with 128 nodes). Virtual time
   * keeps the report's client, one command at a time, so the lessons' runs stay as they are.
   */
  pipelined?: boolean;
}

/** What backup tasks cost a producer: copies put, late results thrown away (and their computing time, ms), copies deleted before any worker ran them. */
export interface BackupStats {
  copies: number;
  late: number;
  cancelled: number;
  wastedMs: number;
}

export type NodeConfig =
  | { role: 'worker'; worker: WorkerConfig }
  | { role: 'producer'; producer: ProducerConfig }
  | { role: 'producer'; matrix: MatrixProducerConfig }
  | { role: 'producer'; sort: SortProducerConfig }
  | { role: 'producer'; poisson: PoissonProducerConfig };

/** What a node shows on its card. */
export interface NodeStatus {
  state: 'starting' | 'connecting' | 'idle' | 'waiting' | 'working' | 'sending' | 'sleeping' | 'done' | 'failed';
  job?: number;
  detail?: string;
}

/** Structured results a node reports for charts and checks. */
export type NodeReport =
  /** `result`: the result text the worker computed (for the job history). */
  | { kind: 'task-done'; job: number; task: TaskSpec['kind']; ms: number; units: number; result?: string }
  /** The job's task could not run (a bad body, or it threw): its error, for the job history. */
  | { kind: 'task-failed'; job: number; error: string }
  | { kind: 'pi-progress'; darts: number; hits: number; received: number; expected: number }
  | { kind: 'producer-done'; estimate?: number; results: string[]; seconds: number; check?: ResultCheck; backups?: BackupStats }
  /** A producer with backup tasks: what they have cost so far (again after each late result). */
  | ({ kind: 'backup-tasks' } & BackupStats)
  /** Sample sort's partition: how many values each bucket (job) got. */
  | { kind: 'sort-buckets'; sizes: number[] };

/** A producer's verdict on the combined result (C = A×B, the output sorted): `text` says it in words. */
export interface ResultCheck {
  ok: boolean;
  text: string;
}

export type ToNode =
  | { t: 'start'; vt: number; name: string; seed: number; config: NodeConfig; virtual: boolean }
  | { t: 'open'; vt: number; conn: number }
  | { t: 'refused'; vt: number; conn: number }
  | { t: 'data'; vt: number; conn: number; bytes: Uint8Array }
  | { t: 'closed'; vt: number; conn: number }
  | { t: 'wake'; vt: number }
  | { t: 'hang' }
  | { t: 'slow'; factor: number }
  /** Backup tasks on or off, for a producer that keeps their bookkeeping. */
  | { t: 'backup-tasks'; on: boolean }
  /**
   * Run `spec` outside the queue and answer with its result (request `n`): the host re-runs a job on a
   * second node to check the result the first one gave (see src/sim/verify.ts).
   */
  | { t: 'rerun'; vt: number; n: number; spec: TaskSpec }
  /** The "wrong results" fault: falsify a share `rate` of the results from now on (0: honest again). */
  | { t: 'cheat'; rate: number }
  /** To a producer: drop these result jobs, put by a node caught cheating (see src/nodes/verify-results.ts). */
  | { t: 'discard'; vt: number; results: number[] }
  /**
   * Time travel: become the node a checkpoint recorded. Start as `start` says, from resume point
   * `mark` (none: from the program's start), then take `inputs` (what the node was given since, in
   * order) without sending again the first `sent` messages they make (the page had them already).
   */
  | { t: 'resume'; start: StartMessage; mark: NodeMark | null; inputs: ToNode[]; sent: number };

export type StartMessage = Extract<ToNode, { t: 'start' }>;

/** A node's resume point (see NodeRuntime.mark): its program's state and what its host holds. */
export interface NodeMark {
  /** Messages the node had been given when it marked (its start included). */
  consumed: number;
  vt: number;
  /** The program's state, for the program to start at. */
  state: unknown;
  slow: number;
  /** The number its next connection gets, and its open connections to the queue server. */
  nextConn: number;
  conns: number[];
}

export type FromNode =
  /** A connection to the queue server, or to the key-value store when `to` says so. */
  | { t: 'connect'; vt: number; conn: number; to?: 'store' }
  | { t: 'data'; vt: number; conn: number; bytes: Uint8Array }
  | { t: 'close'; vt: number; conn: number }
  /** Computing until `until` (virtual time only: the page's clock waits for it). */
  | { t: 'compute'; vt: number; until: number }
  | { t: 'sleep'; vt: number; until: number }
  /** Nothing more from this node until the page sends it something, or its compute ends (virtual time only). */
  | { t: 'idle'; vt: number }
  | { t: 'status'; vt: number; status: NodeStatus }
  | { t: 'report'; vt: number; report: NodeReport }
  | { t: 'log'; vt: number; text: string }
  /** The answer to rerun `n`: the task's result text (as a worker puts it), or why it could not run; `ms` it took. */
  | { t: 'rerun-done'; vt: number; n: number; ms: number; result: string }
  | { t: 'rerun-done'; vt: number; n: number; ms: number; error: string }
  /** A resume point (virtual time only): the page keeps it, and what the node is given after it, for checkpoints. */
  | ({ t: 'mark' } & NodeMark);
