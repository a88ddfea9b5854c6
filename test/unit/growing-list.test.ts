// The list a run's trace and event times are kept in: it reads as the array it holds, and its state at
// any length, shared with checkpoints, comes back unchanged whatever the list did after.
import { describe, expect, test } from 'vitest';
import { GrowingList } from '../../src/sim/growing-list.ts';

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('a growing list reads as the array of what was pushed', () => {
  test.each([0, 1, 1023, 1024, 1025, 3000])('%i entries', (n) => {
    const list = GrowingList.of<number>();
    for (const x of upTo(n)) list.push(x);
    expect(list.length).toBe(n);
    expect(list.toArray()).toEqual(upTo(n));
    expect([...list]).toEqual(upTo(n));
    expect(JSON.stringify(list)).toBe(JSON.stringify(upTo(n)));
    expect(list.last()).toBe(n ? n - 1 : undefined);
    expect(list.get(n)).toBeUndefined();
    expect(list.get(-1)).toBeUndefined();
    if (n) expect(list.get(n >> 1)).toBe(n >> 1);
    expect(list.slice(n >> 2, n >> 1)).toEqual(upTo(n).slice(n >> 2, n >> 1));
    expect(GrowingList.of(upTo(n)).toArray()).toEqual(upTo(n));
  });
});

describe('a shared state comes back as it was', () => {
  test.each([0, 5, 1024, 1500, 2048])('shared at %i entries, the list then grows by 2000', (at) => {
    const list = GrowingList.of(upTo(at));
    const shared = list.share();
    const copy = list.snapshot();
    for (let i = 0; i < 2000; i++) list.push(at + i);
    expect(GrowingList.from(shared).toArray()).toEqual(upTo(at));
    expect(copy.toArray()).toEqual(upTo(at));
  });

  test('two lists restored from one state grow apart, and neither changes the state', () => {
    const list = GrowingList.of(upTo(1500));
    const shared = list.share();
    const a = GrowingList.from(shared);
    const b = GrowingList.from(shared);
    for (let i = 0; i < 1000; i++) {
      a.push(-i);
      b.push(i * 10);
      list.push(7);
    }
    expect(a.toArray()).toEqual([...upTo(1500), ...upTo(1000).map((i) => -i)]);
    expect(b.toArray()).toEqual([...upTo(1500), ...upTo(1000).map((i) => i * 10)]);
    expect(GrowingList.from(shared).toArray()).toEqual(upTo(1500));
  });
});
