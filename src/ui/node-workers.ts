// The page's node processes in Web Workers. A worker hosts one node at a time, on a port of its own
// (node.worker.ts). Virtual-time runs take their workers from a pool (NodeHostPool): a seek or a step
// back starts every node of the cluster again from its resume point, and a worker whose node has ended
// hosts the next one instead of a fresh one.
import { wrap, type Remote } from 'comlink';
import type { NodeControl, NodeWorkerMessage } from '../nodes/control.ts';
import { processOnPort, type NodeProcess } from '../nodes/process.ts';
import { NodeHostPool } from '../nodes/host-pool.ts';

const controls = new WeakMap<Worker, Remote<NodeControl>>();

function startWorker(name: string): Worker {
  const worker = new Worker(new URL('../nodes/node.worker.ts', import.meta.url), { type: 'module', name });
  const channel = new MessageChannel();
  worker.postMessage({ t: 'control', port: channel.port2 } satisfies NodeWorkerMessage, [channel.port2]);
  controls.set(worker, wrap<NodeControl>(channel.port1));
  return worker;
}

/** A node hosted by `worker` on a new port; `end` is how terminating it ends it. */
function hostOn(worker: Worker, end: () => void): NodeProcess {
  const channel = new MessageChannel();
  worker.postMessage({ t: 'host', port: channel.port2 } satisfies NodeWorkerMessage, [channel.port2]);
  const node = processOnPort(channel.port1, end);
  node.control = controls.get(worker);
  return node;
}

/** A node in a Web Worker of its own, terminated with it: a killed node stops computing at once (live time measures real cores). */
export function spawnNodeWorker(name = 'beanlab node'): NodeProcess {
  const worker = startWorker(name);
  return hostOn(worker, () => worker.terminate());
}

/** Web Workers kept for virtual-time nodes: an ended node's worker hosts the next node. */
export class NodeWorkerPool extends NodeHostPool<Worker> {
  constructor(keep = 64, start: () => Worker = () => startWorker('beanlab node')) {
    super({ start, host: hostOn, keep });
  }
}

/** A stopped remote node's worker that has not said so by then was computing: it is terminated, not kept. */
const RELEASE_WITHIN_MS = 500;

/**
 * A joiner tab's nodes: a run's reset on the host stops every node of the tab and starts as many again,
 * and each slot's next node takes a worker on its way back rather than a fresh one (a thread, its module
 * and its WebAssembly loaded anew). A node stopped mid-task ends its worker within half a second, as a
 * kill must.
 */
export function remoteNodeWorkers(keep: number): NodeHostPool<Worker> {
  return new NodeHostPool({ start: () => startWorker('beanlab remote node'), host: hostOn, keep, releaseWithinMs: RELEASE_WITHIN_MS, reclaim: true });
}
