// The timeline as a seek bar, as plain data: where a pointer on the plot is in the run, how far the Page
// keys move, and the seeks a drag asks for, coalesced so a fast drag never queues up replays.
import { positionAt } from '../../sim/branches.ts';
import type { TimeWindow } from './zoom.ts';
import type { ListView } from '../../sim/growing-list.ts';

/** The fewest events a Page key moves, so a short or zoomed-in view still moves visibly. */
export const MIN_PAGE_STRIDE = 10;

/** The instant (ms) under a pointer `px` pixels from the plot's left edge, kept on the axis shown. */
export function instantAt(px: number, width: number, shown: TimeWindow): number {
  const share = width > 0 ? Math.min(1, Math.max(0, px / width)) : 0;
  return shown.t0 + share * (shown.t1 - shown.t0);
}

/** The events of a run (clock times in order) that fall in the window shown. */
export function eventsIn(times: ListView<number>, shown: TimeWindow): number {
  return positionAt(times, shown.t1) - positionAt(times, shown.t0);
}

/** How many events PageDown / PageUp move: a tenth of the events shown, at least MIN_PAGE_STRIDE. */
export function pageStride(eventsShown: number): number {
  return Math.max(MIN_PAGE_STRIDE, Math.round(eventsShown / 10));
}

export type ScrubKey = 'PageDown' | 'PageUp' | 'Home' | 'End';
const SCRUB_KEYS: readonly string[] = ['PageDown', 'PageUp', 'Home', 'End'] satisfies ScrubKey[];
export const isScrubKey = (key: string): key is ScrubKey => SCRUB_KEYS.includes(key);

/**
 * The event a key seeks to from `position` on a branch of `end` events, or null when it would not move:
 * PageDown / PageUp a stride later or earlier (stopping at the run's start and end), Home the start, End the end.
 */
export function scrubTarget(key: ScrubKey, position: number, end: number, stride: number): number | null {
  const to = key === 'Home' ? 0 : key === 'End' ? end : key === 'PageDown' ? Math.min(end, position + stride) : Math.max(0, position - stride);
  return to === position ? null : to;
}

/**
 * Seeks asked for faster than they replay (a drag, a held key): one runs at a time, and of those asked
 * meanwhile only the latest waits, so the view follows the pointer without a backlog of replays.
 */
export class SeekCoalescer {
  private waiting: number | null = null;
  private running: Promise<void> | null = null;
  private target: number | null = null;

  /** `seek` moves the run to an event; `at` is the event the run is at. */
  constructor(
    private readonly seek: (n: number) => Promise<void>,
    private readonly at: () => number,
  ) {}

  /** Where the run is headed: the last event asked for while seeks are under way, else where it is. */
  get heading(): number {
    return this.target ?? this.at();
  }

  /** Asks for event `n`; resolves once the run has caught up with the latest request. */
  request(n: number): Promise<void> {
    this.target = n;
    this.waiting = n;
    // Cleared a microtask after the drain ends, even one that had nothing to replay and ended at once.
    this.running ??= this.drain().finally(() => {
      this.running = null;
      this.target = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.waiting !== null) {
      const n = this.waiting;
      this.waiting = null;
      if (n !== this.at()) await this.seek(n);
    }
  }
}
