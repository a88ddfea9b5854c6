// Lesson checks and actions against a real simulated cluster (virtual time, in-thread nodes): each check
// is false before the thing it names happens and true after, and actions do what their names say.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, setUp, workerName, WORKER, type PiScenario, type Scenario } from '../../src/sim/scenario.ts';
import { Session } from '../../src/protocol/session.ts';
import { latin1, latin1Bytes } from '../../src/protocol/wire.ts';
import { checkHolds, CHECKS, isCheckName, parseCheck, type Check, type CheckContext } from '../../src/lessons/checks.ts';
import { parseAction, runAction, type Action, type ActionTarget } from '../../src/lessons/actions.ts';
import type { SpeedupPoint } from '../../src/sim/experiment.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

/** The student's console, as the app's ConsoleConnection does it: typed lines in, server bytes out. */
class TestConsole {
  lines: { kind: 'in' | 'out'; text: string }[] = [];
  private session: Session | null = null;
  constructor(private readonly cluster: Cluster) {}
  send(line: string): void {
    if (!this.session) this.session = new Session(this.cluster.engine!, { write: (b) => this.lines.push({ kind: 'out', text: latin1(b).replace(/\r\n/g, '\n') }), close: () => {} }, 'console');
    this.lines.push({ kind: 'in', text: line });
    this.session.receive(latin1Bytes(line + '\r\n'));
  }
}

/** A lab without a page: a cluster, a console and the speedup results, as checks and actions see them. */
function lab(over: Partial<PiScenario> = {}, seed = 3) {
  const scenario: PiScenario = { kind: 'pi', darts: 2_000_000, jobs: 4, workers: 2, ttr: 40, autostart: false, ...over };
  const cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  setUp(cluster, scenario, seed);
  const console = new TestConsole(cluster);
  const speedup: SpeedupPoint[] = [];
  const target: ActionTarget = {
    cluster,
    console,
    speed: 1,
    play: () => {},
    pause: () => {},
    step: async () => {
      await cluster.step();
    },
    startProducer: () => cluster.addNode('producer', producerConfig(scenario, seed)),
    addWorker: () => cluster.addNode(workerName(cluster.nodes.size + 1), { role: 'worker', worker: WORKER }),
    resetWith: () => {
      throw new Error('this test lab keeps one run: lessons-verify.test.ts resets a HeadlessLab');
    },
    runSpeedupExperiment: () => Promise.reject(new Error('this test lab has no Speedup tab: lessons-verify.test.ts runs one in a HeadlessLab')),
  };
  const ctx = (): CheckContext => ({ cluster, console: console.lines, speedup, scenario: scenario as Scenario });
  const check = (name: string, raw: unknown): Check => {
    if (!isCheckName(name)) throw new Error(`no check ${name}`);
    return { name, ...parseCheck(name, raw), line: 1 };
  };
  const holds = (name: string, raw: unknown) => checkHolds(check(name, raw), ctx());
  const act = (op: Action['op'], raw?: unknown) => runAction(target, parseAction(op, raw));
  const run = (until: () => boolean, limitMs?: number) => cluster.runUntil(until, limitMs);
  return { cluster, console, speedup, holds, act, run, scenario };
}

describe('checks on the console', () => {
  test('console-reply and job-state follow a put, a reserve and a delete typed at the console', async () => {
    const l = lab({ workers: 0 });
    expect(l.holds('console-reply', 'INSERTED')).toBe(false);
    expect(l.holds('job-state', { job: 1, state: 'ready' })).toBe(false);
    await l.act('console', ['put 0 0 60 4', 'Job1']);
    expect(l.holds('console-reply', 'INSERTED')).toBe(true);
    expect(l.holds('console-reply', 'INSERTED 2')).toBe(false);
    expect(l.holds('console-sent', 'put 0 0')).toBe(true);
    expect(l.holds('job-state', { job: 1, state: 'ready' })).toBe(true);
    expect(l.holds('tube-jobs', { tube: 'default', state: 'ready', count: 1 })).toBe(true);
    expect(l.holds('tube-jobs', { state: 'ready', min: 2 })).toBe(false);
    await l.act('console', ['reserve', 'touch $RESERVED']);
    expect(l.holds('job-state', { job: 1, state: 'reserved' })).toBe(true);
    expect(l.holds('console-reply', 'TOUCHED')).toBe(true);
    await l.act('console', 'delete $INSERTED');
    expect(l.holds('console-reply', 'DELETED')).toBe(true);
    expect(l.holds('job-state', { job: 1, state: 'deleted' })).toBe(true);
    expect(l.holds('job-state', { job: 1, state: 'ready' })).toBe(false);
    expect(l.holds('rq-jobs', { state: 'finished', count: 1 })).toBe(true);
  });

  test('a TTR that runs out under the console makes the job ready again', async () => {
    const l = lab({ workers: 0 });
    await l.act('console', ['put 0 0 2 4', 'Job2', 'reserve']);
    expect(l.holds('reservations', { outcome: 'timed-out', min: 1 })).toBe(false);
    await l.run(() => false, 2500);
    expect(l.holds('reservations', { outcome: 'timed-out', min: 1 })).toBe(true);
    expect(l.holds('job-state', { job: 1, state: 'ready' })).toBe(true);
  });

  test('$RESERVED before any reserve is a clear error, not a guess', async () => {
    const l = lab({ workers: 0 });
    await expect(l.act('console', 'touch $RESERVED')).rejects.toThrow('the console has not seen a RESERVED reply yet, so $RESERVED has no value');
  });
});

describe('checks on the π run', () => {
  test('producer-done, pi-within, tube-jobs and reservations once the run is over', async () => {
    const l = lab();
    expect(l.holds('producer-done', true)).toBe(false);
    await l.act('start-producer');
    const done = () => l.holds('producer-done', true);
    await l.run(done);
    expect(done()).toBe(true);
    expect(l.holds('pi-within', 0.01)).toBe(true);
    expect(l.holds('pi-within', 1e-9)).toBe(false);
    expect(l.holds('tube-jobs', { tube: 'msg_for_worker', state: 'ready', count: 0 })).toBe(true);
    // 4 jobs deleted by workers, 4 results deleted by the producer.
    expect(l.holds('reservations', { outcome: 'deleted', count: 8 })).toBe(true);
    expect(l.holds('workers', { count: 2 })).toBe(true);
    // The card says "done" at the producer's own virtual instant, just after its report.
    await l.run(() => l.holds('node-state', { node: 'producer', is: 'done' }), 1000);
    expect(l.holds('node-state', { node: 'producer', is: 'done' })).toBe(true);
    expect(l.holds('executed-twice', { min: 1 })).toBe(false);
  });

  test('kill-holder kills the worker holding a job: node-state dead, the job returned at once', async () => {
    const l = lab({ ttr: 10 });
    await l.act('start-producer');
    await l.run(() => l.holds('node-state', { node: 'worker 1', is: 'working' }));
    const job = l.cluster.nodes.get(1)!.status.job!;
    await expect(l.act('kill-holder', 999)).rejects.toThrow('job 999 is not reserved by anyone right now');
    await l.act('kill-holder', job);
    expect(l.holds('node-state', { node: 'worker 1', is: 'dead' })).toBe(true);
    expect(l.holds('workers', { count: 1 })).toBe(true);
    expect(l.holds('reservations', { outcome: 'returned', count: 1 })).toBe(true);
    // Back at once: ready, or already reserved by the other worker waiting in reserve.
    expect(l.holds('job-state', { job, state: 'ready' }) || l.holds('job-state', { job, state: 'reserved' })).toBe(true);
    expect(l.cluster.history.byJobId(job)!.returns).toBe(1);
  });

  test('a TTR shorter than the work: executed-twice', async () => {
    const l = lab({ workers: 3 });
    await l.act('console', ['use msg_for_worker', 'put 0 0 1 10', 'sleep 3000']);
    const twice = () => l.holds('executed-twice', { min: 1 });
    await l.run(twice, 10_000);
    expect(twice()).toBe(true);
    expect(l.holds('reservations', { outcome: 'timed-out', min: 1 })).toBe(true);
  });

  test("the seed worker's bug: a failed job is released, then deleted anyway", async () => {
    const l = lab({ workers: 1 });
    const lost = () => l.holds('failed-and-deleted', { count: 1 });
    expect(lost()).toBe(false);
    await l.act('console', ['use msg_for_worker', 'put 0 0 60 5', 'hello']);
    await l.run(lost, 5000);
    expect(lost()).toBe(true);
    expect(l.holds('reservations', { outcome: 'released', count: 1 })).toBe(true);
    expect(l.holds('tube-jobs', { tube: 'msg_for_client', state: 'ready', count: 1 })).toBe(true);
  });

  test('server checks through a crash and restarts, with and without the binlog', async () => {
    const l = lab({ workers: 0 });
    await l.act('console', ['put 0 0 60 1', 'x']);
    expect(l.holds('server', 'up')).toBe(true);
    await l.act('crash-server');
    expect(l.holds('server', 'down')).toBe(true);
    expect(l.holds('tube-jobs', { state: 'ready', count: 1 })).toBe(false);
    expect(l.holds('server-restarted', 'binlog')).toBe(false);
    await l.act('restart-server', 'binlog');
    expect(l.holds('server-restarted', 'binlog')).toBe(true);
    expect(l.holds('server-restarted', 'no-binlog')).toBe(false);
    expect(l.holds('tube-jobs', { tube: 'default', state: 'ready', count: 1 })).toBe(true);
    await l.act('crash-server');
    await l.act('restart-server', 'no-binlog');
    expect(l.holds('server-restarted', 'no-binlog')).toBe(true);
    expect(l.holds('tube-jobs', { state: 'ready', count: 0 })).toBe(true);
    expect(l.holds('rq-jobs', { state: 'dead', count: 1 })).toBe(true);
  });

  test('hang, restart and add-worker actions change the nodes as named', async () => {
    const l = lab({ workers: 1 });
    await l.act('hang', 'worker 1');
    expect(l.holds('node-state', { node: 'worker 1', is: 'hung' })).toBe(true);
    await l.act('restart', 'worker 1');
    expect(l.holds('node-state', { node: 'worker 1', is: 'running' })).toBe(true);
    await l.act('add-worker', 2);
    expect(l.holds('workers', { count: 3 })).toBe(true);
    await expect(l.act('kill', 'worker 9')).rejects.toThrow('there is no node called worker 9');
  });

  test('step-until steps one event at a time until its check holds, and no further', async () => {
    const l = lab({ workers: 1 });
    await l.act('start-producer');
    const reserved = { tube: 'msg_for_worker', state: 'reserved', count: 1 };
    await l.act('step-until', { 'tube-jobs': reserved });
    expect(l.holds('tube-jobs', reserved)).toBe(true);
    const events = l.cluster.eventCount;
    await l.act('step-until', { 'tube-jobs': reserved });
    expect(l.cluster.eventCount).toBe(events);
    // Nothing left to happen: a clear error, not a wait for ever.
    const idle = lab({ workers: 0 });
    await expect(idle.act('step-until', { 'node-state': { node: 'producer', is: 'done' } })).rejects.toThrow('1000 events went by and still not producer is done');
  });
});

describe('checks on the matrix and sort runs', () => {
  test('result-verified and traffic: per cell against row blocks', async () => {
    const counts: Record<string, number> = {};
    for (const granularity of ['cell', 'row-block'] as const) {
      const scenario: Scenario = { kind: 'matrix', n: 8, granularity, rowsPerJob: 4, workers: 2, ttr: 40, autostart: true };
      const cluster = new Cluster({ seed: 6, mode: 'virtual', spawn: spawnInThread });
      clusters.push(cluster);
      setUp(cluster, scenario, 6);
      const check = (name: 'result-verified' | 'traffic', raw: unknown) =>
        checkHolds({ name, ...parseCheck(name, raw), line: 1 }, { cluster, console: [], speedup: [], scenario });
      expect(check('result-verified', true)).toBe(false);
      await cluster.runUntil(() => check('result-verified', true));
      expect(check('result-verified', true)).toBe(true);
      counts[granularity] = cluster.traffic.store.messages;
      expect(check('traffic', { server: 'store', min: counts[granularity] })).toBe(true);
      expect(check('traffic', { server: 'store', max: counts[granularity] - 1 })).toBe(false);
    }
    expect(counts.cell).toBeGreaterThan(4 * counts['row-block']);
  });
});

describe('checks on the speedup experiment, the scenario and the clock', () => {
  test('speedup min and max read the measured points', () => {
    const l = lab();
    expect(l.holds('speedup', { workers: 8, min: 6 })).toBe(false);
    l.speedup.push({ kind: 'local', workers: 8, seconds: 0.55, producerSeconds: 0.5, speedup: 7.5, efficiency: 0.94, estimate: 3.14, jobs: 8, jobSeconds: 4, overheadMs: 50, rttMs: null, nodes: [] });
    expect(l.holds('speedup', { workers: 8, min: 6 })).toBe(true);
    expect(l.holds('speedup', { workers: 8, max: 2.2 })).toBe(false);
    expect(l.holds('speedup', { workers: 4, min: 1 })).toBe(false);
  });

  test('scenario and time', () => {
    const l = lab({ jobs: 64 });
    expect(l.holds('scenario', { jobs: 64 })).toBe(true);
    expect(l.holds('scenario', { jobs: 64, darts: 80000 })).toBe(false);
    expect(l.holds('time', 'virtual')).toBe(true);
    expect(l.holds('time', 'live')).toBe(false);
  });
});

describe('bad check and action arguments say what is wrong', () => {
  const cases: [string, unknown, string][] = [
    ['job-state', { job: 0, state: 'ready' }, 'job must be a whole number ≥ 1, not 0'],
    ['tube-jobs', { tube: 'x', state: 'deleted', count: 1 }, 'state must be one a job in a tube can have'],
    ['tube-jobs', { state: 'ready' }, 'missing field "count" (exactly) or "min" (at least)'],
    ['tube-jobs', { state: 'ready', count: 1, min: 1 }, 'give "count" (exactly) or "min" (at least), not both'],
    ['node-state', { node: 'worker 1', is: 'sad' }, 'is must be one of running, hung, dead'],
    ['pi-within', -1, 'the tolerance must be a number > 0, not -1'],
    ['speedup', { workers: 8 }, 'give "min" (at least) or "max" (at most), or both'],
    ['scenario', { colour: 'red' }, 'unknown field "colour"'],
    ['console-reply', '', 'the reply must be some text'],
  ];
  for (const [name, raw, message] of cases) {
    test(`${name}: ${JSON.stringify(raw)}`, () => {
      expect(isCheckName(name)).toBe(true);
      expect(() => parseCheck(name as keyof typeof CHECKS, raw)).toThrow(message);
    });
  }

  test('actions', () => {
    expect(() => parseAction('speed', 3)).toThrow('speed must be one of 0.1, 0.25, 0.5, 1, 2, 5, 10, not 3');
    expect(() => parseAction('kill', '')).toThrow('kill needs a node name, e.g. "kill: worker 1"');
    expect(() => parseAction('restart-server', 'yes')).toThrow('restart-server must be "binlog" or "no-binlog", not "yes"');
    expect(() => parseAction('play', 5)).toThrow('play takes no argument');
    expect(() => parseAction('step', 0)).toThrow('step must be a whole number from 1 to 1000, not 0');
    expect(parseAction('console', 'stats')).toEqual({ op: 'console', lines: ['stats'] });
    expect(parseAction('reset', { jobs: 2, granularity: 'row-block' })).toEqual({ op: 'reset', values: { jobs: 2, granularity: 'row-block' } });
    expect(() => parseAction('reset', { jobz: 2 })).toThrow('reset: unknown scenario field "jobz"');
    expect(() => parseAction('reset', { jobs: 'two' })).toThrow('reset: jobs must be a whole number, not "two"');
    expect(() => parseAction('reset', null)).toThrow('reset needs scenario values');
    expect(parseAction('speedup-experiment', [1, 8])).toEqual({ op: 'speedup-experiment', workers: [1, 8] });
    expect(() => parseAction('speedup-experiment', [3])).toThrow('speedup-experiment needs a list of worker counts from 1, 2, 4, 8, 16');
    expect(() => parseAction('step-until', { 'console-reply': 'OK' })).toThrow('step-until needs one check on the run (job-state, tube-jobs, node-state, workers, producer-done, reservations, rq-jobs, server)');
    expect(() => parseAction('step-until', { 'node-state': { node: 'worker 1', is: 'asleep' } })).toThrow('is must be one of');
  });
});
