// The page's node processes in Web Workers. A worker hosts one node at a time, on a port of its own
// (node.worker.ts). Virtual-time runs take their workers from a pool (NodeHostPool): a seek or a step
// back starts every node of the cluster again from its resume point, and a worker whose node has ended
// hosts the next one instead of a fresh one.
import { wrap, type Remote } from 'comlink';
import type { NodeControl, NodeWorkerMessage } from '../nodes/control.ts';
import { processOnPort, type NodeProcess } from '../nodes/process.ts';
import { NodeHostPool, remoteNodeHosts } from '../nodes/host-pool.ts';

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

/** A joiner tab's nodes, each slot's next node on a worker of the last (see remoteNodeHosts). */
export function remoteNodeWorkers(keep: number): NodeHostPool<Worker> {
  return remoteNodeHosts(() => startWorker('beanlab remote node'), hostOn, keep);
}
