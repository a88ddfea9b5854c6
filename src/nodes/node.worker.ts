// A cluster node in a Web Worker: the page hands it a control port (comlink) and then, one at a time,
// the port of a node to host. It talks beanstalkd wire bytes with the page over that port. The page
// terminates the worker to kill its node, or, for a worker it keeps (virtual time), asks it to stop the
// node and host the next one.
import { expose } from 'comlink';
import { hostNode, type NodePort } from './host.ts';
import { nodeControl, type NodeWorkerMessage } from './control.ts';
import { hostNodesInTurn } from './host-pool.ts';

const hosting = hostNodesInTurn(
  (m) => self.postMessage(m),
  (port) => hostNode(port as unknown as NodePort),
);

self.addEventListener('message', (e: MessageEvent<NodeWorkerMessage>) => {
  if (e.data?.t === 'control') expose(nodeControl, e.data.port);
  else hosting(e.data);
});
