// The engine's input language: one typed command per protocol line, as parsed by src/protocol/parse.ts.
// Numbers are already range-checked the way beanstalkd checks them; durations are in ms.

export type Command =
  | {
      op: 'put';
      pri: number;
      delay: number;
      ttr: number;
      /** Body length announced on the line (without the trailing CRLF). */
      bytes: number;
      /** Text after the byte count: BAD_FORMAT, but only after the JOB_TOO_BIG check. */
      trailingGarbage: boolean;
    }
  | { op: 'peek'; id: number }
  | { op: 'peek-ready' }
  | { op: 'peek-delayed' }
  | { op: 'peek-buried' }
  | { op: 'reserve' }
  /** timeout in whole seconds; negative waits for ever (1.12 strtol semantics). */
  | { op: 'reserve-with-timeout'; timeout: number }
  | { op: 'reserve-job'; id: number }
  | { op: 'delete'; id: number }
  | { op: 'release'; id: number; pri: number; delay: number }
  | { op: 'bury'; id: number; pri: number }
  | { op: 'touch'; id: number }
  | { op: 'kick'; bound: number }
  | { op: 'kick-job'; id: number }
  | { op: 'stats' }
  | { op: 'stats-job'; id: number }
  | { op: 'stats-tube'; tube: string }
  | { op: 'use'; tube: string }
  | { op: 'watch'; tube: string }
  | { op: 'ignore'; tube: string }
  | { op: 'list-tubes' }
  | { op: 'list-tube-used' }
  | { op: 'list-tubes-watched' }
  | { op: 'pause-tube'; tube: string; delay: number; validName: boolean }
  | { op: 'quit' }
  | { op: 'bad-format' }
  | { op: 'unknown-command' };

export type Op = Command['op'];

/**
 * The commands counted in `stats` (cmd-*), in STATS_FMT order; each counter is named after its command.
 * reserve-job and kick-job are counted by beanstalkd but never shown, so not kept here.
 */
export const COUNTED_OPS = [
  'put',
  'peek',
  'peek-ready',
  'peek-delayed',
  'peek-buried',
  'reserve',
  'reserve-with-timeout',
  'delete',
  'release',
  'use',
  'watch',
  'ignore',
  'bury',
  'kick',
  'touch',
  'stats',
  'stats-job',
  'stats-tube',
  'list-tubes',
  'list-tube-used',
  'list-tubes-watched',
  'pause-tube',
] as const;

export type CountedOp = (typeof COUNTED_OPS)[number];
