// Runs a node program (worker or producer) over a message port: inside a Web Worker in the app, or on
// one end of a MessageChannel in tests. In virtual mode the node's clock moves only with the messages
// it receives and the modelled length of its computations; every message it sends says when it happened.
import { Client } from '../protocol/client.ts';
import { KvClient } from '../store/client.ts';
import { encodeResult, referenceSeconds, runTask, type TaskResult, type TaskSpec } from '../tasks/index.ts';
import type { FromNode, NodeConfig, NodeReport, NodeStatus, ToNode } from './messages.ts';
import { ConnectionLost, producerProgram, workerProgram, type NodeConnection, type NodeRuntime, type StoreConnection } from './programs.ts';
import { matrixProducerProgram } from './matrix.ts';
import { sortProducerProgram } from './sample-sort.ts';

export interface NodePort {
  postMessage(m: FromNode): void;
  onmessage: ((e: MessageEvent<ToNode>) => void) | null;
}

function joinBytes(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** Wall-clock ms, for live mode. */
const wallNow = () => performance.timeOrigin + performance.now();

export function hostNode(port: NodePort): void {
  let vt = 0;
  let virtual = true;
  let hung = false;
  let slow = 1;
  let nextConn = 1;
  const conns = new Map<number, Client | KvClient>();
  /** Connections asked for and not yet open; `server` names what refused them, for the error. */
  const connecting = new Map<number, { open: () => void; reject: (e: Error) => void; server: string }>();
  let wake: (() => void) | null = null;
  let settleQueued = false;
  const tick = new MessageChannel();

  const now = () => (virtual ? vt : wallNow());
  const send = (m: FromNode) => {
    if (!hung) port.postMessage(m);
  };
  /**
   * What the program wrote to one queue server connection in this turn and has not sent yet: commands
   * pipelined in one go leave as one data message, as a client's writes in one go reach a server in one
   * TCP segment (over a room's data channel, a message each would cost each its own trip). Anything else
   * the node sends sends them first, so the order of everything holds.
   */
  let unsent: { conn: number; vt: number; parts: Uint8Array[] } | null = null;
  const sendWrites = () => {
    if (!unsent) return;
    const { conn, vt: at, parts } = unsent;
    unsent = null;
    send({ t: 'data', vt: at, conn, bytes: parts.length === 1 ? parts[0] : joinBytes(parts) });
  };
  const write = (conn: number, bytes: Uint8Array) => {
    if (unsent?.conn !== conn) {
      sendWrites();
      unsent = { conn, vt: now(), parts: [] };
      queueMicrotask(sendWrites);
    }
    unsent.parts.push(bytes);
  };
  const post = (m: FromNode) => {
    sendWrites();
    send(m);
  };
  // Once the program has reacted to a message (all microtasks done), tell the page this node is idle.
  tick.port1.onmessage = () => {
    settleQueued = false;
    post({ t: 'idle', vt: now() });
  };
  // Only virtual time waits on a node's idle and compute notices; in live time they would be traffic for
  // nothing (for a remote node, most of what crosses its data channel).
  const settle = () => {
    if (settleQueued || hung || !virtual) return;
    settleQueued = true;
    tick.port2.postMessage(0);
  };

  /** Runs a task as this node does: its time modelled in virtual time, stretched by a slow-down in live time. */
  const compute = (spec: TaskSpec): TaskResult => {
    const t0 = wallNow();
    if (virtual) {
      const until = vt + referenceSeconds(spec) * 1000 * slow;
      post({ t: 'compute', vt, until });
      const result = runTask(spec);
      vt = until;
      return result;
    }
    const result = runTask(spec);
    // A slowed-down node takes k times as long: spin for the extra time.
    const extra = (wallNow() - t0) * (slow - 1);
    for (const end = wallNow() + extra; wallNow() < end; );
    return result;
  };

  /** A re-run for the host's result check: between two steps of the node's program, so it takes the node's time. */
  const rerun = (n: number, spec: TaskSpec) => {
    const t0 = now();
    try {
      const result = encodeResult(compute(spec));
      post({ t: 'rerun-done', vt: now(), n, ms: now() - t0, result });
    } catch (err) {
      post({ t: 'rerun-done', vt: now(), n, ms: now() - t0, error: (err as Error).message });
    }
  };

  const runtime = (name: string): NodeRuntime => ({
    name,
    now,
    connect: () =>
      new Promise<NodeConnection>((resolve, reject) => {
        const id = nextConn++;
        connecting.set(id, { open: () => resolve(openConnection(id)), reject, server: 'the queue server' });
        post({ t: 'connect', vt: now(), conn: id });
      }),
    connectStore: () =>
      new Promise<StoreConnection>((resolve, reject) => {
        const id = nextConn++;
        connecting.set(id, { open: () => resolve(openStoreConnection(id)), reject, server: 'the key-value store' });
        post({ t: 'connect', vt: now(), conn: id, to: 'store' });
      }),
    compute: (spec: TaskSpec) => Promise.resolve(compute(spec)),
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        wake = resolve;
        post({ t: 'sleep', vt: now(), until: now() + ms });
      }),
    status: (status: NodeStatus) => post({ t: 'status', vt: now(), status }),
    report: (report: NodeReport) => post({ t: 'report', vt: now(), report }),
    log: (text: string) => post({ t: 'log', vt: now(), text }),
  });

  const openConnection = (id: number): NodeConnection => {
    const client = new Client({ write: (bytes) => write(id, bytes) });
    conns.set(id, client);
    return {
      command: (line, body) => (conns.has(id) ? client.command(line, body) : Promise.reject(new ConnectionLost('connection closed'))),
      close: () => {
        if (!conns.delete(id)) return;
        post({ t: 'close', vt: now(), conn: id });
      },
    };
  };

  const openStoreConnection = (id: number): StoreConnection => {
    const client = new KvClient({ write: (bytes) => post({ t: 'data', vt: now(), conn: id, bytes }) });
    conns.set(id, client);
    const closed = () => Promise.reject(new ConnectionLost('connection to the key-value store closed'));
    return {
      get: (keys) => (conns.has(id) ? client.get(keys) : closed()),
      set: (key, value) => (conns.has(id) ? client.set(key, value) : closed()),
      close: () => {
        if (!conns.delete(id)) return;
        post({ t: 'close', vt: now(), conn: id });
      },
    };
  };

  const start = (name: string, config: NodeConfig) => {
    const rt = runtime(name);
    rt.status({ state: 'starting' });
    const program =
      config.role === 'worker'
        ? workerProgram(rt, config.worker)
        : 'matrix' in config
          ? matrixProducerProgram(rt, config.matrix)
          : 'sort' in config
            ? sortProducerProgram(rt, config.sort)
            : producerProgram(rt, config.producer);
    program.catch((err: Error) => {
      rt.status({ state: 'failed', detail: err.message });
      rt.log(`stopped: ${err.message}`);
      settle();
    });
  };

  port.onmessage = (e: MessageEvent<ToNode>) => {
    const m = e.data;
    if (hung) return;
    if ('vt' in m && virtual && m.vt > vt) vt = m.vt;
    switch (m.t) {
      case 'start':
        virtual = m.virtual;
        vt = m.vt;
        start(m.name, m.config);
        break;
      case 'open': {
        const c = connecting.get(m.conn);
        connecting.delete(m.conn);
        c?.open();
        break;
      }
      case 'refused': {
        const c = connecting.get(m.conn);
        connecting.delete(m.conn);
        c?.reject(new ConnectionLost(`connection refused: ${c.server} is down`));
        break;
      }
      case 'data':
        conns.get(m.conn)?.receive(m.bytes);
        break;
      case 'closed': {
        const client = conns.get(m.conn);
        conns.delete(m.conn);
        client?.fail(new ConnectionLost('connection closed by the server or the network'));
        break;
      }
      case 'wake': {
        const w = wake;
        wake = null;
        w?.();
        break;
      }
      case 'hang':
        hung = true;
        return;
      case 'slow':
        slow = m.factor;
        break;
      case 'rerun':
        rerun(m.n, m.spec);
        break;
      default:
        // Not ours (e.g. the control port hand-over): no reaction, so no idle either.
        return;
    }
    settle();
  };
}
