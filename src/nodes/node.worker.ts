// A cluster node in a Web Worker: the page hands it a control port (comlink) and then, one at a time,
// the port of a node to host. It talks beanstalkd wire bytes with the page over that port. The page
// terminates the worker to kill its node, or, for a worker it keeps (virtual time), asks it to stop the
// node and host the next one.
import { expose } from 'comlink';
import { hostNode, type NodePort } from './host.ts';
import { nodeControl, type NodeWorkerMessage } from './control.ts';

let stop: (() => void) | null = null;
const end = () => {
  stop?.();
  stop = null;
};

self.addEventListener('message', (e: MessageEvent<NodeWorkerMessage>) => {
  const m = e.data;
  if (m?.t === 'control') expose(nodeControl, m.port);
  else if (m?.t === 'host') {
    end();
    const port = m.port;
    const halt = hostNode(port as unknown as NodePort);
    stop = () => {
      halt();
      port.onmessage = null;
      port.close();
    };
  } else if (m?.t === 'release') {
    end();
    self.postMessage({ t: 'released' } satisfies NodeWorkerMessage);
  }
});
