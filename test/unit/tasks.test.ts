// Task kernels: pi darts (WebAssembly SIMD and JS give the same hits), matrix products, chunk sort,
// busy/sleep, the job-body codec and the virtual-time work model.
import { describe, expect, test } from 'vitest';
import {
  countPiHits,
  decodeResult,
  decodeTask,
  defaultPiEngine,
  encodeResult,
  encodeTask,
  piEstimate,
  referenceSeconds,
  runTask,
  type TaskResult,
  type TaskSpec,
} from '../../src/tasks/index.ts';
import { PI_GROUPS_PER_KERNEL_CALL, PI_LANES, SPLITMIX_GAMMA } from '../../src/tasks/pi.ts';
import { taskAt, taskCount, type TaskList } from '../../src/tasks/spec.ts';
import { producerConfig } from '../../src/sim/scenario.ts';

/** A small seeded generator for test data (not the pi kernel's). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomIntMatrix(rows: number, cols: number, rand: () => number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.floor(rand() * 201) - 100));
}

function naiveProduct(a: number[][], b: number[][]): number[][] {
  return a.map((_, i) => b[0].map((_, j) => a[i].reduce((sum, _, k) => sum + a[i][k] * b[k][j], 0)));
}

const REPORT_A = [
  [1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
];
const IDENTITY = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

describe('pi darts', () => {
  test('Node has WebAssembly SIMD, so the default engine is the SIMD kernel', () => {
    expect(defaultPiEngine()).toBe('wasm-simd');
  });

  test('1e6 darts estimate pi within 5 standard errors', () => {
    const darts = 1_000_000;
    const r = runTask({ kind: 'pi', darts, seed: 1 });
    expect(r).toMatchObject({ kind: 'pi', darts });
    const hits = (r as { hits: number }).hits;
    const p = Math.PI / 4;
    const standardError = 4 * Math.sqrt((p * (1 - p)) / darts); // about 0.0016
    expect(Math.abs(piEstimate([{ darts, hits }]) - Math.PI)).toBeLessThan(5 * standardError);
  });

  test('4 jobs of 2.5e6 darts with their own seeds give pi within 0.01', () => {
    const results = [1, 2, 3, 4].map((seed) => runTask({ kind: 'pi', darts: 2_500_000, seed }) as { darts: number; hits: number });
    expect(Math.abs(piEstimate(results) - Math.PI)).toBeLessThan(0.01);
  });

  test('the same seed gives the same hits; different seeds give different hits', () => {
    expect(countPiHits(1_000_000, 42)).toBe(countPiHits(1_000_000, 42));
    const hits = [0, 1, 2, 17, 18, -1].map((seed) => countPiHits(1_000_000, seed));
    expect(new Set(hits).size).toBe(hits.length);
  });

  test('hit counts match an independent C implementation of the definition (pinned)', () => {
    // From the algorithm in pi.ts's header, written in C with uint64_t and compiled with gcc.
    expect(countPiHits(1_000_003, 17)).toBe(785803);
    expect(countPiHits(2_500_000, 17)).toBe(1963840);
    expect(countPiHits(7, -5)).toBe(5);
    expect(countPiHits(1000, 0)).toBe(786);
  });

  test('WASM SIMD and the JS fallback count identical hits, including partial groups of lanes', () => {
    const seeds = [0, 1, 17, -5, 2 ** 32 + 3, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const dartCounts = [0, 1, 3, 4, 5, 7, PI_LANES, PI_LANES + 1, 15, 16, 17, 1000, 12_345, 1_000_003];
    for (const seed of seeds) {
      for (const darts of dartCounts) {
        expect([seed, darts, countPiHits(darts, seed, 'wasm-simd')]).toEqual([seed, darts, countPiHits(darts, seed, 'js')]);
      }
    }
  });

  test('WASM SIMD and JS agree past one kernel call, and past several', () => {
    for (const darts of [(PI_GROUPS_PER_KERNEL_CALL + 1) * PI_LANES + 5, 3 * PI_GROUPS_PER_KERNEL_CALL * PI_LANES]) {
      expect(countPiHits(darts, 9, 'wasm-simd')).toBe(countPiHits(darts, 9, 'js'));
    }
  });

  test('no safe-integer seed gives a lane the all-zero state (xorshift would stay at 0 and always hit)', () => {
    // Lane k starts at splitmix64's mix of seed + (k+1) * gamma, and the mix maps only 0 to 0.
    const u64 = 2n ** 64n;
    for (let k = 1; k <= PI_LANES; k++) {
      const zeroingSeed = (((-BigInt(k) * SPLITMIX_GAMMA) % u64) + u64) % u64;
      const asSigned = zeroingSeed >= 2n ** 63n ? zeroingSeed - u64 : zeroingSeed;
      expect(asSigned > BigInt(Number.MAX_SAFE_INTEGER) || asSigned < BigInt(Number.MIN_SAFE_INTEGER)).toBe(true);
    }
  });

  test('piEstimate is 4 * sum(hits) / sum(darts)', () => {
    expect(
      piEstimate([
        { darts: 4, hits: 3 },
        { darts: 6, hits: 5 },
      ]),
    ).toBe(3.2);
    expect(() => piEstimate([])).toThrow(/at least one dart/);
  });
});

describe('matrix multiplication', () => {
  test("the report's example: A x identity = A, by row block and by cell", () => {
    expect(runTask({ kind: 'matrix-block', rows: REPORT_A, b: IDENTITY, row0: 0 })).toEqual({ kind: 'matrix-block', row0: 0, rows: REPORT_A });
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const col = IDENTITY.map((row) => row[j]);
        expect(runTask({ kind: 'matrix-cell', row: REPORT_A[i], col, i, j })).toEqual({ kind: 'matrix-cell', i, j, value: REPORT_A[i][j] });
      }
    }
  });

  test('row blocks stitched together equal the naive product (non-square, integers exact)', () => {
    const rand = lcg(7);
    const a = randomIntMatrix(11, 5, rand);
    const b = randomIntMatrix(5, 7, rand);
    const c: number[][] = [];
    for (let row0 = 0; row0 < a.length; row0 += 4) {
      const r = runTask({ kind: 'matrix-block', rows: a.slice(row0, row0 + 4), b, row0 });
      if (r.kind !== 'matrix-block') throw new Error('wrong result kind');
      expect(r.row0).toBe(row0);
      c.push(...r.rows);
    }
    expect(c).toEqual(naiveProduct(a, b));
  });

  test('every cell equals the naive product', () => {
    const rand = lcg(8);
    const a = randomIntMatrix(4, 6, rand);
    const b = randomIntMatrix(6, 3, rand);
    const expected = naiveProduct(a, b);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 3; j++) {
        const r = runTask({ kind: 'matrix-cell', row: a[i], col: b.map((row) => row[j]), i, j });
        expect(r).toEqual({ kind: 'matrix-cell', i, j, value: expected[i][j] });
      }
    }
  });

  test('mismatched shapes are rejected with the offending field named', () => {
    expect(() => runTask({ kind: 'matrix-block', rows: [[1, 2]], b: IDENTITY, row0: 0 })).toThrow(/matrix-block task: rows\[0\] must have 3 entries, has 2/);
    expect(() => runTask({ kind: 'matrix-block', rows: REPORT_A, b: [[1, 0], [0]], row0: 0 })).toThrow(/b\[1\] must have 2 entries/);
    expect(() => runTask({ kind: 'matrix-cell', row: [1, 2], col: [1], i: 0, j: 0 })).toThrow(/col must have 2 entries/);
    expect(() => runTask({ kind: 'matrix-cell', row: [1, NaN], col: [1, 2], i: 0, j: 0 })).toThrow(/row\[1\] must be a finite number/);
  });
});

describe('sort-chunk, busy, sleep', () => {
  test('sorts numerically ascending, not as strings', () => {
    expect(runTask({ kind: 'sort-chunk', values: [10, 9, 1, -2.5, 100, 9] })).toEqual({ kind: 'sort-chunk', values: [-2.5, 1, 9, 9, 10, 100] });
    const rand = lcg(3);
    const values = Array.from({ length: 5000 }, () => (rand() - 0.5) * 1e6);
    expect(runTask({ kind: 'sort-chunk', values })).toEqual({ kind: 'sort-chunk', values: [...values].sort((x, y) => x - y) });
    expect(runTask({ kind: 'sort-chunk', values: [] })).toEqual({ kind: 'sort-chunk', values: [] });
  });

  test('busy spins for its milliseconds; sleep returns at once', () => {
    let t = performance.now();
    expect(runTask({ kind: 'busy', ms: 30 })).toEqual({ kind: 'busy', ms: 30 });
    expect(performance.now() - t).toBeGreaterThanOrEqual(30);
    t = performance.now();
    expect(runTask({ kind: 'sleep', ms: 60_000 })).toEqual({ kind: 'sleep', ms: 60_000 });
    expect(performance.now() - t).toBeLessThan(50);
  });

  test('invalid specs throw errors that name the problem', () => {
    expect(() => runTask({ kind: 'pi', darts: -1, seed: 0 })).toThrow(/pi task: darts must be a whole number >= 0, got -1/);
    expect(() => runTask({ kind: 'pi', darts: 10, seed: 0.5 })).toThrow(/pi task: seed must be a whole number/);
    expect(() => runTask({ kind: 'busy', ms: Infinity })).toThrow(/busy task: ms must be a number of milliseconds/);
    expect(() => runTask({ kind: 'nope' } as unknown as TaskSpec)).toThrow(/unknown task kind "nope": expected one of pi, matrix-block/);
    expect(() => runTask(null as unknown as TaskSpec)).toThrow(/a task must be an object/);
  });
});

describe('job bodies', () => {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const tasks: TaskSpec[] = [
    { kind: 'pi', darts: 2_500_000, seed: 17 },
    { kind: 'pi', darts: 0, seed: -3 },
    { kind: 'matrix-block', rows: [REPORT_A[1], REPORT_A[2]], b: IDENTITY, row0: 1 },
    { kind: 'matrix-cell', row: [1, 2, 3], col: [0.5, -1, 1e-7], i: 2, j: 0 },
    { kind: 'sort-chunk', values: [3, -1.25, 2e21] },
    { kind: 'busy', ms: 250 },
    { kind: 'sleep', ms: 12.5 },
  ];
  const results: TaskResult[] = [
    { kind: 'pi', darts: 2_500_000, hits: 1_963_840 },
    { kind: 'matrix-block', row0: 1, rows: [REPORT_A[1], REPORT_A[2]] },
    { kind: 'matrix-cell', i: 2, j: 0, value: -1.4999997 },
    { kind: 'sort-chunk', values: [-1.25, 3, 2e21] },
    { kind: 'busy', ms: 250 },
    { kind: 'sleep', ms: 12.5 },
  ];

  test('bodies are short readable text', () => {
    expect(encodeTask({ kind: 'pi', darts: 2_500_000, seed: 17 })).toBe('pi 2500000 17');
    expect(encodeResult({ kind: 'pi', darts: 2_500_000, hits: 1_963_840 })).toBe('pi 2500000 1963840');
    expect(encodeTask({ kind: 'busy', ms: 250 })).toBe('busy 250');
    expect(encodeTask({ kind: 'sort-chunk', values: [3, 1, 2] })).toBe('sort-chunk [3,1,2]');
    expect(encodeTask({ kind: 'matrix-cell', row: [1, 2], col: [3, 4], i: 0, j: 1 })).toBe('matrix-cell {"i":0,"j":1,"row":[1,2],"col":[3,4]}');
    expect(encodeResult({ kind: 'matrix-cell', i: 0, j: 1, value: 11 })).toBe('matrix-cell 0 1 11');
    expect(encodeResult({ kind: 'matrix-block', row0: 2, rows: [[1, 2]] })).toBe('matrix-block {"row0":2,"rows":[[1,2]]}');
  });

  test('every kind of task and result round-trips', () => {
    for (const t of tasks) expect(decodeTask(encodeTask(t))).toEqual(t);
    for (const r of results) expect(decodeResult(encodeResult(r))).toEqual(r);
  });

  test('a decoded body runs to the result its encoded result decodes to', () => {
    const spec = decodeTask('matrix-block {"row0":0,"rows":[[1,2,3],[4,5,6],[7,8,9]],"b":[[1,0,0],[0,1,0],[0,0,1]]}');
    expect(decodeResult(encodeResult(runTask(spec)))).toEqual({ kind: 'matrix-block', row0: 0, rows: REPORT_A });
  });

  test('surrounding whitespace (a hand-typed body) is tolerated; unknown JSON fields are dropped', () => {
    expect(decodeTask('  pi  10   3\r\n')).toEqual({ kind: 'pi', darts: 10, seed: 3 });
    expect(decodeTask('pi 1e6 3')).toEqual({ kind: 'pi', darts: 1_000_000, seed: 3 });
    expect(decodeTask('matrix-cell {"i":0,"j":0,"row":[2],"col":[3],"note":"x"}')).toEqual({ kind: 'matrix-cell', i: 0, j: 0, row: [2], col: [3] });
  });

  test.each([
    ['', /bad task body "": unknown kind "", expected one of pi, matrix-block, matrix-cell, sort-chunk, busy, sleep/],
    ['1000000', /unknown kind "1000000"/],
    ['frobnicate 3', /unknown kind "frobnicate"/],
    ['fail 3', /unknown kind "fail"/],
    ['pi', /expected 2 numbers \(DARTS SEED\), got 0/],
    ['pi 10', /expected 2 numbers \(DARTS SEED\), got 1/],
    ['pi 10 3 4', /expected 2 numbers \(DARTS SEED\), got 3/],
    ['pi ten 3', /DARTS is not a number: "ten"/],
    ['pi 0x10 3', /DARTS is not a number: "0x10"/],
    ['pi 10 Infinity', /SEED is not a number: "Infinity"/],
    ['pi -1 3', /pi task: darts must be a whole number >= 0, got -1/],
    ['pi 1.5 3', /pi task: darts must be a whole number >= 0, got 1.5/],
    ['busy', /expected 1 number \(MS\), got 0/],
    ['sleep -3', /sleep task: ms must be a number of milliseconds >= 0, got -3/],
    ['matrix-block {', /not valid JSON/],
    ['matrix-block [[1]]', /expected a JSON object after the kind word/],
    ['matrix-block {"row0":0,"rows":[[1]],"b":[[1],[2]]}', /matrix-block task: rows\[0\] must have 2 entries, has 1/],
    ['matrix-block {"rows":[[1]],"b":[[1]]}', /matrix-block task: row0 must be a whole number >= 0, got undefined/],
    ['matrix-cell {"i":0,"j":0,"row":[1,2],"col":[1]}', /matrix-cell task: col must have 2 entries, has 1/],
    ['sort-chunk [1,"a"]', /sort-chunk task: values\[1\] must be a finite number, got "a"/],
    ['sort-chunk {"values":[1]}', /sort-chunk task: values must be an array of numbers/],
  ])('malformed task body %j is rejected', (body, message) => {
    expect(() => decodeTask(body)).toThrow(message);
    expect(() => decodeTask(body)).toThrow(new RegExp(`^bad task body ${escape(JSON.stringify(body))}: (?!bad)`));
  });

  test('rq\'s "fail" job fails saying it does so on purpose, not as a malformed body (it read like a bug)', () => {
    expect(() => decodeTask('fail')).toThrow(/^the task "fail" fails on purpose \(rq submit fail: a job no worker can run\)$/);
    expect(() => decodeTask(' fail\r\n')).toThrow(/fails on purpose/);
  });

  test.each([
    ['pi 10 11', /pi result: hits \(11\) cannot exceed darts \(10\)/],
    ['pi 10', /expected 2 numbers \(DARTS HITS\), got 1/],
    ['matrix-cell 0 1', /expected 3 numbers \(I J VALUE\), got 2/],
    ['matrix-cell 0 1 NaN', /VALUE is not a number: "NaN"/],
    ['matrix-block {"row0":0,"rows":[[1,2],[3]]}', /matrix-block result: rows\[1\] must have 2 entries, has 1/],
    ['sort-chunk nope', /bad result body "sort-chunk nope": the text after the kind word is not valid JSON/],
  ])('malformed result body %j is rejected', (body, message) => {
    expect(() => decodeResult(body)).toThrow(message);
    expect(() => decodeResult(body)).toThrow(new RegExp(`^bad result body ${escape(JSON.stringify(body))}: (?!bad)`));
  });

  test('long malformed bodies are quoted shortened', () => {
    const body = `sort-chunk [${'1,'.repeat(100)}x]`;
    expect(() => decodeTask(body)).toThrow(/^bad task body "sort-chunk \[1,1,[1,]*"\.\.\.: the text after the kind word is not valid JSON \(/);
  });

  test('encoding refuses what could not be decoded (NaN would become null in JSON)', () => {
    expect(() => encodeTask({ kind: 'sort-chunk', values: [1, NaN] })).toThrow(/values\[1\] must be a finite number, got NaN/);
    expect(() => encodeResult({ kind: 'pi', darts: 1, hits: 2 })).toThrow(/hits \(2\) cannot exceed darts \(1\)/);
  });
});

describe('referenceSeconds (virtual-time work model)', () => {
  const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

  test('grows with the work of every kind of task', () => {
    const sizes = [1, 2, 10, 100, 1000];
    expect(increasing(sizes.map((n) => referenceSeconds({ kind: 'pi', darts: n * 1000, seed: 1 })))).toBe(true);
    const square = (n: number) => Array.from({ length: n }, () => new Array<number>(n).fill(1));
    expect(increasing([1, 2, 5, 20].map((n) => referenceSeconds({ kind: 'matrix-block', rows: square(n), b: square(n), row0: 0 })))).toBe(true);
    expect(increasing([1, 2, 5].map((rows) => referenceSeconds({ kind: 'matrix-block', rows: square(20).slice(0, rows), b: square(20), row0: 0 })))).toBe(true);
    expect(increasing(sizes.map((n) => referenceSeconds({ kind: 'matrix-cell', row: new Array<number>(n).fill(1), col: new Array<number>(n).fill(1), i: 0, j: 0 })))).toBe(true);
    expect(increasing([0, ...sizes].map((n) => referenceSeconds({ kind: 'sort-chunk', values: new Array<number>(n).fill(0) })))).toBe(true);
    expect(increasing(sizes.map((ms) => referenceSeconds({ kind: 'busy', ms })))).toBe(true);
    expect(increasing(sizes.map((ms) => referenceSeconds({ kind: 'sleep', ms })))).toBe(true);
  });

  test('busy and sleep take their own time; twice the darts take twice as long', () => {
    expect(referenceSeconds({ kind: 'sleep', ms: 1500 })).toBe(1.5);
    expect(referenceSeconds({ kind: 'busy', ms: 20 })).toBe(0.02);
    expect(referenceSeconds({ kind: 'pi', darts: 2e6, seed: 1 })).toBeCloseTo(2 * referenceSeconds({ kind: 'pi', darts: 1e6, seed: 2 }), 12);
  });

  test('rejects invalid specs rather than returning NaN', () => {
    expect(() => referenceSeconds({ kind: 'pi', darts: NaN, seed: 1 })).toThrow(/darts must be a whole number/);
  });
});

describe("a producer's π jobs as their numbers", () => {
  test.each([
    { jobs: 1, darts: 1000, seed: 0 },
    { jobs: 4, darts: 1003, seed: 7 },
    { jobs: 10_000, darts: 10_000_000, seed: 12 },
    { jobs: 3, darts: 2, seed: 4_294_967 },
  ])('$jobs jobs of $darts darts in all, seed $seed: job i is seeded seed·1000 + i, the last takes the remainder', (p) => {
    const list: TaskList = { kind: 'pi-jobs', ...p };
    expect(taskCount(list)).toBe(p.jobs);
    const per = Math.floor(p.darts / p.jobs);
    const tasks = Array.from({ length: p.jobs }, (_, i) => taskAt(list, i));
    tasks.forEach((t, i) => expect(t).toEqual({ kind: 'pi', darts: i === p.jobs - 1 ? p.darts - per * (p.jobs - 1) : per, seed: (p.seed * 1000 + i) >>> 0 }));
    expect(tasks.reduce((n, t) => n + (t.kind === 'pi' ? t.darts : 0), 0)).toBe(p.darts);
    // A list (as runs saved before kept it) reads the same.
    expect(taskCount(tasks)).toBe(p.jobs);
    expect(taskAt(tasks, p.jobs - 1)).toEqual(tasks[p.jobs - 1]);
  });

  test("a producer of 10^4 jobs has a config of a few hundred bytes (every node process a seek resumes gets a copy)", () => {
    const config = producerConfig({ kind: 'pi', darts: 10_000_000, jobs: 10_000, workers: 16, ttr: 60, autostart: true }, 12);
    expect(JSON.stringify(config).length).toBeLessThan(400);
    expect(config.role === 'producer' && 'producer' in config && taskCount(config.producer.tasks)).toBe(10_000);
  });
});
