// What a remote node may ask the queue server: the worker's commands and nothing else, unless the
// host allows more. The host parses every command line with the shared codec (src/protocol/parse.ts)
// before the engine sees it; a refused one is answered UNKNOWN_COMMAND (see CommandPolicy).
import type { Command } from '../engine/command.ts';
import type { CommandPolicy } from '../protocol/session.ts';

const WORKER_OPS: ReadonlySet<Command['op']> = new Set([
  'use',
  'watch',
  'ignore',
  'reserve',
  'reserve-with-timeout',
  'reserve-job',
  'delete',
  'release',
  'bury',
  'touch',
  // The worker's retry limit reads a job's reserve count.
  'stats-job',
  'quit',
  // Lines that do not parse still get beanstalkd's own answer.
  'bad-format',
  'unknown-command',
]);

/** The worker's commands, and `put` only into the tube results go to. */
export function workerCommands(resultTube: string): CommandPolicy {
  return (cmd, conn) => WORKER_OPS.has(cmd.op) || (cmd.op === 'put' && conn.use.name === resultTube);
}
