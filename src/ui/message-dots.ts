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
  /** The link it travels (a node's link to the queue server or to the store): one label per link at a time. */
  lane: string;
  /** Held back (ms) behind the messages before it on the same link, so they leave one after another. */
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

/**
 * At most `max` dots, oldest unlabelled ones dropped first: in a dense slow-motion run a labelled dot
 * waiting for its turn on its link is the one worth keeping. Order is kept.
 */
export function capDots(dots: readonly Dot[], max: number): Dot[] {
  let drop = dots.length - max;
  if (drop <= 0) return [...dots];
  const kept = dots.filter((d) => d.label !== null || drop-- <= 0);
  return kept.slice(-max);
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A label to place: its dot's position, the label's size, its link and when its message was sent. */
export interface LabelRequest {
  x: number;
  y: number;
  w: number;
  h: number;
  lane: string;
  born: number;
}

/** Room kept between a label and anything else, px. */
const LABEL_MARGIN = 2;
/** Distance from the dot's centre to its label, px. */
const LABEL_OFFSET = 9;
/** Rows tried above and below the dot when the nearer places are taken. */
const LABEL_ROWS = 3;

const overlap = (a: Rect, b: Rect) =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) + LABEL_MARGIN) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) + LABEL_MARGIN);

/** Where a label may go around its dot, nearest first: above, below, right, left, beside those, then rows further up and down. */
function labelPlaces(r: LabelRequest): Rect[] {
  const { x, y, w, h } = r;
  const above = y - LABEL_OFFSET - h;
  const below = y + LABEL_OFFSET;
  const places: Rect[] = [
    { x: x - w / 2, y: above, w, h },
    { x: x - w / 2, y: below, w, h },
    { x: x + LABEL_OFFSET, y: y - h / 2, w, h },
    { x: x - LABEL_OFFSET - w, y: y - h / 2, w, h },
    { x: x, y: above, w, h },
    { x: x - w, y: above, w, h },
    { x: x, y: below, w, h },
    { x: x - w, y: below, w, h },
  ];
  for (let k = 1; k <= LABEL_ROWS; k++) {
    places.push({ x: x - w / 2, y: above - k * (h + LABEL_MARGIN), w, h });
    places.push({ x: x - w / 2, y: below + k * (h + LABEL_MARGIN), w, h });
  }
  return places;
}

function enclosing(rects: readonly Rect[]): Rect {
  const x = Math.min(...rects.map((r) => r.x));
  const y = Math.min(...rects.map((r) => r.y));
  return { x, y, w: Math.max(...rects.map((r) => r.x + r.w)) - x, h: Math.max(...rects.map((r) => r.y + r.h)) - y };
}

/** What labels must keep clear of and inside: the cards, the text on them (and their buttons and fields), the picture. */
export interface LabelGround {
  /** Labels prefer places off the cards. */
  cards: readonly Rect[];
  /** Never covered. */
  text: readonly Rect[];
  bounds: Rect;
}

/**
 * Where each message label goes, or null for one not shown now. Labels never overlap one another nor the
 * cards' text, and stay inside the picture: a link shows only its newest message's label, newer labels
 * choose first, each takes the place around its dot that covers the least of the cards, nearest first on
 * a tie, and a label with no free place is not shown (its dot moves on and may find one).
 */
export function placeLabels(requests: readonly LabelRequest[], ground: LabelGround): (Rect | null)[] {
  const { cards, text, bounds } = ground;
  const inside = (r: Rect) => r.x >= bounds.x && r.y >= bounds.y && r.x + r.w <= bounds.x + bounds.w && r.y + r.h <= bounds.y + bounds.h;
  const newest = new Map<string, number>();
  requests.forEach((r, i) => {
    const best = newest.get(r.lane);
    if (best === undefined || r.born >= requests[best].born) newest.set(r.lane, i);
  });
  const order = [...newest.values()].sort((a, b) => requests[b].born - requests[a].born || b - a);
  const placed: (Rect | null)[] = requests.map(() => null);
  const taken: Rect[] = [];
  for (const i of order) {
    const places = labelPlaces(requests[i]);
    // Only the text within reach of this label's places can be in its way.
    const reach = enclosing(places);
    const near = [...taken, ...text.filter((t) => overlap(reach, t) > 0)];
    let best: Rect | null = null;
    let bestCover = Infinity;
    for (const place of places) {
      if (!inside(place) || near.some((t) => overlap(place, t) > 0)) continue;
      const cover = cards.reduce((sum, c) => sum + overlap(place, c), 0);
      if (cover < bestCover) {
        best = place;
        bestCover = cover;
      }
    }
    if (best) {
      placed[i] = best;
      taken.push(best);
    }
  }
  return placed;
}

/** The boxes of the text, fields and menus drawn under `canvas`, in its CSS pixels: what labels keep off. */
export function textBoxes(canvas: HTMLCanvasElement): Rect[] {
  const root = canvas.parentElement;
  if (!root) return [];
  const origin = canvas.getBoundingClientRect();
  const boxes: Rect[] = [];
  const add = (r: DOMRect) => {
    if (r.width > 0 && r.height > 0) boxes.push({ x: r.left - origin.left, y: r.top - origin.top, w: r.width, h: r.height });
  };
  const range = document.createRange();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent?.trim()) continue;
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) add(r);
  }
  for (const field of root.querySelectorAll('input, select')) add(field.getBoundingClientRect());
  return boxes;
}

export interface DotStyle {
  /** CSS pixels per rem, for the label's size. */
  rem: number;
  font: string;
  ink: string;
}

/** Draws the dots in flight on a canvas whose context is already scaled to CSS pixels, their labels placed by `placeLabels`. */
export function drawDots(ctx: CanvasRenderingContext2D, dots: readonly Dot[], now: number, style: DotStyle, ground: LabelGround): void {
  ctx.lineJoin = 'round';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  const fontPx = 0.75 * style.rem;
  ctx.font = `700 ${fontPx}px ${style.font}`;
  const shown: { d: Dot; x: number; y: number; opacity: number }[] = [];
  for (const d of dots) {
    const at = dotAt(d, now);
    if (!at) continue;
    shown.push({ d, ...at });
    ctx.globalAlpha = at.opacity;
    ctx.beginPath();
    ctx.arc(at.x, at.y, d.label ? 6 : 5, 0, 2 * Math.PI);
    ctx.fillStyle = d.colour;
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#fff';
    ctx.stroke();
  }
  const labelled = shown.filter((s) => s.d.label);
  const pad = 3;
  const places = placeLabels(
    labelled.map((s) => ({ x: s.x, y: s.y, w: ctx.measureText(s.d.label!).width + 2 * pad, h: fontPx + 2 * pad, lane: s.d.lane, born: s.d.born + s.d.delay })),
    ground,
  );
  labelled.forEach((s, i) => {
    const place = places[i];
    if (!place) return;
    // An opaque tag edged in the message's colour: whatever it lies over, its text reads on its own.
    ctx.globalAlpha = s.opacity;
    ctx.fillStyle = '#fff';
    ctx.strokeStyle = s.d.colour;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.roundRect(place.x, place.y, place.w, place.h, 3);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = style.ink;
    ctx.fillText(s.d.label!, place.x + pad, place.y + place.h / 2);
  });
  ctx.globalAlpha = 1;
}
