// What a lesson step may do on the student's behalf ("Do it for me", or on entering the step): a fixed
// set of named actions on the run, the same ones the student's own buttons and console perform.
import type { Cluster } from '../sim/cluster.ts';
import { SPEEDS } from '../sim/speeds.ts';
import { applyFault, faultLabel, LESSON_NODE_FAULTS, SLOW_FACTORS, type LessonNodeFault } from '../sim/faults.ts';
import { DEFAULT_SCENARIOS, OPTIONAL_SCENARIO_FIELDS, type Scenario } from '../sim/scenario.ts';
import { checkHolds, isCheckName, parseCheck, type Check, type CheckName } from './checks.ts';

/** The part of the app an action drives (the Lab satisfies it). */
export interface ActionTarget {
  readonly cluster: Cluster;
  readonly console: { send(line: string): void; readonly lines: readonly { kind: string; text: string }[] };
  speed: number;
  play(): void;
  pause(): void;
  step(): Promise<void>;
  /** Start producer; `asPrinted`: the report's client.py as printed, with its total_count bug (π only). */
  startProducer(asPrinted?: boolean): void;
  addWorker(): void;
  /** Sets these scenario values in the top bar and presses Reset: a fresh, paused run. */
  resetWith(values: Partial<Scenario>): void;
  /** The Speedup tab's experiment on the current scenario with these worker counts, in virtual time. */
  runSpeedupExperiment(workers: number[]): Promise<void>;
}

export type Action =
  | { op: 'console'; lines: string[] }
  | { op: 'start-producer'; asPrinted?: boolean }
  | { op: 'play' | 'pause' | 'crash-server' }
  | { op: 'add-worker'; count: number }
  | { op: 'step'; count: number }
  | { op: 'step-until'; check: Check }
  | { op: 'speed'; value: number }
  /** A failure injection of sim/faults.ts that a lesson names with a node's name. */
  | { op: LessonNodeFault; node: string }
  /** The node card's Slow, pressed until the node is `factor` times slower. */
  | { op: 'slow'; node: string; factor: number }
  /** The producer card's Backup tasks switch. */
  | { op: 'backup-tasks'; on: boolean }
  | { op: 'kill-holder' | 'hang-holder'; job: number }
  | { op: 'restart-server'; binlog: boolean }
  | { op: 'reset'; values: Partial<Scenario> }
  | { op: 'speedup-experiment'; workers: number[] }
  /** Verify results: re-run this share of the jobs (0 to 1) on a second node. */
  | { op: 'verify'; fraction: number };


type FaultStep = Extract<Action, { op: LessonNodeFault }>;
const isLessonFault = (op: string): op is LessonNodeFault => Object.hasOwn(LESSON_NODE_FAULTS, op);
const isFaultStep = (a: Action): a is FaultStep => isLessonFault(a.op);

/** Every action a lesson may use, with what its argument is (for error messages and the README). */
export const ACTIONS: Record<Action['op'], string> = {
  console: 'a command line, or a list of lines, typed into the console',
  'start-producer': 'none, or "as-printed": the report\'s client.py as printed, with its total_count bug (π)',
  play: 'no argument',
  pause: 'no argument',
  'crash-server': 'no argument',
  'add-worker': 'how many (default 1)',
  step: 'how many protocol events (default 1)',
  'step-until': 'a check on the run, e.g. "step-until: { node-state: { node: worker 1, is: working } }"',
  speed: `one of ${SPEEDS.join(', ')}`,
  ...LESSON_NODE_FAULTS,
  slow: `a node and how many times slower (one of ${SLOW_FACTORS.join(', ')}), e.g. "slow: { node: worker 1, factor: 10 }"`,
  'backup-tasks': "on or off: the producer's Backup tasks switch (a producer started with scenario backupTasks)",
  'kill-holder': 'a job id: kill the worker working on that job',
  'hang-holder': 'a job id: hang the worker working on that job',
  'restart-server': 'binlog or no-binlog',
  reset: 'scenario values, e.g. "reset: { jobs: 2 }": set in the top bar, then Reset',
  'speedup-experiment': 'worker counts, e.g. [1, 2, 4, 8]: the Speedup tab\'s experiment, in virtual time',
  verify: 'the percentage of jobs to re-run on a second node, from 0 (off) to 100, e.g. "verify: 25"',
};

/** Worker counts the Speedup tab offers. */
export const SPEEDUP_COUNTS = [1, 2, 4, 8, 16];

export function isActionName(name: string): name is Action['op'] {
  return Object.hasOwn(ACTIONS, name);
}

function count(raw: unknown, what: string): number {
  if (raw === null || raw === undefined) return 1;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > 1000) throw new Error(`${what} must be a whole number from 1 to 1000, not ${JSON.stringify(raw)}`);
  return raw;
}

/** Checks `step-until` may wait for: those that read the run alone (not the console, an experiment or the top bar). */
const RUN_CHECKS: readonly CheckName[] = ['job-state', 'tube-jobs', 'node-state', 'workers', 'producer-done', 'reservations', 'rq-jobs', 'server'];
/** Events `step-until` steps at most before giving up. */
const STEP_UNTIL_LIMIT = 1000;

/** Scenario fields of every kind, with the type of their value. */
const SCENARIO_TYPES = new Map([
  ...Object.values(DEFAULT_SCENARIOS).flatMap((d) => Object.entries(d).map(([k, v]) => [k, typeof v] as const)),
  ...Object.values(OPTIONAL_SCENARIO_FIELDS).flatMap((o) => Object.keys(o).map((k) => [k, 'string'] as const)),
]);
/** The words an optional scenario field takes. */
const SCENARIO_WORDS: Record<string, readonly string[]> = Object.assign({}, ...Object.values(OPTIONAL_SCENARIO_FIELDS));

/** `reset`'s argument: scenario fields (not the kind) with values of their type; numbers whole, from 0. */
function scenarioValues(raw: unknown): Partial<Scenario> {
  const fields = [...SCENARIO_TYPES.keys()].filter((k) => k !== 'kind');
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !Object.keys(raw).length) throw new Error(`reset needs scenario values, e.g. "reset: { jobs: 2 }" (fields: ${fields.join(', ')})`);
  for (const [k, v] of Object.entries(raw)) {
    if (!fields.includes(k)) throw new Error(`reset: unknown scenario field "${k}" (fields: ${fields.join(', ')})`);
    const type = SCENARIO_TYPES.get(k);
    const words = SCENARIO_WORDS[k];
    if (words && !words.includes(v as string)) throw new Error(`reset: ${k} must be one of ${words.join(', ')}, not ${JSON.stringify(v)}`);
    if (typeof v !== type || (type === 'number' && !(Number.isInteger(v) && (v as number) >= 0))) throw new Error(`reset: ${k} must be ${type === 'number' ? 'a whole number' : type === 'boolean' ? 'true or false' : 'a word'}, not ${JSON.stringify(v)}`);
  }
  return raw as Partial<Scenario>;
}

function nodeName(raw: unknown, op: string): string {
  if (typeof raw !== 'string' || !raw.trim()) throw new Error(`${op} needs a node name, e.g. "${op}: worker 1"`);
  return raw;
}

/** Parses one action's argument; throws an Error saying what is wrong. */
export function parseAction(op: Action['op'], raw: unknown): Action {
  const none = () => {
    if (raw !== null && raw !== undefined && raw !== true) throw new Error(`${op} takes no argument`);
  };
  if (isLessonFault(op)) return { op, node: nodeName(raw, op) };
  switch (op) {
    case 'slow': {
      const r = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
      if (Object.keys(r).some((k) => k !== 'node' && k !== 'factor') || typeof r.node !== 'string' || !SLOW_FACTORS.includes(r.factor as number))
        throw new Error(`slow needs a node and a factor of ${SLOW_FACTORS.join(', ')}, e.g. "slow: { node: worker 1, factor: 10 }"`);
      return { op, node: nodeName(r.node, op), factor: r.factor as number };
    }
    case 'backup-tasks':
      if (raw !== 'on' && raw !== 'off' && typeof raw !== 'boolean') throw new Error(`backup-tasks must be on or off, not ${JSON.stringify(raw)}`);
      return { op, on: raw === 'on' || raw === true };
    case 'console': {
      const lines = typeof raw === 'string' || typeof raw === 'number' ? [String(raw)] : raw;
      if (!Array.isArray(lines) || lines.length === 0 || !lines.every((l) => typeof l === 'string' || typeof l === 'number'))
        throw new Error('console needs a command line or a list of lines');
      return { op, lines: lines.map(String) };
    }
    case 'start-producer':
      if (raw === 'as-printed') return { op, asPrinted: true };
      none();
      return { op };
    case 'play':
    case 'pause':
    case 'crash-server':
      none();
      return { op };
    case 'add-worker':
    case 'step':
      return { op, count: count(raw, op) };
    case 'step-until': {
      const entries = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? Object.entries(raw) : [];
      const [name, arg] = entries[0] ?? [];
      if (entries.length !== 1 || !isCheckName(name) || !RUN_CHECKS.includes(name)) throw new Error(`step-until needs one check on the run (${RUN_CHECKS.join(', ')}), e.g. "step-until: { node-state: { node: worker 1, is: working } }"`);
      return { op, check: { name, ...parseCheck(name, arg), line: 0 } };
    }
    case 'speed':
      if (typeof raw !== 'number' || !SPEEDS.includes(raw)) throw new Error(`speed must be one of ${SPEEDS.join(', ')}, not ${JSON.stringify(raw)}`);
      return { op, value: raw };
    case 'kill-holder':
    case 'hang-holder':
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1) throw new Error(`${op} needs a job id, e.g. "${op}: 3"`);
      return { op, job: raw };
    case 'restart-server':
      if (raw !== 'binlog' && raw !== 'no-binlog') throw new Error(`restart-server must be "binlog" or "no-binlog", not ${JSON.stringify(raw)}`);
      return { op, binlog: raw === 'binlog' };
    case 'reset':
      return { op, values: scenarioValues(raw) };
    case 'speedup-experiment':
      if (!Array.isArray(raw) || !raw.length || !raw.every((k) => SPEEDUP_COUNTS.includes(k as number)))
        throw new Error(`speedup-experiment needs a list of worker counts from ${SPEEDUP_COUNTS.join(', ')}, e.g. "speedup-experiment: [1, 2, 4, 8]"`);
      return { op, workers: raw as number[] };
    case 'verify':
      if (typeof raw !== 'number' || !(raw >= 0 && raw <= 100)) throw new Error(`verify needs the percentage of jobs to re-run, from 0 to 100, e.g. "verify: 25", not ${JSON.stringify(raw)}`);
      return { op, fraction: raw / 100 };
  }
}

/** The action in words, for the "Do it for me" button's description. */
export function describeAction(a: Action): string {
  // A fault's label names its node by name alone: the id is not read.
  if (isFaultStep(a)) return faultLabel({ op: a.op, node: 0 }, a.node);
  switch (a.op) {
    case 'slow':
      return `slow ${a.node} down ×${a.factor}`;
    case 'backup-tasks':
      return `turn the producer's backup tasks ${a.on ? 'on' : 'off'}`;
    case 'console':
      return `type ${a.lines.map((l) => `“${l}”`).join(', ')} in the console`;
    case 'start-producer':
      return a.asPrinted ? 'start the producer, client.py as printed' : 'start the producer';
    case 'play':
      return 'press Play';
    case 'pause':
      return 'pause';
    case 'crash-server':
      return 'crash the queue server';
    case 'add-worker':
      return a.count === 1 ? 'add a worker' : `add ${a.count} workers`;
    case 'step':
      return a.count === 1 ? 'step one event' : `step ${a.count} events`;
    case 'step-until':
      return `step until ${a.check.text}`;
    case 'speed':
      return `set the speed to ×${a.value}`;
    case 'kill-holder':
      return `kill the worker holding job ${a.job}`;
    case 'hang-holder':
      return `hang the worker holding job ${a.job}`;
    case 'restart-server':
      return a.binlog ? 'restart the server with its binlog' : 'restart the server without its binlog';
    case 'reset':
      return `set ${Object.entries(a.values).map(([k, v]) => `${k} to ${v}`).join(', ')} and press Reset`;
    case 'speedup-experiment':
      return `run the speedup experiment with ${a.workers.join(', ')} workers in virtual time`;
    case 'verify':
      return a.fraction ? `verify ${Math.round(a.fraction * 100)}% of the results` : 'stop verifying results';
  }
}

function nodeId(target: ActionTarget, name: string): number {
  for (const n of target.cluster.nodes.values()) if (n.name === name) return n.id;
  throw new Error(`there is no node called ${name}`);
}

function holder(target: ActionTarget, job: number): number {
  const model = target.cluster.model.jobs.get(job);
  if (!model || model.state !== 'reserved') throw new Error(`job ${job} is not reserved by anyone right now`);
  for (const n of target.cluster.nodes.values()) if (n.life !== 'dead' && n.status.job === job) return n.id;
  throw new Error(`no node says it is working on job ${job}`);
}

/**
 * `$RESERVED` and `$INSERTED` in a console line stand for the job id of the console's latest
 * `RESERVED <id>` or `INSERTED <id>` reply, so a lesson can say "touch the job you reserved".
 */
function withIds(target: ActionTarget, line: string): string {
  return line.replace(/\$(RESERVED|INSERTED)\b/g, (whole, word: string) => {
    const lines = target.console.lines;
    for (let i = lines.length - 1; i >= 0; i--) {
      if (lines[i].kind !== 'out') continue;
      const m = new RegExp(`^${word} (\\d+)`, 'm').exec(lines[i].text);
      if (m) return m[1];
    }
    throw new Error(`the console has not seen a ${word} reply yet, so ${whole} has no value`);
  });
}

/** Performs one action; throws an Error (shown to the student) if it cannot be done now. */
export async function runAction(target: ActionTarget, a: Action): Promise<void> {
  const cluster = target.cluster;
  if (isFaultStep(a)) return applyFault(cluster, { op: a.op, node: nodeId(target, a.node) });
  switch (a.op) {
    case 'slow':
      return applyFault(cluster, { op: 'slow', node: nodeId(target, a.node), factor: a.factor });
    case 'backup-tasks': {
      const producer = [...cluster.nodes.values()].find((n) => n.backupTasks !== undefined);
      if (!producer) throw new Error('no producer with backup tasks is running: start the producer of a scenario with backupTasks');
      return applyFault(cluster, { op: 'backup-tasks', node: producer.id, on: a.on });
    }
    case 'console':
      for (const line of a.lines) target.console.send(withIds(target, line));
      return;
    case 'start-producer':
      target.startProducer(a.asPrinted);
      return;
    case 'play':
      target.play();
      return;
    case 'pause':
      target.pause();
      return;
    case 'crash-server':
      return applyFault(cluster, { op: 'crash-server' });
    case 'add-worker':
      for (let i = 0; i < a.count; i++) target.addWorker();
      return;
    case 'step':
      for (let i = 0; i < a.count; i++) await target.step();
      return;
    case 'step-until': {
      // RUN_CHECKS read the cluster alone: no console lines, experiment or scenario are needed.
      const holds = () => checkHolds(a.check, { cluster: target.cluster, console: [], speedup: [], scenario: null as never });
      for (let i = 0; !holds(); i++) {
        if (i === STEP_UNTIL_LIMIT) throw new Error(`${STEP_UNTIL_LIMIT} events went by and still not ${a.check.text}`);
        await target.step();
      }
      return;
    }
    case 'speed':
      target.speed = a.value;
      return;
    case 'kill-holder':
      cluster.killNode(holder(target, a.job));
      return;
    case 'hang-holder':
      cluster.hangNode(holder(target, a.job));
      return;
    case 'restart-server':
      return applyFault(cluster, { op: 'restart-server', binlog: a.binlog });
    case 'reset':
      target.resetWith(a.values);
      return;
    case 'speedup-experiment':
      await target.runSpeedupExperiment(a.workers);
      return;
    case 'verify':
      cluster.setVerification(a.fraction);
      return;
  }
}
