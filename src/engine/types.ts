// The engine's data model and its units, stated once.
//
// Time: every instant and duration in the engine is a number of MILLISECONDS read from an injected
// Clock (wall-clock epoch ms for a real clock; any origin for a virtual one). beanstalkd keeps
// nanoseconds; the protocol only speaks whole seconds, so milliseconds lose nothing a client sees.

/** The engine's only source of time. The engine never calls Date.now() or setTimeout itself. */
export interface Clock {
  /** Current instant, in ms. Must never go backwards. */
  now(): number;
}

export type JobState = 'ready' | 'delayed' | 'reserved' | 'buried';

/** Jobs with a priority below this count as urgent (stats `current-jobs-urgent`). */
export const URGENT_THRESHOLD = 1024;
/** A reserved job is "about to expire" in its last second: DEADLINE_SOON (conn.c SAFETY_MARGIN). */
export const SAFETY_MARGIN_MS = 1000;
/** Longest command line, CRLF included (dat.h LINE_BUF_SIZE = 11 + 201 + 12). */
export const LINE_BUF_SIZE = 224;
/** Longest tube name in bytes. */
export const MAX_TUBE_NAME_LEN = 200;
/** Default and hard cap of `-z` (largest job body in bytes). */
export const JOB_DATA_SIZE_LIMIT_DEFAULT = 65535;
export const JOB_DATA_SIZE_LIMIT_MAX = 1073741824;
/** Default binlog file size (`-s`). */
export const BINLOG_SIZE_DEFAULT = 10485760;
export const U32_MAX = 4294967295;

export const VERSION = '1.12';

/** What `stats` reports about the process hosting the engine; the host fills it in. */
export interface HostInfo {
  pid: number;
  hostname: string;
  os: string;
  platform: string;
  /** CPU time used by the process, in seconds. */
  rusage(): { utime: number; stime: number };
}

export const BROWSER_HOST: HostInfo = {
  pid: 1,
  hostname: 'beanlab',
  os: 'browser',
  platform: 'wasm',
  rusage: () => ({ utime: 0, stime: 0 }),
};
