// Where the cluster view draws every card: the producers on the left, the queue server (and the
// key-value store under it) in the middle, the workers on the right in columns, and the links between
// them. Pure: sizes in, boxes out, so the links and message dots know exactly where each card is.
// A room's many nodes (a class of 32 joiners × 4) would be tiles numbered 1 to 4 over and over: where
// cards come out tiny, the workers are drawn by machine instead, a block per joiner (its name above
// its nodes' tiles) with one link to the server.

/** How much a worker card shows: full cards carry their state and failure controls; compact and tiny ones leave them to the inspector. */
export type Density = 'full' | 'compact' | 'tiny';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A link: the node's end and the server's end; `mx` is where its messages start or end (a full card's middle). */
export interface Link {
  nx: number;
  ny: number;
  sx: number;
  sy: number;
  mx: number;
}

/** What the layout depends on: the view's size in px, the root font size, and which nodes exist. */
export interface ClusterShape {
  width: number;
  height: number;
  rem: number;
  producers: number[];
  workers: number[];
  hasStore: boolean;
  /** A matrix or sort producer's card also carries its verdict, run time and bucket sizes; a π producer with backup tasks their switch and cost. */
  producerWithCheck: boolean;
  /**
   * The workers by machine (a joiner's nodes; the page's own workers are one more), in the order of
   * `workers`: where tiny cards would be drawn, each machine is a block of them.
   */
  machines?: Machine[];
}

export interface Machine {
  key: string;
  nodes: number[];
}

export interface ClusterLayout {
  density: Density;
  producers: number[];
  workers: number[];
  boxes: Map<number, Box>;
  /** Each node's link (a machine's nodes share their machine's). */
  links: Map<number, Link>;
  /** The links to draw, each once. */
  lines: Link[];
  /** Each machine's block, by key, when the workers are drawn by machine (empty otherwise). */
  machineBoxes: Map<string, Box>;
  /** Each node's link to the key-value store, beside its link to the queue server. */
  storeLinks: Map<number, Link>;
  server: Box;
  store: Box | null;
  stageW: number;
  stageH: number;
  /** Where "No producer yet" goes (tall enough for its sentence in a narrowed column). */
  placeholder: Box;
}

// Sizes in rem, so the picture grows with the root font size on big screens.
const PAD = 0.6;
const LINK_GAP = 2.2;
const CARD_GAP = 0.45;
/** The producer's column; in a narrow view it gives up width (down to MIN_SIDE_W) before the workers leave the view. */
const SIDE_W = 16;
const MIN_SIDE_W = 11;
const PRODUCER_H = 10;
const PRODUCER_WITH_CHECK_H = 11.6;
/** The queue server's tubes and stats stay readable at this width; past it, the room goes to full worker cards. */
const MIN_SERVER_W = 20;
/** The key-value store's card, under the queue server (matrix runs). */
const STORE_H = 7.6;
const CARD: Record<Density, { w: number; h: number }> = {
  full: { w: 18, h: 5.1 },
  compact: { w: 9.5, h: 2.6 },
  tiny: { w: 2.6, h: 1.8 },
};
/**
 * A machine's block: its name's line above its tiles, which sit TILE_GAP apart inside a MACHINE_PAD
 * border. A tile carries its node's number in the machine (1 to 16), so it is smaller than a tiny card:
 * a class of 32 joiners × 4 nodes fits beside the server on a 1920×1080 screen.
 */
const MACHINE_HEADER = 1;
const MACHINE_PAD = 0.25;
const TILE = { w: 1.8, h: 1.2 };
const TILE_GAP = 0.2;
/** A machine's name needs this much width at least (about 6 characters). */
const MACHINE_MIN_W = 4.3;

/**
 * Tiles per row in a machine's block, for machines of up to `most` nodes: a square, or the row that
 * keeps the name's width.
 */
export function tilesPerRow(most: number): number {
  const square = Math.ceil(Math.sqrt(most));
  const forName = Math.floor((MACHINE_MIN_W - 2 * MACHINE_PAD + TILE_GAP) / (TILE.w + TILE_GAP));
  return Math.max(1, Math.min(most, Math.max(square, forName)));
}

export function clusterLayout({ width, height, rem: r, producers, workers, hasStore, producerWithCheck, machines }: ClusterShape): ClusterLayout {
  const pad = PAD * r;
  const gap = CARD_GAP * r;
  const beside = 2 * pad + 2 * LINK_GAP * r + MIN_SERVER_W * r;
  const sideW = Math.min(SIDE_W * r, Math.max(MIN_SIDE_W * r, width - beside - (workers.length > 4 ? CARD.tiny.w : CARD.compact.w) * r));
  const innerH = Math.max(0, height - 2 * pad);
  // Never wider than the view: where full cards do not fit beside the server, smaller ones do.
  const maxWorkersW = Math.max(CARD.tiny.w * r, width - beside - sideW);

  // The densest layout is chosen only when the roomier one does not fit.
  let density: Density = 'tiny';
  let rows = 1;
  let cols = 1;
  for (const d of ['full', 'compact', 'tiny'] as const) {
    const cw = CARD[d].w * r;
    const ch = CARD[d].h * r;
    const fitRows = Math.max(1, Math.floor((innerH + gap) / (ch + gap)));
    const needCols = Math.ceil(workers.length / fitRows);
    density = d;
    if (needCols * (cw + gap) - gap <= maxWorkersW || d === 'tiny') {
      rows = Math.min(fitRows, Math.max(1, workers.length));
      cols = Math.max(1, needCols);
      if (d === 'tiny' && needCols * (cw + gap) - gap > maxWorkersW) {
        // Even tiny cards overflow: as many columns as fit, and the stage scrolls.
        cols = Math.max(1, Math.floor((maxWorkersW + gap) / (cw + gap)));
        rows = Math.ceil(workers.length / cols);
      }
      break;
    }
  }
  const grouped = density === 'tiny' && !!machines && machines.length > 0 && machines.length < workers.length;
  const most = grouped ? Math.max(...machines.map((m) => m.nodes.length)) : 0;
  const perRow = tilesPerRow(most);
  const tile = { w: TILE.w * r, h: TILE.h * r };
  // A machine's block is the same size whatever its nodes: the blocks line up as the cards do.
  const item = grouped
    ? { w: 2 * MACHINE_PAD * r + perRow * (tile.w + TILE_GAP * r) - TILE_GAP * r, h: (MACHINE_HEADER + MACHINE_PAD) * r + Math.ceil(most / perRow) * (tile.h + TILE_GAP * r) - TILE_GAP * r }
    : { w: CARD[density].w * r, h: CARD[density].h * r };
  const items = grouped ? machines.length : workers.length;
  if (grouped) {
    const fitRows = Math.max(1, Math.floor((innerH + gap) / (item.h + gap)));
    cols = Math.max(1, Math.min(Math.ceil(items / fitRows), Math.floor((maxWorkersW + gap) / (item.w + gap))));
    rows = Math.ceil(items / cols);
  }
  const workersW = workers.length ? cols * (item.w + gap) - gap : 0;
  const blockH = rows * (item.h + gap) - gap;
  const ph = (producerWithCheck ? PRODUCER_WITH_CHECK_H : PRODUCER_H) * r;
  const stageH = Math.max(height, blockH + 2 * pad, producers.length * (ph + gap) + 2 * pad);
  const server: Box = { x: pad + sideW + LINK_GAP * r, y: pad, w: 0, h: stageH - 2 * pad };
  server.w = Math.max(MIN_SERVER_W * r, width - pad - (workers.length ? workersW + LINK_GAP * r : 0) - server.x);
  const stageW = server.x + server.w + (workers.length ? LINK_GAP * r + workersW : 0) + pad;
  const store: Box | null = hasStore ? { x: server.x, y: server.y + server.h - STORE_H * r, w: server.w, h: STORE_H * r } : null;
  if (store) server.h -= store.h + gap;
  const serverEnd = (y: number) => Math.min(Math.max(y, server.y + 1.5 * r), server.y + server.h - 1.5 * r);
  const storeEnd = (y: number) => (store ? Math.min(Math.max(y, store.y + 1.2 * r), store.y + store.h - 1.2 * r) : y);

  const boxes = new Map<number, Box>();
  const links = new Map<number, Link>();
  const storeLinks = new Map<number, Link>();
  const lines: Link[] = [];
  const machineBoxes = new Map<string, Box>();
  const y0 = pad + Math.max(0, (stageH - 2 * pad - blockH) / 2);
  /** The i-th card or block: column by column, so the first ones sit nearest the server. */
  const place = (i: number): Box => ({ x: server.x + server.w + LINK_GAP * r + Math.floor(i / rows) * (item.w + gap), y: y0 + (i % rows) * (item.h + gap), w: item.w, h: item.h });
  /** `box`'s links to the server and the store, for `ids`; messages stop at `mx`. */
  const link = (ids: number[], box: Box, mx: number) => {
    const l = { nx: box.x, ny: box.y + box.h / 2, sx: server.x + server.w, sy: serverEnd(box.y + box.h / 2), mx };
    lines.push(l);
    const sl = store ? { nx: box.x, ny: box.y + box.h / 2, sx: store.x + store.w, sy: storeEnd(box.y + box.h / 2), mx } : null;
    for (const id of ids) {
      links.set(id, l);
      if (sl) storeLinks.set(id, sl);
    }
  };
  if (grouped) {
    machines.forEach((m, i) => {
      const block = place(i);
      machineBoxes.set(m.key, block);
      m.nodes.forEach((id, k) => {
        const x = block.x + MACHINE_PAD * r + (k % perRow) * (tile.w + TILE_GAP * r);
        const y = block.y + MACHINE_HEADER * r + Math.floor(k / perRow) * (tile.h + TILE_GAP * r);
        boxes.set(id, { x, y, ...tile });
      });
      link(m.nodes, block, block.x);
    });
  } else {
    workers.forEach((id, i) => {
      const box = place(i);
      boxes.set(id, box);
      // Small cards would vanish under their dots: their messages stop at the card's edge.
      link([id], box, density === 'full' ? box.x + box.w / 2 : box.x);
    });
  }
  const py0 = pad + Math.max(0, (stageH - 2 * pad - producers.length * (ph + gap) + gap) / 2);
  producers.forEach((id, i) => {
    const box = { x: pad, y: py0 + i * (ph + gap), w: sideW, h: ph };
    boxes.set(id, box);
    const l = { nx: pad + sideW, ny: box.y + ph / 2, sx: server.x, sy: serverEnd(box.y + ph / 2), mx: pad + sideW / 2 };
    links.set(id, l);
    lines.push(l);
    if (store) storeLinks.set(id, { nx: pad + sideW, ny: box.y + ph / 2, sx: store.x, sy: storeEnd(box.y + ph / 2), mx: pad + sideW / 2 });
  });
  return { density, producers, workers, boxes, links, lines, machineBoxes, storeLinks, server, store, stageW, stageH, placeholder: { x: pad, y: stageH / 2 - 3.75 * r, w: sideW, h: 7.5 * r } };
}

/** Below 1600 px a lesson, the cluster and the inspector do not all fit, nor below 1000 px the cluster and the inspector. */
export function inspectorFits(windowWidth: number, lessonsOpen: boolean): boolean {
  return windowWidth >= 1600 || (!lessonsOpen && windowWidth >= 1000);
}
