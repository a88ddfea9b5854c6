// The matrix (with its key-value store node) and sample-sort scenarios, run in virtual time with nodes on
// in-thread message channels: right answers, communication counted, determinism, clear errors.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { DEFAULT_SCENARIO, jobCount, producerConfig, setUp, type MatrixScenario, type Scenario, type SortScenario } from '../../src/sim/scenario.ts';
import { checkProduct, matrixJobBody, matrixJobs, multiply, parseMatrixJob, seededMatrices } from '../../src/nodes/matrix.ts';
import { checkSorted, samplePartition } from '../../src/nodes/sample-sort.ts';
import { mulberry32 } from '../../src/sim/rng.ts';
import { runSpeedup } from '../../src/sim/experiment.ts';
import { replayRun } from '../../src/sim/replay.ts';
import { parseRun } from '../../src/sim/run-record.ts';
import { draftDiffers, draftOf, scenarioOf } from '../../src/ui/scenario-form.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';
import { referenceSeconds } from '../../src/tasks/index.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

const matrix = (over: Partial<MatrixScenario> = {}): MatrixScenario => ({ kind: 'matrix', n: 6, granularity: 'cell', rowsPerJob: 2, workers: 3, ttr: 40, autostart: true, ...over });
const sort = (over: Partial<SortScenario> = {}): SortScenario => ({ kind: 'sort', values: 3000, buckets: 6, workers: 3, ttr: 40, autostart: true, ...over });

function start(scenario: Scenario, seed = 7) {
  const cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  setUp(cluster, scenario, seed);
  return cluster;
}

const producer = (c: Cluster) => [...c.nodes.values()].find((n) => n.role === 'producer');
const finished = (c: Cluster) => ['done', 'failed'].includes(producer(c)?.status.state ?? '');
const finalReport = (c: Cluster) => producer(c)?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done');

async function run(scenario: Scenario, seed = 7) {
  const cluster = start(scenario, seed);
  await cluster.runUntil(() => finished(cluster));
  return cluster;
}

/** Messages of the whole run, both servers, both ways. */
const messages = (c: Cluster) => c.traffic.server.messages + c.traffic.store.messages;

describe('matrix multiplication with a key-value store node (the report\'s memcached design)', () => {
  test('one job per cell: C = A×B, verified by the producer, and C is in the store', async () => {
    const c = await run(matrix());
    const done = finalReport(c);
    expect(producer(c)!.status.state).toBe('done');
    expect(done?.check).toEqual({ ok: true, text: 'C verified: C = A×B (6×6)' });
    expect(producer(c)!.status.detail).toMatch(/^C verified: C = A×B \(6×6\) in 36 jobs, \d+\.\d\d s$/);
    const { a, b } = seededMatrices(6, 7);
    const expected = multiply(a, b);
    const stored = c.store!.items;
    expect(new TextDecoder().decode(stored.get('C:2:3')!.value)).toBe(String(expected[2][3]));
    // Every job went through the queue and every worker's result through the store.
    expect(c.model.totals()).toEqual({ ready: 0, delayed: 0, reserved: 0, buried: 0 });
    expect([...c.nodes.values()].filter((n) => n.role === 'worker').reduce((k, n) => k + n.done.length, 0)).toBe(36);
  });

  test('one job per cell is the report\'s program: the body carries row i and column j, memcached holds only C, the client gets each entry', async () => {
    const c = await run(matrix());
    const { a, b } = seededMatrices(6, 7);
    // client.py: put(str(n*i) + '\n' + str(j) + '\n' + stringRow + '\n' + stringColumn), here with i itself.
    const puts = c.trace.toArray().filter((e) => e.kind === 'to-server' && e.text.startsWith('put 0 0 40 '));
    expect(puts.map((e) => e.text.split('⏎')[1])).toContain(`2\n3\n${a[2].join(' ')}\n${b.map((row) => row[3]).join(' ')}`);
    // Nothing but C goes into the store: 36 sets by the workers, then the client's mc.get of every entry.
    expect([...c.store!.items.keys()].every((k) => /^C:\d:\d$/.test(k))).toBe(true);
    expect(c.store!.items.size).toBe(36);
    expect(c.store!.cmdSet).toBe(36);
    expect(c.store!.cmdGet).toBe(36);
    expect(c.trace.toArray().some((e) => e.kind === 'to-store' && e.text.startsWith('get A:'))).toBe(false);
  });

  test('the modelled computing time is the dot products\' work: the same per cell as in row blocks', async () => {
    const computing = (c: Cluster) => [...c.nodes.values()].reduce((t, n) => t + n.computeMs, 0);
    const cells = await run(matrix({ n: 8 }));
    const blocks = await run(matrix({ n: 8, granularity: 'row-block', rowsPerJob: 4 }));
    // 8³ multiply-adds either way, at the reference node's rate.
    expect(computing(cells)).toBeCloseTo(computing(blocks), 9);
    expect(computing(cells)).toBeCloseTo((8 ** 3 / 10e6) * 1000, 9);
  });

  test('row blocks: C = A×B, rows stored under C:i', async () => {
    const c = await run(matrix({ granularity: 'row-block', rowsPerJob: 4 }));
    expect(finalReport(c)?.check?.ok).toBe(true);
    const { a, b } = seededMatrices(6, 7);
    expect(new TextDecoder().decode(c.store!.items.get('C:5')!.value)).toBe(multiply(a, b)[5].join(' '));
    expect(finalReport(c)?.results).toHaveLength(2);
  });

  test('per-cell jobs send far more messages, and take longer, than row blocks for the same product', async () => {
    const cells = await run(matrix({ n: 8 }));
    const blocks = await run(matrix({ n: 8, granularity: 'row-block', rowsPerJob: 4 }));
    expect(finalReport(cells)?.check?.ok).toBe(true);
    expect(finalReport(blocks)?.check?.ok).toBe(true);
    expect(messages(cells)).toBeGreaterThan(10 * messages(blocks));
    expect(cells.traffic.store.messages).toBeGreaterThan(4 * blocks.traffic.store.messages);
    expect(finalReport(cells)!.seconds).toBeGreaterThan(5 * finalReport(blocks)!.seconds);
  });

  test('computation is counted: per cell it is a sliver of the workers\' time, in big row blocks most of it', async () => {
    const share = (c: Cluster) => {
      const workers = [...c.nodes.values()].filter((n) => n.role === 'worker');
      return workers.reduce((t, n) => t + n.computeMs, 0) / (workers.length * finalReport(c)!.seconds * 1000);
    };
    const cells = await run(matrix({ n: 4, workers: 2 }));
    const perCell = referenceSeconds({ kind: 'matrix-cell', i: 0, j: 0, row: [0, 0, 0, 0], col: [0, 0, 0, 0] }) * 1000;
    expect([...cells.nodes.values()].reduce((t, n) => t + n.computeMs, 0)).toBeCloseTo(16 * perCell, 9);
    expect(share(cells)).toBeLessThan(0.1);
    const blocks = await run(matrix({ n: 192, granularity: 'row-block', rowsPerJob: 48, workers: 4 }));
    expect(finalReport(blocks)?.check?.ok).toBe(true);
    expect(share(blocks)).toBeGreaterThan(0.5);
  });

  test('a worker killed mid-job: its job comes back and C is still verified', async () => {
    const c = start(matrix({ n: 4, workers: 2 }));
    const w1 = [...c.nodes.values()].find((n) => n.name === 'worker 1')!.id;
    await c.runUntil(() => c.nodes.get(w1)!.status.state === 'working');
    c.killNode(w1);
    await c.runUntil(() => finished(c));
    expect(finalReport(c)?.check?.ok).toBe(true);
  });

  test('the same seed gives the same trace; another seed another one', async () => {
    const quiesce = async (seed: number) => {
      const c = start(matrix({ n: 4 }), seed);
      await c.runUntil(() => false);
      return c;
    };
    const a = await quiesce(3);
    const b = await quiesce(3);
    expect(finalReport(a)?.check?.ok).toBe(true);
    expect(a.trace.length).toBeGreaterThan(200);
    expect(b.trace).toEqual(a.trace);
    expect((await quiesce(4)).trace).not.toEqual(a.trace);
  });

  test('a matrix run with a kill, exported and replayed, gives the same trace (the store comes back too)', async () => {
    const c = start(matrix({ n: 4, workers: 2 }), 5);
    for (let i = 0; i < 120; i++) await c.step();
    await c.settle();
    c.killNode([...c.nodes.values()].find((n) => n.name === 'worker 1')!.id);
    await c.runUntil(() => false);
    expect(finalReport(c)?.check?.ok).toBe(true);
    const replayed = await replayRun(parseRun(JSON.stringify(c.exportRun())), spawnInThread);
    clusters.push(replayed);
    expect(replayed.trace).toEqual(c.trace);
    expect(replayed.store?.items.size).toBe(c.store!.items.size);
  });

  test('on the real clock (live time) the matrix run is verified too', async () => {
    const c = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread, latency: 0 });
    clusters.push(c);
    setUp(c, matrix({ n: 3, workers: 2 }), 3);
    await c.runUntil(() => finished(c), 30_000);
    expect(finalReport(c)?.check?.ok).toBe(true);
  });

  test('job bodies name what to compute and parse back; a wrong C is caught', () => {
    const { a, b } = seededMatrices(5, 1);
    expect(matrixJobs(a, b, 2).map(matrixJobBody)).toEqual(['matrix-kv-rows 0 2 5', 'matrix-kv-rows 2 2 5', 'matrix-kv-rows 4 1 5']);
    expect(matrixJobs([[1, 2], [3, 4]], [[5, 6], [7, 8]], 0).map(matrixJobBody)).toEqual(['0\n0\n1 2\n5 7', '0\n1\n1 2\n6 8', '1\n0\n3 4\n5 7', '1\n1\n3 4\n6 8']);
    expect(parseMatrixJob('3\n4\n1 2 3\n4 5 6')).toEqual({ kind: 'cell', i: 3, j: 4, row: [1, 2, 3], col: [4, 5, 6] });
    expect(parseMatrixJob('matrix-kv-rows 4 1 5')).toEqual({ kind: 'rows', row0: 4, rows: 1, n: 5 });
    expect(() => parseMatrixJob('3\n4\n1 2 3\n4 5')).toThrow('matrix cell job: the row of A has 3 entries, the column of B 2');
    expect(() => parseMatrixJob('3\n4\n1 x 3\n4 5 6')).toThrow(/the row of A is not a list of numbers/);
    expect(parseMatrixJob('pi 100 1')).toBeNull();
    expect(checkProduct([[1, 2], [3, 5]], [[1, 2], [3, 4]])).toEqual({ ok: false, text: 'C is wrong in 1 of 4 entries (C[1][1] is 5, A×B has 4)' });
  });
});

describe('sample sort', () => {
  test('the output is sorted and a permutation of the input; bucket sizes are reported', async () => {
    const c = await run(sort());
    expect(producer(c)!.status.state).toBe('done');
    expect(finalReport(c)?.check).toEqual({ ok: true, text: 'verified: sorted, and the same 3,000 values' });
    const sizes = producer(c)!.reports.find((r) => r.kind === 'sort-buckets');
    expect(sizes?.kind === 'sort-buckets' && sizes.sizes.length).toBe(6);
    expect(sizes?.kind === 'sort-buckets' && sizes.sizes.reduce((a, b) => a + b)).toBe(3000);
    expect(finalReport(c)?.results).toHaveLength(6);
  });

  test('the same seed gives the same trace', async () => {
    const quiesce = async (seed: number) => {
      const c = start(sort({ values: 500, buckets: 4 }), seed);
      await c.runUntil(() => false);
      return c;
    };
    const a = await quiesce(9);
    expect(finalReport(a)?.check?.ok).toBe(true);
    expect((await quiesce(9)).trace).toEqual(a.trace);
    expect((await quiesce(10)).trace).not.toEqual(a.trace);
  });

  test('a bucket over the queue\'s job size limit stops the producer with a clear error', async () => {
    const c = await run(sort({ values: 20_000, buckets: 1 }));
    expect(producer(c)!.status).toMatchObject({ state: 'failed' });
    expect(producer(c)!.status.detail).toMatch(/bucket 1 holds 20000 values .* more than the queue server's max-job-size: use more buckets/);
  });

  test('splitters from the sample partition the values into ordered ranges', () => {
    const rng = mulberry32(5);
    const values = Array.from({ length: 2000 }, () => Math.floor(rng() * 1000));
    const { splitters, buckets } = samplePartition(values, 5, 8, rng);
    expect(splitters).toHaveLength(4);
    expect(buckets.flat().length).toBe(2000);
    buckets.forEach((bucket, k) => {
      for (const v of bucket) {
        if (k > 0) expect(v).toBeGreaterThanOrEqual(splitters[k - 1]);
        if (k < splitters.length) expect(v).toBeLessThan(splitters[k]);
      }
    });
  });

  test('the check catches an unsorted output and a lost value', () => {
    expect(checkSorted([3, 1, 2], [1, 3, 2]).ok).toBe(false);
    expect(checkSorted([3, 1, 2], [1, 2, 2])).toEqual({ ok: false, text: 'sorted, but not a permutation of the input (3 values out, 3 in; 3 appears too few times)' });
  });
});

describe('every scenario kind through the shared plumbing', () => {
  test('the π defaults are unchanged and each kind says how many jobs it puts', () => {
    expect(DEFAULT_SCENARIO).toEqual({ kind: 'pi', darts: 40_000_000, jobs: 8, workers: 4, ttr: 40, autostart: false });
    expect(jobCount(matrix({ n: 5 }))).toBe(25);
    expect(jobCount(matrix({ n: 5, granularity: 'row-block', rowsPerJob: 2 }))).toBe(3);
    expect(jobCount(sort({ buckets: 7 }))).toBe(7);
    expect(producerConfig(matrix({ granularity: 'row-block', rowsPerJob: 3 }), 1)).toMatchObject({ role: 'producer', matrix: { n: 6, rowsPerJob: 3, seed: 1 } });
  });

  test('at ×1 the default run can be watched (issue 13): each job is held 2 s or more of cluster time, the run lasts 4 s or more', async () => {
    const c = await run({ ...DEFAULT_SCENARIO, autostart: true }, 1);
    // The producer puts the tasks first (jobs 1 to 8); the workers' results come after.
    const held = c.model.reservations.filter((r) => r.job <= DEFAULT_SCENARIO.jobs).map((r) => (r.end ?? Infinity) - r.start);
    expect(held).toHaveLength(DEFAULT_SCENARIO.jobs);
    expect(Math.min(...held)).toBeGreaterThanOrEqual(2000);
    expect(c.now).toBeGreaterThanOrEqual(4000);
  });

  test('the speedup experiment runs the matrix scenario too', async () => {
    const points = await runSpeedup({ workers: [1, 4], scenario: matrix({ n: 4 }), seed: 2, mode: 'virtual', spawn: spawnInThread });
    expect(points.map((p) => p.workers)).toEqual([1, 4]);
    expect(points[1].speedup).toBeGreaterThan(1.5);
  });

  test('a node connecting to a store that does not exist is refused, and the queue server is unaffected', async () => {
    const c = start({ ...matrix({ n: 2, workers: 1 }), autostart: false });
    c.store = null;
    c.addNode('producer', producerConfig(matrix({ n: 2 }), 7));
    await c.runUntil(() => finished(c));
    expect(producer(c)!.status).toEqual({ state: 'failed', detail: 'connection refused: the key-value store is down' });
    expect(c.trace.toArray().filter((e) => e.kind === 'to-server').length).toBeGreaterThan(0);
  });
});

describe('the scenario form', () => {
  test('each kind turns into its scenario; numbers are clamped and an unreadable field keeps the current value', () => {
    const draft = draftOf(DEFAULT_SCENARIO, 1);
    expect(draft).toMatchObject({ kind: 'pi', darts: 40_000_000, seed: 1, n: 16, values: 20_000 });
    expect(scenarioOf({ ...draft, kind: 'matrix', n: 500, granularity: 'cell' }, DEFAULT_SCENARIO, 1).scenario).toMatchObject({ kind: 'matrix', n: 64, granularity: 'cell' });
    expect(scenarioOf({ ...draft, kind: 'matrix', n: 100, granularity: 'row-block', rowsPerJob: 1000 }, DEFAULT_SCENARIO, 1).scenario).toMatchObject({ n: 100, rowsPerJob: 100 });
    const bad = { ...draft, kind: 'sort' as const, values: '' as unknown as number, buckets: Number.NaN, workers: 999 };
    expect(scenarioOf(bad, DEFAULT_SCENARIO, 1).scenario).toEqual({ kind: 'sort', values: 20_000, buckets: 8, workers: 64, ttr: 40, autostart: false });
    expect(draftDiffers(draft, DEFAULT_SCENARIO, 1)).toBe(false);
    expect(draftDiffers({ ...draft, kind: 'sort' }, DEFAULT_SCENARIO, 1)).toBe(true);
    // Fields of another kind do not count as a change.
    expect(draftDiffers({ ...draft, n: 3 }, DEFAULT_SCENARIO, 1)).toBe(false);
  });
});
