// Time travel (src/sim/branches.ts) on seeded random runs with kills, hangs, restarts and server
// crashes, nodes in-thread: a seek (through the branch's checkpoints, taken every EVERY events here) is
// a replay to that event, stepping on from it gives the recorded run back exactly, and a new action
// behind a branch's end forks the run and keeps both branches.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { setUp } from '../../src/sim/scenario.ts';
import { mulberry32 } from '../../src/sim/rng.ts';
import { replayRun } from '../../src/sim/replay.ts';
import { parseRun, type ClusterAction, type RunRecord } from '../../src/sim/run-record.ts';
import { forkLabel, positionAt, TimeTravel } from '../../src/sim/branches.ts';
import { runState as state } from './run-state.ts';
import { GrowingList } from '../../src/sim/growing-list.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});
const kept = (c: Cluster) => (clusters.push(c), c);

/** Events between checkpoints: small, so every seek of these short runs restores one. */
const EVERY = 9;
const travelOn = (c: Cluster) => new TimeTravel(c, spawnInThread, undefined, 0, EVERY);

/** A run of seed `seed` with five random failures at random events, run until nothing more happens. */
async function recordedRun(seed: number): Promise<Cluster> {
  const rnd = mulberry32(seed);
  const c = kept(new Cluster({ seed, mode: 'virtual', spawn: spawnInThread, checkpointEvery: EVERY }));
  setUp(c, { kind: 'pi', darts: 400_000, jobs: 6, workers: 3, ttr: 3, autostart: true }, seed);
  const workers = [...c.nodes.values()].filter((n) => n.role === 'worker').map((n) => n.id);
  for (let i = 0; i < 5; i++) {
    const steps = 10 + Math.floor(rnd() * 30);
    for (let k = 0; k < steps; k++) await c.step();
    await c.settle();
    const w = workers[Math.floor(rnd() * workers.length)];
    const choices: ClusterAction[] = [
      { op: 'kill', node: w },
      { op: 'hang', node: w },
      { op: 'restart', node: w },
      c.serverUp ? { op: 'crash-server' } : { op: 'restart-server', binlog: true },
    ];
    await c.apply(choices[Math.floor(rnd() * choices.length)]);
  }
  await c.runUntil(() => false, 20_000);
  return c;
}

const SEEDS = [3, 8, 21];

describe('seeking is replaying to the event', () => {
  test.each(SEEDS)('seed %i: seek(n) then stepping forward to the end gives the recorded trace exactly', async (seed) => {
    const run = await recordedRun(seed);
    const recorded = run.exportRun();
    expect(recorded.actions.some((a) => a.n > 0)).toBe(true);
    const travel = travelOn(run);
    const rnd = mulberry32(seed * 31);
    for (const n of [0, Math.floor(rnd() * recorded.events), recorded.events - 5]) {
      const c = kept(await travel.seek(n));
      expect(c.eventCount).toBe(n);
      expect(travel.behind).toBe(true);
      expect(travel.end).toBe(recorded.events);
      while (travel.position < recorded.events) expect(await travel.step()).toBe(true);
      expect(travel.behind).toBe(false);
      expect(c.trace.toArray()).toEqual(recorded.trace);
      expect(c.actions).toEqual(recorded.actions);
    }
  });

  test.each(SEEDS)('seed %i: Play after a seek (time advancing by frames) re-applies the recorded actions at their positions', async (seed) => {
    const run = await recordedRun(seed);
    const recorded = run.exportRun();
    const travel = travelOn(run);
    const c = kept(await travel.seek(Math.floor(recorded.events / 3)));
    const last = recorded.trace[recorded.trace.length - 1].at;
    while (c.now < last) await travel.advanceTo(c.now + 16);
    expect(c.trace.toArray()).toEqual(recorded.trace);
  });

  test.each(SEEDS)('seed %i: seek(n) equals a fresh replay to n (trace, the queue server state, the nodes)', async (seed) => {
    const run = await recordedRun(seed);
    const recorded: RunRecord = parseRun(JSON.stringify(run.exportRun()));
    const travel = travelOn(run);
    const rnd = mulberry32(seed * 7);
    for (let i = 0; i < 3; i++) {
      const n = 1 + Math.floor(rnd() * (recorded.events - 1));
      const sought = kept(await travel.seek(n));
      const fresh = kept(await replayRun(recorded, spawnInThread, { until: n }));
      expect(fresh.eventCount).toBe(n);
      expect(state(sought)).toEqual(state(fresh));
      // The replay to n is the recorded run cut at n: its trace is a prefix of the recorded one.
      expect(recorded.trace.slice(0, sought.trace.length)).toEqual(sought.trace.toArray());
    }
  });

  test.each(SEEDS)('seed %i: a seek restores the last checkpoint at or before the event and runs at most EVERY events from it', async (seed) => {
    const run = await recordedRun(seed);
    const travel = travelOn(run);
    expect(travel.current.checkpoints.length).toBeGreaterThanOrEqual(Math.floor(run.eventCount / EVERY) - 1);
    for (const n of [run.eventCount - 1, Math.floor(run.eventCount / 2), EVERY + 3]) {
      let ran = 0;
      const c = kept(await travel.seek(n, () => ran++));
      expect(c.eventCount).toBe(n);
      expect(ran).toBeLessThan(EVERY);
    }
  });

  test.each(SEEDS)('seed %i: a seek forward closer than the checkpoint runs the cluster shown on (no restore); it equals a fresh replay', async (seed) => {
    const run = await recordedRun(seed);
    const recorded: RunRecord = parseRun(JSON.stringify(run.exportRun()));
    const travel = travelOn(run);
    // Just past a checkpoint (they are taken at multiples of EVERY): two events on, the cluster shown is nearer.
    const at = EVERY * Math.floor(recorded.events / 2 / EVERY) + 1;
    const shown = kept(await travel.seek(at));
    expect(travel.current.checkpoints.some((c) => c.n === at - 1)).toBe(true);
    let ran = 0;
    expect(await travel.seek(at + 2, () => ran++)).toBe(shown);
    expect(ran).toBe(2);
    expect(state(shown)).toEqual(state(kept(await replayRun(recorded, spawnInThread, { until: at + 2 }))));
    // Past the next checkpoint: restored from it, a cluster of its own.
    const far = kept(await travel.seek(at + 2 * EVERY));
    expect(far).not.toBe(shown);
    expect(state(far)).toEqual(state(kept(await replayRun(recorded, spawnInThread, { until: at + 2 * EVERY }))));
    expect(travel.behind).toBe(true);
    expect(travel.end).toBe(recorded.events);
  });

  test.each(SEEDS)('seed %i: stepping back k events then forward k gives the state before', async (seed) => {
    const run = await recordedRun(seed);
    const travel = travelOn(run);
    const at = Math.floor(run.eventCount / 2);
    const before = state(kept(await travel.seek(at)));
    for (const k of [1, 5, 17]) {
      for (let i = 0; i < k; i++) kept(await travel.stepBack());
      expect(travel.position).toBe(at - k);
      for (let i = 0; i < k; i++) await travel.step();
      await travel.cluster.settle();
      expect(state(travel.cluster)).toEqual(before);
    }
  });
  test.each(SEEDS)('seed %i: each of many step backs in a row (restoring the checkpoints the first took on its way) is a fresh replay to its event', async (seed) => {
    const run = await recordedRun(seed);
    const recorded: RunRecord = parseRun(JSON.stringify(run.exportRun()));
    const travel = travelOn(run);
    kept(await travel.seek(recorded.events - 3));
    for (let i = 0; i < 12; i++) {
      const c = kept(await travel.stepBack());
      const fresh = kept(await replayRun(recorded, spawnInThread, { until: c.eventCount }));
      expect(state(c)).toEqual(state(fresh));
    }
  });
});

describe('forks', () => {
  test.each(SEEDS)('seed %i: a new action behind the end forks the run; both branches keep their records and replay to their own traces', async (seed) => {
    const run = await recordedRun(seed);
    const original = structuredClone(run.exportRun());
    const travel = travelOn(run);
    const forkAt = Math.floor(original.events / 2);
    const c = kept(await travel.seek(forkAt));
    // Stepping on re-applies the branch's own actions: no fork.
    await travel.step();
    expect(travel.branches).toHaveLength(1);
    await c.settle();
    const worker = [...c.nodes.values()].find((n) => n.role === 'worker' && n.life !== 'dead');
    expect(worker).toBeDefined();
    c.restartNode(worker!.id);
    expect(travel.branches).toHaveLength(2);
    expect(travel.current.id).toBe(1);
    expect(travel.current.parent).toBe(0);
    expect(travel.current.forkAt).toBe(forkAt + 1);
    expect(travel.current.label).toMatch(new RegExp(`^restart ${worker!.name} at [\\d.]+ s$`));
    for (let i = 0; i < 40; i++) await travel.step();
    const fork = structuredClone(c.exportRun());
    expect(fork.trace).not.toEqual(original.trace);
    // The fork's actions: the original's up to the fork, then the new one.
    const upTo = original.actions.filter((a) => a.n <= forkAt + 1);
    expect(fork.actions.slice(0, upTo.length)).toEqual(upTo);
    expect(fork.actions[upTo.length].action).toEqual({ op: 'restart', node: worker!.id });

    const back = kept(await travel.switchTo(0));
    expect(back.trace.toArray()).toEqual(original.trace);
    expect(travel.branches[0].record.trace).toEqual(original.trace);
    const again = kept(await travel.switchTo(1));
    expect(again.trace.toArray()).toEqual(fork.trace);
    // Taking an action at a branch's end extends it: no fork.
    await again.settle();
    again.crashServer();
    expect(travel.branches).toHaveLength(2);
  });

  test('an exported run keeps its branches, and opening it shows the branch it was saved on', async () => {
    const run = await recordedRun(5);
    const travel = travelOn(run);
    const c = kept(await travel.seek(30));
    c.killNode([...c.nodes.values()].find((n) => n.role === 'worker' && n.life === 'running')!.id);
    for (let i = 0; i < 20; i++) await travel.step();
    const file = JSON.stringify(travel.exportRun());
    const saved = parseRun(file);
    expect(saved.branches?.map((b) => b.label)).toEqual(['first run', travel.branches[1].label]);
    expect(saved.branch).toBe(1);
    const opened = await TimeTravel.open(saved, spawnInThread, undefined, EVERY);
    kept(opened.cluster);
    expect(opened.branches.map((b) => b.label)).toEqual(travel.branches.map((b) => b.label));
    expect(opened.current.id).toBe(1);
    expect(opened.cluster.trace).toEqual(travel.cluster.trace);
    expect(kept(await opened.switchTo(0)).trace.toArray()).toEqual(travel.branches[0].record.trace);
    // A file without branches (version 2 as before) opens as one branch; a broken branch list is refused.
    const plain = await TimeTravel.open(parseRun(JSON.stringify(run.exportRun())), spawnInThread);
    kept(plain.cluster);
    expect(plain.branches).toHaveLength(1);
    expect(() => parseRun(JSON.stringify({ ...saved, branch: 7 }))).toThrow(/branches/);
  });
});

test('a seek whose replay fails leaves the branch and its cluster as they were', async () => {
  const run = await recordedRun(3);
  const travel = new TimeTravel(run, () => {
    throw new Error('no node can start');
  });
  await expect(travel.seek(10)).rejects.toThrow(/no node can start/);
  await expect(travel.switchTo(0)).rejects.toThrow(/no node can start/);
  await expect(travel.switchTo(4)).rejects.toThrow(/no branch 4/);
  expect(travel.cluster).toBe(run);
  expect(travel.behind).toBe(false);
  // The cluster still extends the branch: an action on it forks nothing.
  await run.settle();
  run.crashServer();
  expect(travel.branches).toHaveLength(1);
});

test('a branch is labelled with its action and when it was taken', () => {
  const at = (ms: number) => forkLabel({ n: 0, at: ms, kind: 'action', text: 'hang worker 2' });
  expect(at(3140)).toBe('hang worker 2 at 3.1 s');
  expect(at(15.2)).toBe('hang worker 2 at 0.015 s');
  expect(at(0)).toBe('hang worker 2 at 0 s');
});

describe('the timeline seeks by time', () => {
  test('positionAt: how many events happened at or before an instant', () => {
    const times = GrowingList.of([0, 0, 5, 5, 5, 9]);
    expect(positionAt(times, -1)).toBe(0);
    expect(positionAt(times, 0)).toBe(2);
    expect(positionAt(times, 4.9)).toBe(2);
    expect(positionAt(times, 5)).toBe(5);
    expect(positionAt(times, 100)).toBe(6);
    expect(positionAt(GrowingList.of(), 3)).toBe(0);
  });

  test('seeking to positionAt(t) shows the last event at or before t', async () => {
    const run = await recordedRun(8);
    const travel = travelOn(run);
    const times = run.eventTimes.toArray();
    const t = times[Math.floor(times.length / 2)] + 0.5;
    const n = positionAt(travel.eventTimes, t);
    const c = kept(await travel.seek(n));
    expect(c.eventTimes.get(n - 1)).toBeLessThanOrEqual(t);
    expect(times[n]).toBeGreaterThan(t);
    // Behind the end, the timeline still knows the whole branch's events.
    expect(travel.eventTimes.toArray()).toEqual(times);
  });
});

test('live time cannot be rewound, and keeps no event times for it (a long live run would only grow them)', async () => {
  const c = kept(new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread, latency: 0 }));
  setUp(c, { kind: 'pi', darts: 400_000, jobs: 2, workers: 1, ttr: 40, autostart: true }, 3);
  const travel = new TimeTravel(c, spawnInThread);
  await c.runUntil(() => c.eventCount > 20, 20_000);
  expect(c.eventCount).toBeGreaterThan(20);
  expect(c.eventTimes.length).toBe(0);
  await expect(travel.seek(5)).rejects.toThrow(/cannot be rewound/);
  expect(travel.cluster).toBe(c);
});
