// A cluster node in a Node worker thread: the terminal joiner's counterpart of a Web Worker node
// (src/nodes/node.worker.ts), running the same node program (hostNode) and π kernel. The thread's
// parentPort is a MessagePort, whose `onmessage` gets events with `data` as a Web Worker's does; the
// Worker object on this side is an EventEmitter, wrapped into what RoomMember spawns.
// What the node sends in one turn crosses to the main thread as one message (a list, in order): the
// joiner then sends it on to the host in one data channel message (RoomMember batches what it sends in
// one turn), where a message each would cost a data channel message each.
import { parentPort, Worker } from 'node:worker_threads';
import type { FromNode } from '../nodes/messages.ts';
import { hostNode, type NodePort } from '../nodes/host.ts';
import type { NodeProcess } from '../nodes/process.ts';

/** What a thread's port needs: posting, and receiving as a Web Worker's port does. */
type ThreadPort = Pick<MessagePort, 'postMessage'> & { onmessage: NodePort['onmessage'] };

/** `port` as a node's port whose posts in one turn go as one list (see spawnThreadNode). */
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

/** In the thread: serve the node program over the port to the main thread. */
export function runThreadNode(): void {
  hostNode(batchingPort(parentPort as unknown as ThreadPort));
}

/** Starts `script` (a module that calls runThreadNode in a worker thread) as a node. */
export function spawnThreadNode(script: URL): NodeProcess {
  const worker = new Worker(script, { name: 'beanlab remote node' });
  let onmessage: NodeProcess['onmessage'] = null;
  const deliver = (data: FromNode) => onmessage?.({ data } as MessageEvent<FromNode>);
  worker.on('message', (list: FromNode[]) => {
    for (const m of list) deliver(m);
  });
  // A node whose thread died says so, as a node that stops does: the host's card shows why.
  worker.on('error', (err) => deliver({ t: 'status', vt: Date.now(), status: { state: 'failed', detail: `its thread crashed: ${err.message}` } }));
  return {
    postMessage: (m, transfer) => worker.postMessage(m, transfer as ArrayBuffer[] | undefined),
    get onmessage() {
      return onmessage;
    },
    set onmessage(fn) {
      onmessage = fn;
    },
    terminate: () => void worker.terminate(),
  };
}
