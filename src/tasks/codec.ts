// Job bodies: short readable text, a kind word then its arguments, so a student reading a tube (or
// typing `put` by hand) sees what a job asks for. Scalars are plain numbers, like the seed report's
// "1000000"; structured tasks carry JSON after the kind word.
//
//   task                                              result
//   pi DARTS SEED                                     pi DARTS HITS
//   matrix-block {"row0":R,"rows":[[..]],"b":[[..]]}  matrix-block {"row0":R,"rows":[[..]]}
//   matrix-cell {"i":I,"j":J,"row":[..],"col":[..]}   matrix-cell I J VALUE
//   sort-chunk [v, ...]                               sort-chunk [v, ...]
//   busy MS | sleep MS                                busy MS | sleep MS
import { checkResult, checkTask, isTaskKind, TASK_KINDS, type TaskKind, type TaskResult, type TaskSpec } from './spec.ts';

export function encodeTask(spec: TaskSpec): string {
  const s = checkTask(spec);
  switch (s.kind) {
    case 'pi':
      return `pi ${s.darts} ${s.seed}`;
    case 'matrix-block':
      return `matrix-block ${JSON.stringify({ row0: s.row0, rows: s.rows, b: s.b })}`;
    case 'matrix-cell':
      return `matrix-cell ${JSON.stringify({ i: s.i, j: s.j, row: s.row, col: s.col })}`;
    case 'sort-chunk':
      return `sort-chunk ${JSON.stringify(s.values)}`;
    case 'busy':
    case 'sleep':
      return `${s.kind} ${s.ms}`;
  }
}

export function encodeResult(result: TaskResult): string {
  const r = checkResult(result);
  switch (r.kind) {
    case 'pi':
      return `pi ${r.darts} ${r.hits}`;
    case 'matrix-block':
      return `matrix-block ${JSON.stringify({ row0: r.row0, rows: r.rows })}`;
    case 'matrix-cell':
      return `matrix-cell ${r.i} ${r.j} ${r.value}`;
    case 'sort-chunk':
      return `sort-chunk ${JSON.stringify(r.values)}`;
    case 'busy':
    case 'sleep':
      return `${r.kind} ${r.ms}`;
  }
}

export function decodeTask(body: string): TaskSpec {
  const { kind, rest, fail } = split(body, 'task');
  switch (kind) {
    case 'pi': {
      const [darts, seed] = words(rest, ['DARTS', 'SEED'], fail);
      return checkAs(() => checkTask({ kind, darts, seed }), fail);
    }
    case 'matrix-block': {
      const { row0, rows, b } = object(rest, fail);
      return checkAs(() => checkTask({ kind, row0, rows, b }), fail);
    }
    case 'matrix-cell': {
      const { i, j, row, col } = object(rest, fail);
      return checkAs(() => checkTask({ kind, i, j, row, col }), fail);
    }
    case 'sort-chunk': {
      const values = json(rest, fail);
      return checkAs(() => checkTask({ kind, values }), fail);
    }
    case 'busy':
    case 'sleep': {
      const [ms] = words(rest, ['MS'], fail);
      return checkAs(() => checkTask({ kind, ms }), fail);
    }
  }
}

export function decodeResult(body: string): TaskResult {
  const { kind, rest, fail } = split(body, 'result');
  switch (kind) {
    case 'pi': {
      const [darts, hits] = words(rest, ['DARTS', 'HITS'], fail);
      return checkAs(() => checkResult({ kind, darts, hits }), fail);
    }
    case 'matrix-block': {
      const { row0, rows } = object(rest, fail);
      return checkAs(() => checkResult({ kind, row0, rows }), fail);
    }
    case 'matrix-cell': {
      const [i, j, value] = words(rest, ['I', 'J', 'VALUE'], fail);
      return checkAs(() => checkResult({ kind, i, j, value }), fail);
    }
    case 'sort-chunk': {
      const values = json(rest, fail);
      return checkAs(() => checkResult({ kind, values }), fail);
    }
    case 'busy':
    case 'sleep': {
      const [ms] = words(rest, ['MS'], fail);
      return checkAs(() => checkResult({ kind, ms }), fail);
    }
  }
}

type Fail = (problem: string) => never;

/** Splits off the kind word; `fail` throws an Error quoting the body (shortened) and the problem. */
function split(body: string, what: 'task' | 'result'): { kind: TaskKind; rest: string; fail: Fail } {
  const shown = body.length > 60 ? `${JSON.stringify(body.slice(0, 60))}...` : JSON.stringify(body);
  const fail: Fail = (problem) => {
    throw new Error(`bad ${what} body ${shown}: ${problem}`);
  };
  const text = body.trim();
  const space = text.search(/\s/);
  const kind = space < 0 ? text : text.slice(0, space);
  // rq's `fail` job is no mistake: the student asked for a task that fails (a job no worker can run).
  if (what === 'task' && text === 'fail') throw new Error('the task "fail" fails on purpose (rq submit fail: a job no worker can run)');
  if (!isTaskKind(kind)) fail(`unknown kind ${JSON.stringify(kind)}, expected one of ${TASK_KINDS.join(', ')}`);
  return { kind, rest: space < 0 ? '' : text.slice(space).trim(), fail };
}

// Plain decimal numbers only: Number() would also take "", "0x10" and "Infinity".
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Exactly names.length whitespace-separated numbers. */
function words(rest: string, names: string[], fail: Fail): number[] {
  const parts = rest === '' ? [] : rest.split(/\s+/);
  if (parts.length !== names.length) {
    fail(`expected ${names.length} number${names.length > 1 ? 's' : ''} (${names.join(' ')}), got ${parts.length}`);
  }
  return parts.map((p, i) => (DECIMAL.test(p) ? Number(p) : fail(`${names[i]} is not a number: ${JSON.stringify(p)}`)));
}

function json(rest: string, fail: Fail): unknown {
  try {
    return JSON.parse(rest);
  } catch (e) {
    return fail(`the text after the kind word is not valid JSON (${(e as Error).message})`);
  }
}

function object(rest: string, fail: Fail): Record<string, unknown> {
  const o = json(rest, fail);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('expected a JSON object after the kind word');
  return o as Record<string, unknown>;
}

/** Runs a spec check, re-throwing its complaint with the body quoted. */
function checkAs<T>(check: () => T, fail: Fail): T {
  try {
    return check();
  } catch (e) {
    return fail((e as Error).message);
  }
}
