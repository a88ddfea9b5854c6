// The speedup experiment in virtual time, with nodes on in-thread message channels: modelled durations
// make it deterministic, so the measured speedups can be checked against what the schedule allows.
import { describe, expect, test } from 'vitest';
import { exportCsv, exportJson, runSpeedup, speedupPoints, type SpeedupProgress } from '../../src/sim/experiment.ts';
import { hostNode, type NodePort } from '../../src/nodes/host.ts';
import type { NodeProcess } from '../../src/sim/cluster.ts';
import { piTasks, type PiScenario } from '../../src/sim/scenario.ts';
import { referenceSeconds } from '../../src/tasks/index.ts';

/** A node on a MessageChannel in this thread: the same program and protocol as a Web Worker node. */
function spawn(): NodeProcess {
  const ch = new MessageChannel();
  hostNode(ch.port2 as unknown as NodePort);
  return {
    postMessage: (m, transfer) => ch.port1.postMessage(m, transfer ?? []),
    get onmessage() {
      return ch.port1.onmessage as NodeProcess['onmessage'];
    },
    set onmessage(fn) {
      ch.port1.onmessage = fn as (e: MessageEvent) => void;
    },
    terminate: () => {
      ch.port1.close();
      ch.port2.close();
    },
  };
}

// 8 equal jobs of 1M darts: their modelled compute is long against the 1 ms link latency.
const scenario: PiScenario = { kind: 'pi', darts: 8_000_000, jobs: 8, workers: 1, ttr: 40, autostart: false };
/** Modelled compute of all the jobs, seconds: what one worker needs at the least. */
const serialSeconds = (s: PiScenario, seed: number) => piTasks(s, seed).reduce((t, task) => t + referenceSeconds(task), 0);

describe('runSpeedup in virtual time', () => {
  test('2 workers nearly halve the time of 8 equal jobs; the answer does not depend on the worker count', async () => {
    const progress: SpeedupProgress[] = [];
    const points = await runSpeedup({ workers: [2, 1, 4], scenario, seed: 3, mode: 'virtual', spawn, onProgress: (p) => progress.push(p) });
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
    const opts = { workers: [1, 2], scenario: { ...scenario, darts: 2_000_000 }, seed: 9, mode: 'virtual' as const, spawn };
    const a = await runSpeedup(opts);
    const b = await runSpeedup(opts);
    expect(b).toEqual(a);
  });

  test('more workers than jobs cannot help: 16 workers on 8 jobs are no faster than 8', async () => {
    const points = await runSpeedup({ workers: [1, 8, 16], scenario, seed: 4, mode: 'virtual', spawn });
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
      spawn,
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
    await expect(runSpeedup({ workers: [0], scenario, seed: 1, mode: 'virtual', spawn })).rejects.toThrow(/at least one worker count/);
  });
});

// Live time uses the real clock; in-thread nodes share this thread, so only the mechanics are checked.
describe('runSpeedup in live time', () => {
  test('runs each worker count to the producer\'s report on the real clock', async () => {
    const points = await runSpeedup({ workers: [1, 2], scenario: { ...scenario, darts: 400_000, jobs: 4 }, seed: 2, mode: 'live', spawn, limitMs: 15_000 });
    expect(points.map((p) => p.workers)).toEqual([1, 2]);
    for (const p of points) {
      expect(p.seconds).toBeGreaterThan(0);
      expect(p.producerSeconds).toBeGreaterThan(0);
      expect(p.producerSeconds).toBeLessThanOrEqual(p.seconds + 0.05);
      expect(Math.abs(p.estimate! - Math.PI)).toBeLessThan(0.02);
    }
  });

  test('a run that cannot finish in the time limit fails with a clear message', async () => {
    await expect(runSpeedup({ workers: [1], scenario, seed: 1, mode: 'live', spawn, limitMs: 5 })).rejects.toThrow(/1 worker did not finish within 0.005 s/);
  });
});

describe('speedup arithmetic and export', () => {
  const runs = [
    { workers: 4, seconds: 3, producerSeconds: 2.9, estimate: 3.14 },
    { workers: 1, seconds: 10, producerSeconds: 9.9, estimate: null },
    { workers: 2, seconds: 5.5, producerSeconds: 5.4, estimate: 3.14 },
  ];

  test('speedup is T1/Tk and efficiency speedup/k, sorted by workers', () => {
    const p = speedupPoints(runs);
    expect(p.map((x) => x.workers)).toEqual([1, 2, 4]);
    expect(p[1].speedup).toBeCloseTo(10 / 5.5, 12);
    expect(p[2].speedup).toBeCloseTo(10 / 3, 12);
    expect(p[2].efficiency).toBeCloseTo(10 / 3 / 4, 12);
  });

  test('without a 1-worker run, the smallest count is the baseline and ideal scaling is still S(k) = k', () => {
    const p = speedupPoints([
      { workers: 2, seconds: 8, producerSeconds: 8, estimate: null },
      { workers: 4, seconds: 4, producerSeconds: 4, estimate: null },
    ]);
    expect(p.map((x) => x.speedup)).toEqual([2, 4]);
    expect(p.map((x) => x.efficiency)).toEqual([1, 1]);
  });

  test('CSV has a header, one row per worker count, and an empty cell for a missing estimate', () => {
    const lines = exportCsv(speedupPoints(runs)).trimEnd().split('\n');
    expect(lines[0]).toBe('workers,seconds,producerSeconds,speedup,efficiency,estimate');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe('1,10,9.9,1,1,');
    expect(lines[3].split(',')[0]).toBe('4');
    expect(Number(lines[3].split(',')[3])).toBeCloseTo(10 / 3, 12);
  });

  test('JSON round-trips the points and says which setup they came from', () => {
    const points = speedupPoints(runs);
    const setup = { scenario, seed: 3, mode: 'virtual' as const };
    expect(JSON.parse(exportJson(points, setup))).toEqual({ setup, points });
  });
});
