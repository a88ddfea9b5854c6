// Backup tasks (lesson 10): the producer's bookkeeping on its own, driven by seeded random orders of
// results, and whole virtual-time runs with one worker slowed ×10, backup tasks off and on.
import { afterEach, describe, expect, test } from 'vitest';
import { BackupBook, median, parseTaskResult, taskBody, taskResult, untagTask, type TaskAnswer } from '../../src/nodes/backup-tasks.ts';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { piTasks, producerConfig, setUp, type PiScenario } from '../../src/sim/scenario.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';
import { piEstimate, runTask } from '../../src/tasks/index.ts';
import { parseAction, runAction, type ActionTarget } from '../../src/lessons/actions.ts';
import { parseLesson } from '../../src/lessons/loader.ts';
import { checkHolds, parseCheck, type CheckName } from '../../src/lessons/checks.ts';
import { draftOf, scenarioOf } from '../../src/ui/scenario-form.ts';
import { parseScenarioLink, scenarioLinkParams } from '../../src/ui/scenario-link.ts';
import { prng } from '../support/prng.ts';

const pi = (darts: number, hits: number) => ({ kind: 'pi' as const, darts, hits });
const answer = (task: number, job: number, ms: number, hits = 100): TaskAnswer => ({ task, job, ms, result: pi(1000, hits) });

describe('job bodies and results that name their task', () => {
  test('a task body round-trips, and a result names its task, its job and its time', () => {
    expect(taskBody(3, 'pi 2000000 3003')).toBe('task 3 pi 2000000 3003');
    expect(untagTask('task 3 pi 2000000 3003')).toEqual({ task: 3, body: 'pi 2000000 3003' });
    expect(untagTask('pi 2000000 3003')).toBeNull();
    const text = taskResult(3, 17, 2000.4, 'pi 2000000 1570796');
    expect(text).toBe('task 3 job 17 ms 2000 pi 2000000 1570796');
    expect(parseTaskResult(text)).toEqual({ task: 3, job: 17, ms: 2000, result: pi(2000000, 1570796) });
  });

  test('a result that names no task is refused with the reason', () => {
    expect(() => parseTaskResult('pi 2000000 1570796')).toThrow(/not a task's result/);
    expect(() => parseTaskResult('task 3 job 17 ms 20 pi 10 11')).toThrow(/hits \(11\) cannot exceed darts \(10\)/);
  });

  test('median of odd and even counts, none of nothing', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('the bookkeeping', () => {
  test('copies are wanted only when the work tube is empty and only past the threshold (3× the median finished time)', () => {
    const book = new BackupBook(3);
    book.put(0, 10);
    book.put(1, 11);
    book.put(2, 12);
    // No task has finished: there is no median to compare with.
    expect(book.threshold()).toBeNull();
    expect(book.wantsCopy(2, 60_000, true)).toBe(false);
    book.result(answer(0, 10, 2000));
    book.result(answer(1, 11, 2200));
    expect(book.threshold()).toBe(3 * 2100);
    expect(book.wantsCopy(2, 7000, false)).toBe(false);
    expect(book.wantsCopy(2, 6000, true)).toBe(false);
    expect(book.wantsCopy(2, 7000, true)).toBe(true);
    // A task that has its result, or already a copy, gets none.
    expect(book.wantsCopy(0, 7000, true)).toBe(false);
    book.put(2, 13, true);
    expect(book.wantsCopy(2, 9000, true)).toBe(false);
    expect(book.candidates()).toEqual([]);
    expect(book.stats.copies).toBe(1);
  });

  test('the first result of a task wins; the late copy is counted, with its time, and never counted twice', () => {
    const book = new BackupBook(2);
    book.put(0, 1);
    book.put(1, 2);
    book.put(1, 3, true);
    expect(book.result(answer(0, 1, 2000))).toEqual({ kind: 'first', others: [] });
    // The copy (job 3) finishes first: the original (job 2) is the one still out.
    expect(book.result(answer(1, 3, 2000, 80))).toEqual({ kind: 'first', others: [2] });
    expect(book.complete).toBe(true);
    expect(book.lateToCome).toBe(1);
    expect(book.result(answer(1, 2, 20_000, 80))).toEqual({ kind: 'late' });
    expect(book.lateToCome).toBe(0);
    expect(book.stats).toEqual({ copies: 1, late: 1, cancelled: 0, wastedMs: 20_000 });
    expect(book.piEstimate()).toBe(piEstimate([pi(1000, 100), pi(1000, 80)]));
  });

  test('a copy deleted before any worker ran it is cancelled: no late result is awaited', () => {
    const book = new BackupBook(1);
    book.put(0, 1);
    book.put(0, 2, true);
    expect(book.result(answer(0, 1, 9000))).toEqual({ kind: 'first', others: [2] });
    book.cancelled(2);
    expect(book.lateToCome).toBe(0);
    expect(book.stats).toEqual({ copies: 1, late: 0, cancelled: 1, wastedMs: 0 });
  });

  test('a result for a task or job the producer never put is unknown and changes nothing', () => {
    const book = new BackupBook(2);
    book.put(0, 1);
    book.put(1, 2);
    expect(book.result(answer(5, 1, 10))).toEqual({ kind: 'unknown' });
    expect(book.result(answer(1, 1, 10))).toEqual({ kind: 'unknown' });
    expect(book.result(answer(0, 99, 10))).toEqual({ kind: 'unknown' });
    expect(book.results).toEqual([null, null]);
    expect(book.stats).toEqual({ copies: 0, late: 0, cancelled: 0, wastedMs: 0 });
  });

  // Random orders: tasks with a copy or not, both results arriving in any order, some copies cancelled.
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: one result per task counts, every other is late or cancelled, π is the one-result-per-task estimate', (seed) => {
    const r = prng(seed);
    const tasks = r.int(1, 12);
    const specs = piTasks({ kind: 'pi', darts: tasks * 10_000, jobs: tasks, workers: 1, ttr: 40, autostart: false }, seed);
    const book = new BackupBook(tasks);
    let job = 1;
    const jobs: { task: number; job: number; backup: boolean }[] = [];
    for (let t = 0; t < tasks; t++) jobs.push({ task: t, job: job++, backup: false });
    for (let t = 0; t < tasks; t++) if (r.chance(0.5)) jobs.push({ task: t, job: job++, backup: true });
    for (const j of jobs) book.put(j.task, j.job, j.backup);
    const copies = jobs.filter((j) => j.backup).length;
    // Deliver every job's result in a random order; the producer cancels some outstanding copies instead.
    const pending = jobs.slice();
    let late = 0;
    let cancelled = 0;
    while (pending.length) {
      const j = pending.splice(r.int(0, pending.length - 1), 1)[0];
      const got = book.result({ task: j.task, job: j.job, ms: r.int(1, 5000), result: runTask(specs[j.task]) as TaskAnswer['result'] });
      if (got.kind === 'late') late++;
      if (got.kind === 'first') {
        for (const other of got.others) {
          if (!r.chance(0.5)) continue;
          book.cancelled(other);
          cancelled++;
          pending.splice(pending.findIndex((p) => p.job === other), 1);
        }
      }
    }
    expect(book.complete).toBe(true);
    expect(book.lateToCome).toBe(0);
    expect(late + cancelled).toBe(copies);
    expect(book.stats).toMatchObject({ copies, late, cancelled });
    const once = specs.map((s) => runTask(s) as { darts: number; hits: number });
    expect(book.piEstimate()).toBe(piEstimate(once));
  });
});

// ---- whole runs ---------------------------------------------------------------------------------

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

/** Lesson 10's run: 16 jobs of 4,000,000 darts (2 s each on a reference node), 4 workers. */
const SCENARIO: PiScenario = { kind: 'pi', darts: 64_000_000, jobs: 16, workers: 4, ttr: 40, autostart: false };

const producer = (c: Cluster) => [...c.nodes.values()].find((n) => n.role === 'producer');
const final = (c: Cluster) => producer(c)?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done');
const lastStats = (c: Cluster) => producer(c)?.reports.filter((r): r is Extract<NodeReport, { kind: 'backup-tasks' }> => r.kind === 'backup-tasks').at(-1);

/** Starts the producer, slows worker 1 ×`slow` once it works on its first job, and runs until the producer is done (its late results thrown away too). */
async function straggler(over: Partial<PiScenario>, slow = 10, seed = 10) {
  const s = { ...SCENARIO, ...over };
  const c = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(c);
  setUp(c, s, seed);
  c.addNode('producer', producerConfig(s, seed));
  const w1 = [...c.nodes.values()].find((n) => n.name === 'worker 1')!;
  await c.runUntil(() => w1.status.state === 'working');
  if (slow !== 1) c.slowNode(w1.id, slow);
  await c.runUntil(() => producer(c)?.status.state === 'done', 120_000);
  return c;
}

describe('runs with a straggler', () => {
  test('with backups off the slow worker decides the end; with backups on one copy ends it early, with the same π', async () => {
    const off = await straggler({ backupTasks: 'off' });
    const on = await straggler({ backupTasks: 'on' });
    const plain = await straggler({});
    const tOff = final(off)!.seconds;
    const tOn = final(on)!.seconds;
    // Worker 1's job takes 10 × 2 s; the other 15 jobs take 5 rounds of 2 s on 3 workers.
    expect(tOff).toBeGreaterThan(20);
    expect(tOn).toBeLessThan(12);
    expect(final(plain)!.seconds).toBeCloseTo(tOff, 1);
    expect(lastStats(off)).toMatchObject({ copies: 0, late: 0 });
    // One copy, put when the tube was empty; the slow worker's original comes late, 20 s of its work thrown away.
    expect(lastStats(on)).toMatchObject({ copies: 1, late: 1, cancelled: 0 });
    expect(lastStats(on)!.wastedMs).toBeGreaterThanOrEqual(20_000);
    expect(final(on)!.estimate).toBe(final(off)!.estimate);
    expect(final(on)!.estimate).toBe(final(plain)!.estimate);
    expect(final(on)!.results).toHaveLength(16);
    // The copy was put only once the work tube had emptied: after the last original job was reserved.
    const putsOfCopy = on.trace.toArray().filter((e) => e.kind === 'to-server' && /^put /.test(e.text) && e.node === producer(on)!.id);
    const lastReserveByWorker = on.trace.toArray().filter((e) => e.kind === 'to-node' && e.job !== undefined && e.job <= 16).at(-1)!;
    expect(putsOfCopy).toHaveLength(17);
    expect(putsOfCopy[16].n).toBeGreaterThan(lastReserveByWorker.n);
    // Every job and every result is gone from the queue at the end.
    expect(on.model.totals()).toEqual({ ready: 0, delayed: 0, reserved: 0, buried: 0 });
  });

  test('with backups on and no straggler, no copy is put', async () => {
    const c = await straggler({ backupTasks: 'on' }, 1);
    expect(final(c)!.seconds).toBeLessThan(9);
    expect(lastStats(c)).toMatchObject({ copies: 0, late: 0, cancelled: 0 });
  });

  test('switched on mid-run (a recorded action), the run replays to the same trace', async () => {
    const s = { ...SCENARIO, backupTasks: 'off' as const };
    const c = new Cluster({ seed: 10, mode: 'virtual', spawn: spawnInThread });
    clusters.push(c);
    setUp(c, s, 10);
    const target = { cluster: c, startProducer: () => c.addNode('producer', producerConfig(s, 10)) } as unknown as ActionTarget;
    await runAction(target, parseAction('start-producer', null));
    const w1 = [...c.nodes.values()].find((n) => n.name === 'worker 1')!;
    await c.runUntil(() => w1.status.state === 'working');
    await runAction(target, parseAction('slow', { node: 'worker 1', factor: 10 }));
    await c.runUntil(() => c.now > 4000);
    await runAction(target, parseAction('backup-tasks', 'on'));
    expect(producer(c)!.backupTasks).toBe(true);
    await c.runUntil(() => producer(c)?.status.state === 'done', 120_000);
    expect(final(c)!.seconds).toBeLessThan(12);
    expect(lastStats(c)).toMatchObject({ copies: 1, late: 1 });
    const { replayRun } = await import('../../src/sim/replay.ts');
    const again = await replayRun(c.exportRun(), spawnInThread);
    clusters.push(again);
    expect(again.trace).toEqual(c.trace);
  });
});

describe('in a lesson', () => {
  const lesson = (scenario: string) => `---\ntitle: t\nscenario:\n  kind: pi\n${scenario}\n---\n\n## A step\n\nText.\n`;

  test('the scenario field backupTasks takes off or on, for π only; a Reset in the top bar keeps it', () => {
    expect(parseLesson('x/index.md', lesson('  backupTasks: on')).scenario).toMatchObject({ kind: 'pi', backupTasks: 'on' });
    expect(() => parseLesson('x/index.md', lesson('  backupTasks: yes'))).toThrow(/backupTasks must be one of off, on/);
    expect(() => parseLesson('x/index.md', '---\ntitle: t\nscenario:\n  kind: sort\n  backupTasks: on\n---\n\n## A\n\nText.\n')).toThrow(/backupTasks/);
    const current: PiScenario = { ...SCENARIO, backupTasks: 'off' };
    expect(scenarioOf({ ...draftOf(current, 10), jobs: 8 }, current, 10).scenario).toMatchObject({ jobs: 8, backupTasks: 'off' });
  });

  test('a scenario link carries backups=off|on; a bad value is named and left out', () => {
    const params = scenarioLinkParams({ scenario: { ...SCENARIO, backupTasks: 'on' }, seed: 10, mode: 'virtual' });
    expect(params.get('backups')).toBe('on');
    expect(parseScenarioLink(params).link?.scenario).toEqual({ ...SCENARIO, backupTasks: 'on' });
    expect(scenarioLinkParams({ scenario: SCENARIO, seed: 10, mode: 'virtual' }).has('backups')).toBe(false);
    const bad = parseScenarioLink(new URLSearchParams('kind=pi&backups=maybe'));
    expect(bad.link?.scenario).not.toHaveProperty('backupTasks');
    expect(bad.problems).toContain('backups=maybe is not off or on; the producer has no backup tasks.');
  });

  test('actions: slow takes a node and a factor the Slow button reaches; backup-tasks takes on or off; reset takes backupTasks', () => {
    expect(parseAction('slow', { node: 'worker 1', factor: 10 })).toEqual({ op: 'slow', node: 'worker 1', factor: 10 });
    expect(() => parseAction('slow', { node: 'worker 1', factor: 3 })).toThrow(/factor of 2, 4, 10/);
    expect(() => parseAction('slow', 'worker 1')).toThrow(/slow needs a node and a factor/);
    expect(parseAction('backup-tasks', 'off')).toEqual({ op: 'backup-tasks', on: false });
    expect(() => parseAction('backup-tasks', 'maybe')).toThrow(/on or off/);
    expect(parseAction('reset', { backupTasks: 'on' })).toEqual({ op: 'reset', values: { backupTasks: 'on' } });
    expect(() => parseAction('reset', { backupTasks: 'sometimes' })).toThrow(/backupTasks must be one of off, on/);
  });

  test('the backup-tasks action needs a producer that has them', async () => {
    const c = new Cluster({ seed: 1, mode: 'virtual', spawn: spawnInThread });
    clusters.push(c);
    setUp(c, { ...SCENARIO, autostart: true }, 1);
    await expect(runAction({ cluster: c } as unknown as ActionTarget, parseAction('backup-tasks', 'on'))).rejects.toThrow(/no producer with backup tasks/);
  });

  test('checks producer-time, backup-copies and late-results read the producer: none before it reports, then its figures', async () => {
    const check = (name: CheckName, raw: unknown) => ({ name, ...parseCheck(name, raw), line: 1 });
    const checks = [check('producer-time', { max: 12 }), check('backup-copies', { min: 1 }), check('late-results', { count: 1 }), check('producer-time', { min: 18 })];
    expect(checks.map((c) => c.text)).toEqual([
      'the producer had every result after at most 12 s',
      'the producer put at least 1 backup copy',
      'the producer threw away 1 late result',
      'the producer had every result after at least 18 s',
    ]);
    expect(() => parseCheck('producer-time', {})).toThrow(/min.*max/);
    const c = await straggler({ backupTasks: 'on' });
    const ctx = { cluster: c, console: [], speedup: [], scenario: SCENARIO };
    expect(checks.map((k) => checkHolds(k, ctx))).toEqual([true, true, true, false]);
    const fresh = new Cluster({ seed: 1, mode: 'virtual', spawn: spawnInThread });
    clusters.push(fresh);
    expect(checks.map((k) => checkHolds(k, { ...ctx, cluster: fresh }))).toEqual([false, false, false, false]);
  });
});
