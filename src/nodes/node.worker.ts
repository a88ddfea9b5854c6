// A cluster node in its own Web Worker: the page starts it, talks beanstalkd wire bytes with it over
// the worker's message port, controls it with comlink over a second port, and terminates it to kill it.
import { expose } from 'comlink';
import { hostNode, type NodePort } from './host.ts';
import { nodeControl, type ControlHandOver } from './control.ts';

hostNode(self as unknown as NodePort);
self.addEventListener('message', (e: MessageEvent<ControlHandOver>) => {
  if (e.data?.t === 'control') expose(nodeControl, e.data.port);
});
