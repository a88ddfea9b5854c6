// The page's pool of Web Workers for virtual-time nodes, with stand-in workers: a worker is handed back
// once it says its node has stopped, and spare workers are started for the run on screen so that a
// seek, which starts every node of a cluster again before the old ones are back, finds them warm. Then
// the pool's options for a terminal joiner's threads: reclaiming, and the release timeout.
import { afterEach, expect, test } from 'vitest';
import { NodeWorkerPool } from '../../src/ui/node-workers.ts';
import { NodeHostPool, type PooledWorker } from '../../src/nodes/host-pool.ts';
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

/** A pool of stand-in workers with NodeHostPool's own options; `busy` workers never answer `release`. */
function hostPool(opts: { keep?: number; releaseWithinMs?: number; reclaim?: boolean }) {
  const started: FakeWorker[] = [];
  const busy = new Set<FakeWorker>();
  const hosted: FakeWorker[] = [];
  const p = new NodeHostPool<PooledWorker>({
    keep: opts.keep ?? 8,
    releaseWithinMs: opts.releaseWithinMs,
    reclaim: opts.reclaim,
    start: () => {
      const w = new FakeWorker();
      const answer = w.postMessage.bind(w);
      w.postMessage = (m) => (busy.has(w) ? undefined : answer(m));
      started.push(w);
      return w as unknown as PooledWorker;
    },
    host: (w, end) => {
      hosted.push(w as unknown as FakeWorker);
      let ended = false;
      return { postMessage: () => {}, onmessage: null, terminate: () => (ended ? undefined : ((ended = true), end())) };
    },
  });
  return { p, started, busy, hosted };
}

test("reclaim (a terminal joiner's threads): a node started while the last ones are on their way back takes one of them, not a new worker", async () => {
  const { p, started, hosted } = hostPool({ reclaim: true, releaseWithinMs: 200 });
  const first = [p.spawn(), p.spawn()];
  // A run's reset: every node stops and as many start in the same turn.
  for (const n of first) n.terminate();
  const second = [p.spawn(), p.spawn()];
  expect(started).toHaveLength(2);
  expect(new Set(hosted.slice(2))).toEqual(new Set(started));
  // A reclaimed worker's late "released" does not put it in the pool twice, nor does the timeout end it.
  await sleep(250);
  expect(started.some((w) => w.terminated)).toBe(false);
  for (const n of second) n.terminate();
  await sleep(30);
  p.spawn();
  p.spawn();
  p.spawn();
  expect(started).toHaveLength(3);
});

test('without reclaim (the page), a node started while the others are on their way back gets a new worker', () => {
  const { p, started } = hostPool({});
  p.spawn().terminate();
  p.spawn();
  expect(started).toHaveLength(2);
});

test('a worker that died by itself (a crashed thread) is not reclaimed for the next node', () => {
  const { p, started } = hostPool({ reclaim: true, releaseWithinMs: 50 });
  p.spawn().terminate();
  Object.assign(started[0], { gone: true });
  p.spawn();
  expect(started).toHaveLength(2);
});

test('a worker that does not say "released" within releaseWithinMs (computing) is terminated, not kept', async () => {
  const { p, started, busy } = hostPool({ releaseWithinMs: 50 });
  const [a, b] = [p.spawn(), p.spawn()];
  busy.add(started[0]);
  a.terminate();
  b.terminate();
  await sleep(100);
  expect(started.map((w) => w.terminated)).toEqual([true, false]);
  p.spawn();
  expect(started).toHaveLength(2);
});
