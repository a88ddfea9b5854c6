// The links between the page (the queue server, the key-value store) and the nodes: each way, a message
// arrives one link latency after it was sent (virtual time: after the sender's own instant), in the order
// sent. In live time a link that adds no latency (a remote node's data channel has its own) passes
// messages at once rather than through a timer, which browsers clamp to 4 ms when chained; what is
// still queued on it goes first, so order holds. Every data message delivered is recorded in the trace
// and counted, per server. What is on its way is data (LinkEvent) in the scheduler's queue, so a
// checkpoint can copy it; in virtual time every message a node is given is also kept in its input log
// (since its last resume point), from which a restored node's program is brought back (see node-resume.ts).
import type { Clock } from '../engine/types.ts';
import type { FromNode, ToNode } from '../nodes/messages.ts';
import type { NodeLife, NodeProcess } from '../nodes/process.ts';
import { FROM_NODE, type Scheduler } from './scheduler.ts';
import type { NodeInputs } from './node-resume.ts';
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
  /** Virtual time: what its process has been given since its last resume point. */
  inputs: NodeInputs;
}

/** A message on its way, as the scheduler queues it. */
export type LinkEvent =
  | { kind: 'to-node'; node: number; m: ToNode; from: 'server' | 'store' }
  /** From process `gen` of the node: dropped unseen if that process has stopped by then. */
  | { kind: 'from-node'; node: number; gen: number; m: FromNode }
  /** A sleeping node's wake-up. */
  | { kind: 'wake'; node: number };

type Record = (kind: TraceEntry['kind'], node: number, conn: number | undefined, text: string, job?: number) => void;

export class Links {
  /** Data messages and their bytes, both ways, between the nodes and each server: communication, counted. */
  readonly traffic = { server: { messages: 0, bytes: 0 }, store: { messages: 0, bytes: 0 } };

  constructor(
    private readonly clock: Clock,
    private readonly virtual: boolean,
    private readonly scheduler: Scheduler<LinkEvent>,
    private readonly record: Record,
    private readonly node: (id: number) => LinkedNode | undefined,
    /** Handles what a node sent, once it arrives from a process still alive. */
    private readonly arrive: (n: LinkedNode, m: FromNode) => void,
  ) {}

  /** Gives `m` to node `n`'s process, keeping it in the node's input log (virtual time). */
  post(n: LinkedNode, m: ToNode): void {
    if (this.virtual) n.inputs.log(m);
    n.process.postMessage(m, m.t === 'data' ? [m.bytes.buffer as ArrayBuffer] : undefined);
  }

  /** Does a queued link event (a stale one only forgets it was queued). */
  run(e: LinkEvent): void {
    const n = this.node(e.node);
    if (e.kind === 'to-node') {
      if (!n) return;
      n.queuedToNode--;
      this.deliver(n, e.m, e.from);
    } else if (e.kind === 'from-node') {
      if (!n) return;
      n.queuedFromNode--;
      if (n.generation === e.gen && n.life !== 'dead') this.arrive(n, e.m);
    } else if (n) this.toNode(n, { t: 'wake', vt: 0 }, true);
  }

  /** The event is a message from a process that has stopped since it was sent. */
  stale(e: LinkEvent): boolean {
    if (e.kind !== 'from-node') return false;
    const n = this.node(e.node);
    return !n || n.generation !== e.gen;
  }

  private deliver(n: LinkedNode, m: ToNode, from: 'server' | 'store'): void {
    if (n.life !== 'running') return;
    const kind = from === 'store' ? 'from-store' : 'to-node';
    if ('vt' in m) (m as { vt: number }).vt = this.clock.now();
    if (m.t === 'data') {
      this.record(kind, n.id, m.conn, textOf(m.bytes), from === 'server' ? reservedJob(m.bytes) : undefined);
      this.count(from, m.bytes);
    } else if (m.t !== 'start') this.record(kind, n.id, 'conn' in m ? m.conn : undefined, m.t);
    if (this.virtual) n.horizon = Math.min(n.horizon, this.clock.now());
    this.post(n, m);
  }

  /**
   * Sends a message to a node after its link latency (immediately for `start` and `now`); `from` the
   * queue server or the store, which first takes `delay` ms to produce it.
   */
  toNode(n: LinkedNode, m: ToNode, now = false, from: 'server' | 'store' = 'server', delay = 0): void {
    const at = now ? this.clock.now() : this.clock.now() + delay + n.latency;
    if (now || (this.direct(n) && delay === 0 && n.queuedToNode === 0)) return this.deliver(n, m, from);
    n.queuedToNode++;
    this.scheduler.schedulePage(at, { kind: 'to-node', node: n.id, m, from });
  }

  /**
   * What node `n` sent (`m`, stamped with the node's instant) arrives: at once on a direct link with
   * nothing of the node's still queued, else as an event; dropped unseen if the process that sent it
   * has stopped by then.
   */
  fromNode(n: LinkedNode, m: FromNode): void {
    const at = (this.virtual ? Math.max(m.vt, this.clock.now()) : this.clock.now()) + n.latency;
    const seq = n.msgSeq++;
    if (this.direct(n) && n.queuedFromNode === 0) {
      this.scheduler.counted();
      return this.arrive(n, m);
    }
    n.queuedFromNode++;
    this.scheduler.schedule(at, FROM_NODE, n.id, seq, { kind: 'from-node', node: n.id, gen: n.generation, m });
  }

  /** A sleeping node is woken at `at`. */
  wakeAt(n: LinkedNode, at: number): void {
    this.scheduler.schedulePage(at, { kind: 'wake', node: n.id });
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
