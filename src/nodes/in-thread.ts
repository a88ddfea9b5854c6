// A node on the other end of a MessageChannel in the same thread: the same program and message
// protocol as a Web Worker node, for tests and for runtimes without workers.
import { processOnPort, type NodeProcess } from './process.ts';
import { hostNode, type NodePort } from './host.ts';

export function spawnInThread(): NodeProcess {
  const channel = new MessageChannel();
  const stop = hostNode(channel.port2 as unknown as NodePort);
  return processOnPort(channel.port1, () => {
    stop();
    channel.port2.close();
  });
}
