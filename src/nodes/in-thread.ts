// A node on the other end of a MessageChannel in the same thread: the same program and message
// protocol as a Web Worker node, for tests and for runtimes without workers.
import type { NodeProcess } from './process.ts';
import { hostNode, type NodePort } from './host.ts';

export function spawnInThread(): NodeProcess {
  const channel = new MessageChannel();
  const stop = hostNode(channel.port2 as unknown as NodePort);
  const port = channel.port1;
  return {
    postMessage: (m, transfer) => port.postMessage(m, transfer ?? []),
    get onmessage() {
      return port.onmessage as NodeProcess['onmessage'];
    },
    set onmessage(fn) {
      port.onmessage = fn as (e: MessageEvent) => void;
    },
    terminate: () => {
      stop();
      port.close();
      channel.port2.close();
    },
  };
}
