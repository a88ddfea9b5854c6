// The instructor's roster: rows from the host's joiners, and their sorting.
import { describe, expect, test } from 'vitest';
import { rosterRows, rosterTotals, sortRoster, type RosterColumn } from '../../src/net/roster.ts';
import type { RoomPeer } from '../../src/net/room-host.ts';

function peer(no: number, over: Partial<RoomPeer> & { rtt?: number | null } = {}): RoomPeer {
  const { rtt = null, ...rest } = over;
  return { no, peer: `p${no}`, name: `student ${no}`, state: 'admitted', slots: 1, link: { peer: `p${no}`, rtt, connected: true }, jobsDone: 0, lesson: null, ...rest };
}

const LESSONS: Record<string, { title: string; steps: number }> = { speedup: { title: 'Speedup', steps: 7 } };
const lessons = (id: string) => LESSONS[id];

describe('rosterRows', () => {
  test("one row per joiner that said hello: name, machine, cores and nodes, state, jobs done, round trip, lesson and step in words", () => {
    const rows = rosterRows(
      [
        peer(1, { name: 'Ada', platform: 'Linux x86_64', cores: 8, slots: 4, jobsDone: 12, rtt: 3, lesson: { lesson: 'speedup', step: 2 } }),
        peer(2, { name: 'Bob', state: 'pending' }),
        peer(3, { name: '', state: 'hello' }),
        peer(4, { name: 'Cy', state: 'gone', reason: 'left the room', jobsDone: 5, rtt: 9, lesson: { lesson: 'speedup', step: 0 } }),
        peer(5, { name: 'Di', lesson: { lesson: 'file:mine.md', step: 0 } }),
      ],
      lessons,
    );
    expect(rows.map((r) => r.name)).toEqual(['Ada', 'Bob', 'Cy', 'Di']);
    expect(rows[0]).toEqual({
      no: 1,
      name: 'Ada',
      machine: 'Linux x86_64',
      cores: 8,
      nodes: 4,
      state: 'admitted',
      status: 'in the room',
      jobsDone: 12,
      rttMs: 3,
      lesson: { lesson: 'speedup', step: 2 },
      lessonText: 'Speedup — step 3 of 7',
    });
    // Nothing said of the machine: nothing made up.
    expect([rows[1].machine, rows[1].cores, rows[1].status, rows[1].lessonText]).toEqual([null, null, 'waiting for approval', null]);
    // Whoever left keeps the jobs it did; its round trip and lesson are no longer current.
    expect([rows[2].status, rows[2].jobsDone, rows[2].rttMs, rows[2].lessonText]).toEqual(['left: left the room', 5, null, null]);
    // A lesson this host does not have is named by its id.
    expect(rows[3].lessonText).toBe('file:mine.md — step 1');
  });

  test('totals: joiners in the room and their nodes; jobs done by everyone, those who left included', () => {
    const rows = rosterRows([peer(1, { slots: 4, jobsDone: 3 }), peer(2, { slots: 2, jobsDone: 1 }), peer(3, { state: 'gone', slots: 8, jobsDone: 6 })]);
    expect(rosterTotals(rows)).toEqual({ joiners: 2, nodes: 6, jobsDone: 10 });
  });
});

describe('sortRoster', () => {
  const rows = rosterRows(
    [
      peer(1, { name: 'carol', platform: 'Linux x86_64', cores: 4, slots: 2, jobsDone: 7, rtt: 4, lesson: { lesson: 'speedup', step: 4 } }),
      peer(2, { name: 'Alice', platform: 'MacIntel', cores: 8, slots: 8, jobsDone: 30, rtt: 12 }),
      peer(3, { name: 'bob', slots: 1, jobsDone: 7, state: 'pending', lesson: { lesson: 'speedup', step: 1 } }),
      peer(4, { name: 'student 10', platform: 'Linux x86_64', cores: 2, slots: 2, state: 'gone', reason: 'x', jobsDone: 2 }),
      peer(5, { name: 'student 9', platform: 'Win32', cores: 16, slots: 16, jobsDone: 0, rtt: 1 }),
    ],
    lessons,
  );
  const order = (column: RosterColumn, descending = false) => sortRoster(rows, column, descending).map((r) => r.no);

  test.each<[RosterColumn, boolean, number[]]>([
    ['no', false, [1, 2, 3, 4, 5]],
    ['no', true, [5, 4, 3, 2, 1]],
    // Case does not matter, and numbers in names sort as numbers (student 9 before student 10).
    ['name', false, [2, 3, 1, 5, 4]],
    // Machines by platform then cores; a joiner that did not say goes last.
    ['machine', false, [4, 1, 2, 5, 3]],
    ['machine', true, [5, 2, 1, 4, 3]],
    ['nodes', true, [5, 2, 1, 4, 3]],
    // In the room, then waiting, then gone; ties in joiner order.
    ['state', false, [1, 2, 5, 3, 4]],
    // Equal jobs keep joiner order, in either direction.
    ['jobsDone', true, [2, 1, 3, 4, 5]],
    ['jobsDone', false, [5, 4, 1, 3, 2]],
    // No round trip yet (waiting) or any more (gone): last either way.
    ['rttMs', false, [5, 1, 2, 3, 4]],
    ['rttMs', true, [2, 1, 5, 3, 4]],
    ['lesson', false, [3, 1, 2, 4, 5]],
  ])('by %s (descending: %s)', (column, descending, expected) => {
    expect(order(column, descending)).toEqual(expected);
  });

  test('does not change the rows it is given', () => {
    sortRoster(rows, 'jobsDone', true);
    expect(rows.map((r) => r.no)).toEqual([1, 2, 3, 4, 5]);
  });
});
