// Checkpoints of the whole virtual-time cluster (src/sim/checkpoint.ts): a cluster restored from any
// checkpoint of a seeded run with kills, hangs, restarts and server crashes runs on to exactly the
// recorded trace, and is, at its position, what a fresh replay to that position is.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { setUp } from '../../src/sim/scenario.ts';
import { mulberry32 } from '../../src/sim/rng.ts';
import { replayOptions, replayRun, runForward } from '../../src/sim/replay.ts';
import type { ClusterAction } from '../../src/sim/run-record.ts';
import type { Scenario } from '../../src/sim/scenario.ts';
import { NodeInputs, resumeMessage } from '../../src/sim/node-resume.ts';
import type { NodeConfig } from '../../src/nodes/messages.ts';
import { runState as state } from './run-state.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});
const kept = (c: Cluster) => (clusters.push(c), c);

const EVERY = 7;

const PI: Scenario = { kind: 'pi', darts: 100_000, jobs: 6, workers: 3, ttr: 3, autostart: true };

/** A run of seed `seed` with random failures at random events, checkpointed every EVERY events. */
async function recordedRun(seed: number, scenario = PI): Promise<Cluster> {
  const rnd = mulberry32(seed);
  const c = kept(new Cluster({ seed, mode: 'virtual', spawn: spawnInThread, checkpointEvery: EVERY }));
  setUp(c, scenario, seed);
  const workers = [...c.nodes.values()].filter((n) => n.role === 'worker').map((n) => n.id);
  for (let i = 0; i < 6; i++) {
    const steps = 10 + Math.floor(rnd() * 30);
    for (let k = 0; k < steps; k++) await c.step();
    await c.settle();
    const w = workers[Math.floor(rnd() * workers.length)];
    const choices: ClusterAction[] = [
      { op: 'kill', node: w },
      { op: 'hang', node: w },
      { op: 'restart', node: w },
      { op: 'slow', node: w, factor: 2 },
      { op: 'drop', node: w },
      c.serverUp ? { op: 'crash-server' } : { op: 'restart-server', binlog: true },
    ];
    await c.apply(choices[Math.floor(rnd() * choices.length)]);
  }
  await c.runUntil(() => false, 20_000);
  return c;
}

const SEEDS = [3, 8, 21];

describe('a restored checkpoint runs on as the recorded run', () => {
  test.each(SEEDS)('seed %i: from every checkpoint, running to the end gives the recorded trace exactly', async (seed) => {
    const run = await recordedRun(seed);
    const recorded = structuredClone(run.exportRun());
    expect(run.checkpoints.length).toBeGreaterThan(recorded.events / EVERY);
    for (const cp of run.checkpoints) {
      const c = kept(Cluster.restore(cp, replayOptions(recorded, spawnInThread)));
      expect(c.eventCount).toBe(cp.n);
      await runForward({ cluster: c, ahead: recorded.actions.slice(cp.log.actionsLength) }, recorded.events);
      expect(c.trace.toArray()).toEqual(recorded.trace);
      expect(c.actions).toEqual(recorded.actions);
    }
  });

  test.each(SEEDS)('seed %i: restored at a checkpoint and run to n, the cluster is a fresh replay to n', async (seed) => {
    const run = await recordedRun(seed);
    const recorded = structuredClone(run.exportRun());
    const rnd = mulberry32(seed * 7);
    for (let i = 0; i < 4; i++) {
      const cp = run.checkpoints[Math.floor(rnd() * run.checkpoints.length)];
      const n = Math.min(recorded.events, cp.n + Math.floor(rnd() * EVERY));
      const c = kept(Cluster.restore(cp, replayOptions(recorded, spawnInThread)));
      await runForward({ cluster: c, ahead: recorded.actions.slice(cp.log.actionsLength) }, n);
      const fresh = kept(await replayRun(recorded, spawnInThread, { until: n }));
      expect(state(c)).toEqual(state(fresh));
    }
  });
});

describe('programs without resume points, and the key-value store', () => {
  const scenarios: [string, Scenario][] = [
    ['matrix by row blocks through the key-value store', { kind: 'matrix', n: 6, granularity: 'row-block', rowsPerJob: 2, workers: 3, ttr: 4, autostart: true }],
    ['sample sort', { kind: 'sort', values: 300, buckets: 4, workers: 3, ttr: 4, autostart: true }],
  ];
  test.each(scenarios)('%s: from every checkpoint, running to the end gives the recorded trace and the same cluster', async (_, scenario) => {
    const run = await recordedRun(5, scenario);
    const recorded = structuredClone(run.exportRun());
    expect(run.checkpoints.length).toBeGreaterThan(recorded.events / EVERY);
    for (const cp of run.checkpoints) {
      const c = kept(Cluster.restore(cp, replayOptions(recorded, spawnInThread)));
      await runForward({ cluster: c, ahead: recorded.actions.slice(cp.log.actionsLength) }, recorded.events);
      expect(c.trace.toArray()).toEqual(recorded.trace);
      // The recorded run's clock ran on to its time limit after its last event.
      expect({ ...state(c), now: 0 }).toEqual({ ...state(run), now: 0 });
    }
    // A restore without resume points re-runs each program from its start: generous on a loaded machine.
  }, 120_000);
});

test("a resume point's long lists (a producer's results) are kept in chunks shared with the mark before, and come back whole", () => {
  const inputs = new NodeInputs();
  const config: NodeConfig = { role: 'producer', producer: { use: 'jobs', watch: 'results', tasks: [], ttr: 60, pri: 0, pollMs: 100, resume: false } };
  inputs.log({ t: 'start', vt: 0, name: 'producer', seed: 1, config, virtual: true });
  const results = Array.from({ length: 600 }, (_, i) => `result ${i}`);
  const mark = (n: number) => ({ t: 'mark' as const, consumed: 1, vt: n, state: { phase: 'collect', i: n, results: results.slice(0, n) }, slow: 1, nextConn: 2, conns: [1] });
  inputs.marked(mark(584));
  const first = inputs.state()!;
  inputs.marked(mark(600));
  const second = inputs.state()!;
  expect(resumeMessage(first).mark?.state).toEqual({ phase: 'collect', i: 584, results: results.slice(0, 584) });
  expect(resumeMessage(second).mark?.state).toEqual({ phase: 'collect', i: 600, results });
  const chunks = (r: typeof first) => (r.mark?.state as { results: { chunked: string[][] } }).results.chunked;
  expect(chunks(second)[0]).toBe(chunks(first)[0]);
  expect(chunks(second)[1]).toBe(chunks(first)[1]);
  expect(chunks(second)[2]).not.toBe(chunks(first)[2]);
});

describe("the later lessons' runs: backup tasks, random arrivals, a cheater caught by verify results", () => {
  /** A run of `scenario` with `actions` taken every 25 events, checkpointed every EVERY events. */
  async function actedRun(seed: number, scenario: Scenario, actions: (c: Cluster, workers: number[], producer: number) => ClusterAction[]) {
    const c = kept(new Cluster({ seed, mode: 'virtual', spawn: spawnInThread, checkpointEvery: EVERY }));
    setUp(c, scenario, seed);
    const nodes = [...c.nodes.values()];
    const workers = nodes.filter((n) => n.role === 'worker').map((n) => n.id);
    const producer = nodes.find((n) => n.role === 'producer')!.id;
    for (const a of actions(c, workers, producer)) {
      for (let k = 0; k < 25; k++) await c.step();
      await c.settle();
      await c.apply(a);
    }
    await c.runUntil(() => false, 60_000);
    return c;
  }

  async function restoresToTheEnd(run: Cluster) {
    const recorded = structuredClone(run.exportRun());
    expect(run.checkpoints.length).toBeGreaterThan(2);
    for (const cp of run.checkpoints) {
      const c = kept(Cluster.restore(cp, replayOptions(recorded, spawnInThread)));
      await runForward({ cluster: c, ahead: recorded.actions.slice(cp.log.actionsLength) }, recorded.events);
      expect(c.trace.toArray()).toEqual(recorded.trace);
      expect({ ...state(c), now: 0 }).toEqual({ ...state(run), now: 0 });
    }
  }

  test('lesson 10: a worker slowed ×10 and backup tasks switched on mid-run', async () => {
    const run = await actedRun(10, { ...PI, jobs: 8, backupTasks: 'off' }, (_, [w], p) => [
      { op: 'slow', node: w, factor: 10 },
      { op: 'backup-tasks', node: p, on: true },
    ]);
    await restoresToTheEnd(run);
  }, 120_000);

  test('lesson 12: Poisson arrivals, a worker killed', async () => {
    const run = await actedRun(12, { kind: 'queueing', rate: 120, service: 400, arrivals: 30, workers: 2, ttr: 60, autostart: true }, (_, [w]) => [{ op: 'kill', node: w }]);
    await restoresToTheEnd(run);
  }, 120_000);

  test('lesson 11: a worker cheats from early on; the checkpoints before verify results is set still restore the work a later exclusion undoes', async () => {
    const run = await actedRun(11, { ...PI, jobs: 12, workers: 4 }, (_, [w]) => [
      { op: 'cheat', node: w, rate: 1 },
      { op: 'slow', node: w, factor: 2 },
      { op: 'verify', fraction: 1 },
    ]);
    // The cheater was caught, and π is honest again: the exclusion undid work done before the checkpoints.
    expect([...run.nodes.values()].some((n) => n.excluded !== undefined)).toBe(true);
    await restoresToTheEnd(run);
  }, 120_000);
});

test("checkpoints share the work book's finished tasks (their bodies are bytes) from one checkpoint to the next instead of copying them again", async () => {
  const run = await recordedRun(8);
  const finished = (i: number) => ((run.checkpoints[i].work.finished as { copies?: unknown[][] }).copies ?? []).flat();
  let shared = 0;
  for (let i = 1; i < run.checkpoints.length; i++) {
    const [before, after] = [finished(i - 1), finished(i)];
    // A task finished stays as it was: the later checkpoint holds the earlier one's copy of it.
    for (let k = 0; k < Math.min(before.length, after.length); k++, shared++) expect(after[k]).toBe(before[k]);
  }
  expect(shared).toBeGreaterThan(0);
});

test('checkpoints share the chunks of queued jobs that did not change since the one before, and a restore takes them all back', async () => {
  // 600 jobs put at once and one worker: most wait, unchanged, from one checkpoint to the next.
  const run = kept(new Cluster({ seed: 3, mode: 'virtual', spawn: spawnInThread, checkpointEvery: 50 }));
  setUp(run, { kind: 'pi', darts: 600_000, jobs: 600, workers: 1, ttr: 60, autostart: true }, 3);
  await run.runUntil(() => run.eventCount >= 3000);
  // Jobs 256-511, put and waiting: their chunk is the same object from one checkpoint to the next.
  const full = run.checkpoints.filter((c) => c.engineJobs.length >= 2 && c.engineJobs[1].count === 256);
  expect(full.length).toBeGreaterThan(5);
  for (let i = 1; i < full.length; i++) expect(full[i].engineJobs[1]).toBe(full[i - 1].engineJobs[1]);
  const cp = full[full.length - 1];
  const restored = kept(Cluster.restore(cp, replayOptions(run.exportRun(), spawnInThread, 50)));
  expect(restored.engine!.snapshot().jobs.count).toBe(cp.engineJobs.reduce((n, c) => n + c.count, 0));
  expect(restored.engine!.snapshot().jobs.count).toBeGreaterThan(512);
});

test("a restored run's binlog is the checkpoint's bytes, not a copy: its own checkpoints share them and add only what it wrote since, and a crash recovers from them", async () => {
  const run = kept(new Cluster({ seed: 5, mode: 'virtual', spawn: spawnInThread, checkpointEvery: 50 }));
  setUp(run, { kind: 'pi', darts: 60_000, jobs: 60, workers: 2, ttr: 60, autostart: true }, 5);
  await run.runUntil(() => run.eventCount >= 400);
  const cp = run.checkpoints.at(-1)!;
  const restored = kept(Cluster.restore(cp, replayOptions(run.exportRun(), spawnInThread, 50)));
  await restored.runUntil(() => restored.eventCount >= cp.n + 120);
  const later = restored.checkpoints.filter((c) => c.n > cp.n);
  expect(later.length).toBeGreaterThan(0);
  const was = cp.binlog.files[0].chunks;
  for (const [k, c] of later.entries()) {
    const is = c.binlog.files.find((f) => f.seq === cp.binlog.files[0].seq)!.chunks;
    for (let i = 0; i < was.length; i++) expect(is[i]).toBe(was[i]);
    // One chunk more for each checkpoint since: what was written in between.
    expect(is.length).toBe(was.length + k + 1);
  }
  await run.runUntil(() => run.eventCount >= cp.n + 120);
  for (const c of [run, restored]) {
    c.crashServer();
    await c.restartServer(true);
  }
  expect(restored.engine!.snapshot().jobs).toEqual(run.engine!.snapshot().jobs);
  expect(restored.engine!.snapshot().jobs.count).toBeGreaterThan(10);
});

test("the job history and the connections' owners keep open connections only: a run whose workers connect anew for each job does not carry every connection it ever saw into each checkpoint", async () => {
  const run = kept(new Cluster({ seed: 4, mode: 'virtual', spawn: spawnInThread }));
  setUp(run, { kind: 'pi', darts: 40_000, jobs: 40, workers: 2, ttr: 60, autostart: true }, 4);
  await run.runUntil(() => run.eventCount >= 1000);
  const cp = run.checkpoint()!;
  const names = (cp.history.connNames as Map<number, string>).size;
  const owners = cp.owners.keys.flat().length;
  // The seed's workers reconnect for every job: far more connections were opened than are open.
  expect(run.engine!.totalConnections).toBeGreaterThan(20);
  expect(names).toBeLessThanOrEqual(run.engine!.currentConnections);
  expect(names).toBeGreaterThan(0);
  expect(owners).toBeLessThanOrEqual(run.engine!.currentConnections);
  expect(owners).toBeGreaterThan(0);
  // Past reservations still name their nodes, and the restored run goes on as recorded.
  const reservations = run.model.reservations;
  expect(reservations.length).toBeGreaterThan(20);
  for (const r of reservations) expect(r.owner?.name).toMatch(/^(worker \d|producer)$/);
  const restored = kept(Cluster.restore(cp, replayOptions(run.exportRun(), spawnInThread, 50)));
  await restored.runUntil(() => restored.eventCount >= 1200);
  await run.runUntil(() => run.eventCount >= 1200);
  expect(restored.trace.toArray()).toEqual(run.trace.toArray());
});
