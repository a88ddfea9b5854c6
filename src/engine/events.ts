// The engine's event stream: everything a view, a timeline, a job history or a trace needs, as plain
// data (JSON-serialisable). Every picture in the UI is built from this one stream.
import type { JobState } from './types.ts';

/** What happened to a job. */
export type JobAction =
  | 'put' // entered the queue (state ready or delayed)
  | 'reserved' // handed to a connection (reserve, reserve-with-timeout, reserve-job)
  | 'released' // released by its owner (ready or delayed)
  | 'buried'
  | 'kicked' // buried/delayed -> ready
  | 'touched' // TTR restarted
  | 'deleted'
  | 'timed-out' // TTR ran out: back to ready
  | 'returned' // owner's connection closed: back to ready, no counters
  | 'delay-ended' // delayed -> ready by time
  | 'recovered'; // restored from the binlog at start-up

export interface JobEvent {
  kind: 'job';
  action: JobAction;
  at: number;
  id: number;
  tube: string;
  /** State after the event; 'deleted' when the job is gone. */
  state: JobState | 'deleted';
  pri: number;
  /** ms; for reserved jobs the TTR deadline, for delayed jobs when they become ready. */
  deadlineAt: number;
  ttr: number;
  bytes: number;
  /** Connection that caused the event or now holds the job, if any. */
  conn: number | null;
}

export type ConnectionAction =
  | 'opened'
  | 'closed'
  | 'waiting' // blocked in a reserve
  | 'deadline-soon'
  | 'wait-timed-out'
  | 'wait-ended'; // stopped waiting because it was served

export interface ConnectionEvent {
  kind: 'conn';
  action: ConnectionAction;
  at: number;
  conn: number;
  name: string;
}

export interface TubeEvent {
  kind: 'tube';
  action: 'created' | 'destroyed' | 'paused' | 'unpaused';
  at: number;
  tube: string;
  /** For 'paused': pause length in ms. */
  pause?: number;
}

/** One protocol exchange, for message animation and traces: a command in, or a reply out. */
export interface WireEvent {
  kind: 'wire';
  direction: 'in' | 'out';
  at: number;
  conn: number;
  /** The command or reply line, without CRLF. */
  line: string;
}

export type EngineEvent = JobEvent | ConnectionEvent | TubeEvent | WireEvent;
export type EngineListener = (e: EngineEvent) => void;
