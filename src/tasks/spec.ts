// What a task is and what it returns, and the checks every entry point applies: specs arrive from job
// bodies and worker messages, so nothing here trusts its input's type.

export type TaskSpec =
  /** Monte Carlo pi: throw `darts` darts uniformly into the unit square, seeded by `seed`. */
  | { kind: 'pi'; darts: number; seed: number }
  /** Rows row0.. of C = A x B: `rows` are those rows of A (each as long as B has rows). */
  | { kind: 'matrix-block'; rows: number[][]; b: number[][]; row0: number }
  /** One entry C[i][j] = row . col (the seed report's design: one job per cell). */
  | { kind: 'matrix-cell'; row: number[]; col: number[]; i: number; j: number }
  /** Sort one chunk ascending (sample sort's local sort). */
  | { kind: 'sort-chunk'; values: number[] }
  /** Keep the CPU busy for `ms` milliseconds (demonstrations). */
  | { kind: 'busy'; ms: number }
  /** Take `ms` milliseconds without using the CPU: the caller models the wait. */
  | { kind: 'sleep'; ms: number };

export type TaskResult =
  | { kind: 'pi'; darts: number; hits: number }
  | { kind: 'matrix-block'; row0: number; rows: number[][] }
  | { kind: 'matrix-cell'; i: number; j: number; value: number }
  | { kind: 'sort-chunk'; values: number[] }
  | { kind: 'busy' | 'sleep'; ms: number };

export type TaskKind = TaskSpec['kind'];
export const TASK_KINDS: readonly TaskKind[] = ['pi', 'matrix-block', 'matrix-cell', 'sort-chunk', 'busy', 'sleep'];

export const isTaskKind = (word: string): word is TaskKind => (TASK_KINDS as readonly string[]).includes(word);

const show = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x) : Array.isArray(x) ? 'an array' : String(x));

/** Field checks; `what` names the field in the error, e.g. "pi task: darts". */
function count(what: string, x: unknown): number {
  if (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) return x;
  throw new Error(`${what} must be a whole number >= 0, got ${show(x)}`);
}

function integer(what: string, x: unknown): number {
  if (typeof x === 'number' && Number.isSafeInteger(x)) return x;
  throw new Error(`${what} must be a whole number, got ${show(x)}`);
}

function duration(what: string, x: unknown): number {
  if (typeof x === 'number' && Number.isFinite(x) && x >= 0) return x;
  throw new Error(`${what} must be a number of milliseconds >= 0, got ${show(x)}`);
}

function finite(what: string, x: unknown): number {
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  throw new Error(`${what} must be a finite number, got ${show(x)}`);
}

function numbers(what: string, x: unknown, length?: number): number[] {
  if (!Array.isArray(x)) throw new Error(`${what} must be an array of numbers, got ${show(x)}`);
  if (length !== undefined && x.length !== length) {
    throw new Error(`${what} must have ${length} entries, has ${x.length}`);
  }
  x.forEach((v, i) => finite(`${what}[${i}]`, v));
  return x as number[];
}

/** A non-empty array of rows of equal length, or of length `width` when given. */
function matrix(what: string, x: unknown, width?: number): number[][] {
  if (!Array.isArray(x) || x.length === 0) throw new Error(`${what} must be a non-empty array of rows, got ${show(x)}`);
  const w = width ?? (Array.isArray(x[0]) ? x[0].length : 0);
  x.forEach((row, i) => numbers(`${what}[${i}]`, row, w));
  return x as number[][];
}

function record(x: unknown, what: 'task' | 'result'): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error(`a ${what} must be an object, got ${show(x)}`);
  return x as Record<string, unknown>;
}

function kindOf(o: Record<string, unknown>, what: 'task' | 'result'): TaskKind {
  if (typeof o.kind === 'string' && isTaskKind(o.kind)) return o.kind;
  throw new Error(`unknown ${what} kind ${show(o.kind)}: expected one of ${TASK_KINDS.join(', ')}`);
}

/** Returns `x` as a TaskSpec, or throws an Error naming the first field that is wrong. */
export function checkTask(x: unknown): TaskSpec {
  const o = record(x, 'task');
  const kind = kindOf(o, 'task');
  const what = `${kind} task`;
  switch (kind) {
    case 'pi':
      count(`${what}: darts`, o.darts);
      integer(`${what}: seed`, o.seed);
      break;
    case 'matrix-block': {
      const b = matrix(`${what}: b`, o.b);
      if (b[0].length === 0) throw new Error(`${what}: b must have at least one column`);
      matrix(`${what}: rows`, o.rows, b.length);
      count(`${what}: row0`, o.row0);
      break;
    }
    case 'matrix-cell': {
      const row = numbers(`${what}: row`, o.row);
      numbers(`${what}: col`, o.col, row.length);
      count(`${what}: i`, o.i);
      count(`${what}: j`, o.j);
      break;
    }
    case 'sort-chunk':
      numbers(`${what}: values`, o.values);
      break;
    case 'busy':
    case 'sleep':
      duration(`${what}: ms`, o.ms);
      break;
  }
  return o as TaskSpec;
}

/** Returns `x` as a TaskResult, or throws an Error naming the first field that is wrong. */
export function checkResult(x: unknown): TaskResult {
  const o = record(x, 'result');
  const kind = kindOf(o, 'result');
  const what = `${kind} result`;
  switch (kind) {
    case 'pi': {
      const darts = count(`${what}: darts`, o.darts);
      const hits = count(`${what}: hits`, o.hits);
      if (hits > darts) throw new Error(`${what}: hits (${hits}) cannot exceed darts (${darts})`);
      break;
    }
    case 'matrix-block':
      count(`${what}: row0`, o.row0);
      matrix(`${what}: rows`, o.rows);
      break;
    case 'matrix-cell':
      count(`${what}: i`, o.i);
      count(`${what}: j`, o.j);
      finite(`${what}: value`, o.value);
      break;
    case 'sort-chunk':
      numbers(`${what}: values`, o.values);
      break;
    case 'busy':
    case 'sleep':
      duration(`${what}: ms`, o.ms);
      break;
  }
  return o as TaskResult;
}

/**
 * π's K jobs as their numbers: `darts` in all, job i seeded `seed`·1000 + i, the last taking what the
 * others leave. A producer's config carries these few numbers instead of the list of 10^4 tasks (400 kB
 * structured-cloned into every node process a seek or step back resumes).
 */
export interface PiJobs {
  kind: 'pi-jobs';
  jobs: number;
  darts: number;
  seed: number;
}

/** A producer's tasks: a list, or π's jobs as their numbers. */
export type TaskList = readonly TaskSpec[] | PiJobs;

const isPiJobs = (l: TaskList): l is PiJobs => !Array.isArray(l);

export const taskCount = (l: TaskList): number => (isPiJobs(l) ? l.jobs : l.length);

/** Task `i` of `l` (0 ≤ i < taskCount(l)). */
export function taskAt(l: TaskList, i: number): TaskSpec {
  if (!isPiJobs(l)) return l[i];
  const per = Math.floor(l.darts / l.jobs);
  return { kind: 'pi', darts: i === l.jobs - 1 ? l.darts - per * (l.jobs - 1) : per, seed: (l.seed * 1000 + i) >>> 0 };
}
