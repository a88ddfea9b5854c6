// The speedup experiment in virtual time, with nodes on in-thread message channels: modelled durations
// make it deterministic, so the measured speedups can be checked against what the schedule allows.
import { afterEach, describe, expect, test } from 'vitest';
import { experimentAmdahl, exportCsv, exportJson, runSpeedup, speedupPoints, type RunMeasurement, type SpeedupProgress, liveCoresNote, idleNodesNote } from '../../src/sim/experiment.ts';
import { Cluster } from '../../src/sim/cluster.ts';
import { piTasks, producerConfig, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { RoomHost } from '../../src/net/room-host.ts';
import { RoomMember } from '../../src/net/room-member.ts';
import { channelPair, CODE, SECRET, until, wall } from './net-fake-channel.ts';
import { referenceSeconds } from '../../src/tasks/index.ts';

// 8 equal jobs of 1M darts: their modelled compute is long against the 1 ms link latency.
const scenario: PiScenario = { kind: 'pi', darts: 8_000_000, jobs: 8, workers: 1, ttr: 40, autostart: false };
/** Modelled compute of all the jobs, seconds: what one worker needs at the least. */
const serialSeconds = (s: PiScenario, seed: number) => piTasks(s, seed).reduce((t, task) => t + referenceSeconds(task), 0);

describe('runSpeedup in virtual time', () => {
  test('2 workers nearly halve the time of 8 equal jobs; the answer does not depend on the worker count', async () => {
    const progress: SpeedupProgress[] = [];
    const points = await runSpeedup({ workers: [2, 1, 4], scenario, seed: 3, mode: 'virtual', spawn: spawnInThread, onProgress: (p) => progress.push(p) });
    expect(points.map((p) => p.workers)).toEqual([1, 2, 4]);
    const [one, two, four] = points;
    expect(one.speedup).toBe(1);
    expect(one.seconds).toBeGreaterThanOrEqual(serialSeconds(scenario, 3));
    expect(one.seconds).toBeLessThan(serialSeconds(scenario, 3) * 1.2);
    expect(two.speedup).toBeGreaterThan(1.5);
    expect(two.speedup).toBeLessThan(2.05);
    expect(four.speedup).toBeGreaterThan(two.speedup);
    expect(four.speedup).toBeLessThan(4.05);
    for (const p of points) {
      expect(p.efficiency).toBeCloseTo(p.speedup / p.workers, 12);
      expect(p.seconds).toBeCloseTo(one.seconds / p.speedup, 12);
      // The producer starts with the cluster, so its own clock sees (nearly) the same span.
      expect(Math.abs(p.producerSeconds - p.seconds)).toBeLessThan(0.01);
      expect(Math.abs(p.estimate! - Math.PI)).toBeLessThan(0.01);
    }
    // Same jobs, same seeds: the combined estimate is identical whoever computed each part.
    expect(new Set(points.map((p) => p.estimate)).size).toBe(1);
    // Every job done once, by one of the run's own nodes; time outside jobs is never negative.
    for (const p of points) {
      expect(p.nodes.map((n) => n.name)).toEqual(Array.from({ length: p.workers }, (_, i) => `worker ${i + 1}`));
      expect(p.nodes.every((n) => n.kind === 'local' && n.rttMs === null)).toBe(true);
      expect(p.jobs).toBe(8);
      expect(p.nodes.reduce((t, n) => t + n.share, 0)).toBeCloseTo(1, 12);
      expect(p.jobSeconds).toBeGreaterThan(0);
      expect(p.overheadMs).toBeGreaterThanOrEqual(0);
      expect(p.overheadMs).toBeCloseTo(((p.seconds * p.workers - p.jobSeconds) * 1000) / 8, 9);
    }
    expect(four.nodes.map((n) => n.jobs)).toEqual([2, 2, 2, 2]);
    expect(progress.map((p) => [p.done, p.running ?? null, p.last?.workers ?? null])).toEqual([
      [0, 1, null],
      [1, null, 1],
      [1, 2, null],
      [2, null, 2],
      [2, 4, null],
      [3, null, 4],
    ]);
  });

  test('two runs with the same seed give identical results', async () => {
    const opts = { workers: [1, 2], scenario: { ...scenario, darts: 2_000_000 }, seed: 9, mode: 'virtual' as const, spawn: spawnInThread };
    const a = await runSpeedup(opts);
    const b = await runSpeedup(opts);
    expect(b).toEqual(a);
  });

  test('more workers than jobs cannot help: 16 workers on 8 jobs are no faster than 8', async () => {
    const points = await runSpeedup({ workers: [1, 8, 16], scenario, seed: 4, mode: 'virtual', spawn: spawnInThread });
    const [, eight, sixteen] = points;
    expect(sixteen.seconds).toBeGreaterThanOrEqual(eight.seconds * 0.98);
    expect(sixteen.efficiency).toBeLessThan(0.5 + 0.02);
  });

  test('aborting stops the experiment after the run in progress', async () => {
    const stop = new AbortController();
    const started: number[] = [];
    const run = runSpeedup({
      workers: [1, 2, 4],
      scenario,
      seed: 1,
      mode: 'virtual',
      spawn: spawnInThread,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.running !== undefined) started.push(p.running);
        if (p.running === 2) stop.abort(new Error('stopped by the student'));
      },
    });
    await expect(run).rejects.toThrow('stopped by the student');
    expect(started).toEqual([1, 2]);
  });

  test('no worker count is an error', async () => {
    await expect(runSpeedup({ workers: [0], scenario, seed: 1, mode: 'virtual', spawn: spawnInThread })).rejects.toThrow(/at least one worker count/);
  });
});

// Live time uses the real clock; in-thread nodes share this thread, so only the mechanics are checked.
describe('runSpeedup in live time', () => {
  test('runs each worker count to the producer\'s report on the real clock', async () => {
    const points = await runSpeedup({ workers: [1, 2], scenario: { ...scenario, darts: 400_000, jobs: 4 }, seed: 2, mode: 'live', spawn: spawnInThread, limitMs: 15_000 });
    expect(points.map((p) => p.workers)).toEqual([1, 2]);
    for (const p of points) {
      expect(p.seconds).toBeGreaterThan(0);
      expect(p.producerSeconds).toBeGreaterThan(0);
      expect(p.producerSeconds).toBeLessThanOrEqual(p.seconds + 0.05);
      expect(Math.abs(p.estimate! - Math.PI)).toBeLessThan(0.02);
    }
  });

  test('a run that cannot finish in the time limit fails with a clear message', async () => {
    await expect(runSpeedup({ workers: [1], scenario, seed: 1, mode: 'live', spawn: spawnInThread, limitMs: 5 })).rejects.toThrow(/1 worker did not finish within 0.005 s/);
  });
});

describe('speedup arithmetic and export', () => {
  /** A local run whose `workers` nodes each did `jobs` jobs in `jobSeconds`. */
  const local = (workers: number, seconds: number, producerSeconds: number, estimate: number | null, jobs: number, jobSeconds: number): RunMeasurement => ({
    kind: 'local',
    workers,
    seconds,
    producerSeconds,
    estimate,
    nodes: Array.from({ length: workers }, (_, i) => ({ name: `worker ${i + 1}`, kind: 'local' as const, jobs, jobSeconds, rttMs: null })),
  });
  const runs = [local(4, 3, 2.9, 3.14, 2, 2.5), local(1, 10, 9.9, null, 8, 9), local(2, 5.5, 5.4, 3.14, 4, 5)];

  test('speedup is T1/Tk and efficiency speedup/k, sorted by workers', () => {
    const p = speedupPoints(runs);
    expect(p.map((x) => x.workers)).toEqual([1, 2, 4]);
    expect(p[1].speedup).toBeCloseTo(10 / 5.5, 12);
    expect(p[2].speedup).toBeCloseTo(10 / 3, 12);
    expect(p[2].efficiency).toBeCloseTo(10 / 3 / 4, 12);
  });

  test('without a 1-worker run, the smallest count is the baseline and ideal scaling is still S(k) = k', () => {
    const p = speedupPoints([local(2, 8, 8, null, 1, 1), local(4, 4, 4, null, 1, 1)]);
    expect(p.map((x) => x.speedup)).toEqual([2, 4]);
    expect(p.map((x) => x.efficiency)).toEqual([1, 1]);
  });

  test("per node: each node's share of the jobs; per run: the dispatch overhead, node time outside jobs per job", () => {
    const [one, two, four] = speedupPoints(runs);
    expect(one.jobs).toBe(8);
    expect(one.overheadMs).toBeCloseTo(((10 - 9) * 1000) / 8, 12);
    expect(two.jobSeconds).toBe(10);
    expect(two.overheadMs).toBeCloseTo(((5.5 * 2 - 10) * 1000) / 8, 12);
    expect(four.nodes.map((n) => n.share)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(four.overheadMs).toBeCloseTo(((3 * 4 - 10) * 1000) / 8, 12);
    expect(one.rttMs).toBeNull();
    expect(speedupPoints([local(1, 0.1, 0.1, null, 0, 0)])[0].overheadMs).toBeNull();
  });

  test('a room experiment: the 1-local-worker run is the baseline of the remote runs, even against a 1-remote-node run', () => {
    const remote = (workers: number, seconds: number, nodes: [string, number, number, number | null][]): RunMeasurement => ({
      kind: 'remote',
      workers,
      seconds,
      producerSeconds: seconds,
      estimate: 3.1416,
      nodes: nodes.map(([name, jobs, jobSeconds, rttMs]) => ({ name, kind: 'remote' as const, jobs, jobSeconds, rttMs })),
    });
    const p = speedupPoints([
      remote(2, 5.5, [
        ['remote 1.1', 3, 4.5, 2],
        ['remote 2.1', 5, 5, 4],
      ]),
      remote(1, 11, [['remote 1.1', 8, 10, null]]),
      local(1, 10, 10, 3.1416, 8, 9),
    ]);
    expect(p.map((x) => `${x.workers} ${x.kind}`)).toEqual(['1 local', '1 remote', '2 remote']);
    expect(p.map((x) => x.speedup)).toEqual([1, 10 / 11, 10 / 5.5]);
    expect(p[2].efficiency).toBeCloseTo(10 / 5.5 / 2, 12);
    expect(p[2].nodes.map((n) => [n.name, n.share])).toEqual([
      ['remote 1.1', 3 / 8],
      ['remote 2.1', 5 / 8],
    ]);
    expect(p[2].overheadMs).toBeCloseTo(((5.5 * 2 - 9.5) * 1000) / 8, 12);
    // The mean round trip of the nodes that measured one.
    expect(p[2].rttMs).toBe(3);
    expect(p[1].rttMs).toBeNull();
  });

  test('CSV: the first columns as before, then node kind, jobs, overhead, round trip and each node\'s jobs and share', () => {
    const lines = exportCsv(speedupPoints(runs)).trimEnd().split('\n');
    expect(lines[0]).toBe('workers,seconds,producerSeconds,speedup,efficiency,estimate,kind,jobs,jobSeconds,overheadMsPerJob,rttMs,nodeJobs,nodeShares');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe('1,10,9.9,1,1,,local,8,9,125,,worker 1=8,worker 1=1');
    expect(lines[3].split(',')[0]).toBe('4');
    expect(Number(lines[3].split(',')[3])).toBeCloseTo(10 / 3, 12);
    expect(lines[3].split(',').slice(-2)).toEqual(['worker 1=2;worker 2=2;worker 3=2;worker 4=2', 'worker 1=0.25;worker 2=0.25;worker 3=0.25;worker 4=0.25']);
  });

  test('a CSV cell holding a comma or a quote is quoted', () => {
    const [p] = speedupPoints([{ ...local(1, 1, 1, null, 1, 0.5), nodes: [{ name: 'a,"b"', kind: 'local', jobs: 1, jobSeconds: 0.5, rttMs: null }] }]);
    expect(exportCsv([p]).trimEnd().split('\n')[1]).toBe('1,1,1,1,1,,local,1,0.5,500,,"a,""b""=1","a,""b""=1"');
  });

  test('JSON round-trips the points, says which setup they came from, and carries the Amdahl fit', () => {
    const points = speedupPoints(runs);
    const setup = { scenario, seed: 3, mode: 'virtual' as const, nodes: 'local' as const };
    const fit = experimentAmdahl(points);
    expect(fit).not.toBeNull();
    expect(JSON.parse(exportJson(points, setup))).toEqual({ setup, points, amdahl: fit });
  });

  test("Amdahl's law is fitted to the remote runs of a room experiment, not to the local baseline's series", () => {
    const remote = (workers: number, seconds: number): RunMeasurement => ({
      kind: 'remote',
      workers,
      seconds,
      producerSeconds: seconds,
      estimate: null,
      nodes: [{ name: 'remote 1.1', kind: 'remote', jobs: 8, jobSeconds: seconds, rttMs: 1 }],
    });
    // T1 = 10 s locally; f = 0.2 gives S(2) = 1/0.6 and S(4) = 2.5, so T2 = 6 s and T4 = 4 s.
    const points = speedupPoints([local(1, 10, 10, null, 8, 9), local(2, 5, 5, null, 8, 9), remote(2, 6), remote(4, 4)]);
    expect(experimentAmdahl(points)?.f).toBeCloseTo(0.2, 6);
    expect(experimentAmdahl(speedupPoints([local(1, 10, 10, null, 8, 9)]))).toBeNull();
  });
});

// A room over in-memory channels (see net-room.test.ts): the lab's own live cluster, joiners whose slots run the worker
// program on in-thread nodes. The experiment borrows their slots, runs 1 local worker and then k remote nodes.
describe('runSpeedup with a room\'s remote nodes', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const f of cleanup.splice(0)) f();
  });

  /** The lab's cluster and a room with joiners offering `slots[i]` worker slots each. */
  async function room(...slots: number[]) {
    const lab = new Cluster({ seed: 5, mode: 'live', spawn: spawnInThread });
    const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => lab, worker: WORKER, now: wall });
    let onMemberChange: (i: number) => void = () => {};
    const joiners = slots.map((n, i) => {
      const { host: hostEnd, joiner } = channelPair('beanlab-host', `joiner-${i + 1}`);
      host.accept(hostEnd);
      const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots: n, name: `joiner ${i + 1}`, spawn: spawnInThread, now: wall, onChange: () => onMemberChange(i) });
      return { member, joiner };
    });
    cleanup.push(() => {
      for (const j of joiners) j.member.leave();
      host.close();
      lab.dispose();
    });
    await until(() => joiners.every((j) => j.member.state.phase === 'joined'));
    return { lab, host, joiners, onMemberChange: (fn: (i: number) => void) => (onMemberChange = fn) };
  }

  const remoteNames = (c: Cluster) => [...c.nodes.values()].filter((n) => n.remote && n.life === 'running').map((n) => n.name);
  const pi: PiScenario = { kind: 'pi', darts: 3_000_000, jobs: 6, workers: 0, ttr: 40, autostart: false };

  test('1 local worker, then 1, 2 and 3 remote nodes spread over the joiners; every job counted once; the slots go back', async () => {
    const { lab, host, joiners } = await room(1, 2);
    expect(remoteNames(lab)).toEqual(['remote 1.1', 'remote 2.1', 'remote 2.2']);
    const loan = host.lend();
    expect(loan.size).toBe(3);
    // Lent, the slots are off the lab's cluster, and a fresh lab cluster (a reset) does not take them.
    expect(remoteNames(lab)).toEqual([]);
    host.attach();
    expect(remoteNames(lab)).toEqual([]);
    const started: string[] = [];
    const points = await runSpeedup({
      workers: [3, 1, 2],
      scenario: pi,
      seed: 2,
      mode: 'live',
      spawn: spawnInThread,
      remote: loan,
      limitMs: 30_000,
      onProgress: (p) => {
        if (p.running !== undefined) started.push(`${p.running} ${p.kind}`);
      },
    });
    await loan.end();
    expect(started).toEqual(['1 local', '1 remote', '2 remote', '3 remote']);
    expect(points.map((p) => p.nodes.map((n) => n.name))).toEqual([['worker 1'], ['remote 1.1'], ['remote 1.1', 'remote 2.1'], ['remote 1.1', 'remote 2.1', 'remote 2.2']]);
    expect(points.map((p) => p.nodes.map((n) => n.kind))).toEqual([['local'], ['remote'], ['remote', 'remote'], ['remote', 'remote', 'remote']]);
    const [base, ...remote] = points;
    expect(base.speedup).toBe(1);
    for (const p of points) {
      expect(p.jobs).toBe(6);
      expect(p.nodes.reduce((t, n) => t + n.share, 0)).toBeCloseTo(1, 12);
      expect(p.speedup).toBeCloseTo(base.seconds / p.seconds, 12);
      expect(p.overheadMs).toBeCloseTo(((p.seconds * p.workers - p.jobSeconds) * 1000) / 6, 9);
      expect(Math.abs(p.estimate! - Math.PI)).toBeLessThan(0.01);
    }
    expect(new Set(points.map((p) => p.estimate)).size).toBe(1);
    // Settling pings each joiner before a run: every remote node has a measured round trip.
    expect(base.rttMs).toBeNull();
    for (const p of remote) expect(p.nodes.every((n) => n.rttMs !== null && n.rttMs >= 0)).toBe(true);
    // The joiners' own counts agree: 6 jobs in each of the 3 remote runs, none lost or counted in the wrong run.
    expect(joiners.flatMap((j) => j.member.nodes).reduce((t, n) => t + n.jobs, 0)).toBe(18);
    // Back on the lab's (latest) cluster, the slots work there again.
    expect(remoteNames(lab)).toEqual(['remote 1.1', 'remote 2.1', 'remote 2.2']);
    lab.addNode('producer', producerConfig({ ...pi, autostart: true }, 2));
    const done = () => [...lab.nodes.values()].some((n) => n.reports.some((r) => r.kind === 'producer-done'));
    await lab.runUntil(done, 20_000);
    expect(done()).toBe(true);
    // A node's report of its last job follows the job's delete: the producer may have read the result first.
    await until(() => joiners.flatMap((j) => j.member.nodes).reduce((t, n) => t + n.jobs, 0) === 24);
  });

  test('a joiner that leaves mid-run fails the experiment and says which node and run', async () => {
    const { host, joiners, onMemberChange } = await room(1, 1);
    const loan = host.lend();
    let armed = false;
    onMemberChange((i) => {
      if (armed && i === 0 && joiners[0].member.nodes[0]?.status.state === 'working') joiners[0].joiner.close();
    });
    const run = runSpeedup({
      workers: [2],
      scenario: { ...pi, darts: 24_000_000, jobs: 12 },
      seed: 2,
      mode: 'live',
      spawn: spawnInThread,
      remote: loan,
      limitMs: 30_000,
      onProgress: (p) => {
        if (p.kind === 'remote' && p.running === 2) armed = true;
      },
    });
    await expect(run).rejects.toThrow('remote 1.1 stopped during the run with 2 remote nodes (left the room: closed the connection): that run did not measure 2 remote nodes');
    await loan.end();
    expect(loan.size).toBe(1);
  });

  test('remote nodes need live time and enough slots', async () => {
    const { host } = await room(1);
    const loan = host.lend();
    await expect(runSpeedup({ workers: [1], scenario: pi, seed: 1, mode: 'virtual', spawn: spawnInThread, remote: loan })).rejects.toThrow(/remote nodes run on the real clock only/);
    await expect(runSpeedup({ workers: [1, 2], scenario: pi, seed: 1, mode: 'live', spawn: spawnInThread, remote: loan })).rejects.toThrow('runSpeedup: the room has 1 remote node, fewer than 2');
    await loan.end();
  });
});

describe('idleNodesNote: node counts with more nodes than the scenario has jobs', () => {
  test.each([
    ['every count has a job per node', 8, [1, 2, 4, 8], 'workers' as const, null],
    [
      'one count over: the local experiment',
      8,
      [1, 2, 4, 8, 16],
      'workers' as const,
      "The scenario has 8 jobs: on 16 workers, some get no job and wait, so that run's speedup cannot pass 8. Give it at least 16 jobs for every one of them to work; a few jobs each evens out the end of a run.",
    ],
    [
      "a class room against the default 8 jobs: every count over, in order, once",
      8,
      [128, 1, 16, 2, 8, 64, 32, 32],
      'nodes' as const,
      "The scenario has 8 jobs: on 16, 32, 64 or 128 nodes, some get no job and wait, so those runs' speedup cannot pass 8. Give it at least 128 jobs for every one of them to work; a few jobs each evens out the end of a run.",
    ],
    [
      'a single job',
      1,
      [1, 2],
      'nodes' as const,
      "The scenario has 1 job: on 2 nodes, some get no job and wait, so that run's speedup cannot pass 1. Give it at least 2 jobs for every one of them to work; a few jobs each evens out the end of a run.",
    ],
  ])('%s', (_what, jobs, counts, noun, note) => {
    expect(idleNodesNote(jobs, counts, noun)).toBe(note);
  });
});

describe('liveCoresNote: what a live speedup can show on this machine', () => {
  const local = (workers: number, speedup: number) => ({ kind: 'local' as const, workers, speedup });
  test.each([
    ['virtual time: node speeds are modelled, no note', 2, 'virtual' as const, [local(1, 1), local(8, 7.6)], null],
    ['live, enough cores: the cores and the page', 8, 'live' as const, [local(1, 1), local(2, 1.9)], 'This browser reports 8 cores, and the page itself needs part of one while it runs.'],
    [
      'live, more workers than cores: the ceiling',
      2,
      'live' as const,
      [local(1, 1), local(4, 1.7)],
      'This browser reports 2 cores, and the page itself needs part of one while it runs. 4 workers share 2 cores: the speedup cannot pass about 2.',
    ],
    [
      'live, a speedup under 1 on a loaded 2-core machine: says why',
      2,
      'live' as const,
      [local(1, 1), local(2, 0.82)],
      'This browser reports 2 cores, and the page itself needs part of one while it runs. With 2 workers the run was slower than with one (speedup under 1): the workers waited for cores that the page, the other workers or other programs were using.',
    ],
  ])('%s', (_what, cores, mode, points, note) => {
    expect(liveCoresNote(cores, mode, points)).toBe(note);
  });
});
