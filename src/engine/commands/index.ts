// Commands as a table (beanstalkd's dispatch_cmd switch, split by family).
import type { Engine } from '../engine.ts';
import type { Connection } from '../connection.ts';
import type { Command, Op } from '../command.ts';
import { jobCommands } from './jobs.ts';
import { reserveCommands } from './reserve.ts';
import { tubeCommands } from './tubes.ts';
import { inspectCommands } from './inspect.ts';

export type Handler<K extends Op> = (e: Engine, c: Connection, cmd: Extract<Command, { op: K }>) => void;

type HandlerTable = { [K in Exclude<Op, 'put'>]: Handler<K> };

export const HANDLERS: HandlerTable = {
  ...jobCommands,
  ...reserveCommands,
  ...tubeCommands,
  ...inspectCommands,
};
