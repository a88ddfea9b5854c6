// The report's client.py as printed (lesson 2's "find the bug"): `total_count = total_circle_count +
// int(job.body)` never adds up, so only the last result counts and three jobs give about π/3.
import { afterEach, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, setUp, type PiScenario } from '../../src/sim/scenario.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';
import { decodeResult } from '../../src/tasks/index.ts';
import { replayRun } from '../../src/sim/replay.ts';
import { parseRun } from '../../src/sim/run-record.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

async function run(asPrinted: boolean) {
  const scenario: PiScenario = { kind: 'pi', darts: 3_000_000, jobs: 3, workers: 2, ttr: 40, autostart: false };
  const cluster = new Cluster({ seed: 2, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  setUp(cluster, scenario, 2);
  cluster.addNode('producer', producerConfig(scenario, 2, asPrinted));
  const producer = () => [...cluster.nodes.values()].find((n) => n.role === 'producer');
  const done = () => producer()?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done');
  await cluster.runUntil(() => done() !== undefined);
  return { cluster, report: done()! };
}

test('client.py as printed keeps only the last result: three jobs estimate π/3 (4 × last hits ÷ all darts)', async () => {
  const { report } = await run(true);
  const results = report.results.map(decodeResult);
  expect(results).toHaveLength(3);
  const last = results[2] as { darts: number; hits: number };
  expect(report.estimate).toBe((4 * last.hits) / 3_000_000);
  expect(Math.abs(report.estimate! - Math.PI / 3)).toBeLessThan(0.01);
});

test('the fixed client (beanlab\'s producer) adds every result up: π', async () => {
  const { report } = await run(false);
  expect(Math.abs(report.estimate! - Math.PI)).toBeLessThan(0.01);
});

test('the run records the option with the producer it started: exported and replayed, it gives the same trace and π/3 again', async () => {
  const { cluster, report } = await run(true);
  const replayed = await replayRun(parseRun(JSON.stringify(cluster.exportRun())), spawnInThread);
  clusters.push(replayed);
  expect(replayed.trace).toEqual(cluster.trace);
  const again = [...replayed.nodes.values()].find((n) => n.role === 'producer')?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done');
  expect(again?.estimate).toBe(report.estimate);
});
