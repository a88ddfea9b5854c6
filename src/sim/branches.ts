// Time travel on a virtual-time run: seeking to event n restores the current branch's last checkpoint at
// or before n (checkpoint.ts; taken every CHECKPOINT_EVERY events as the branch runs) on a fresh cluster
// and runs it on to n, or replays the branch's record from its start where it has no checkpoint yet;
// stepping on from there re-applies the branch's later actions at their positions, so the recorded run
// comes back event for event. A new action taken while behind the
// branch's end forks the run: the new branch is the old one's actions up to there plus the new action,
// and the old branch is kept as it was. Live time (real clocks) cannot be rewound.
import type { NodeProcess } from '../nodes/process.ts';
import { applyDue, replayOptions, replayTo, runForward, type ReplayPosition } from './replay.ts';
import { checkpointAt, CHECKPOINT_EVERY, type ClusterCheckpoint } from './checkpoint.ts';
import { Cluster } from './cluster.ts';
import { GrowingList, type ListView } from './growing-list.ts';
import type { RecordedAction, RunRecord, TraceEntry } from './run-record.ts';

export interface Branch {
  /** Its index in the run's branch list. */
  id: number;
  label: string;
  /** The branch it forked from and the event it forked at (null: the first). */
  parent: number | null;
  forkAt: number | null;
  /** Its run (no branches of its own). */
  record: RunRecord;
  /** The clock time of each of its events, known once a cluster has run it (the timeline seeks with them). */
  times: ListView<number>;
  /** Its checkpoints, by position: those of the clusters that ran it (shared with the one running it). */
  checkpoints: ClusterCheckpoint[];
}

/**
 * Close checkpoints a first step back takes (see TimeTravel.stepBack): enough for a student's steps back
 * in a row; each is a copy of the cluster, which costs milliseconds on a long run.
 */
const NEAR_CHECKPOINTS = 5;

export const LIVE_NO_REWIND = 'Live time runs on real clocks and cannot be rewound: switch to virtual time to step back';

/** The position of the last event at or before instant `t` (ms): how many events `times` (in order) has up to `t`. */
export function positionAt(times: ListView<number>, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times.get(mid)! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The branch label of an action entry: the action's label and when it was taken (two significant digits under a second). */
export const forkLabel = (e: TraceEntry) => `${e.text} at ${e.at >= 1000 ? (e.at / 1000).toFixed(1) : Number((e.at / 1000).toPrecision(2))} s`;

/** The cluster's run so far, as a record that does not grow with it. */
function recordOf(cluster: Cluster): RunRecord {
  const r = cluster.exportRun();
  return { ...r, actions: r.actions.slice() };
}

/** A run's branches, the one on screen, and its cluster at the current position. */
export class TimeTravel {
  readonly branches: Branch[];
  current: Branch;
  cluster!: Cluster;
  /** The current branch's recorded actions not applied yet (after a seek). */
  private ahead: RecordedAction[] = [];
  /** The cluster has reached the current branch's end: it extends the branch as it runs. */
  private live = true;
  private reapplying = false;
  /** Checkpoints a step back took on its way, close together, on one branch (see stepBack). */
  private near: { branch: Branch | null; list: ClusterCheckpoint[] } = { branch: null, list: [] };
  /** Events between the checkpoints a step back takes on its way: a twentieth of the branches' spacing. */
  private readonly nearEvery: number;
  private unfollow: () => void = () => {};

  /** `cluster` at the end of branch `current` of `branches` (by default a run of its own, just started). */
  constructor(
    cluster: Cluster,
    private readonly spawn: () => NodeProcess,
    branches?: Branch[],
    current = 0,
    /** Events between two checkpoints of a branch. */
    private readonly every = CHECKPOINT_EVERY,
  ) {
    this.branches = branches ?? [{ id: 0, label: 'first run', parent: null, forkAt: null, record: recordOf(cluster), times: GrowingList.of(), checkpoints: cluster.checkpoints }];
    this.current = this.branches[current];
    this.nearEvery = Math.max(2, Math.floor(every / 20));
    if (cluster.virtual) {
      cluster.checkpointEvery(every);
      cluster.checkpoints = this.current.checkpoints;
    }
    this.follow(cluster);
  }

  /** Opens an exported run (with its branches, if it has any) at the end of the branch it was saved on. */
  static async open(run: RunRecord, spawn: () => NodeProcess, progress?: (events: number, total: number) => void, every = CHECKPOINT_EVERY): Promise<TimeTravel> {
    const { branches: saved, branch, ...own } = run;
    const branches: Branch[] = saved
      ? saved.map((b, id) => ({ id, label: b.label, parent: b.parent, forkAt: b.forkAt, record: b.run ?? own, times: GrowingList.of(), checkpoints: [] }))
      : [{ id: 0, label: 'the recorded run', parent: null, forkAt: null, record: own, times: GrowingList.of(), checkpoints: [] }];
    const current = saved ? (branch ?? 0) : 0;
    const { cluster, ahead } = await replayTo(branches[current].record, spawn, { progress, checkpointEvery: every });
    branches[current].checkpoints = cluster.checkpoints;
    const travel = new TimeTravel(cluster, spawn, branches, current, every);
    travel.ahead = ahead;
    travel.live = !ahead.length;
    return travel;
  }

  /** Events processed so far on the current branch. */
  get position(): number {
    return this.cluster.eventCount;
  }

  /** The cluster is behind the current branch's end (after a seek): a new action there forks the run. */
  get behind(): boolean {
    return !this.live;
  }

  /** The current branch's events: where its record ends, or where the cluster is once it runs past that. */
  get end(): number {
    return this.live ? this.cluster.eventCount : this.current.record.events;
  }

  /** The clock time of each of the current branch's events. */
  get eventTimes(): ListView<number> {
    return this.live ? this.cluster.eventTimes : this.current.times;
  }

  /**
   * Puts the current branch at event `n` (clamped to the branch): replays its record on a fresh cluster,
   * which becomes `cluster` (the caller shows it and disposes of the old one), or, forward and closer
   * than the branch's checkpoint, runs the cluster shown on to it and returns that same cluster.
   */
  seek(n: number, progress?: (events: number, total: number) => void): Promise<Cluster> {
    return this.replay(this.current, n, progress);
  }

  /**
   * One event back. Stepping back again and again is what a student does: the first step back from a
   * stretch of the branch takes checkpoints every `nearEvery` events over the last NEAR_CHECKPOINTS of
   * them on its way from the branch's checkpoint, and the next ones restore those and run at most
   * `nearEvery` events.
   */
  stepBack(): Promise<Cluster> {
    return this.replay(this.current, this.position - 1, undefined, true);
  }

  /** Shows branch `id`: seeks to its end. */
  switchTo(id: number): Promise<Cluster> {
    const b = this.branches[id];
    if (!b) return Promise.reject(new Error(`no branch ${id}`));
    return this.replay(b, Infinity);
  }

  /**
   * Branch `b` at event `n` (clamped to it) on a fresh cluster: from its last checkpoint at or before
   * `n`, else from its start; nothing changes if that fails.
   */
  private async replay(b: Branch, n: number, progress?: (events: number, total: number) => void, stepping = false): Promise<Cluster> {
    if (!this.cluster.virtual) throw new Error(LIVE_NO_REWIND);
    this.sync();
    const target = Math.max(0, Math.min(Math.floor(n), b.record.events));
    const opts = replayOptions(b.record, this.spawn, this.every);
    let cp = b.checkpoints[checkpointAt(b.checkpoints, target)];
    // Forward on the branch shown, closer than its checkpoint: the cluster on screen runs on to it.
    if (!stepping && b === this.current && target > this.position && target - this.position <= target - (cp?.n ?? 0)) {
      await this.runOn(target, progress);
      return this.cluster;
    }
    const near = this.near.branch === b ? this.near.list[checkpointAt(this.near.list, target)] : undefined;
    const nearer = stepping && near && (!cp || near.n > cp.n);
    if (nearer) cp = near;
    let from: ReplayPosition;
    if (cp) from = { cluster: Cluster.restore(cp, opts, b.checkpoints), ahead: b.record.actions.slice(cp.log.actionsLength) };
    else {
      from = { cluster: new Cluster(opts), ahead: [...b.record.actions] };
      from.cluster.checkpoints = b.checkpoints;
    }
    let nearFrom: number | null = null;
    if (stepping && !nearer && target - (cp?.n ?? 0) > this.nearEvery) {
      this.near = { branch: b, list: [] };
      nearFrom = Math.max(cp?.n ?? 0, target - NEAR_CHECKPOINTS * this.nearEvery);
    }
    let cluster: Cluster;
    let ahead: RecordedAction[];
    try {
      if (nearFrom !== null) {
        from = await runForward(from, nearFrom);
        from.cluster.checkpointEvery(this.nearEvery, this.near.list);
      }
      ({ cluster, ahead } = await runForward(from, target, progress));
    } finally {
      from.cluster.checkpointEvery(this.every, b.checkpoints);
    }
    this.current = b;
    this.ahead = ahead;
    this.live = !ahead.length && target >= b.record.events;
    this.follow(cluster);
    return cluster;
  }

  /** The cluster shown on along the current branch to event `target` (a seek forward that needs no checkpoint). */
  private async runOn(target: number, progress?: (events: number, total: number) => void): Promise<void> {
    const cluster = this.cluster;
    while (cluster.eventCount < target && (await this.step())) progress?.(cluster.eventCount, target);
    await this.reapply();
    await cluster.settle();
  }

  /** One protocol event on the current branch (its recorded actions applied as their positions come); false if nothing more can happen. */
  async step(): Promise<boolean> {
    await this.reapply();
    const moved = (await this.cluster.step()) !== null;
    await this.reapply();
    return moved;
  }

  /** Virtual time on to `to` (as Cluster.advanceTo), stopping at each recorded action's position to apply it. */
  async advanceTo(to: number, wait = true): Promise<void> {
    const cluster = this.cluster;
    // A seek may replace the cluster meanwhile: this advance ends with the old one.
    while (cluster === this.cluster) {
      const next = this.ahead[0];
      await cluster.advanceTo(to, wait, next ? next.n : Infinity);
      if (!next || cluster.eventCount < next.n || cluster !== this.cluster) break;
      // Taken later than this stretch of time: it waits at its position for the next one.
      if (next.at > to) {
        cluster.advanceClock(to);
        break;
      }
      await this.reapply();
    }
  }

  /** The run as JSON-ready data: the current branch's record, with every branch when there is more than one. */
  exportRun(): RunRecord {
    this.sync();
    const run = { ...this.current.record };
    if (this.branches.length > 1) {
      run.branches = this.branches.map((b) => ({ label: b.label, parent: b.parent, forkAt: b.forkAt, ...(b === this.current ? {} : { run: b.record }) }));
      run.branch = this.current.id;
    }
    return run;
  }

  /** Takes the cluster's run into the current branch's record, if the cluster is extending it. */
  private sync(): void {
    if (!this.live) return;
    this.current.record = recordOf(this.cluster);
    this.current.times = this.cluster.eventTimes.snapshot();
  }

  private async reapply(): Promise<void> {
    if (this.ahead.length) {
      this.reapplying = true;
      try {
        await applyDue(this.cluster, this.ahead);
      } finally {
        this.reapplying = false;
      }
    }
    if (!this.live && !this.ahead.length && this.cluster.eventCount >= this.current.record.events) this.live = true;
  }

  private follow(cluster: Cluster): void {
    this.unfollow();
    this.cluster = cluster;
    this.unfollow = cluster.onAction((e) => this.acted(e));
  }

  /**
   * Adds a branch that is branch `parent`'s run up to event `forkAt`, as `record` holds it (a run kept
   * aside, e.g. a lesson step's start), sharing the parent's checkpoints up to there; returns its id.
   */
  addBranch(label: string, parent: number, forkAt: number, record: RunRecord, times: ListView<number>): number {
    const from = this.branches[parent];
    if (!from) throw new Error(`no branch ${parent}`);
    const id = this.branches.length;
    this.branches.push({ id, label, parent, forkAt, record, times, checkpoints: from.checkpoints.filter((c) => c.n <= forkAt) });
    return id;
  }

  /** An action on the cluster: behind the branch's end, one that is not the branch's own forks the run. */
  private acted(e: TraceEntry): void {
    if (this.reapplying || this.live) return;
    const forkAt = this.cluster.eventCount;
    // The branch's checkpoints up to the fork are the fork's too (each was taken before any action at its event).
    const checkpoints = this.current.checkpoints.filter((c) => c.n <= forkAt);
    this.cluster.checkpoints = checkpoints;
    const branch: Branch = { id: this.branches.length, label: forkLabel(e), parent: this.current.id, forkAt, record: recordOf(this.cluster), times: GrowingList.of(), checkpoints };
    this.branches.push(branch);
    this.current = branch;
    this.ahead = [];
    this.live = true;
  }
}
