// Where the cluster view puts its cards, at the sizes the cluster view really has (measured in Chromium
// at an 800 px window, a 1280×720 monitor and a 1920×1080 screen, with the lesson pane and the inspector
// as they are there).
import { describe, expect, test } from 'vitest';
import { clusterLayout, inspectorFits, tilesPerRow, type Box, type ClusterShape, type Machine } from '../../src/ui/cluster-layout.ts';

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

function shape(width: number, height: number, rem: number, workers: number, over: Partial<ClusterShape> = {}): ClusterShape {
  return { width, height, rem, producers: [0], workers: ids(workers), hasStore: false, producerWithCheck: false, ...over };
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('clusterLayout: the roomiest worker cards that fit', () => {
  test.each([
    // view, stage width × height (px), rem (px), workers, density, whether the stage fits the view's width
    ['1280×720, lesson pane folded, inspector', 988, 377, 15, 4, 'full', true],
    ['1280×720, a lesson open (no inspector)', 1011, 377, 15, 4, 'full', true],
    ['1280×720, 12 workers', 988, 377, 15, 12, 'compact', true],
    ['1280×720, 64 workers', 988, 377, 15, 64, 'tiny', true],
    // Issue 13: at 1920 the cards shrank to tiles ("connecti…") and lost Kill and Hang, with room to spare in the server.
    ['1920×1080, lesson pane and inspector', 1134, 633, 18, 4, 'full', true],
    ['1920×1080, 8 workers', 1134, 633, 18, 8, 'compact', true],
    ['800×600, lesson pane folded (no inspector)', 766, 245, 14, 4, 'compact', true],
    // The producer's card narrows before the workers leave the view.
    ['800×600, a lesson open', 562, 245, 14, 4, 'tiny', true],
    ['800×600, a lesson open and the inspector: even tiny cards do not fit, the stage scrolls', 338, 245, 14, 4, 'tiny', false],
  ] as const)('%s: %i×%i px, rem %i, %i workers → %s', (_view, width, height, rem, workers, density, fits) => {
    const l = clusterLayout(shape(width, height, rem, workers));
    expect(l.density).toBe(density);
    expect(l.stageW <= width + 0.5).toBe(fits);
  });

  test.each([
    ['1280×720', 988, 377, 15, 4],
    ['1920×1080, lesson pane and inspector', 1134, 633, 18, 4],
    ['1920×1080, 8 workers', 1134, 633, 18, 8],
    ['64 workers', 988, 377, 15, 64],
    ['a matrix run with its store', 988, 377, 15, 6],
  ] as const)('%s: cards inside the stage, none over another or over the server; links from each card to the server', (view, width, height, rem, workers) => {
    const l = clusterLayout(shape(width, height, rem, workers, view.startsWith('a matrix') ? { hasStore: true, producerWithCheck: true } : {}));
    const cards = [...l.boxes.entries()];
    expect(cards).toHaveLength(workers + 1);
    for (const [id, b] of cards) {
      expect(b.x >= 0 && b.y >= 0 && b.x + b.w <= l.stageW + 0.5 && b.y + b.h <= l.stageH + 0.5, `card ${id} inside the stage`).toBe(true);
      expect(overlap(b, l.server), `card ${id} beside the server`).toBe(false);
      for (const [other, o] of cards) if (other !== id) expect(overlap(b, o), `cards ${id} and ${other}`).toBe(false);
      const link = l.links.get(id)!;
      expect([link.nx, link.ny]).toEqual(id === 0 ? [b.x + b.w, b.y + b.h / 2] : [b.x, b.y + b.h / 2]);
      expect(link.sx).toBe(id === 0 ? l.server.x : l.server.x + l.server.w);
    }
    if (l.store) {
      expect(overlap(l.store, l.server)).toBe(false);
      expect(l.storeLinks.size).toBe(workers + 1);
    }
  });

  test('no producer: the placeholder sits where its card would, in the middle of the height', () => {
    const l = clusterLayout(shape(988, 377, 15, 0, { producers: [] }));
    expect(l.placeholder.x).toBe(l.server.x - 2.2 * 15 - 16 * 15);
    expect(l.placeholder.y + l.placeholder.h / 2).toBeCloseTo(377 / 2);
    expect(l.stageW).toBeLessThanOrEqual(988);
  });
});

/** A room of `joiners` machines of `nodes` nodes each, ids in joining order, after `local` of the page's own workers. */
function room(joiners: number, nodes: number, local = 0): { workers: number[]; machines: Machine[] } {
  const machines: Machine[] = local ? [{ key: '', nodes: ids(local) }] : [];
  for (let j = 0; j < joiners; j++) machines.push({ key: `peer${j}`, nodes: ids(nodes, 1 + local + j * nodes) });
  return { workers: machines.flatMap((m) => m.nodes), machines };
}

const inside = (b: Box, o: Box) => b.x >= o.x - 0.01 && b.y >= o.y - 0.01 && b.x + b.w <= o.x + o.w + 0.01 && b.y + b.h <= o.y + o.h + 0.01;

describe('clusterLayout: a class-sized room is drawn by machine', () => {
  test('32 joiners × 4 nodes at 1280×720: a block per joiner holding its 4 tiles, no block over another or the server, one link per block', () => {
    const r = room(32, 4);
    const l = clusterLayout(shape(988, 377, 15, 0, r));
    expect(l.density).toBe('tiny');
    expect(l.machineBoxes.size).toBe(32);
    const blocks = [...l.machineBoxes.values()];
    for (const [i, m] of r.machines.entries()) {
      const block = l.machineBoxes.get(m.key)!;
      expect(overlap(block, l.server)).toBe(false);
      for (const [j, other] of blocks.entries()) if (j !== i) expect(overlap(block, other), `blocks ${i} and ${j}`).toBe(false);
      for (const id of m.nodes) {
        expect(inside(l.boxes.get(id)!, block), `node ${id} inside its block`).toBe(true);
        // Its messages travel its machine's link, which ends at the block's edge.
        expect(l.links.get(id)).toMatchObject({ nx: block.x, mx: block.x, ny: block.y + block.h / 2 });
      }
      for (const [a, b] of [[0, 1], [0, 2], [1, 3], [2, 3]]) expect(overlap(l.boxes.get(m.nodes[a])!, l.boxes.get(m.nodes[b])!)).toBe(false);
    }
    // The producer's link and one per machine, not one per node.
    expect(l.lines).toHaveLength(1 + 32);
    // Blocks fill the height before the next column; the stage scrolls down rather than past the view's width.
    expect(l.stageW).toBeLessThanOrEqual(988 + 0.5);
    expect(new Set(blocks.map((b) => b.x)).size).toBeGreaterThan(1);
  });

  test('at 1920×1080 the whole class fits the view', () => {
    const l = clusterLayout(shape(1134, 633, 18, 0, room(32, 4)));
    expect(l.machineBoxes.size).toBe(32);
    expect(l.stageW).toBeLessThanOrEqual(1134 + 0.5);
    expect(l.stageH).toBeLessThanOrEqual(633 + 0.5);
  });

  test("the page's own workers are a machine too", () => {
    const l = clusterLayout(shape(988, 377, 15, 0, room(20, 4, 2)));
    expect(l.machineBoxes.size).toBe(21);
    for (const id of [1, 2]) expect(inside(l.boxes.get(id)!, l.machineBoxes.get('')!)).toBe(true);
  });

  test('cards that are not tiny stay cards, one per node, whatever their machines', () => {
    const l = clusterLayout(shape(988, 377, 15, 0, room(4, 3)));
    expect(l.density).toBe('compact');
    expect(l.machineBoxes.size).toBe(0);
    expect(l.lines).toHaveLength(1 + 12);
  });

  test('one node per machine: nothing to group, tiny cards as before', () => {
    const l = clusterLayout(shape(988, 377, 15, 0, room(64, 1)));
    expect(l.density).toBe('tiny');
    expect(l.machineBoxes.size).toBe(0);
  });

  test.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 2],
    [5, 3],
    [16, 4],
  ])('a machine of %i nodes: %i tiles a row', (most, perRow) => {
    expect(tilesPerRow(most)).toBe(perRow);
  });
});

describe('inspectorFits: the inspector takes its column only where the cluster keeps room', () => {
  test.each([
    [800, false, false],
    [800, true, false],
    [1000, false, true],
    [1280, false, true],
    [1280, true, false],
    [1600, true, true],
    [1920, true, true],
  ])('%i px wide, lesson pane open: %s → %s', (width, lessonsOpen, fits) => {
    expect(inspectorFits(width, lessonsOpen)).toBe(fits);
  });
});
