// Workers you cannot trust (lesson 11): the "wrong results" fault, the producer's ledger that drops a
// caught node's results, the odds of catching a cheater, and seeded runs where verification catches one.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { setUp, piTasks, type PiScenario } from '../../src/sim/scenario.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';
import { caughtWithin, cheater, expectedBadResults, expectedJobsUntilCaught, ResultLedger } from '../../src/nodes/verify-results.ts';
import { countPiHits, piEstimate, type TaskResult } from '../../src/tasks/index.ts';
import { replayRun } from '../../src/sim/replay.ts';
import { parseRun } from '../../src/sim/run-record.ts';
import { pickedForCheck } from '../../src/sim/verify.ts';
import { checkHolds, parseCheck, type Check, type CheckName } from '../../src/lessons/checks.ts';
import { parseAction } from '../../src/lessons/actions.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

const SEED = 11;
const PI: PiScenario = { kind: 'pi', darts: 1_600_000, jobs: 16, workers: 4, ttr: 40, autostart: false };

/** A paused π run of `PI` with worker 2 cheating on every result (or at `rate`) and `fraction` of the jobs verified. */
function run(fraction: number, rate = 1, seed = SEED, workers = PI.workers) {
  const cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  setUp(cluster, { ...PI, workers }, seed);
  if (rate) cluster.cheatNode(named(cluster, 'worker 2').id, rate);
  if (fraction) cluster.setVerification(fraction);
  cluster.addNode('producer', { role: 'producer', producer: { use: 'msg_for_worker', watch: 'msg_for_client', tasks: piTasks(PI, seed), ttr: 40, pri: 0, pollMs: 1000, resume: true } });
  return cluster;
}

const named = (c: Cluster, name: string) => [...c.nodes.values()].find((n) => n.name === name)!;
const done = (c: Cluster) =>
  named(c, 'producer')?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done');
/** Runs until the producer is done, the last worker has deleted its job, and every check has its verdict. */
const finish = (c: Cluster) => c.runUntil(() => done(c) !== undefined && c.model.totals().reserved === 0 && c.checker.totals.pending === 0);

/** π from every task run honestly: what a run with no cheater, or with its results all dropped, must give. */
const honest = (seed = SEED) => piEstimate(piTasks(PI, seed).map((t) => (t.kind === 'pi' ? { darts: t.darts, hits: countPiHits(t.darts, t.seed) } : { darts: 0, hits: 0 })));

describe('the "wrong results" fault', () => {
  test('a cheater says every dart hit, on every result at rate 1, on about a share `rate` of them otherwise (seeded)', () => {
    const result = { kind: 'pi', darts: 1000, hits: 785 } as const;
    const hits = (r: TaskResult) => (r.kind === 'pi' ? r.hits : NaN);
    expect(cheater(1, 5)(result)).toEqual({ kind: 'pi', darts: 1000, hits: 1000 });
    expect(cheater(0, 5)(result)).toEqual(result);
    const rare = cheater(0.2, 5);
    const wrong = Array.from({ length: 2000 }, () => hits(rare(result)) === 1000).filter(Boolean).length;
    expect(wrong / 2000).toBeGreaterThan(0.17);
    expect(wrong / 2000).toBeLessThan(0.23);
    const again = cheater(0.2, 5);
    const first = Array.from({ length: 50 }, () => hits(again(result)));
    const same = cheater(0.2, 5);
    expect(Array.from({ length: 50 }, () => hits(same(result)))).toEqual(first);
  });

  test('with nothing verified, the cheater pulls π towards 4 and nothing in the queue notices', async () => {
    const c = run(0);
    await finish(c);
    const estimate = done(c)!.estimate!;
    expect(estimate - Math.PI).toBeGreaterThan(0.1);
    expect(c.checker.checks).toHaveLength(0);
    expect(named(c, 'worker 2').excluded).toBeUndefined();
    expect(named(c, 'worker 2').life).toBe('running');
  });
});

describe('the producer ledger', () => {
  test('a discarded result leaves the sums and the count, whether it came before the word or after', () => {
    const discarded = new Set<number>();
    const ledger = new ResultLedger(discarded);
    ledger.add(10, 'pi 100 78');
    ledger.add(11, 'pi 100 100');
    expect(ledger.counted).toBe(2);
    expect(ledger.sums).toEqual({ darts: 200, hits: 178 });
    discarded.add(11).add(14);
    expect(ledger.counted).toBe(1);
    expect(ledger.sums).toEqual({ darts: 100, hits: 78 });
    ledger.add(14, 'pi 100 100');
    ledger.add(15, 'pi 100 80');
    expect(ledger.counted).toBe(2);
    expect(ledger.sums).toEqual({ darts: 200, hits: 158 });
    expect(ledger.texts).toEqual(['pi 100 78', 'pi 100 80']);
  });
});

describe('the odds of catching a cheater', () => {
  test('one bad result is caught with probability f; n of them with 1 − (1 − f)^n', () => {
    expect(caughtWithin(1, 0.25)).toBeCloseTo(0.25, 12);
    expect(caughtWithin(4, 0.25)).toBeCloseTo(1 - 0.75 ** 4, 12);
    expect(caughtWithin(10, 0)).toBe(0);
    expect(caughtWithin(1, 1)).toBe(1);
  });

  test('a cheater gives 1/f bad results on average until caught, and runs 1/(f·rate) jobs', () => {
    expect(expectedBadResults(0.25)).toBe(4);
    expect(expectedBadResults(0.1)).toBeCloseTo(10, 12);
    expect(expectedBadResults(0)).toBe(Infinity);
    expect(expectedJobsUntilCaught(0.25, 0.2)).toBeCloseTo(20, 12);
    expect(expectedJobsUntilCaught(0.5, 1)).toBe(2);
  });

  test('the formula against the checker\'s own picks: over many seeds, the first picked bad job comes after 1/f on average', () => {
    // Every job of a cheater at rate 1 is bad; the checker picks job ids by the run's seed (verify.ts).
    for (const f of [0.1, 0.25, 0.5]) {
      let total = 0;
      const runs = 4000;
      for (let seed = 1; seed <= runs; seed++) {
        let job = 1;
        while (!pickedForCheck(seed, job, f)) job++;
        total += job;
      }
      expect(total / runs).toBeGreaterThan(expectedBadResults(f) * 0.93);
      expect(total / runs).toBeLessThan(expectedBadResults(f) * 1.07);
    }
  });
});

describe('verify results in a seeded run', () => {
  test('the cheater is caught and excluded, the honest workers are not, and π is the honest π exactly', async () => {
    const c = run(0.25, 1, 1);
    await finish(c);
    const w2 = named(c, 'worker 2');
    expect(w2.excluded).toMatch(/disagreed/);
    expect(w2.life).toBe('dead');
    for (const name of ['worker 1', 'worker 3', 'worker 4']) expect(named(c, name).excluded).toBeUndefined();
    expect(c.checker.totals.disagreed).toBeGreaterThanOrEqual(1);
    // Its results were in the producer's hands before it was caught: dropped, and its tasks run again.
    const results = c.history.records.filter((r) => r.tube === 'msg_for_client');
    expect(results.filter((r) => r.submitter === 'worker 2').length).toBeGreaterThanOrEqual(2);
    expect(results.length).toBeGreaterThan(PI.jobs);
    expect(done(c)!.estimate).toBe(honest(1));
    expect(done(c)!.results).toHaveLength(PI.jobs);
    // An excluded node stays out: Restart does not bring it back.
    c.restartNode(w2.id);
    expect(w2.life).toBe('dead');
  });

  test('a re-run never counts as a result: with every job verified and no cheater, π is the honest π from K results', async () => {
    const c = run(1, 0);
    await finish(c);
    expect(c.checker.work.reruns).toBe(PI.jobs);
    expect(c.checker.totals.agreed).toBe(PI.jobs);
    expect(done(c)!.results).toHaveLength(PI.jobs);
    expect(done(c)!.estimate).toBe(honest());
  });

  test('a cheater asked to re-run an honest job lies there too: a third node overrules it, and only the cheater is excluded', async () => {
    const c = run(1);
    await finish(c);
    expect(named(c, 'worker 2').excluded).toBeDefined();
    expect([1, 3, 4].filter((i) => named(c, `worker ${i}`).excluded !== undefined)).toEqual([]);
    expect(c.history.records.some((r) => r.check?.verdict === 'agreed' && r.check.overruled?.by === 'worker 2')).toBe(true);
    expect(done(c)!.estimate).toBe(honest());
  });

  test('two results that disagree do not say which is wrong: with no third node, the disagreement is flagged and nobody excluded', async () => {
    const c = run(1, 1, SEED, 2);
    await finish(c);
    expect(c.checker.totals.disagreed).toBeGreaterThan(0);
    expect([...c.nodes.values()].filter((n) => n.excluded !== undefined)).toEqual([]);
    expect(done(c)!.estimate! - Math.PI).toBeGreaterThan(0.1);
  });

  test('the exclusion follows from the run: a replay excludes the same node at the same event', async () => {
    const c = run(0.5);
    await finish(c);
    const replayed = await replayRun(parseRun(JSON.stringify(c.exportRun())), spawnInThread);
    clusters.push(replayed);
    expect(replayed.trace.toArray().map((e) => e.text)).toEqual(c.trace.toArray().map((e) => e.text));
    expect(named(replayed, 'worker 2').excluded).toBe(named(c, 'worker 2').excluded);
  });

  test('verifying costs about the share verified in node time', async () => {
    const plain = run(0, 0);
    await finish(plain);
    const checked = run(0.5, 0);
    await finish(checked);
    const busy = (c: Cluster) => [...c.nodes.values()].filter((n) => n.role === 'worker').reduce((s, n) => s + n.computeMs, 0);
    expect(busy(checked) / busy(plain)).toBeGreaterThan(1.3);
    expect(busy(checked) / busy(plain)).toBeLessThan(1.7);
  });
});

describe('the lesson vocabulary for untrusted workers', () => {
  const check = (name: CheckName, raw: unknown): Check => ({ name, ...parseCheck(name, raw), line: 1 });
  const holds = (c: Cluster, k: Check) => checkHolds(k, { cluster: c, console: [], speedup: [], scenario: PI });

  test('verify takes a percentage from 0 to 100, and says what is wrong otherwise', () => {
    expect(parseAction('verify', 25)).toEqual({ op: 'verify', fraction: 0.25 });
    expect(parseAction('verify', 0)).toEqual({ op: 'verify', fraction: 0 });
    expect(() => parseAction('verify', 250)).toThrow('verify needs the percentage of jobs to re-run, from 0 to 100');
    expect(() => parseAction('verify', '25%')).toThrow('verify needs the percentage');
    expect(() => run(0).setVerification(2)).toThrow('from 0 to 1');
  });

  test('pi-off, excluded and result-checks hold on a run that shows them, and not before', async () => {
    const cheated = run(0);
    const off = check('pi-off', 0.1);
    expect(holds(cheated, off)).toBe(false);
    await finish(cheated);
    expect(holds(cheated, off)).toBe(true);

    const caught = run(0.25, 1, 1);
    const excluded = check('excluded', 'worker 2');
    const disagreed = check('result-checks', { verdict: 'disagreed', min: 1 });
    expect([holds(caught, excluded), holds(caught, disagreed)]).toEqual([false, false]);
    await finish(caught);
    expect([holds(caught, excluded), holds(caught, disagreed), holds(caught, check('excluded', 'worker 1')), holds(caught, off)]).toEqual([true, true, false, false]);
    expect(() => parseCheck('result-checks', { verdict: 'maybe', min: 1 })).toThrow('verdict must be one of agreed, disagreed');
  });
});
