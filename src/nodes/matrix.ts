// The seed report's matrix multiplication with memcached. Its client.py holds A and B and puts one job
// per entry of C whose body carries what to compute with: i, j, row i of A and column j of B, one per
// line. A worker computes the dot product, stores C[i][j] in memcached and puts a confirmation; the
// client counts the confirmations, then reads C back from memcached one entry at a time. The row-block
// mode is the improvement: the producer stores A and B in the key-value store once, each job only names
// a block of rows, and its worker fetches its rows of A and all of B from the store.
//
// Store keys: `C:i:j` one entry of C (cell jobs; the report's key is the flat index i*n + j), `A:i` row
// i of A, `B:j` column j of B and `C:i` row i of C (row-block jobs). Values are numbers separated by
// spaces, as the report's `' '.join(...)`.
import { bodyText, type Reply } from '../protocol/client.ts';
import { mulberry32 } from '../sim/rng.ts';
import type { TaskResult, TaskSpec } from '../tasks/index.ts';
import type { MatrixProducerConfig, ResultCheck } from './messages.ts';
import type { NodeRuntime, StoreConnection } from './programs.ts';

/**
 * What one job asks for: one entry C[i][j] with its operands (row i of A, column j of B), or rows
 * row0 .. row0 + rows - 1 of C, whose operands are in the store (B has n columns).
 */
export type MatrixJob = { kind: 'cell'; i: number; j: number; row: number[]; col: number[] } | { kind: 'rows'; row0: number; rows: number; n: number };

/**
 * Job bodies. A cell job is the report's four lines `I`, `J`, the row and the column (the report sends
 * n*i as its first line, to make I + J its flat key; this one sends i). A row block is
 * `matrix-kv-rows ROW0 ROWS N`.
 */
export function matrixJobBody(job: MatrixJob): string {
  return job.kind === 'cell' ? `${job.i}\n${job.j}\n${job.row.join(' ')}\n${job.col.join(' ')}` : `matrix-kv-rows ${job.row0} ${job.rows} ${job.n}`;
}

/**
 * The job a body names, or null if it is not a matrix job (then it is an ordinary task). A body in the
 * cell layout whose row and column do not fit together is an error, not an ordinary task.
 */
export function parseMatrixJob(body: string): MatrixJob | null {
  const cell = /^(\d+)\n(\d+)\n([^\n]*)\n([^\n]*)$/.exec(body.trim());
  if (cell) {
    const numbers = (text: string, what: string) => {
      const v = text.trim().split(/ +/).map(Number);
      if (!text.trim() || v.some((x) => !Number.isFinite(x))) throw new Error(`matrix cell job: ${what} is not a list of numbers: ${text.slice(0, 40)}`);
      return v;
    };
    const row = numbers(cell[3], 'the row of A');
    const col = numbers(cell[4], 'the column of B');
    if (row.length !== col.length) throw new Error(`matrix cell job: the row of A has ${row.length} entries, the column of B ${col.length}`);
    return { kind: 'cell', i: Number(cell[1]), j: Number(cell[2]), row, col };
  }
  const rows = /^matrix-kv-rows (\d+) (\d+) (\d+)$/.exec(body.trim());
  if (rows) return { kind: 'rows', row0: Number(rows[1]), rows: Number(rows[2]), n: Number(rows[3]) };
  return null;
}

/** The jobs of C = A×B (n×n): one per cell carrying its operands (`rowsPerJob` 0), or blocks of `rowsPerJob` rows. */
export function matrixJobs(a: number[][], b: number[][], rowsPerJob: number): MatrixJob[] {
  const n = a.length;
  const jobs: MatrixJob[] = [];
  if (rowsPerJob === 0) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) jobs.push({ kind: 'cell', i, j, row: a[i], col: column(b, j) });
  } else {
    for (let row0 = 0; row0 < n; row0 += rowsPerJob) jobs.push({ kind: 'rows', row0, rows: Math.min(rowsPerJob, n - row0), n });
  }
  return jobs;
}

/** A and B: n×n, entries 0..9 from the seed, so C is exact in floating point and easy to read. */
export function seededMatrices(n: number, seed: number): { a: number[][]; b: number[][] } {
  const rng = mulberry32(seed);
  const square = () => Array.from({ length: n }, () => Array.from({ length: n }, () => Math.floor(rng() * 10)));
  const a = square();
  return { a, b: square() };
}

export function multiply(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((sum, x, p) => sum + x * b[p][j], 0)));
}

function column(m: number[][], j: number): number[] {
  return m.map((row) => row[j]);
}

/** A vector stored under `key`; a clear error if the store does not hold it. */
function vector(values: Map<string, string>, key: string): number[] {
  const text = values.get(key);
  if (text === undefined) throw new Error(`the key-value store has no ${key}`);
  const v = text.split(' ').map(Number);
  if (v.some((x) => !Number.isFinite(x))) throw new Error(`${key} in the key-value store is not a list of numbers: ${text.slice(0, 40)}`);
  return v;
}

/**
 * A worker's part (worker.py with memcache): compute (a row block first fetches its operands from the
 * store), store the result in the key-value store. Returns the task it computed and the confirmation to
 * put for the producer.
 */
export async function runMatrixJob(rt: NodeRuntime, job: MatrixJob): Promise<{ spec: TaskSpec; result: TaskResult; confirmation: string }> {
  if (job.kind === 'cell') {
    const { i, j, row, col } = job;
    const spec: TaskSpec = { kind: 'matrix-cell', i, j, row, col };
    const result = await rt.compute(spec);
    if (result.kind !== 'matrix-cell') throw new Error(`matrix cell job computed a ${result.kind} result`);
    // A connection per job, as the report's worker makes a memcache.Client inside its loop.
    const store = await rt.connectStore();
    try {
      await store.set(`C:${i}:${j}`, String(result.value));
    } finally {
      store.close();
    }
    return { spec, result, confirmation: `done C[${i}][${j}]` };
  }
  const store = await rt.connectStore();
  try {
    const { row0, rows, n } = job;
    const rowKeys = Array.from({ length: rows }, (_, k) => `A:${row0 + k}`);
    const colKeys = Array.from({ length: n }, (_, j) => `B:${j}`);
    const got = await store.get([...rowKeys, ...colKeys]);
    const cols = colKeys.map((k) => vector(got, k));
    const b = cols[0].map((_, p) => cols.map((col) => col[p]));
    const spec: TaskSpec = { kind: 'matrix-block', row0, rows: rowKeys.map((k) => vector(got, k)), b };
    const result = await rt.compute(spec);
    if (result.kind !== 'matrix-block') throw new Error(`matrix rows job computed a ${result.kind} result`);
    await Promise.all(result.rows.map((row, k) => store.set(`C:${row0 + k}`, row.join(' '))));
    return { spec, result, confirmation: `done C[${row0}..${row0 + rows - 1}][*]` };
  } finally {
    store.close();
  }
}

/** Reads C back: one get per entry, as the report's client does, or one multi-get for all rows. */
async function fetchProduct(store: StoreConnection, n: number, byCell: boolean): Promise<number[][]> {
  if (byCell) {
    const c: number[][] = [];
    for (let i = 0; i < n; i++) {
      const row: number[] = [];
      for (let j = 0; j < n; j++) {
        const key = `C:${i}:${j}`;
        row.push(vector(await store.get([key]), key)[0]);
      }
      c.push(row);
    }
    return c;
  }
  const keys = Array.from({ length: n }, (_, i) => `C:${i}`);
  const got = await store.get(keys);
  return keys.map((k) => vector(got, k));
}

/** Compares C with the expected product, entry by entry. */
export function checkProduct(c: number[][], expected: number[][]): ResultCheck {
  const n = expected.length;
  let wrong = 0;
  let first = '';
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (c[i]?.[j] === expected[i][j]) continue;
      if (!wrong) first = `C[${i}][${j}] is ${c[i]?.[j]}, A×B has ${expected[i][j]}`;
      wrong++;
    }
  }
  return wrong ? { ok: false, text: `C is wrong in ${wrong} of ${n * n} entries (${first})` } : { ok: true, text: `C verified: C = A×B (${n}×${n})` };
}

function expect(r: Reply, prefix: string, what: string): Reply {
  if (!r.line.startsWith(prefix)) throw new Error(`${what}: expected ${prefix}, got ${r.line}`);
  return r;
}

/** client.py of the matrix application. */
export async function matrixProducerProgram(rt: NodeRuntime, cfg: MatrixProducerConfig): Promise<void> {
  const started = rt.now();
  const { n, rowsPerJob } = cfg;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`matrix size must be a whole number >= 1, got ${n}`);
  if (!Number.isSafeInteger(rowsPerJob) || rowsPerJob < 0) throw new Error(`rows per job must be a whole number >= 0 (0: one job per cell), got ${rowsPerJob}`);
  rt.status({ state: 'connecting' });
  const conn = await rt.connect();
  await conn.command(`use ${cfg.use}`);
  await conn.command(`watch ${cfg.watch}`);
  await conn.command('ignore default');
  const store = await rt.connectStore();

  const { a, b } = seededMatrices(n, cfg.seed);
  const byCell = rowsPerJob === 0;
  if (!byCell) {
    rt.status({ state: 'sending', detail: `storing A and B (${n}×${n}) in the key-value store` });
    await Promise.all([...a.map((row, i) => store.set(`A:${i}`, row.join(' '))), ...b[0].map((_, j) => store.set(`B:${j}`, column(b, j).join(' ')))]);
  }

  const jobs = matrixJobs(a, b, rowsPerJob);
  rt.status({ state: 'sending', detail: `putting ${jobs.length} jobs` });
  for (const job of jobs) {
    const body = matrixJobBody(job);
    expect(await conn.command(`put 0 0 ${cfg.ttr} ${body.length}`, body), 'INSERTED', 'put job');
  }
  const confirmations: string[] = [];
  for (let k = 0; k < jobs.length; k++) {
    rt.status({ state: 'waiting', detail: `received ${k}/${jobs.length} confirmations` });
    const r = expect(await conn.command('reserve'), 'RESERVED ', 'reserve confirmation');
    confirmations.push(bodyText(r));
    rt.status({ state: 'sending', detail: `received ${k + 1}/${jobs.length} confirmations` });
    await conn.command(`delete ${r.line.split(' ')[1]}`);
  }

  rt.status({ state: 'waiting', detail: 'all workers finished: reading C from the key-value store' });
  const c = await fetchProduct(store, n, byCell);
  const check = checkProduct(c, multiply(a, b));
  const seconds = (rt.now() - started) / 1000;
  rt.report({ kind: 'producer-done', results: confirmations, seconds, check });
  rt.status({ state: 'done', detail: `${check.text} in ${jobs.length} jobs, ${seconds.toFixed(2)} s` });
  store.close();
  conn.close();
}
