// Protocol messages travelling along the cluster view's links, drawn on one canvas. A canvas costs the
// page one small repaint per frame; the same dots as CSS-animated SVG elements cost a style recalculation
// and a repaint of the whole picture every frame, which with 64 busy workers took the frame rate below 50.
import { easeCubicInOut } from 'd3';

export interface Dot {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  colour: string;
  label: string | null;
  /** Travel time, ms. */
  ms: number;
  node: number;
  /** Held back (ms) behind the messages before it on the same link, so their labels never overlap. */
  delay: number;
  /** When it was sent (performance.now). */
  born: number;
}

/** Where a dot is at `now` and how opaque, or null while it waits for its turn or once it has arrived. */
export function dotAt(d: Dot, now: number): { x: number; y: number; opacity: number } | null {
  const t = (now - d.born - d.delay) / d.ms;
  if (t < 0 || t >= 1) return null;
  const e = easeCubicInOut(t);
  // Fades in over the first 8 % of the way and out over the last 15 %, so it seems to leave and enter the cards.
  const opacity = t < 0.08 ? t / 0.08 : t > 0.85 ? (1 - t) / 0.15 : 1;
  return { x: d.x0 + (d.x1 - d.x0) * e, y: d.y0 + (d.y1 - d.y0) * e, opacity };
}

/** A dot that has arrived: it can be forgotten. */
export function arrived(d: Dot, now: number): boolean {
  return now - d.born >= d.ms + d.delay;
}

export interface DotStyle {
  /** CSS pixels per rem, for the label's size. */
  rem: number;
  font: string;
  ink: string;
}

/** Draws the dots in flight on a canvas whose context is already scaled to CSS pixels. */
export function drawDots(ctx: CanvasRenderingContext2D, dots: readonly Dot[], now: number, style: DotStyle): void {
  ctx.lineJoin = 'round';
  ctx.textAlign = 'center';
  ctx.font = `700 ${0.75 * style.rem}px ${style.font}`;
  for (const d of dots) {
    const at = dotAt(d, now);
    if (!at) continue;
    ctx.globalAlpha = at.opacity;
    ctx.beginPath();
    ctx.arc(at.x, at.y, d.label ? 6 : 5, 0, 2 * Math.PI);
    ctx.fillStyle = d.colour;
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#fff';
    ctx.stroke();
    if (d.label) {
      // White halo under the text, so the label reads over links and cards.
      ctx.lineWidth = 4;
      ctx.strokeText(d.label, at.x, at.y - 10);
      ctx.fillStyle = style.ink;
      ctx.fillText(d.label, at.x, at.y - 10);
    }
  }
  ctx.globalAlpha = 1;
}
