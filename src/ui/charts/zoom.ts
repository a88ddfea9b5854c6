// The timeline's visible window of the run, as plain data: zoom around a point, pan, fit, and where the
// run ends. Times in cluster ms. A window of null means "fit": the whole run, following its end while
// it goes on.

export interface TimeWindow {
  t0: number;
  t1: number;
}

/** The narrowest window (ms): a few protocol events of one job still spread over the axis. */
export const MIN_SPAN_MS = 1;
/** The shortest run shown whole, so a run that has just started is not one bar across the axis. */
const MIN_RUN_MS = 100;

/**
 * When the run ended, or null while it goes on: once every expected job is done and no reservation is
 * still running, it is the latest of the last completion, the last reservation's end and the last
 * action. The clock runs on after that, but the run has nothing more to show. `done` ascending.
 */
export function runEnd(done: readonly number[], expected: number, bars: Iterable<{ end: number | null }>, actions: readonly number[]): number | null {
  if (expected <= 0 || done.length < expected) return null;
  let end = done[done.length - 1];
  for (const b of bars) {
    if (b.end === null) return null;
    end = Math.max(end, b.end);
  }
  for (const at of actions) end = Math.max(end, at);
  return end;
}

/** The span of the run the window may show: [0, its end] once it has ended, else [0, now]. */
export function runSpan(now: number, end: number | null): number {
  return Math.max(MIN_RUN_MS, end ?? now);
}

/** `w` kept inside [0, span] and at least MIN_SPAN_MS wide; null (fit) if it would cover the whole run. */
export function clampWindow(w: TimeWindow, span: number): TimeWindow | null {
  const width = Math.max(MIN_SPAN_MS, w.t1 - w.t0);
  if (width >= span) return null;
  const t0 = Math.min(Math.max(0, w.t0), span - width);
  return { t0, t1: t0 + width };
}

/**
 * Zooms the window shown, `w`, by `factor` (< 1 in, > 1 out), keeping the instant `anchor` where it is
 * on the axis: the wheel zooms around the pointer, the buttons around the centre.
 */
export function zoomAround(w: TimeWindow, factor: number, anchor: number, span: number): TimeWindow | null {
  const { t0, t1 } = w;
  const width = Math.min(span, Math.max(MIN_SPAN_MS, (t1 - t0) * factor));
  const at = Math.min(t1, Math.max(t0, anchor));
  // The anchor's share of the window stays the same, so it stays under the pointer.
  const share = t1 > t0 ? (at - t0) / (t1 - t0) : 0.5;
  return clampWindow({ t0: at - share * width, t1: at - share * width + width }, span);
}

/** The student's zoom: the window, and whether it reached the run's end when it was set. */
export interface Zoom {
  window: TimeWindow;
  atEnd: boolean;
}

/** A zoom of `w` on a run of `span`, null for the whole run. */
export function zoomTo(w: TimeWindow | null, span: number): Zoom | null {
  // Within rounding: a window clamped to the end ends at span - width + width.
  return w ? { window: w, atEnd: w.t1 >= span - 1e-9 * span } : null;
}

/**
 * The window a zoom shows now. One that reached the run's end while the run went on slides along with
 * the end (the newest events stay in view at the same scale); any other stays where the student put it.
 */
export function zoomWindow(z: Zoom, span: number): TimeWindow | null {
  if (!z.atEnd) return clampWindow(z.window, span);
  const width = z.window.t1 - z.window.t0;
  return clampWindow({ t0: span - width, t1: span }, span);
}

/** Moves a zoomed window by `deltaMs` (positive: later), stopping at the run's start and end. */
export function panBy(w: TimeWindow | null, deltaMs: number, span: number): TimeWindow | null {
  if (!w) return null;
  return clampWindow({ t0: w.t0 + deltaMs, t1: w.t1 + deltaMs }, span);
}

/** The factor one wheel notch (deltaY of 100 px) zooms by; a trackpad's small deltas zoom smoothly. */
export function wheelFactor(deltaY: number, deltaMode: number): number {
  // deltaMode 1 counts lines, 2 pages: about 33 and 800 px each.
  const px = deltaY * (deltaMode === 1 ? 33 : deltaMode === 2 ? 800 : 1);
  return Math.exp(Math.max(-1, Math.min(1, px / 100)) * Math.log(1.5));
}

/** Whether a bar [start, end ?? now] shows in the window, so bars far outside it cost nothing to draw. */
export function inWindow(b: { start: number; end: number | null }, now: number, w: TimeWindow): boolean {
  return b.start <= w.t1 && (b.end ?? now) >= w.t0;
}
