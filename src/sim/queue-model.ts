// What the queue looks like, rebuilt from the engine's event stream alone: every job's state, owner and
// deadline, per-tube counts, and the completed-work history that charts and timelines draw.
// Pictures read this model, never the engine, so they cannot disagree with each other.
import type { EngineEvent, JobEvent } from '../engine/events.ts';
import type { JobState } from '../engine/types.ts';

export interface JobView {
  id: number;
  tube: string;
  state: JobState;
  pri: number;
  /** Reserved: TTR deadline; delayed: when it becomes ready (engine ms). */
  deadlineAt: number;
  ttr: number;
  bytes: number;
  /** Connection holding it (reserved), else null. */
  conn: number | null;
  /** When it entered its current state. */
  since: number;
}

export interface TubeView {
  name: string;
  paused: boolean;
  counts: Record<JobState, number>;
}

/** Which node's connection an engine connection is: the node, the node's own number for the connection, and the node's name. */
export interface ConnOwner {
  node: number;
  conn: number;
  name: string;
}

/** One reservation, from reserve to its end: the bars of the per-worker timeline. */
export interface Reservation {
  job: number;
  conn: number;
  /** The node connection that reserved it; none for one of the page's own (the console). */
  owner?: ConnOwner;
  tube: string;
  start: number;
  end: number | null;
  /** How it ended: deleted (done), released, buried, timed-out (TTR), returned (connection closed), or still running. */
  outcome: 'deleted' | 'released' | 'buried' | 'timed-out' | 'returned' | null;
}

const STATES: JobState[] = ['ready', 'delayed', 'reserved', 'buried'];
const emptyCounts = (): Record<JobState, number> => ({ ready: 0, delayed: 0, reserved: 0, buried: 0 });

export class QueueModel {
  readonly jobs = new Map<number, JobView>();
  readonly tubes = new Map<string, TubeView>();
  readonly reservations: Reservation[] = [];
  private readonly open = new Map<number, Reservation>();
  /** Engine instants at which jobs were deleted by their owner: "jobs done". */
  readonly completions: number[] = [];
  /** Bumped on every change, so views can cheaply tell whether to redraw. */
  version = 0;

  /** `ownerOf`: the node connection behind an engine connection (the cluster knows; none outside a cluster). */
  constructor(private readonly ownerOf: (conn: number) => ConnOwner | undefined = () => undefined) {}

  apply(e: EngineEvent): void {
    this.version++;
    if (e.kind === 'tube') {
      if (e.action === 'created') this.tubes.set(e.tube, { name: e.tube, paused: false, counts: emptyCounts() });
      else if (e.action === 'destroyed') this.tubes.delete(e.tube);
      else {
        const t = this.tubes.get(e.tube);
        if (t) t.paused = e.action === 'paused';
      }
      return;
    }
    if (e.kind === 'job') this.applyJob(e);
  }

  private tube(name: string): TubeView {
    let t = this.tubes.get(name);
    if (!t) {
      t = { name, paused: false, counts: emptyCounts() };
      this.tubes.set(name, t);
    }
    return t;
  }

  private applyJob(e: JobEvent): void {
    const old = this.jobs.get(e.id);
    if (old) this.tube(old.tube).counts[old.state]--;
    const running = this.open.get(e.id);
    if (running && e.action !== 'touched' && e.action !== 'reserved') {
      running.end = e.at;
      running.outcome =
        e.action === 'deleted' ? 'deleted' : e.action === 'timed-out' ? 'timed-out' : e.action === 'returned' ? 'returned' : e.action === 'buried' ? 'buried' : 'released';
      this.open.delete(e.id);
      if (e.action === 'deleted') this.completions.push(e.at);
    }
    if (e.state === 'deleted') {
      this.jobs.delete(e.id);
      return;
    }
    this.tube(e.tube).counts[e.state]++;
    this.jobs.set(e.id, {
      id: e.id,
      tube: e.tube,
      state: e.state,
      pri: e.pri,
      deadlineAt: e.deadlineAt,
      ttr: e.ttr,
      bytes: e.bytes,
      conn: e.state === 'reserved' ? e.conn : null,
      since: old && old.state === e.state ? old.since : e.at,
    });
    if (e.action === 'reserved' && e.conn !== null) {
      const r: Reservation = { job: e.id, conn: e.conn, tube: e.tube, start: e.at, end: null, outcome: null };
      const owner = this.ownerOf(e.conn);
      if (owner) r.owner = owner;
      this.reservations.push(r);
      this.open.set(e.id, r);
    }
  }

  /** Jobs of one tube in one state, in the order a student expects: ready by (pri, id); delayed and reserved by deadline; buried oldest first. At most `limit`. */
  list(tube: string, state: JobState, limit = 50): JobView[] {
    const out: JobView[] = [];
    for (const j of this.jobs.values()) if (j.tube === tube && j.state === state) out.push(j);
    if (state === 'ready') out.sort((a, b) => a.pri - b.pri || a.id - b.id);
    else if (state === 'buried') out.sort((a, b) => a.since - b.since || a.id - b.id);
    else out.sort((a, b) => a.deadlineAt - b.deadlineAt || a.id - b.id);
    return out.length > limit ? out.slice(0, limit) : out;
  }

  /**
   * After a checkpoint's state is put back frozen (shared with the checkpoint, see restoreData): takes
   * its own copies of what it still changes, the tubes' counts and the reservations still running.
   * Job views are replaced, never changed, and an ended reservation stays as it ended.
   */
  thaw(): void {
    for (const [name, t] of this.tubes) this.tubes.set(name, { ...t, counts: { ...t.counts } });
    const running = new Map([...this.open].map(([job, r]) => [r, job]));
    for (let i = this.reservations.length - 1; i >= 0 && running.size; i--) {
      const r = this.reservations[i];
      const job = running.get(r);
      if (job === undefined) continue;
      const copy = { ...r };
      this.reservations[i] = copy;
      this.open.set(job, copy);
      running.delete(r);
    }
  }

  totals(): Record<JobState, number> {
    const c = emptyCounts();
    for (const t of this.tubes.values()) for (const s of STATES) c[s] += t.counts[s];
    return c;
  }
}
