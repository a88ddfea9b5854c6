// A cluster node in a Node worker thread: the terminal joiner's counterpart of a Web Worker node
// (src/nodes/node.worker.ts), running the same node program (hostNode) and π kernel. The thread's
// parentPort is a MessagePort, whose `onmessage` gets events with `data` as a Web Worker's does; the
// Worker object on this side is an EventEmitter, wrapped into what RoomMember spawns.
import { parentPort, Worker } from 'node:worker_threads';
import type { FromNode } from '../nodes/messages.ts';
import { hostNode, type NodePort } from '../nodes/host.ts';
import type { NodeProcess } from '../nodes/process.ts';

/** In the thread: serve the node program over the port to the main thread. */
export function runThreadNode(): void {
  hostNode(parentPort as unknown as NodePort);
}

/** Starts `script` (a module that calls runThreadNode in a worker thread) as a node. */
export function spawnThreadNode(script: URL): NodeProcess {
  const worker = new Worker(script, { name: 'beanlab remote node' });
  let onmessage: NodeProcess['onmessage'] = null;
  const deliver = (data: FromNode) => onmessage?.({ data } as MessageEvent<FromNode>);
  worker.on('message', deliver);
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
