// The cluster's scheduler: an event heap ordered by (time, source, node, sequence), the engine's timers
// beside it, and in virtual time the nodes' horizons. A node announces how long its computation lasts
// (its horizon: the earliest instant it may still send something), and time never passes a running
// node's horizon until the node has answered (conservative synchronisation). So a virtual-time run is a
// function of its seed and the student's actions, and can be stepped one protocol event at a time.
// In live time the real clock drives the same heap (RealTimeDriver), and horizons are not waited on.
import { ManualClock } from '../engine/clock.ts';
import { Heap, type HeapItem } from '../engine/heap.ts';
import type { Clock } from '../engine/types.ts';
import type { NodeLife } from '../nodes/process.ts';
import { GrowingList } from './growing-list.ts';

/** Where an event comes from, the first tie-breaker after its time: the page (server, store, timers) before the nodes. */
export const FROM_PAGE = 0;
export const FROM_NODE = 1;

/** A queued event as plain data (what it does is the host's `run`), so a checkpoint can copy the queue. */
export interface QueuedEvent<D> {
  at: number;
  /** Tie-breakers that do not depend on real-time arrival: source (FROM_PAGE, FROM_NODE), node id, sequence. */
  src: number;
  srcId: number;
  seq: number;
  data: D;
}

type SimEvent<D> = QueuedEvent<D> & HeapItem;

/** What a checkpoint keeps of the scheduler besides its queued events (see Scheduler.state). */
export interface SchedulerState<D> {
  processed: number;
  pageSeq: number;
  events: QueuedEvent<D>[];
}

const eventLess = <D>(a: SimEvent<D>, b: SimEvent<D>) =>
  a.at < b.at || (a.at === b.at && (a.src < b.src || (a.src === b.src && (a.srcId < b.srcId || (a.srcId === b.srcId && a.seq < b.seq)))));

/** A node as the scheduler sees it. */
export interface ScheduledNode {
  readonly life: NodeLife;
  /** Earliest time this node may send something it has not sent yet (Infinity: nothing until it hears from us). */
  readonly horizon: number;
}

/** What the scheduler runs besides its own events: the queue server's timers, and the nodes' horizons. */
export interface SchedulerHost<D> {
  nodes(): Iterable<ScheduledNode>;
  /** When the queue server's next timer is due (Infinity: none, or no server). */
  timersDue(): number;
  /** Fires the queue server's timers due now. */
  fireTimers(): void;
  /** Before each event: what must be shown by the event's instant (node updates stamped earlier). */
  beforeEvent(): void;
  /** An event was queued (live time keeps its timer armed for it). */
  scheduled(): void;
  /** Does what event `data` stands for. */
  run(data: D): void;
  /**
   * True once the event is a message from a process that has died since it was sent: it is dropped
   * unseen (`run` still sees it, to forget it), neither moving the clock nor counting as an event, so a
   * kill cuts the run at the same point whether or not the node's last message had arrived (in real
   * time) when the student clicked.
   */
  stale(data: D): boolean;
  /** One more event has been processed (virtual time: a checkpoint may be taken now). */
  counted?(): void;
}

export class Scheduler<D> {
  /** Events processed so far: the position of the run. */
  processed = 0;
  /** The clock time of each processed event, in order (virtual time: the timeline seeks with it; live time cannot seek and keeps none). */
  times = GrowingList.of<number>();
  private readonly events = new Heap<SimEvent<D>>(eventLess);
  private pageSeq = 0;
  private activity: (() => void)[] = [];
  /** The advance under way is to end at the next event (see interrupt). */
  private interrupted = false;

  constructor(
    private readonly clock: Clock,
    private readonly virtual: boolean,
    private readonly host: SchedulerHost<D>,
  ) {}

  /** Queues event `data` at `at` from a node (`src` FROM_NODE, its id and its own message sequence). */
  schedule(at: number, src: number, srcId: number, seq: number, data: D): void {
    this.events.insert({ heapIndex: -1, at, src, srcId, seq, data });
    this.host.scheduled();
  }

  /** Queues event `data` at `at` from the page (the queue server, the store, a node's wake-up), in the order queued. */
  schedulePage(at: number, data: D): void {
    this.schedule(at, FROM_PAGE, 0, this.pageSeq++, data);
  }

  /** Its state as data: the events queued are the heap's own (copy them before they change: structuredClone). */
  state(): SchedulerState<D> {
    return { processed: this.processed, pageSeq: this.pageSeq, events: this.events.items.map(({ at, src, srcId, seq, data }) => ({ at, src, srcId, seq, data })) };
  }

  /** Takes up state `s` (of an empty scheduler), with the event times `times` up to it. */
  restore(s: SchedulerState<D>, times: GrowingList<number>): void {
    this.processed = s.processed;
    this.pageSeq = s.pageSeq;
    this.times = times;
    // The order is total (time, source, node, sequence): the heap comes back the same whatever the insertion order.
    for (const e of s.events) this.events.insert({ heapIndex: -1, ...e });
  }

  /** Earliest instant a running node may still send something at (Infinity if none, and always in live time). */
  horizon(): number {
    let h = Infinity;
    if (!this.virtual) return h;
    for (const n of this.host.nodes()) if (n.life === 'running' && n.horizon < h) h = n.horizon;
    return h;
  }

  /** The next thing to happen: a queued event or an engine timer (timers go first at equal times). */
  nextAt(): number {
    let e = this.events.peek();
    for (; e && this.host.stale(e.data); e = this.events.peek()) {
      this.events.take();
      this.host.run(e.data);
    }
    return Math.min(e ? e.at : Infinity, this.host.timersDue());
  }

  /** Processes one event if it is safe to; returns false if nothing is due or a node must answer first. */
  processOne(limit: number): boolean {
    const at = this.nextAt();
    if (at > limit || at >= this.horizon()) return false;
    if (this.virtual && at > this.clock.now()) (this.clock as ManualClock).set(at);
    this.host.beforeEvent();
    const due = this.host.timersDue();
    if (due <= at && due <= this.clock.now()) {
      this.host.fireTimers();
    } else {
      const e = this.events.take() as SimEvent<D>;
      this.host.run(e.data);
    }
    this.counted();
    return true;
  }

  /** One more event has been processed, now. */
  counted(): void {
    this.processed++;
    if (this.virtual) {
      this.times.push(this.clock.now());
      this.host.counted?.();
    }
  }

  /** What virtual time waits on has changed: a node answered, or one that had not answered yet stopped (it never will). */
  wake(): void {
    const waiting = this.activity;
    this.activity = [];
    for (const w of waiting) w();
  }

  /** Waits until some node sends something. */
  private nodeActivity(): Promise<void> {
    return new Promise((resolve) => this.activity.push(resolve));
  }

  private get blocked(): boolean {
    return this.nextAt() >= this.horizon() && this.horizon() !== Infinity;
  }

  /** Moves virtual time on to `at` without processing anything: a replay reaching an action taken between events. */
  advanceClock(at: number): void {
    if (this.virtual && at > this.clock.now()) (this.clock as ManualClock).set(at);
  }

  /**
   * Virtual time: moves the clock towards `to`, processing every event due on the way; returns early
   * (time stalls) when a node has not answered yet and `wait` is false, or once `stopAt` events have
   * been processed (the clock then stays at the last one: a replay has an action to apply there).
   */
  async advanceTo(to: number, wait: boolean, stopAt = Infinity): Promise<void> {
    const clock = this.clock as ManualClock;
    this.interrupted = false;
    for (;;) {
      while (!this.interrupted && this.processed < stopAt && this.processOne(to));
      if (this.processed >= stopAt || this.interrupted) break;
      const h = this.horizon();
      if (h > to) {
        if (clock.now() < to) clock.set(to);
        break;
      }
      // A node may still send something before `to`: time can reach its horizon, not pass it.
      if (h > clock.now()) clock.set(h);
      if (!wait) break;
      await this.nodeActivity();
    }
  }

  /**
   * Ends the advance under way (advanceTo) after the event being processed, or once the node it waits on
   * has answered, with the clock at that event: the student paused, and a stretch of virtual time that
   * waits on nodes computing in real time can take a while to go through.
   */
  interrupt(): void {
    this.interrupted = true;
  }

  /** Waits until every node has answered what it was last sent (virtual time). */
  async settle(): Promise<void> {
    while (this.virtual && this.horizon() <= this.clock.now()) await this.nodeActivity();
  }

  /** Exactly one protocol event (waiting for nodes to answer first if needed); false if nothing more can happen. */
  async step(): Promise<boolean> {
    for (;;) {
      if (this.nextAt() === Infinity && this.horizon() === Infinity) return false;
      if (!this.blocked && this.processOne(Infinity)) return true;
      await this.nodeActivity();
    }
  }

  /**
   * Runs until `until` returns true or nothing more can happen (virtual time), or until the time limit
   * (ms of clock time) passes. In live time the real clock drives events; this only waits.
   */
  async runUntil(until: () => boolean, limitMs: number): Promise<void> {
    const end = this.clock.now() + limitMs;
    if (!this.virtual) {
      while (!until() && this.clock.now() < end) {
        await Promise.race([this.nodeActivity(), new Promise((r) => setTimeout(r, Math.min(50, end - this.clock.now())))]);
      }
      return;
    }
    while (!until() && this.clock.now() < end) {
      if (this.nextAt() === Infinity && this.horizon() === Infinity) break;
      if (!this.blocked && this.processOne(end)) continue;
      if (this.nextAt() > end && this.horizon() > end) {
        // Nothing happens before the limit: time runs out at the limit.
        (this.clock as ManualClock).set(end);
        break;
      }
      await this.nodeActivity();
    }
  }
}
