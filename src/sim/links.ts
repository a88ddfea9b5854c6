// The links between the page (the queue server, the key-value store) and the nodes: each way, a message
// arrives one link latency after it was sent (virtual time: after the sender's own instant), in the order
// sent. In live time a link that adds no latency (a remote node's data channel has its own) passes
// messages at once rather than through a timer, which browsers clamp to 4 ms when chained; what is
// still queued on it goes first, so order holds. Every data message delivered is recorded in the trace
// and counted, per server.
import type { Clock } from '../engine/types.ts';
import type { FromNode, ToNode } from '../nodes/messages.ts';
import type { NodeLife, NodeProcess } from '../nodes/process.ts';
import { FROM_NODE, type Scheduler } from './scheduler.ts';
import { reservedJob, textOf, type TraceEntry } from './run-record.ts';

/** A node's end of its link, as the links see it. */
export interface LinkedNode {
  id: number;
  life: NodeLife;
  process: NodeProcess;
  /** One-way latency, ms. */
  latency: number;
  /** Earliest time the node may send something it has not sent yet: a message delivered brings it to now. */
  horizon: number;
  /** Which start of the node's process this is: what an earlier process sent dies with it. */
  generation: number;
  /** The node's own sequence of what it sent (a tie-breaker that does not depend on real-time arrival). */
  msgSeq: number;
  /** Messages scheduled on the link and not delivered yet, each way. */
  queuedToNode: number;
  queuedFromNode: number;
}

type Record = (kind: TraceEntry['kind'], node: number, conn: number | undefined, text: string, job?: number) => void;

export class Links {
  /** Data messages and their bytes, both ways, between the nodes and each server: communication, counted. */
  readonly traffic = { server: { messages: 0, bytes: 0 }, store: { messages: 0, bytes: 0 } };

  constructor(
    private readonly clock: Clock,
    private readonly virtual: boolean,
    private readonly scheduler: Scheduler,
    private readonly record: Record,
  ) {}

  /**
   * Sends a message to a node after its link latency (immediately for `start` and `now`); `from` the
   * queue server or the store, which first takes `delay` ms to produce it.
   */
  toNode(n: LinkedNode, m: ToNode, now = false, from: 'server' | 'store' = 'server', delay = 0): void {
    const at = now ? this.clock.now() : this.clock.now() + delay + n.latency;
    const kind = from === 'store' ? 'from-store' : 'to-node';
    const deliver = () => {
      if (n.life !== 'running') return;
      if ('vt' in m) (m as { vt: number }).vt = this.clock.now();
      if (m.t === 'data') {
        this.record(kind, n.id, m.conn, textOf(m.bytes), from === 'server' ? reservedJob(m.bytes) : undefined);
        this.count(from, m.bytes);
      } else if (m.t !== 'start') this.record(kind, n.id, 'conn' in m ? m.conn : undefined, m.t);
      if (this.virtual) n.horizon = Math.min(n.horizon, this.clock.now());
      n.process.postMessage(m, m.t === 'data' ? [m.bytes.buffer as ArrayBuffer] : undefined);
    };
    if (now || (this.direct(n) && delay === 0 && n.queuedToNode === 0)) return deliver();
    n.queuedToNode++;
    this.scheduler.schedulePage(at, () => {
      n.queuedToNode--;
      deliver();
    });
  }

  /**
   * Handles `run` when what node `n` sent (`m`, stamped with the node's instant) arrives: at once on a
   * direct link with nothing of the node's still queued, else as an event; dropped unseen if the process
   * that sent it has stopped by then.
   */
  fromNode(n: LinkedNode, m: FromNode, run: () => void): void {
    const at = (this.virtual ? Math.max(m.vt, this.clock.now()) : this.clock.now()) + n.latency;
    const seq = n.msgSeq++;
    if (this.direct(n) && n.queuedFromNode === 0) {
      this.scheduler.counted();
      return run();
    }
    n.queuedFromNode++;
    const gen = n.generation;
    this.scheduler.schedule(
      at,
      FROM_NODE,
      n.id,
      seq,
      () => {
        n.queuedFromNode--;
        run();
      },
      () => n.generation !== gen,
    );
  }

  /** A data message between a node and `peer`, counted. */
  count(peer: 'server' | 'store', bytes: Uint8Array): void {
    this.traffic[peer].messages++;
    this.traffic[peer].bytes += bytes.length;
  }

  /** Live time over a link that adds no latency. */
  private direct(n: LinkedNode): boolean {
    return !this.virtual && n.latency === 0;
  }
}
