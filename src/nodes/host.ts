// Runs a node program (worker or producer) over a message port: inside a Web Worker in the app, or on
// one end of a MessageChannel in tests. In virtual mode the node's clock moves only with the messages
// it receives and the modelled length of its computations; every message it sends says when it happened.
// Time travel restores a node with a `resume` message: the program starts at its last resume point (or
// from its start) and is given again what it was given since, one message per macrotask as they came
// first (so it reacts to each before the next), sending nothing the page already had.
import { Client } from '../protocol/client.ts';
import { KvClient } from '../store/client.ts';
import { encodeResult, referenceSeconds, runTask, type TaskResult, type TaskSpec } from '../tasks/index.ts';
import type { FromNode, NodeConfig, NodeMark, NodeReport, NodeStatus, ToNode } from './messages.ts';
import { ConnectionLost, producerProgram, workerProgram, type NodeConnection, type NodeRuntime, type ProducerResume, type StoreConnection, type WorkerResume } from './programs.ts';
import { matrixProducerProgram } from './matrix.ts';
import { sortProducerProgram } from './sample-sort.ts';
import { backupProducerProgram } from './backup-tasks.ts';
import { poissonProducerProgram } from './poisson.ts';
import { cheater } from './verify-results.ts';

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

/**
 * Runs the node program host on `port`. Returns what stops it where terminating the thread does not (a
 * node in the page's own thread): its own channels would otherwise keep it, and all it holds, alive.
 */
export function hostNode(port: NodePort): () => void {
  let vt = 0;
  let virtual = true;
  let hung = false;
  let slow = 1;
  let seed = 0;
  /** What this node does to its results: nothing, unless the "wrong results" fault made it cheat. */
  let tamper = (r: TaskResult) => r;
  /** Told to cheat (even to stop): the cheat's draws are state no resume point holds. */
  let cheating = false;
  /** Result jobs the host told this node (a producer) to drop. */
  const discarded = new Set<number>();
  let nextConn = 1;
  const conns = new Map<number, Client | KvClient>();
  /** Connections asked for and not yet open; `server` names what refused them, for the error. */
  const connecting = new Map<number, { open: () => void; reject: (e: Error) => void; server: string }>();
  let wake: (() => void) | null = null;
  let settleQueued = false;
  const tick = new MessageChannel();
  /** Messages given to this node so far (the page counts the same: a resume point says where it is). */
  let consumed = 0;
  /** A resume: messages to take one per macrotask, and how many of the messages they make the page already has. */
  const backlog: ToNode[] = [];
  let resuming = false;
  let unsent = 0;
  const gap = new MessageChannel();
  const nextTask = () =>
    new Promise<void>((resolve) => {
      gap.port1.onmessage = () => resolve();
      gap.port2.postMessage(0);
    });
  /** Connections open at the resume point, for the program to adopt. */
  const adoptable = new Map<number, NodeConnection>();

  const now = () => (virtual ? vt : wallNow());
  const send = (m: FromNode) => {
    if (hung) return;
    if (unsent > 0 && m.t !== 'idle') {
      if (m.t !== 'mark') unsent--;
      return;
    }
    port.postMessage(m);
  };
  /**
   * What the program wrote to one queue server connection in this turn and has not sent yet: commands
   * pipelined in one go leave as one data message, as a client's writes in one go reach a server in one
   * TCP segment (over a room's data channel, a message each would cost each its own trip). Anything else
   * the node sends sends them first, so the order of everything holds.
   */
  let writes: { conn: number; vt: number; parts: Uint8Array[] } | null = null;
  const sendWrites = () => {
    if (!writes) return;
    const { conn, vt: at, parts } = writes;
    writes = null;
    send({ t: 'data', vt: at, conn, bytes: parts.length === 1 ? parts[0] : joinBytes(parts) });
  };
  const write = (conn: number, bytes: Uint8Array) => {
    if (writes?.conn !== conn) {
      sendWrites();
      writes = { conn, vt: now(), parts: [] };
      queueMicrotask(sendWrites);
    }
    writes.parts.push(bytes);
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
    if (settleQueued || hung || !virtual || resuming) return;
    settleQueued = true;
    tick.port2.postMessage(0);
  };

  /** Runs a task as this node does: its time modelled in virtual time, stretched by a slow-down in live time. */
  const compute = (spec: TaskSpec): TaskResult => {
    const t0 = wallNow();
    if (virtual) {
      const until = vt + referenceSeconds(spec) * 1000 * slow;
      post({ t: 'compute', vt, until });
      const result = tamper(runTask(spec));
      vt = until;
      return result;
    }
    const result = tamper(runTask(spec));
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
    discarded,
    mark: (state: unknown, held: number[]) => {
      // Only a program holding nothing but the connections it names, and waiting on nothing, is wholly in
      // `state`; a cheat (its draws) and discarded results are the host's, not the program's: none marks then.
      if (!virtual || connecting.size || wake || cheating || discarded.size || [...conns.keys()].some((id) => !held.includes(id))) return;
      if (held.some((id) => !(conns.get(id) instanceof Client))) return;
      post({ t: 'mark', consumed, vt, state, slow, nextConn, conns: held });
    },
    adopt: (id: number) => {
      const c = adoptable.get(id);
      if (!c) throw new Error(`resume: connection ${id} was not open at the resume point`);
      adoptable.delete(id);
      return c;
    },
  });

  const openConnection = (id: number): NodeConnection => {
    const client = new Client({ write: (bytes) => write(id, bytes) });
    conns.set(id, client);
    return {
      id,
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

  /** A producer's backup-task switch, which the page flips at run time (the program reads it as it goes). */
  let backups: { on: boolean } | null = null;

  /** Starts the node's program, at resume point `from` if given (only worker and producer programs mark any). */
  const start = (name: string, config: NodeConfig, from?: unknown) => {
    const rt = runtime(name);
    const producer = 'producer' in config ? config.producer : null;
    backups = producer?.backups ?? null;
    if (from === undefined) rt.status({ state: 'starting' });
    const program =
      config.role === 'worker'
        ? workerProgram(rt, config.worker, from as WorkerResume | undefined)
        : 'matrix' in config
          ? matrixProducerProgram(rt, config.matrix)
          : 'sort' in config
            ? sortProducerProgram(rt, config.sort)
            : 'poisson' in config
              ? poissonProducerProgram(rt, config.poisson)
              : producer?.backups
                ? backupProducerProgram(rt, { ...producer, backups: producer.backups })
                : producerProgram(rt, config.producer, from as ProducerResume | undefined);
    program.catch((err: Error) => {
      rt.status({ state: 'failed', detail: err.message });
      rt.log(`stopped: ${err.message}`);
      settle();
    });
  };

  /** Takes the backlog one message per macrotask, as the messages first came; then the page hears the node is idle. */
  const resumeFrom = async (mark: NodeMark | null, name: string, config: NodeConfig) => {
    resuming = true;
    if (mark) {
      vt = mark.vt;
      slow = mark.slow;
      nextConn = mark.nextConn;
      consumed = mark.consumed;
      for (const id of mark.conns) adoptable.set(id, openConnection(id));
      start(name, config, mark.state);
      await nextTask();
    }
    while (backlog.length) {
      take(backlog.shift() as ToNode);
      await nextTask();
    }
    resuming = false;
    settle();
  };

  port.onmessage = (e: MessageEvent<ToNode>) => {
    const m = e.data;
    if (m.t === 'resume') {
      virtual = m.start.virtual;
      unsent = m.sent;
      backlog.push(...m.inputs);
      seed = m.start.seed;
      void resumeFrom(m.mark, m.start.name, m.start.config);
      return;
    }
    if (resuming) backlog.push(m);
    else if (take(m)) settle();
  };

  /** Handles a message the page gave; false if it needs no answer (nothing the program reacts to). */
  const take = (m: ToNode): boolean => {
    if (m.t !== 'resume' && (m as { t?: unknown }).t !== 'control') consumed++;
    if (hung) return false;
    if ('vt' in m && virtual && m.vt > vt) vt = m.vt;
    switch (m.t) {
      case 'start':
        virtual = m.virtual;
        vt = m.vt;
        seed = m.seed;
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
        return false;
      case 'slow':
        slow = m.factor;
        break;
      case 'backup-tasks':
        if (backups) backups.on = m.on;
        break;
      case 'rerun':
        rerun(m.n, m.spec);
        break;
      case 'cheat':
        tamper = cheater(m.rate, seed);
        cheating = true;
        break;
      case 'discard':
        for (const id of m.results) discarded.add(id);
        break;
      default:
        // Not ours (e.g. the control port hand-over): no reaction, so no idle either.
        return false;
    }
    return true;
  };  return () => {
    tick.port1.close();
    gap.port1.close();
  };
}
