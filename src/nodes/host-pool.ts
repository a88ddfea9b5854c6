// Workers that host one node at a time, kept for the next node: the page's Web Workers for virtual-time
// runs (src/ui/node-workers.ts) and a terminal joiner's node threads (src/cli/thread-node.ts). A worker
// is told to host a node on a port of its own ('host'), and, when the node ends, to stop it ('release');
// it answers 'released' once the node has stopped, and goes back to the pool. A fresh worker costs a
// thread, loading its module and compiling its WebAssembly.
import type { NodeWorkerMessage } from './control.ts';
import type { NodeProcess } from './process.ts';

/** What the pool needs of a worker: a Web Worker, or a Node worker thread seen through an adapter. */
export interface PooledWorker {
  postMessage(m: NodeWorkerMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<NodeWorkerMessage>) => void): void;
  removeEventListener(type: 'message', fn: (e: MessageEvent<NodeWorkerMessage>) => void): void;
  terminate(): void;
  /** True once the worker has died by itself (a crashed thread): it hosts no other node. */
  readonly gone?: boolean;
}

/** Spare workers at most: a run of many nodes starts its first seek's others cold rather than keep a thread each. */
const MAX_SPARE = 32;

export interface NodeHostPoolOptions<W extends PooledWorker> {
  start: () => W;
  /** The node process of a node hosted by `worker`; terminating it calls `end`. */
  host: (worker: W, end: () => void) => NodeProcess;
  /** Idle workers kept at most (more are terminated). */
  keep: number;
  /**
   * A worker that has not said 'released' by then is terminated rather than kept (it was computing: a
   * node killed in live time must stop using its core). None: wait for it (virtual time).
   */
  releaseWithinMs?: number;
  /**
   * With no idle worker, a node goes to a worker still on its way back rather than to a new one: the
   * worker stops its last node before it hosts the next (a terminal joiner's threads: a run's reset
   * stops every node and starts as many again at once, and starting a thread blocked the joiner).
   */
  reclaim?: boolean;
}

export class NodeHostPool<W extends PooledWorker> {
  private readonly idle: W[] = [];
  /** Workers told to release their node that have not said so yet, and what takes each one back. */
  private readonly returning = new Map<W, () => void>();

  constructor(private readonly opts: NodeHostPoolOptions<W>) {}

  spawn(): NodeProcess {
    const worker = this.idle.pop() ?? this.reclaimed() ?? this.opts.start();
    return this.opts.host(worker, () => this.release(worker));
  }

  /** A worker on its way back, taken for the next node (see `reclaim`). */
  private reclaimed(): W | undefined {
    if (!this.opts.reclaim) return undefined;
    for (const [worker, takeBack] of this.returning) {
      if (worker.gone) continue;
      takeBack();
      return worker;
    }
    return undefined;
  }

  /**
   * Makes `n` workers idle or on their way back, starting the missing ones now (a run on screen with n
   * nodes: its next seek starts n nodes before the old ones' workers are back). Without spares the
   * app's first seek started a whole cluster's worth of workers, their module and WebAssembly loaded
   * anew, and took 0.9 s; the pool kept them for the seeks after it.
   */
  keepSpare(n: number): void {
    for (let missing = Math.min(n, this.opts.keep, MAX_SPARE) - this.idle.length - this.returning.size; missing > 0; missing--) this.idle.push(this.opts.start());
  }

  /** Back in the pool once it says its node has stopped: one in the middle of a task finishes it first. */
  private release(worker: W): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    /** No longer on its way back: kept idle (`keep`), terminated, or (neither) hosting a node again. */
    const settle = (keep: boolean, terminate: boolean) => {
      clearTimeout(timer);
      worker.removeEventListener('message', released);
      this.returning.delete(worker);
      if (keep && this.idle.length < this.opts.keep) this.idle.push(worker);
      else if (terminate || keep) worker.terminate();
    };
    const released = (e: MessageEvent<NodeWorkerMessage>) => {
      if (e.data?.t === 'released') settle(true, false);
    };
    this.returning.set(worker, () => settle(false, false));
    worker.addEventListener('message', released);
    worker.postMessage({ t: 'release' } satisfies NodeWorkerMessage);
    if (this.opts.releaseWithinMs !== undefined) timer = setTimeout(() => settle(false, true), this.opts.releaseWithinMs);
  }
}

/** A stopped remote node's worker that has not said so by then was computing: it is terminated, not kept. */
const REMOTE_RELEASE_WITHIN_MS = 500;

/**
 * A joiner's nodes (a tab's Web Workers, a terminal's threads): a run's reset on the host stops every
 * node and starts as many again, and each slot's next node takes a worker on its way back rather than a
 * fresh one. A node stopped mid-task ends its worker within half a second, as a kill must.
 */
export function remoteNodeHosts<W extends PooledWorker>(start: () => W, host: NodeHostPoolOptions<W>['host'], keep: number): NodeHostPool<W> {
  return new NodeHostPool({ start, host, keep, releaseWithinMs: REMOTE_RELEASE_WITHIN_MS, reclaim: true });
}

/**
 * The worker's side: hosts the node of each 'host' message on that port (`hostOn` starts it and returns
 * what halts it), stopping the one before, and answers 'release' with 'released' once its node has stopped.
 */
export function hostNodesInTurn(reply: (m: NodeWorkerMessage) => void, hostOn: (port: MessagePort) => () => void): (m: NodeWorkerMessage) => void {
  let stop: (() => void) | null = null;
  const end = () => {
    stop?.();
    stop = null;
  };
  return (m) => {
    if (m?.t === 'host') {
      end();
      const port = m.port;
      const halt = hostOn(port);
      stop = () => {
        halt();
        port.onmessage = null;
        port.close();
      };
    } else if (m?.t === 'release') {
      end();
      reply({ t: 'released' });
    }
  };
}
