// The timeline as a seek bar: pointer to instant, the Page keys' stride and targets, and seeks coalesced
// so a drag never queues more than one replay behind the one running.
import { describe, expect, test } from 'vitest';
import { GrowingList } from '../../src/sim/growing-list.ts';
import { eventsIn, instantAt, isScrubKey, MIN_PAGE_STRIDE, pageStride, scrubTarget, SeekCoalescer, type ScrubKey } from '../../src/ui/charts/scrub.ts';

describe('instantAt: the instant under the pointer, on the axis shown', () => {
  test.each([
    { name: 'the left edge is the window’s start', px: 0, want: 1000 },
    { name: 'the middle', px: 250, want: 1500 },
    { name: 'the right edge is the window’s end', px: 500, want: 2000 },
    { name: 'left of the plot (over the row names) is the start', px: -40, want: 1000 },
    { name: 'right of the plot is the end', px: 900, want: 2000 },
  ])('$name', ({ px, want }) => {
    expect(instantAt(px, 500, { t0: 1000, t1: 2000 })).toBe(want);
  });
});

describe('the Page keys move a tenth of the events shown, at least 10', () => {
  const times = GrowingList.of(Array.from({ length: 1000 }, (_, i) => (i + 1) * 10));
  test.each([
    { name: 'the whole run of 1000 events', shown: { t0: 0, t1: 10_000 }, events: 1000, stride: 100 },
    { name: 'zoomed to a fifth', shown: { t0: 2000, t1: 4000 }, events: 200, stride: 20 },
    { name: `zoomed far in: never under ${MIN_PAGE_STRIDE}`, shown: { t0: 2000, t1: 2100 }, events: 10, stride: MIN_PAGE_STRIDE },
    { name: 'nothing shown yet', shown: { t0: 0, t1: 100 }, events: 0, stride: MIN_PAGE_STRIDE, times: GrowingList.of<number>() },
  ])('$name', ({ shown, events, stride, times: own }) => {
    expect(eventsIn(own ?? times, shown)).toBe(events);
    expect(pageStride(events)).toBe(stride);
  });
});

describe('scrubTarget: where each key seeks on a branch of 500 events, stride 40', () => {
  const cases: { key: ScrubKey; at: number; want: number | null }[] = [
    { key: 'PageDown', at: 100, want: 140 },
    { key: 'PageUp', at: 100, want: 60 },
    { key: 'PageDown', at: 480, want: 500 },
    { key: 'PageUp', at: 25, want: 0 },
    { key: 'PageDown', at: 500, want: null },
    { key: 'PageUp', at: 0, want: null },
    { key: 'Home', at: 321, want: 0 },
    { key: 'End', at: 321, want: 500 },
    { key: 'Home', at: 0, want: null },
    { key: 'End', at: 500, want: null },
  ];
  test.each(cases)('$key at $at → $want', ({ key, at, want }) => {
    expect(scrubTarget(key, at, 500, 40)).toBe(want);
  });
  test('only the four keys scrub', () => {
    expect(['PageDown', 'PageUp', 'Home', 'End'].every(isScrubKey)).toBe(true);
    expect(['ArrowLeft', 'b', 'Enter'].some(isScrubKey)).toBe(false);
  });
});

describe('SeekCoalescer', () => {
  /** A run whose seeks finish when the test says so. */
  function slowRun() {
    let at = 0;
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const seek = (n: number) =>
      new Promise<void>((done) => {
        started.push(n);
        finish.push(() => {
          at = n;
          done();
        });
      });
    return { started, finish, coalescer: new SeekCoalescer(seek, () => at), at: () => at };
  }
  const settle = () => new Promise((r) => setTimeout(r, 0));

  test('a drag’s many requests while one seek runs: only the latest follows it', async () => {
    const { started, finish, coalescer, at } = slowRun();
    const done = coalescer.request(10);
    for (const n of [11, 12, 13, 14, 15]) void coalescer.request(n);
    expect(started).toEqual([10]);
    expect(coalescer.heading).toBe(15);
    finish.shift()!();
    await settle();
    expect(started).toEqual([10, 15]);
    finish.shift()!();
    await done;
    expect(at()).toBe(15);
    expect(coalescer.heading).toBe(15);
  });

  test('a request for where the run already is replays nothing, and the next request still seeks', async () => {
    const { started, finish, coalescer } = slowRun();
    await coalescer.request(0);
    expect(started).toEqual([]);
    const p = coalescer.request(3);
    expect(started).toEqual([3]);
    finish.shift()!();
    await p;
  });

  test('heading is the run’s own position when no seek is under way', async () => {
    const { finish, coalescer, at } = slowRun();
    expect(coalescer.heading).toBe(0);
    const p = coalescer.request(7);
    finish.shift()!();
    await p;
    expect(coalescer.heading).toBe(at());
  });

  test('a failed seek does not block the next request', async () => {
    let calls = 0;
    const c = new SeekCoalescer(async () => {
      calls++;
      throw new Error('replay failed');
    }, () => 0);
    await expect(c.request(5)).rejects.toThrow('replay failed');
    await expect(c.request(6)).rejects.toThrow('replay failed');
    expect(calls).toBe(2);
  });
});
