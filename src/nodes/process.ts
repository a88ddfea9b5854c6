// A node's process as the page sees it: the one interface that the page's Web Workers, in-thread nodes
// (tests) and remote nodes (a joiner's slot over a data channel) implement. The cluster, the room and
// the experiment talk to every node through it, so node and net code need not know the cluster.
import type { Remote } from 'comlink';
import type { NodeControl } from './control.ts';
import type { FromNode, ToNode } from './messages.ts';
import type { CommandPolicy } from '../protocol/session.ts';

/** A node's process: a Web Worker, one end of a MessageChannel in tests, or a remote slot. */
export interface NodeProcess {
  postMessage(m: ToNode, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<FromNode>) => void) | null;
  terminate(): void;
  /** The node's control API (Web Worker nodes). */
  control?: Remote<NodeControl>;
}

/** Whether a node's process runs, hangs (alive, silent, holding its connections) or is gone. */
export type NodeLife = 'running' | 'hung' | 'dead';

/** A node in another browser tab (real-node mode): which peer hosts it and its measured round trip. */
export interface RemoteLink {
  peer: string;
  /** Last heartbeat round trip over the data channel, ms (null until measured). */
  rtt: number | null;
  /** False once the peer has left: its nodes cannot be restarted. */
  connected: boolean;
}

/** How a node that is not one of the page's own Web Workers is started and what it may do. */
export interface AddNodeOptions {
  spawn?: () => NodeProcess;
  /** Commands its connections may run (all, if not given). */
  allow?: CommandPolicy;
  remote?: RemoteLink;
  /** One-way latency the cluster adds (a remote node's network has its own). */
  latency?: number;
}

/**
 * A node process whose messages go through `port`; terminating it closes the port, then does `end`,
 * once: a process may be terminated again (killed, then its cluster disposed of), and `end` may hand
 * its thread to another node.
 */
export function processOnPort(port: MessagePort, end: () => void): NodeProcess {
  let ended = false;
  return {
    postMessage: (m, transfer) => port.postMessage(m, transfer ?? []),
    get onmessage() {
      return port.onmessage as NodeProcess['onmessage'];
    },
    set onmessage(fn) {
      port.onmessage = fn as (e: MessageEvent) => void;
    },
    terminate: () => {
      if (ended) return;
      ended = true;
      port.onmessage = null;
      port.close();
      end();
    },
  };
}
