// Cluster nodes in Node worker threads: the terminal joiner's counterpart of the page's Web Worker nodes
// (src/nodes/node.worker.ts), running the same node program (hostNode) and π kernel. A thread hosts one
// node at a time, on a port of its own, and the joiner keeps its threads in a NodeHostPool: a run's reset
// stops every node of the joiner and starts as many again, and starting 32 threads at once (a tab's
// worth of nodes on a loaded machine) held the joiner's main thread for seconds, so that the host let it
// go for its silence. What a node sends in one turn crosses to the main thread as one message (a list,
// in order): the joiner then sends it on to the host in one data channel message (RoomMember batches
// what it sends in one turn), where a message each would cost a data channel message each.
import { parentPort, Worker } from 'node:worker_threads';
import type { FromNode } from '../nodes/messages.ts';
import { hostNode, type NodePort } from '../nodes/host.ts';
import type { NodeProcess } from '../nodes/process.ts';
import type { NodeWorkerMessage } from '../nodes/control.ts';
import { hostNodesInTurn, remoteNodeHosts, type NodeHostPool, type PooledWorker } from '../nodes/host-pool.ts';

/** What a thread's port needs: posting, and receiving as a Web Worker's port does. */
type ThreadPort = Pick<MessagePort, 'postMessage'> & { onmessage: NodePort['onmessage'] };

/** `port` as a node's port whose posts in one turn go as one list (see the file's head). */
export function batchingPort(port: ThreadPort): NodePort {
  let turn: FromNode[] = [];
  return {
    postMessage(m) {
      if (!turn.length)
        queueMicrotask(() => {
          const list = turn;
          turn = [];
          port.postMessage(list);
        });
      turn.push(m);
    },
    get onmessage() {
      return port.onmessage;
    },
    set onmessage(fn) {
      port.onmessage = fn;
    },
  };
}

/** In the thread: host each node the main thread hands over, one at a time. */
export function runThreadNode(): void {
  const port = parentPort!;
  const hosting = hostNodesInTurn(
    (m) => port.postMessage(m),
    (nodePort) => hostNode(batchingPort(nodePort as unknown as ThreadPort)),
  );
  port.on('message', hosting);
}

/**
 * A node thread's niceness (Linux): the thread yields the core to the joiner's main thread, which relays
 * every node's messages and answers the host's heartbeats. With more busy threads than cores, a main
 * thread of equal priority got too little of the machine, too late.
 */
export const NODE_THREAD_NICENESS = 19;

/**
 * What the thread runs first: it lowers its own priority (on Linux a thread's niceness is its own, and 0
 * is the calling thread; elsewhere it would be the whole process's), then loads `script`, so that even
 * loading the module does not compete with the main thread.
 */
function threadBootstrap(script: URL): string {
  const nice = process.platform === 'linux' ? `require('node:os').setPriority(${NODE_THREAD_NICENESS});` : '';
  return `${nice} import(${JSON.stringify(script.href)});`;
}

/** A node thread as the pool sees it: a Worker (an EventEmitter) with a Web Worker's message events. */
class NodeThread implements PooledWorker {
  private readonly worker: Worker;
  private readonly listeners = new Map<(e: MessageEvent<NodeWorkerMessage>) => void, (data: NodeWorkerMessage) => void>();
  /** Says the thread crashed to the node it hosts. */
  crashed: ((err: Error) => void) | null = null;
  gone = false;

  constructor(script: URL) {
    this.worker = new Worker(threadBootstrap(script), { eval: true, name: 'beanlab remote node' });
    this.worker.on('error', (err) => {
      this.gone = true;
      this.crashed?.(err);
    });
    this.worker.on('exit', () => (this.gone = true));
  }

  postMessage(m: NodeWorkerMessage, transfer?: Transferable[]): void {
    this.worker.postMessage(m, transfer as never);
  }

  addEventListener(_type: 'message', fn: (e: MessageEvent<NodeWorkerMessage>) => void): void {
    const listener = (data: NodeWorkerMessage) => fn({ data } as MessageEvent<NodeWorkerMessage>);
    this.listeners.set(fn, listener);
    this.worker.on('message', listener);
  }

  removeEventListener(_type: 'message', fn: (e: MessageEvent<NodeWorkerMessage>) => void): void {
    const listener = this.listeners.get(fn);
    if (listener) this.worker.off('message', listener);
    this.listeners.delete(fn);
  }

  terminate(): void {
    void this.worker.terminate();
  }
}

/** A node hosted by `thread` on a new port; its lists of messages are delivered one by one. */
function hostOnThread(thread: NodeThread, end: () => void): NodeProcess {
  const { port1, port2 } = new MessageChannel();
  thread.postMessage({ t: 'host', port: port2 }, [port2]);
  let onmessage: NodeProcess['onmessage'] = null;
  const deliver = (data: FromNode) => onmessage?.({ data } as MessageEvent<FromNode>);
  port1.onmessage = (e: MessageEvent<FromNode[]>) => {
    for (const m of e.data) deliver(m);
  };
  // A node whose thread died says so, as a node that stops does: the host's card shows why.
  thread.crashed = (err) => deliver({ t: 'status', vt: Date.now(), status: { state: 'failed', detail: `its thread crashed: ${err.message}` } });
  let ended = false;
  return {
    postMessage: (m, transfer) => port1.postMessage(m, transfer ?? []),
    get onmessage() {
      return onmessage;
    },
    set onmessage(fn) {
      onmessage = fn;
    },
    terminate: () => {
      if (ended) return;
      ended = true;
      port1.onmessage = null;
      port1.close();
      thread.crashed = null;
      end();
    },
  };
}

/** Node threads running `script` (a module that calls runThreadNode in a worker thread), `keep` of them kept idle at most (see remoteNodeHosts). */
export function nodeThreads(script: URL, keep: number): NodeHostPool<NodeThread> {
  return remoteNodeHosts(() => new NodeThread(script), hostOnThread, keep);
}
