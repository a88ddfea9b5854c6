// The pure parts of the main screen: what the tube views draw from a queue of any size, the numbers
// the cards show, and what a node card says it is doing.
import { describe, expect, test } from 'vitest';
import { lab } from './helpers.ts';
import { QueueModel } from '../../src/sim/queue-model.ts';
import type { NodeView } from '../../src/sim/cluster.ts';
import type { TraceEntry } from '../../src/sim/run-record.ts';
import { JOB_STATES, snapshotQueue } from '../../src/ui/queue-snapshot.ts';
import { countUpTo, fmtClock, fmtCount, parseStats, shortOwner, throughput } from '../../src/ui/format.ts';
import { nodeState, piText } from '../../src/ui/node-state.ts';
import { messageColour, STATE_COLOURS } from '../../src/ui/theme.ts';
import { arrived, capDots, dotAt, placeLabels, type Dot, type LabelRequest, type Rect } from '../../src/ui/message-dots.ts';

describe('queue snapshot', () => {
  test('each lane holds the first jobs in the same order as QueueModel.list, and the full count', async () => {
    const l = lab();
    const model = new QueueModel();
    l.engine.subscribe((e) => model.apply(e));
    const c = l.connect();
    await c.send('use work');
    await c.send('watch work');
    for (let i = 0; i < 60; i++) await c.send(`put ${(i * 7) % 5} ${i % 6 === 0 ? 30 : 0} 10 1`, 'x');
    const reserved: string[] = [];
    for (let i = 0; i < 6; i++) reserved.push((await c.send('reserve-with-timeout 0')).split(' ')[1]);
    expect(await c.send(`bury ${reserved[0]} 0`)).toBe('BURIED');
    const tubes = snapshotQueue(model, 8);
    const work = tubes.find((t) => t.name === 'work')!;
    for (const state of JOB_STATES) {
      expect(work.lanes[state].jobs.map((j) => j.id)).toEqual(model.list('work', state, 8).map((j) => j.id));
      expect(work.lanes[state].count).toBe(model.tubes.get('work')!.counts[state]);
    }
    expect(work.total).toBe(60);
    expect(work.lanes.ready.jobs).toHaveLength(8);
    expect(work.lanes.buried.count).toBe(1);
  });

  test('default comes last, and a limit of 0 keeps only the counts', async () => {
    const l = lab();
    const model = new QueueModel();
    l.engine.subscribe((e) => model.apply(e));
    const c = l.connect();
    await c.send('put 0 0 10 1', 'x');
    await c.send('use other');
    await c.send('put 0 0 10 1', 'y');
    const tubes = snapshotQueue(model, 0);
    expect(tubes.map((t) => t.name)).toEqual(['other', 'default']);
    expect(tubes[0].lanes.ready).toEqual({ jobs: [], count: 1 });
  });
});

describe('formatting', () => {
  test('cluster time and counts', () => {
    expect(fmtClock(0)).toBe('00:00.0');
    expect(fmtClock(83_450)).toBe('01:23.4');
    expect(fmtClock(4_503_200)).toBe('75:03.2');
    expect(fmtCount(9_999)).toBe('9,999');
    expect(fmtCount(12_345)).toBe('12.3k');
    expect(fmtCount(456_789)).toBe('457k');
    expect(fmtCount(1_234_567)).toBe('1.2M');
    expect(shortOwner('worker 12')).toBe('w12');
    expect(shortOwner('a-very-long-name')).toBe('a-very-…');
  });

  test('stats text parses to key/value pairs', () => {
    const s = parseStats('---\ncurrent-jobs-ready: 3\nname: msg_for_worker\n');
    expect(s.get('current-jobs-ready')).toBe('3');
    expect(s.get('name')).toBe('msg_for_worker');
  });

  test('throughput counts tasks done in the last window, not the ones reported ahead of the clock', () => {
    const done = [1000, 2000, 3000, 12_000, 15_000];
    expect(throughput(done, 4000)).toBe(3 / 4);
    expect(throughput(done, 13_000)).toBe(2 / 10); // 3000 and 12000
    expect(throughput([500, 900, 5000], 1000)).toBe(2);
    expect(countUpTo(done, 12_000)).toBe(4);
  });
});

describe('node card text', () => {
  const worker = (status: NodeView['status'], life: NodeView['life'] = 'running'): NodeView => ({
    id: 3,
    name: 'worker 3',
    role: 'worker',
    life,
    status,
    slow: 1,
    cheat: 0,
    latency: 1,
    done: [],
    computeMs: 0,
    reports: [],
    log: [],
  });
  const entry = (kind: TraceEntry['kind'], text: string, job?: number): TraceEntry => ({ n: 1, at: 10, kind, node: 3, conn: 1, text, job });

  test('a worker whose result is computed in real time but not yet in virtual time is still working', () => {
    const sending = worker({ state: 'sending', job: 7 });
    expect(nodeState(sending, entry('to-node', 'RESERVED 7 15⏎pi 1000 1', 7)).long).toBe('working on job 7');
    expect(nodeState(sending, entry('to-node', 'RESERVED 8 15⏎pi 1000 1', 8)).long).toBe('finishing job 7');
    expect(nodeState(sending, entry('to-server', 'use msg_for_client')).long).toBe('finishing job 7');
    expect(nodeState(worker({ state: 'waiting' })).long).toBe('waiting in reserve');
  });

  test('a producer putting its jobs is not "working on job undefined" when a reply without a job reaches it', () => {
    const producer: NodeView = { ...worker({ state: 'sending', detail: 'putting 8 jobs' }), role: 'producer', name: 'producer' };
    expect(nodeState(producer, entry('to-node', 'INSERTED 3')).long).toBe('putting 8 jobs');
  });

  test('a hung worker holds its job only until the server takes it back', () => {
    expect(nodeState(worker({ state: 'working', job: 4 }, 'hung'), undefined, true).long).toBe('hung, holding job 4');
    expect(nodeState(worker({ state: 'working', job: 4 }, 'hung'), undefined, false).long).toBe('hung');
    expect(nodeState(worker({ state: 'failed', detail: 'killed' }, 'dead')).long).toBe('dead (killed)');
  });

  test('the producer shows its running estimate, then its final line', () => {
    const producer: NodeView = { ...worker({ state: 'waiting', detail: 'received 1/2 results' }), name: 'producer', role: 'producer' };
    expect(piText(producer)).toBeNull();
    producer.reports.push({ kind: 'pi-progress', darts: 1000, hits: 785, received: 1, expected: 2 });
    expect(piText(producer)).toEqual({ value: 'π ≈ 3.140000', rest: '(1 of 2 results)' });
    producer.status = { state: 'done', detail: 'π ≈ 3.141612 in 1.52 s' };
    expect(piText(producer)).toEqual({ value: 'π ≈ 3.141612', rest: 'in 1.52 s' });
  });
});

describe('message colours', () => {
  test('a message is coloured by the state its command moves a job into', () => {
    expect(messageColour('put 0 0 60 5⏎hello')).toBe(STATE_COLOURS.ready);
    expect(messageColour('put 0 10 60 5⏎hello')).toBe(STATE_COLOURS.delayed);
    expect(messageColour('RESERVED 5 3⏎abc')).toBe(STATE_COLOURS.reserved);
    expect(messageColour('release 5 0 2')).toBe(STATE_COLOURS.delayed);
    expect(messageColour('delete 5')).toBe(STATE_COLOURS.done);
    expect(messageColour('bury 5 0')).toBe(STATE_COLOURS.buried);
    expect(messageColour('watch tube')).not.toBeOneOf(Object.values(STATE_COLOURS));
  });
});

describe('message dots', () => {
  const dot: Dot = { x0: 0, y0: 100, x1: 200, y1: 0, colour: '#000', label: 'reserve', ms: 1000, node: 1, lane: 'queue 1', delay: 500, born: 10_000 };

  test('a dot waits out its delay unseen, then travels from its start to its end', () => {
    expect(dotAt(dot, 10_400)).toBeNull();
    const start = dotAt(dot, 10_500)!;
    expect(start).toMatchObject({ x: 0, y: 100, opacity: 0 });
    const middle = dotAt(dot, 11_000)!;
    expect(middle.x).toBeCloseTo(100);
    expect(middle.y).toBeCloseTo(50);
    expect(middle.opacity).toBe(1);
    const nearEnd = dotAt(dot, 11_490)!;
    expect(nearEnd.x).toBeGreaterThan(199);
    expect(nearEnd.opacity).toBeLessThan(0.1);
    expect(dotAt(dot, 11_500)).toBeNull();
  });

  describe('message labels never draw on each other, and keep off the cards where there is room', () => {
    const label = (x: number, y: number, lane: string, born: number, w = 60): LabelRequest => ({ x, y, w, h: 14, lane, born });
    const intersect = (a: Rect, b: Rect) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    const card = (x: number, y: number, w: number, h: number): Rect => ({ x, y, w, h });
    const picture: Rect = { x: 0, y: 0, w: 1000, h: 600 };
    test.each([
      { name: 'a lone label in open space sits above its dot', labels: [label(100, 100, 'queue 1', 0)], cards: [], expected: [{ x: 70, y: 77, w: 60, h: 14 }] },
      {
        name: 'two links\' labels at one spot: the newer above the dot, the older below it',
        labels: [label(100, 100, 'queue 1', 0), label(100, 100, 'store 2', 5)],
        cards: [],
        expected: [{ x: 70, y: 109, w: 60, h: 14 }, { x: 70, y: 77, w: 60, h: 14 }],
      },
      { name: 'one link shows only its newest label', labels: [label(100, 100, 'queue 1', 0), label(100, 140, 'queue 1', 5)], cards: [], expected: [null, { x: 70, y: 117, w: 60, h: 14 }] },
      {
        name: 'a dot just under a card: its label goes below, off the card',
        labels: [label(100, 100, 'queue 1', 0)],
        cards: [card(0, 0, 300, 95)],
        expected: [{ x: 70, y: 109, w: 60, h: 14 }],
      },
      {
        name: 'a dot at a card\'s left edge: its label goes left, into the gap',
        labels: [label(100, 100, 'queue 1', 0)],
        cards: [card(100, 0, 200, 300)],
        expected: [{ x: 31, y: 93, w: 60, h: 14 }],
      },
      { name: 'a dot at the top of the picture: its label goes below, inside it', labels: [label(100, 10, 'queue 1', 0)], cards: [], expected: [{ x: 70, y: 19, w: 60, h: 14 }] },
      { name: 'a dot in a corner: its label goes right, inside the picture', labels: [label(5, 10, 'queue 1', 0)], cards: [], expected: [{ x: 14, y: 3, w: 60, h: 14 }] },
    ])('$name', ({ labels, cards, expected }) => {
      expect(placeLabels(labels, { cards, text: [], bounds: picture })).toEqual(expected);
    });

    test.each([
      {
        name: 'a line of text above the dot (a card\'s title): the label goes below it, on the card\'s empty part',
        text: [card(40, 70, 200, 20)],
        expected: { x: 70, y: 109, w: 60, h: 14 },
      },
      { name: 'text above and below: the label goes beside the dot', text: [card(40, 70, 200, 20), card(40, 112, 200, 20)], expected: { x: 109, y: 93, w: 60, h: 14 } },
      { name: 'text all around the dot: no label until its dot reaches a free place', text: [card(0, 0, 300, 300)], expected: null },
    ])('$name', ({ text, expected }) => {
      const cards = [card(0, 0, 300, 300)];
      expect(placeLabels([label(100, 100, 'queue 1', 0)], { cards, text, bounds: picture })).toEqual([expected]);
    });

    test('a crowd of labels at one spot: as many as fit are shown, none overlapping, newest first; the rest wait', () => {
      const crowd = Array.from({ length: 20 }, (_, i) => label(100, 100, `queue ${i}`, i));
      const placed = placeLabels(crowd, { cards: [], text: [], bounds: picture });
      const shown = placed.filter((p): p is Rect => p !== null);
      expect(shown.length).toBeGreaterThan(4);
      expect(shown.length).toBeLessThan(20);
      for (const a of shown) for (const b of shown) if (a !== b) expect(intersect(a, b)).toBe(false);
      expect(placed[19]).not.toBeNull();
      expect(placed[0]).toBeNull();
    });
  });

  test('past the cap of dots in flight the oldest unlabelled go first, so slow motion keeps its labels', () => {
    const at = (born: number, label: string | null): Dot => ({ ...dot, born, label });
    const dots = [at(1, 'reserve'), at(2, null), at(3, null), at(4, 'put'), at(5, null), at(6, null)];
    expect(capDots(dots, 4).map((d) => d.born)).toEqual([1, 4, 5, 6]);
    expect(capDots(dots, 2).map((d) => d.born)).toEqual([1, 4]);
    expect(capDots(dots, 6)).toEqual(dots);
  });

  test('a dot has arrived once its delay and travel time are over', () => {
    expect(arrived(dot, 11_499)).toBe(false);
    expect(arrived(dot, 11_500)).toBe(true);
  });
});
