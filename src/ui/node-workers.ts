// The page's node processes in Web Workers. A worker hosts one node at a time, on a port of its own
// (node.worker.ts). Virtual-time runs take their workers from a pool: a seek or a step back starts every
// node of the cluster again from its resume point, and a fresh Web Worker costs a thread, loading its
// module and compiling its WebAssembly; a worker whose node has ended hosts the next one instead.
import { wrap, type Remote } from 'comlink';
import type { NodeControl, NodeWorkerMessage } from '../nodes/control.ts';
import { processOnPort, type NodeProcess } from '../nodes/process.ts';

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

/** Spare workers at most: a run of many nodes starts its first seek's others cold rather than keep a thread each. */
const MAX_SPARE = 32;

/** Web Workers kept for virtual-time nodes: an ended node's worker hosts the next node. */
export class NodeWorkerPool {
  private readonly idle: Worker[] = [];
  /** Workers told to release their node that have not said so yet. */
  private returning = 0;

  constructor(
    /** Idle workers kept at most (more are terminated). */
    private readonly keep = 64,
    private readonly start: () => Worker = () => startWorker('beanlab node'),
  ) {}

  spawn(): NodeProcess {
    const worker = this.idle.pop() ?? this.start();
    return hostOn(worker, () => this.release(worker));
  }

  /**
   * Makes `n` workers idle or on their way back, starting the missing ones now (a run on screen with n
   * nodes: its next seek starts n nodes before the old ones' workers are back). Without spares the
   * app's first seek started a whole cluster's worth of workers, their module and WebAssembly loaded
   * anew, and took 0.9 s; the pool kept them for the seeks after it.
   */
  keepSpare(n: number): void {
    for (let missing = Math.min(n, this.keep, MAX_SPARE) - this.idle.length - this.returning; missing > 0; missing--) this.idle.push(this.start());
  }

  /** Back in the pool once it says its node has stopped: one in the middle of a task finishes it first. */
  private release(worker: Worker): void {
    this.returning++;
    const released = (e: MessageEvent<NodeWorkerMessage>) => {
      if (e.data?.t !== 'released') return;
      worker.removeEventListener('message', released);
      this.returning--;
      if (this.idle.length < this.keep) this.idle.push(worker);
      else worker.terminate();
    };
    worker.addEventListener('message', released);
    worker.postMessage({ t: 'release' } satisfies NodeWorkerMessage);
  }
}
