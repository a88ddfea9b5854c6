// The seed report's matrix multiplication with memcached. The producer (client.py) holds A and B, puts
// them in the key-value store and puts jobs that only name what to compute; a worker fetches its
// operands from the store, computes, stores its part of C there and puts a confirmation; the producer
// counts the confirmations, then reads C back from the store and checks it against its own A×B.
//
// Store keys: `A:i` row i of A, `B:j` column j of B, `C:i:j` one entry of C (cell jobs), `C:i` row i
// of C (row-block jobs). Values are numbers separated by spaces, as the report's `' '.join(...)`.
import { bodyText, type Reply } from '../protocol/client.ts';
import { mulberry32 } from '../sim/rng.ts';
import type { TaskResult, TaskSpec } from '../tasks/index.ts';
import type { MatrixProducerConfig, ResultCheck } from './messages.ts';
import type { NodeRuntime, StoreConnection } from './programs.ts';

/** What one job asks for: one entry C[i][j], or rows row0 .. row0 + rows - 1 of C (B has n columns). */
export type MatrixJob = { kind: 'cell'; i: number; j: number } | { kind: 'rows'; row0: number; rows: number; n: number };

/** Job bodies: `matrix-kv-cell I J` and `matrix-kv-rows ROW0 ROWS N`. */
export function matrixJobBody(job: MatrixJob): string {
  return job.kind === 'cell' ? `matrix-kv-cell ${job.i} ${job.j}` : `matrix-kv-rows ${job.row0} ${job.rows} ${job.n}`;
}

/** The job a body names, or null if it is not a matrix job (then it is an ordinary task). */
export function parseMatrixJob(body: string): MatrixJob | null {
  const cell = /^matrix-kv-cell (\d+) (\d+)$/.exec(body.trim());
  if (cell) return { kind: 'cell', i: Number(cell[1]), j: Number(cell[2]) };
  const rows = /^matrix-kv-rows (\d+) (\d+) (\d+)$/.exec(body.trim());
  if (rows) return { kind: 'rows', row0: Number(rows[1]), rows: Number(rows[2]), n: Number(rows[3]) };
  return null;
}

/** The jobs of an n×n product: one per cell (`rowsPerJob` 0), or blocks of `rowsPerJob` rows. */
export function matrixJobs(n: number, rowsPerJob: number): MatrixJob[] {
  const jobs: MatrixJob[] = [];
  if (rowsPerJob === 0) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) jobs.push({ kind: 'cell', i, j });
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

const column = (m: number[][], j: number) => m.map((row) => row[j]);

/** A vector stored under `key`; a clear error if the store does not hold it. */
function vector(values: Map<string, string>, key: string): number[] {
  const text = values.get(key);
  if (text === undefined) throw new Error(`the key-value store has no ${key}`);
  const v = text.split(' ').map(Number);
  if (v.some((x) => !Number.isFinite(x))) throw new Error(`${key} in the key-value store is not a list of numbers: ${text.slice(0, 40)}`);
  return v;
}

/**
 * A worker's part (worker.py with memcache): fetch the operands, compute, store the result in the
 * key-value store. Returns the task it computed and the confirmation to put for the producer.
 */
export async function runMatrixJob(rt: NodeRuntime, job: MatrixJob): Promise<{ spec: TaskSpec; result: TaskResult; confirmation: string }> {
  // A connection per job, as the report's worker makes a memcache.Client inside its loop.
  const store = await rt.connectStore();
  try {
    if (job.kind === 'cell') {
      const { i, j } = job;
      const got = await store.get([`A:${i}`, `B:${j}`]);
      const spec: TaskSpec = { kind: 'matrix-cell', i, j, row: vector(got, `A:${i}`), col: vector(got, `B:${j}`) };
      const result = await rt.compute(spec);
      if (result.kind !== 'matrix-cell') throw new Error(`matrix cell job computed a ${result.kind} result`);
      await store.set(`C:${i}:${j}`, String(result.value));
      return { spec, result, confirmation: `done C[${i}][${j}]` };
    }
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

/** Reads C back: one multi-get per row of cells, or one for all rows. */
async function fetchProduct(store: StoreConnection, n: number, byCell: boolean): Promise<number[][]> {
  if (byCell) {
    const c: number[][] = [];
    for (let i = 0; i < n; i++) {
      const keys = Array.from({ length: n }, (_, j) => `C:${i}:${j}`);
      const got = await store.get(keys);
      c.push(keys.map((k) => vector(got, k)[0]));
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
  rt.status({ state: 'sending', detail: `storing A and B (${n}×${n}) in the key-value store` });
  await Promise.all([...a.map((row, i) => store.set(`A:${i}`, row.join(' '))), ...b[0].map((_, j) => store.set(`B:${j}`, column(b, j).join(' ')))]);

  const jobs = matrixJobs(n, rowsPerJob);
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
  const c = await fetchProduct(store, n, rowsPerJob === 0);
  const check = checkProduct(c, multiply(a, b));
  const seconds = (rt.now() - started) / 1000;
  rt.report({ kind: 'producer-done', results: confirmations, seconds, check });
  rt.status({ state: 'done', detail: `${check.text} in ${jobs.length} jobs, ${seconds.toFixed(2)} s` });
  store.close();
  conn.close();
}
