// Spec §3.2 (tube lifetime), §3.3 (list order: append and swap-remove), §6.2 use, §6.9 watch,
// §6.10 ignore, §6.15 stats-tube, §6.17 list-*, §6.20 pause-tube (replies and counters).
import { describe, expect, test } from 'vitest';
import { say, setup, stats, tubeList, tubeStats } from './spec-support.ts';

const tubes = (r: Parameters<typeof say>[0]) => tubeList(say(r, 'list-tubes'));
const watched = (r: Parameters<typeof say>[0]) => tubeList(say(r, 'list-tubes-watched'));

describe('§6.2 use / §6.17 list-tube-used', () => {
  test('use replies USING <tube>, creates the tube, and list-tube-used reports it', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'list-tube-used')).toBe('USING default');
    expect(say(c, 'use fresh')).toBe('USING fresh');
    expect(say(c, 'list-tube-used')).toBe('USING fresh');
    expect(tubes(c)).toEqual(['default', 'fresh']);
    expect(tubeStats(c, 'fresh')['current-using']).toBe('1');
    expect(tubeStats(c, 'default')['current-using']).toBe('0');
  });

  test('use of the tube already used changes nothing', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use a');
    expect(say(c, 'use a')).toBe('USING a');
    expect(tubeStats(c, 'a')['current-using']).toBe('1');
    expect(tubes(c)).toEqual(['default', 'a']);
  });

  test('the old used tube is destroyed when nothing else refers to it', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use a');
    say(c, 'use b');
    expect(tubes(c)).toEqual(['default', 'b']);
    expect(say(c, 'stats-tube a')).toBe('NOT_FOUND');
  });

  test('"use keep" while the old tube aa becomes unreferenced: keep is appended, then aa swap-removed, so keep takes aa\'s slot', () => {
    const { cs } = setup(2);
    const [c, o] = cs;
    say(c, 'use aa');
    say(o, 'watch x');
    say(o, 'watch y');
    expect(tubes(c)).toEqual(['default', 'aa', 'x', 'y']);
    say(c, 'use keep');
    expect(tubes(c)).toEqual(['default', 'keep', 'x', 'y']);
  });

  test('cmd-use counts well-formed uses only', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use a');
    say(c, 'use a');
    say(c, 'use a*');
    say(c, 'use');
    expect(stats(c)['cmd-use']).toBe('2');
    expect(say(c, 'list-tube-used ')).toBe('BAD_FORMAT');
    expect(stats(c)['cmd-list-tube-used']).toBe('0');
  });
});

describe('§6.9 watch / §6.10 ignore / list-tubes-watched', () => {
  test('a new connection watches default only; watch default → WATCHING 1', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(watched(c)).toEqual(['default']);
    expect(say(c, 'watch default')).toBe('WATCHING 1');
  });

  test('watch appends and creates; watching again does not change the count', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'watch a')).toBe('WATCHING 2');
    expect(say(c, 'watch b')).toBe('WATCHING 3');
    expect(say(c, 'watch a')).toBe('WATCHING 3');
    expect(watched(c)).toEqual(['default', 'a', 'b']);
    expect(tubes(c)).toEqual(['default', 'a', 'b']);
    expect(tubeStats(c, 'a')['current-watching']).toBe('1');
  });

  test('ignore of the only watched tube → NOT_IGNORED', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'ignore default')).toBe('NOT_IGNORED');
    expect(watched(c)).toEqual(['default']);
    say(c, 'watch a');
    say(c, 'ignore default');
    expect(say(c, 'ignore a')).toBe('NOT_IGNORED');
    expect(watched(c)).toEqual(['a']);
  });

  test('ignore of an unwatched (even nonexistent) tube → WATCHING <unchanged>, even with one tube watched', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'ignore other')).toBe('WATCHING 1');
    say(c, 'watch a');
    expect(say(c, 'ignore nosuch')).toBe('WATCHING 2');
    expect(tubes(c)).toEqual(['default', 'a']);
    expect(stats(c)['cmd-ignore']).toBe('2');
  });

  test('ignore swap-removes: watching default,t1,t2 then ignore t1 → default,t2; t1,t2,t3 ignore t1 → default,t3,t2', () => {
    const { cs } = setup(2);
    const [c, d] = cs;
    say(c, 'watch t1');
    say(c, 'watch t2');
    expect(say(c, 'ignore t1')).toBe('WATCHING 2');
    expect(watched(c)).toEqual(['default', 't2']);
    say(d, 'watch t1');
    say(d, 'ignore default');
    say(d, 'watch t2');
    say(d, 'watch t3');
    say(d, 'watch default');
    expect(watched(d)).toEqual(['t1', 't2', 't3', 'default']);
    say(d, 'ignore t1');
    expect(watched(d)).toEqual(['default', 't2', 't3']);
  });

  test('ignore may destroy the tube', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'watch gone');
    say(c, 'ignore gone');
    expect(tubes(c)).toEqual(['default']);
    expect(say(c, 'stats-tube gone')).toBe('NOT_FOUND');
  });

  test('list formats: OK <n>, "---", one "- name" per tube, names never quoted', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'list-tubes')).toBe('OK 14\r\n---\n- default\n');
    say(c, 'watch a$b');
    expect(say(c, 'list-tubes-watched')).toBe('OK 20\r\n---\n- default\n- a$b\n');
  });
});

describe('§3.3 list-tubes order', () => {
  test('default, aa, bb, cc, dd and then bb freed → default, aa, dd, cc', () => {
    const { cs } = setup(5);
    const [c, a, b, cc, d] = cs;
    say(a, 'use aa');
    say(b, 'use bb');
    say(cc, 'use cc');
    say(d, 'use dd');
    expect(tubes(c)).toEqual(['default', 'aa', 'bb', 'cc', 'dd']);
    say(b, 'use default');
    expect(tubes(c)).toEqual(['default', 'aa', 'dd', 'cc']);
  });

  test('on close the watch list is cleared slot 0 first (ms_clear), which decides the order tubes are freed', () => {
    const { cs } = setup(3);
    const [p, c, q] = cs;
    say(p, 'use zz');
    say(c, 'watch ta');
    say(c, 'watch tb');
    say(q, 'watch tp');
    say(q, 'watch tq');
    expect(tubes(q)).toEqual(['default', 'zz', 'ta', 'tb', 'tp', 'tq']);
    c.end();
    // tb goes first (swap-removing tq into its slot), then ta (tp moves in): verified on beanstalkd 1.12.
    expect(tubes(q)).toEqual(['default', 'zz', 'tp', 'tq']);
  });
});

describe('§3.2 tube lifetime', () => {
  test('a tube emptied by delete disappears; recreated it has fresh counters and no pause', () => {
    const { cs } = setup(2);
    const [c, o] = cs;
    say(c, 'use keep');
    say(c, 'put 0 0 60 1', 'x');
    say(c, 'pause-tube keep 100');
    say(c, 'use default');
    expect(tubes(o)).toEqual(['default', 'keep']);
    expect(tubeStats(o, 'keep')['pause']).toBe('100');
    expect(say(o, 'delete 1')).toBe('DELETED');
    expect(tubes(o)).toEqual(['default']);
    expect(say(o, 'stats-tube keep')).toBe('NOT_FOUND');
    say(o, 'watch keep');
    const s = tubeStats(o, 'keep');
    expect([s['pause'], s['pause-time-left'], s['cmd-pause-tube'], s['total-jobs'], s['cmd-delete']]).toEqual(['0', '0', '0', '0', '0']);
  });

  test('a job in any state keeps its tube alive after every connection has let go', () => {
    for (const prep of [[], ['reserve'], ['reserve', 'bury 1 0'], ['reserve', 'release 1 0 50']]) {
      const { cs } = setup(2);
      const [c, o] = cs;
      say(c, 'use live');
      say(c, 'watch live');
      say(c, 'put 0 0 60 1', 'x');
      for (const line of prep) say(c, line);
      say(c, 'use default');
      say(c, 'ignore live');
      expect(tubes(o), prep.join(',')).toEqual(['default', 'live']);
    }
  });

  test('a reserved job keeps the tube after its owner (the last user) closes', () => {
    const { cs } = setup(2);
    const [c, o] = cs;
    say(c, 'use live');
    say(c, 'watch live');
    say(c, 'put 0 0 60 1', 'x');
    say(c, 'reserve-job 1');
    c.end();
    expect(tubes(o)).toEqual(['default', 'live']);
    expect(tubeStats(o, 'live')['current-jobs-ready']).toBe('1');
  });

  test('stats-tube and pause-tube do not create tubes', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'stats-tube bb')).toBe('NOT_FOUND');
    expect(say(c, 'pause-tube bb 1')).toBe('NOT_FOUND');
    expect(say(c, 'ignore bb')).toBe('WATCHING 1');
    expect(tubes(c)).toEqual(['default']);
    expect(stats(c)['current-tubes']).toBe('1');
  });

  test('default is pinned: it survives when nobody uses or watches it', () => {
    const { cs } = setup(2);
    const [c, o] = cs;
    say(c, 'use a');
    say(c, 'watch a');
    say(c, 'ignore default');
    o.end();
    expect(tubeStats(c, 'default')['current-using']).toBe('0');
    expect(tubeStats(c, 'default')['current-watching']).toBe('0');
    expect(tubes(c)).toEqual(['default', 'a']);
  });

  test('current-using / current-watching / current-tubes track connections', () => {
    const { cs } = setup(3);
    const [a, b, o] = cs;
    say(a, 'use t');
    say(b, 'use t');
    say(b, 'watch t');
    let s = tubeStats(o, 't');
    expect([s['current-using'], s['current-watching']]).toEqual(['2', '1']);
    expect(stats(o)['current-tubes']).toBe('2');
    b.end();
    s = tubeStats(o, 't');
    expect([s['current-using'], s['current-watching']]).toEqual(['1', '0']);
  });
});

describe('§6.15 stats-tube replies and counters', () => {
  test('NOT_FOUND is counted, BAD_FORMAT is not', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'stats-tube default');
    say(c, 'stats-tube nosuch');
    say(c, 'stats-tube bad*name');
    say(c, 'stats-tube ');
    expect(stats(c)['cmd-stats-tube']).toBe('2');
  });
});

describe('§6.20 pause-tube replies and counters', () => {
  test('PAUSED for an existing tube; tube and global cmd-pause-tube +1', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'pause-tube default 10')).toBe('PAUSED');
    expect(say(c, 'pause-tube default 0')).toBe('PAUSED');
    expect(tubeStats(c, 'default')['cmd-pause-tube']).toBe('2');
    expect(stats(c)['cmd-pause-tube']).toBe('2');
  });

  test('the global counter also counts NOT_FOUND, a leading "-" and a 201-char name, but not syntax errors', () => {
    const { cs } = setup(1);
    const [c] = cs;
    const count = () => stats(c)['cmd-pause-tube'];
    expect(say(c, 'pause-tube default')).toBe('BAD_FORMAT');
    expect(say(c, 'pause-tube default 0 ')).toBe('BAD_FORMAT');
    expect(say(c, 'pause-tube')).toBe('BAD_FORMAT');
    expect(say(c, 'pause-tube  default 1x')).toBe('BAD_FORMAT');
    expect(say(c, 'pause-tube a*b 1')).toBe('BAD_FORMAT');
    expect(say(c, 'pause-tube default -1')).toBe('BAD_FORMAT');
    expect(count()).toBe('0');
    expect(say(c, 'pause-tube -x 1')).toBe('BAD_FORMAT');
    expect(count()).toBe('1');
    expect(say(c, 'pause-tube nosuchtube 1')).toBe('NOT_FOUND');
    expect(count()).toBe('2');
    expect(say(c, `pause-tube ${'a'.repeat(201)} 1`)).toBe('BAD_FORMAT');
    expect(count()).toBe('3');
    expect(say(c, 'pause-tube   default   3')).toBe('PAUSED');
    expect(count()).toBe('4');
    expect(tubeStats(c, 'default')['cmd-pause-tube']).toBe('1');
  });
});
