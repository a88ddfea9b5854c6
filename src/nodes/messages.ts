// Plain messages between the page and a node (a Web Worker, or later a remote tab). Beanstalkd traffic
// travels as raw wire bytes; everything else is small control data. Every message carries `vt`, the
// node's virtual time, so the page can order events deterministically (see src/sim/cluster.ts).
import type { TaskSpec } from '../tasks/index.ts';

export type Role = 'worker' | 'producer';

export interface WorkerConfig {
  /** Tube the worker reserves from (the report's msg_for_worker). */
  watch: string;
  /** Tube it puts results into (msg_for_client). */
  use: string;
  /** What to do when a task throws: the seed's worker releases the job and then deletes it anyway. */
  onFailure: 'release-then-delete' | 'bury';
  /** Open a new connection for every job, as the seed's worker loop does. */
  reconnectEachJob: boolean;
}

export interface ProducerConfig {
  use: string;
  watch: string;
  /** Jobs to put (the report's K); each job's task comes from `tasks[i]`. */
  tasks: TaskSpec[];
  ttr: number;
  pri: number;
  /** How often the resume logic polls stats-tube while the queue is not empty (ms). */
  pollMs: number;
  /** Skip the resume check (the first version of the report's client). */
  resume: boolean;
}

export type NodeConfig = { role: 'worker'; worker: WorkerConfig } | { role: 'producer'; producer: ProducerConfig };

/** What a node shows on its card. */
export interface NodeStatus {
  state: 'starting' | 'connecting' | 'idle' | 'waiting' | 'working' | 'sending' | 'sleeping' | 'done' | 'failed';
  job?: number;
  detail?: string;
}

/** Structured results a node reports for charts and checks. */
export type NodeReport =
  | { kind: 'task-done'; job: number; task: TaskSpec['kind']; ms: number; units: number }
  | { kind: 'pi-progress'; darts: number; hits: number; received: number; expected: number }
  | { kind: 'producer-done'; estimate?: number; results: string[]; seconds: number };

export type ToNode =
  | { t: 'start'; vt: number; name: string; seed: number; config: NodeConfig; virtual: boolean }
  | { t: 'open'; vt: number; conn: number }
  | { t: 'refused'; vt: number; conn: number }
  | { t: 'data'; vt: number; conn: number; bytes: Uint8Array }
  | { t: 'closed'; vt: number; conn: number }
  | { t: 'wake'; vt: number }
  | { t: 'hang' }
  | { t: 'slow'; factor: number };

export type FromNode =
  | { t: 'connect'; vt: number; conn: number }
  | { t: 'data'; vt: number; conn: number; bytes: Uint8Array }
  | { t: 'close'; vt: number; conn: number }
  /** Computing until `until` (virtual time); -1 when the duration is not known in advance (live mode). */
  | { t: 'compute'; vt: number; until: number }
  | { t: 'sleep'; vt: number; until: number }
  /** Nothing more from this node until the page sends it something (or its compute ends). */
  | { t: 'idle'; vt: number }
  | { t: 'status'; vt: number; status: NodeStatus }
  | { t: 'report'; vt: number; report: NodeReport }
  | { t: 'log'; vt: number; text: string };
