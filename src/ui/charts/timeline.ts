// The data behind the per-worker timeline: every reservation as a bar on its worker's row, and the
// student's actions as markers. Kept incrementally (each update looks only at what is new or still
// running), so a run with thousands of reservations costs little per frame.
//
// Each reservation says which node's connection made it, and each action in the trace is data: nothing
// here reads names or labels back.
import type { ClusterAction, TraceEntry } from '../../sim/run-record.ts';
import { faultMarker, isFault, type MarkerKind } from '../../sim/faults.ts';
import type { Reservation } from '../../sim/queue-model.ts';
import type { ListView } from '../../sim/growing-list.ts';

export type Outcome = 'done' | 'timed-out' | 'returned' | 'released' | 'buried' | 'crashed' | 'running';

export const OUTCOME_LABELS: Record<Outcome, string> = {
  done: 'done (deleted)',
  'timed-out': 'TTR expired',
  returned: 'returned by close',
  released: 'released',
  buried: 'buried',
  crashed: 'lost in server crash',
  running: 'running',
};

/** One reservation on its worker's row; times in cluster ms, `end` null while it runs. */
export interface Bar {
  node: number;
  job: number;
  start: number;
  end: number | null;
  outcome: Outcome;
}

export type { MarkerKind };

/** A student's action on the time axis; `node` is the affected node, null for the queue server. */
export interface Marker {
  at: number;
  kind: MarkerKind;
  node: number | null;
  text: string;
}

export interface TimelineRow {
  node: number;
  name: string;
  bars: Bar[];
}

/** What the timeline reads of a cluster (a Cluster fits). */
export interface TimelineSource {
  readonly trace: ListView<TraceEntry>;
  readonly model: { readonly reservations: readonly Reservation[] };
  readonly nodes: ReadonlyMap<number, { readonly id: number; readonly name: string; readonly role: string }>;
  readonly startedAt: number;
}


const OUTCOMES: Record<NonNullable<Reservation['outcome']>, Outcome> = {
  deleted: 'done',
  'timed-out': 'timed-out',
  returned: 'returned',
  released: 'released',
  buried: 'buried',
};

export class TimelineHistory {
  readonly markers: Marker[] = [];
  private readonly rows = new Map<number, TimelineRow>();
  private readonly nodeInfo = new Map<number, { name: string; role: string }>();
  private traceSeen = 0;
  /** Whether the run has started (any message or timer): nodes added before that are the setup. */
  private started = false;
  /** Server incarnation the trace has reached (one more per restart), and when each one crashed. */
  private incarnation = 0;
  private readonly crashedAt: number[] = [];
  private model: TimelineSource['model'] | null = null;
  private modelIncarnation = 0;
  private reservationsSeen = 0;
  /** Bars of reservations still running, with the reservation to watch for its end. */
  private open: { r: Reservation; bar: Bar }[] = [];

  constructor(private readonly startedAt: number) {}

  update(src: TimelineSource): void {
    for (const n of src.nodes.values()) this.nodeInfo.set(n.id, { name: n.name, role: n.role });
    this.readTrace(src.trace);
    if (src.model !== this.model) {
      // A restarted server has a fresh model: first take what the old one recorded since the last look.
      if (this.model) this.readReservations(this.model.reservations);
      this.model = src.model;
      this.modelIncarnation = this.incarnation;
      this.reservationsSeen = 0;
      this.open = [];
    }
    this.readReservations(src.model.reservations);
    for (const n of this.nodeInfo.keys()) if (this.isWorker(n)) this.row(n);
  }

  /** Worker rows in the order the nodes were added. */
  workerRows(): TimelineRow[] {
    const rows: TimelineRow[] = [];
    for (const [id, row] of this.rows) {
      const info = this.nodeInfo.get(id);
      if (info) row.name = info.name;
      if (this.isWorker(id)) rows.push(row);
    }
    return rows.sort((a, b) => a.node - b.node);
  }

  private isWorker(node: number): boolean {
    return this.nodeInfo.get(node)?.role === 'worker';
  }

  private row(node: number): TimelineRow {
    let r = this.rows.get(node);
    if (!r) {
      r = { node, name: this.nodeInfo.get(node)?.name ?? `node ${node}`, bars: [] };
      this.rows.set(node, r);
    }
    return r;
  }

  private readTrace(trace: ListView<TraceEntry>): void {
    for (; this.traceSeen < trace.length; this.traceSeen++) {
      const e = trace.get(this.traceSeen)!;
      if (e.kind !== 'action') this.started = true;
      else if (e.action) this.readAction(e, e.action);
    }
  }

  private readAction(e: TraceEntry, a: ClusterAction): void {
    // Adding the starting nodes is setup, not something that happened during the run.
    const kind = a.op === 'add-node' ? (this.started ? 'add' : null) : isFault(a) ? faultMarker(a) : null;
    if (kind === 'crash') {
      this.crashedAt[this.incarnation] = e.at;
      for (const { bar } of this.open) {
        bar.end = e.at;
        bar.outcome = 'crashed';
      }
      this.open = [];
    } else if (kind === 'server-restart') {
      this.incarnation++;
    }
    if (kind) this.markers.push({ at: e.at, kind, node: e.node ?? null, text: e.text });
  }

  private readReservations(reservations: readonly Reservation[]): void {
    const crashedAt = this.crashedAt[this.modelIncarnation];
    this.open = this.open.filter(({ r, bar }) => {
      if (r.end === null) return true;
      bar.end = r.end - this.startedAt;
      bar.outcome = r.outcome ? OUTCOMES[r.outcome] : 'returned';
      return false;
    });
    for (; this.reservationsSeen < reservations.length; this.reservationsSeen++) {
      const r = reservations[this.reservationsSeen];
      // None for a connection that is not a node's (the student's console).
      const node = r.owner?.node;
      if (node === undefined) continue;
      const bar: Bar = { node, job: r.job, start: r.start - this.startedAt, end: null, outcome: 'running' };
      if (r.end !== null) {
        bar.end = r.end - this.startedAt;
        bar.outcome = r.outcome ? OUTCOMES[r.outcome] : 'returned';
      } else if (crashedAt !== undefined) {
        // Seen only after the crash (the timeline looked late): it ended with the server.
        bar.end = crashedAt;
        bar.outcome = 'crashed';
      } else {
        this.open.push({ r, bar });
      }
      this.row(node).bars.push(bar);
    }
  }
}

/** A drawn rectangle: one bar, or a run of neighbouring bars with one outcome too close to tell apart. */
export interface Rect {
  x0: number;
  x1: number;
  outcome: Outcome;
  count: number;
  first: Bar;
  last: Bar;
}

/**
 * Pixel rectangles for one row's bars (sorted by start). Bars of the same outcome closer than `mergePx`
 * merge, so a row draws at most a few rectangles per pixel of width however many jobs it ran. A bar
 * that did not end in the usual way (a failure among many successes) never merges with a different
 * outcome and is at least `notablePx` wide, so it stays visible at any zoom.
 */
export function layoutBars(bars: readonly Bar[], now: number, x: (ms: number) => number, mergePx = 1, minPx = 1.5, notablePx = 4): Rect[] {
  const out: Rect[] = [];
  for (const b of bars) {
    const x0 = x(b.start);
    const x1 = Math.max(x(b.end ?? now), x0 + (b.outcome === 'done' || b.outcome === 'running' ? minPx : notablePx));
    const prev = out[out.length - 1];
    if (prev && prev.outcome === b.outcome && x0 - prev.x1 < mergePx) {
      prev.x1 = Math.max(prev.x1, x1);
      prev.count++;
      prev.last = b;
    } else {
      out.push({ x0, x1, outcome: b.outcome, count: 1, first: b, last: b });
    }
  }
  return out;
}

/**
 * What identifies a rect on screen: its first reservation (its job and when it started, unique in a
 * row), not the Bar object. After a seek the restored cluster's timeline reads the same reservations
 * into new Bars, and the page keeps the rects it has instead of drawing them all again.
 */
export const rectKey = (r: Rect) => `${r.first.start}:${r.first.job}`;

export interface BandLabel {
  x: number;
  text: string;
}

/**
 * Labels above the plot for actions that have no row (the queue server, the producer): actions closer
 * than the previous label's width share one label, so simultaneous ones (a server restart and the
 * producer's restart) do not print over each other.
 */
export function bandLabels(items: readonly { x: number; text: string }[], charPx = 7, gapPx = 8): BandLabel[] {
  const out: BandLabel[] = [];
  for (const it of [...items].sort((a, b) => a.x - b.x)) {
    const prev = out[out.length - 1];
    if (prev && it.x < prev.x + prev.text.length * charPx + gapPx) prev.text += ` · ${it.text}`;
    else out.push({ x: it.x, text: it.text });
  }
  return out;
}

/** How each row's reservations ended, for the text alternative. */
export function outcomeCounts(bars: readonly Bar[]): Partial<Record<Outcome, number>> {
  const c: Partial<Record<Outcome, number>> = {};
  for (const b of bars) c[b.outcome] = (c[b.outcome] ?? 0) + 1;
  return c;
}

const histories = new WeakMap<object, TimelineHistory>();

/** The timeline history of a cluster, kept as long as the cluster lives (across remounts of the view). */
export function historyOf(cluster: TimelineSource): TimelineHistory {
  let h = histories.get(cluster);
  if (!h) {
    h = new TimelineHistory(cluster.startedAt);
    histories.set(cluster, h);
  }
  return h;
}
