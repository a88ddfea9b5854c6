// The page's pool of Web Workers for virtual-time nodes, with stand-in workers: a worker is handed back
// once it says its node has stopped, and spare workers are started for the run on screen so that a
// seek, which starts every node of a cluster again before the old ones are back, finds them warm.
import { afterEach, expect, test } from 'vitest';
import { NodeWorkerPool } from '../../src/ui/node-workers.ts';
import type { NodeProcess } from '../../src/nodes/process.ts';

/** A stand-in for a Web Worker: it answers `release` with `released`, as node.worker.ts does. */
class FakeWorker extends EventTarget {
  terminated = false;
  postMessage(m: { t: string }): void {
    if (m.t === 'release') setTimeout(() => this.dispatchEvent(Object.assign(new Event('message'), { data: { t: 'released' } })), 5);
  }
  terminate(): void {
    this.terminated = true;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const processes: NodeProcess[] = [];
afterEach(() => {
  for (const p of processes.splice(0)) p.terminate();
});

function pool(keep = 64) {
  const started: FakeWorker[] = [];
  const p = new NodeWorkerPool(keep, () => {
    const w = new FakeWorker();
    started.push(w);
    return w as unknown as Worker;
  });
  const spawn = (n: number) => {
    const made = Array.from({ length: n }, () => p.spawn());
    processes.push(...made);
    return made;
  };
  return { p, started, spawn };
}

test('without spares, a spawn with no idle worker starts one; an ended node hands its worker to the next', async () => {
  const { started, spawn } = pool();
  const [a] = spawn(1);
  expect(started).toHaveLength(1);
  a.terminate();
  await sleep(30);
  spawn(1);
  expect(started).toHaveLength(1);
});

test("a seek's new cluster takes the spares while the old one's workers come back, and no more are started", async () => {
  const { p, started, spawn } = pool();
  const first = spawn(4);
  p.keepSpare(4);
  expect(started).toHaveLength(8);
  // The seek: four new nodes first, then the old ones end, and the run on screen asks for its spares.
  const second = spawn(4);
  expect(started).toHaveLength(8);
  for (const n of first) n.terminate();
  p.keepSpare(4);
  await sleep(50);
  expect(started).toHaveLength(8);
  // And again: the old cluster's workers are the next spares.
  spawn(4);
  for (const n of second) n.terminate();
  p.keepSpare(4);
  await sleep(50);
  spawn(4);
  expect(started).toHaveLength(8);
});

test('spares are no more than the pool keeps idle, and 32 at most', async () => {
  const small = pool(2);
  small.p.keepSpare(10);
  expect(small.started).toHaveLength(2);
  const big = pool();
  big.p.keepSpare(64);
  expect(big.started).toHaveLength(32);
});
