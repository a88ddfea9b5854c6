// Spec §5.1 (which job a reserve gets), §5.2 (flow), §6.3 (reserve, reserve-with-timeout and the 1.12
// strtol parsing), §6.4 (reserve-job), §3.3 (which blocked worker is served: W1,W2,W3,W6,W5,W4).
import { describe, expect, test } from 'vitest';
import { heard, jobStats, say, setup, stats, tubeStats } from './spec-support.ts';

const reservedId = (reply: string) => Number(/^RESERVED (\d+) /.exec(reply)?.[1]);

describe('§5.1 which job a reserve gets', () => {
  test('lowest pri first, ties by lowest id; 0 is most urgent and 4294967295 least', () => {
    const { cs } = setup(1);
    const [c] = cs;
    const pris = [10, 5, 10, 5, 0, 4294967295];
    pris.forEach((p, i) => expect(say(c, `put ${p} 0 60 1`, String(i))).toBe(`INSERTED ${i + 1}`));
    const order = pris.map(() => reservedId(say(c, 'reserve')));
    expect(order).toEqual([5, 2, 4, 1, 3, 6]);
  });

  test('the global min (pri, id) over all watched tubes, not per-tube round robin; unwatched tubes are ignored', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    for (let i = 0; i < 7; i++) say(p, 'put 0 0 60 1', 'd'); // ids 1..7 in default
    say(p, 'use t1');
    expect(say(p, 'put 7 0 60 1', 'a')).toBe('INSERTED 8');
    say(p, 'use t2');
    expect(say(p, 'put 3 0 60 1', 'b')).toBe('INSERTED 9');
    say(p, 'use t1');
    expect(say(p, 'put 3 0 60 1', 'c')).toBe('INSERTED 10');
    say(w, 'watch t1');
    say(w, 'watch t2');
    say(w, 'ignore default');
    expect([say(w, 'reserve'), say(w, 'reserve'), say(w, 'reserve')].map(reservedId)).toEqual([9, 10, 8]);
    expect(say(w, 'reserve-with-timeout 0')).toBe('');
    l.advance(0);
    expect(heard(w)).toBe('TIMED_OUT');
  });

  test('with a job ready, reserve answers at once; reserved counters move', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 0 60 2', 'hi');
    expect(say(c, 'reserve')).toBe('RESERVED 1 2\r\nhi');
    const s = jobStats(c, 1);
    expect([s['state'], s['reserves'], s['time-left']]).toEqual(['reserved', '1', '59']);
    const g = stats(c);
    expect([g['current-jobs-ready'], g['current-jobs-reserved'], g['current-jobs-urgent']]).toEqual(['0', '1', '0']);
    expect(tubeStats(c, 'default')['current-jobs-reserved']).toBe('1');
  });

  test('a worker watching several tubes waits on all of them and is served by the first job in any', () => {
    const { cs } = setup(2);
    const [w, p] = cs;
    say(w, 'watch a');
    say(w, 'watch b');
    expect(say(w, 'reserve')).toBe('');
    for (const t of ['default', 'a', 'b']) expect(tubeStats(p, t)['current-waiting']).toBe('1');
    expect(stats(p)['current-waiting']).toBe('1');
    say(p, 'use b');
    say(p, 'put 0 0 60 1', 'x');
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
    for (const t of ['default', 'a', 'b']) expect(tubeStats(p, t)['current-waiting']).toBe('0');
    expect(stats(p)['current-waiting']).toBe('0');
    // A later job in another watched tube is not handed out: the worker no longer waits.
    say(p, 'use a');
    say(p, 'put 0 0 60 1', 'y');
    expect(heard(w)).toBe('');
    expect(jobStats(p, 2)['state']).toBe('ready');
  });

  test('a paused tube is skipped; another watched tube is still served', () => {
    const { cs } = setup(2);
    const [p, w] = cs;
    say(p, 'use pt');
    say(p, 'put 0 0 60 1', 'p'); // 1: pri 0 but paused
    say(p, 'pause-tube pt 100');
    say(p, 'use up');
    say(p, 'put 9 0 60 1', 'u'); // 2
    say(w, 'watch pt');
    say(w, 'watch up');
    expect(say(w, 'reserve')).toBe('RESERVED 2 1\r\nu');
  });

  test('subtle: delayed jobs due in the same tick are promoted one by one; a single waiter gets the first promoted', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'put 10 1 60 1', 'a'); // 1: promoted first ((deadline, id) order)
    say(p, 'put 0 1 60 1', 'b'); // 2: lower pri, same deadline
    expect(say(w, 'reserve')).toBe('');
    l.advance(1000);
    expect(heard(w)).toBe('RESERVED 1 1\r\na');
    expect(jobStats(p, 2)['state']).toBe('ready');
  });

  test('several waiters on several tubes: each hand-out takes the global min (pri, id)', () => {
    const { cs } = setup(3);
    const [wa, wb, p] = cs;
    say(wa, 'watch a');
    say(wa, 'ignore default');
    say(wb, 'watch b');
    say(wb, 'ignore default');
    say(p, 'use a');
    say(p, 'put 5 0 60 1', 'x'); // 1
    say(p, 'use b');
    say(p, 'put 5 0 60 1', 'y'); // 2
    expect(say(wa, 'reserve')).toBe('RESERVED 1 1\r\nx');
    expect(say(wb, 'reserve')).toBe('RESERVED 2 1\r\ny');
  });
});

describe('§3.3 the waiter served is take() from the tube\'s waiting set', () => {
  test('six blocked workers W1..W6 get six jobs put one at a time in the order W1, W2, W3, W6, W5, W4', () => {
    const { cs } = setup(7);
    const ws = cs.slice(0, 6);
    const p = cs[6];
    for (const w of ws) expect(say(w, 'reserve')).toBe('');
    expect(stats(p)['current-waiting']).toBe('6');
    const order: number[] = [];
    for (let i = 1; i <= 6; i++) {
      say(p, 'put 0 0 60 1', String(i));
      const got = ws.map((w) => heard(w));
      const idx = got.findIndex((g) => g === `RESERVED ${i} 1\r\n${i}`);
      expect(got.filter(Boolean).length).toBe(1);
      order.push(idx + 1);
    }
    expect(order).toEqual([1, 2, 3, 6, 5, 4]);
  });

  test('the cursor is never reset: it keeps going across rounds', () => {
    const { cs } = setup(4);
    const ws = cs.slice(0, 3);
    const p = cs[3];
    for (const w of ws) say(w, 'reserve');
    say(p, 'put 0 0 60 1', 'a'); // cursor 0 -> W1; set [W3, W2], cursor 1
    expect(heard(ws[0])).toMatch(/^RESERVED 1 /);
    say(ws[0], 'reserve'); // set [W3, W2, W1]
    say(p, 'put 0 0 60 1', 'b'); // cursor 1 -> W2; set [W3, W1], cursor 2
    expect(heard(ws[1])).toMatch(/^RESERVED 2 /);
    say(p, 'put 0 0 60 1', 'c'); // cursor 2 % 2 = 0 -> W3
    expect(heard(ws[2])).toMatch(/^RESERVED 3 /);
    say(p, 'put 0 0 60 1', 'd');
    expect(heard(ws[0])).toMatch(/^RESERVED 4 /);
  });
});

describe('§6.3 reserve-with-timeout', () => {
  test('0 on an empty tube: TIMED_OUT at once (through the timer, at the same instant)', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'reserve-with-timeout 0')).toBe('');
    l.advance(0);
    expect(heard(c)).toBe('TIMED_OUT');
  });

  test('0 with a job ready: RESERVED at once', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'x');
    expect(say(c, 'reserve-with-timeout 0')).toBe('RESERVED 1 1\r\nx');
  });

  test('1 on an empty tube: TIMED_OUT after exactly 1 s', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'reserve-with-timeout 1');
    l.advance(999);
    expect(heard(c)).toBe('');
    l.advance(1);
    expect(heard(c)).toBe('TIMED_OUT');
    expect(stats(c)['current-waiting']).toBe('0');
  });

  test('a job arriving before the timeout is returned, and the timeout is cancelled', () => {
    const { l, cs } = setup(2);
    const [c, p] = cs;
    say(c, 'reserve-with-timeout 5');
    l.advance(2000);
    say(p, 'put 0 0 60 1', 'x');
    expect(heard(c)).toBe('RESERVED 1 1\r\nx');
    l.advance(10_000);
    expect(heard(c)).toBe('');
  });

  // 1.12: timeout = (int) strtol(arg): no digits → 0, negative → for ever, trailing text ignored.
  test.each([
    ['abc', 0],
    ['', 0],
    ['0 junk', 0],
    ['4294967296', 0],
    ['1x', 1000],
    [' 2', 2000],
    ['+1', 1000],
    ['\t1', 1000],
    ['00003', 3000],
  ])('1.12 strtol parsing: "reserve-with-timeout %s" times out after %i ms', (arg, ms) => {
    const { l, cs } = setup(1);
    const [c] = cs;
    expect(say(c, `reserve-with-timeout ${arg}`)).toBe('');
    if (ms > 0) {
      l.advance(ms - 1);
      expect(heard(c)).toBe('');
    }
    l.advance(ms > 0 ? 1 : 0);
    expect(heard(c)).toBe('TIMED_OUT');
  });

  test.each(['-1', '4294967295', '-5'])('1.12: "reserve-with-timeout %s" is negative as an int and waits for ever', (arg) => {
    const { l, cs } = setup(2);
    const [c, p] = cs;
    expect(say(c, `reserve-with-timeout ${arg}`)).toBe('');
    l.advance(365 * 24 * 3600 * 1000);
    expect(heard(c)).toBe('');
    say(p, 'put 0 0 60 1', 'x');
    expect(heard(c)).toBe('RESERVED 1 1\r\nx');
  });

  test('an argument that overflows long is the only BAD_FORMAT, and is not counted', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'reserve-with-timeout 99999999999999999999')).toBe('BAD_FORMAT');
    expect(say(c, 'reserve-with-timeout -99999999999999999999')).toBe('BAD_FORMAT');
    expect(stats(c)['cmd-reserve-with-timeout']).toBe('0');
    expect(stats(c)['current-workers']).toBe('0');
  });

  test('cmd-reserve counts "reserve", cmd-reserve-with-timeout the other form', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'x');
    say(c, 'put 0 0 60 1', 'y');
    say(c, 'reserve');
    say(c, 'reserve-with-timeout 0');
    say(c, 'reserve-with-timeout abc');
    l.advance(0);
    heard(c);
    say(c, 'reserve ');
    const s = stats(c);
    expect([s['cmd-reserve'], s['cmd-reserve-with-timeout']]).toEqual(['1', '2']);
  });
});

describe('§3.4 worker flag', () => {
  test('set by the first reserve or reserve-with-timeout, whatever it answers', () => {
    const { l, cs } = setup(3);
    const [a, b, obs] = cs;
    expect(stats(obs)['current-workers']).toBe('0');
    say(a, 'reserve-with-timeout 0');
    l.advance(0);
    expect(heard(a)).toBe('TIMED_OUT');
    expect(stats(obs)['current-workers']).toBe('1');
    say(a, 'reserve-with-timeout 0');
    l.advance(0);
    expect(stats(obs)['current-workers']).toBe('1');
    say(b, 'reserve');
    expect(stats(obs)['current-workers']).toBe('2');
    b.end();
    expect(stats(obs)['current-workers']).toBe('1');
  });

  test('reserve-job makes a worker only on success', () => {
    const { cs } = setup(2);
    const [a, obs] = cs;
    expect(say(a, 'reserve-job 1')).toBe('NOT_FOUND');
    expect(stats(obs)['current-workers']).toBe('0');
    say(a, 'put 0 0 60 1', 'x');
    expect(say(a, 'reserve-job 1')).toBe('RESERVED 1 1\r\nx');
    expect(stats(obs)['current-workers']).toBe('1');
  });
});

describe('§6.4 reserve-job', () => {
  test('ready / self-reserved / delayed / buried / missing', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 3 0 60 1', 'r'); // 1 ready
    say(c, 'put 3 100 60 1', 'd'); // 2 delayed
    say(c, 'put 3 0 60 1', 'b'); // 3 → buried
    say(c, 'reserve-job 3');
    say(c, 'bury 3 7');
    expect(say(c, 'reserve-job 1')).toBe('RESERVED 1 1\r\nr');
    expect(say(c, 'reserve-job 1')).toBe('NOT_FOUND'); // already reserved, by me
    expect(say(c, 'reserve-job 2')).toBe('RESERVED 2 1\r\nd');
    expect(say(c, 'reserve-job 3')).toBe('RESERVED 3 1\r\nb');
    expect(say(c, 'reserve-job 4')).toBe('NOT_FOUND');
    for (const id of [1, 2, 3]) {
      const s = jobStats(c, id);
      expect([s['state'], s['reserves']]).toEqual(['reserved', id === 3 ? '2' : '1']);
    }
    const g = stats(c);
    expect([g['current-jobs-ready'], g['current-jobs-delayed'], g['current-jobs-buried'], g['current-jobs-reserved']]).toEqual([
      '0',
      '0',
      '0',
      '3',
    ]);
  });

  test('a job reserved by another connection → NOT_FOUND', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    say(a, 'put 0 0 60 1', 'x');
    say(a, 'reserve');
    expect(say(b, 'reserve-job 1')).toBe('NOT_FOUND');
  });

  test('any tube: the watch list and pause are ignored', () => {
    const { cs } = setup(2);
    const [p, c] = cs;
    say(p, 'use elsewhere');
    say(p, 'put 0 0 60 1', 'x');
    say(p, 'pause-tube elsewhere 100');
    expect(say(c, 'reserve-job 1')).toBe('RESERVED 1 1\r\nx');
  });

  test('never blocks and never says DEADLINE_SOON, even in the last second of a held job', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'a');
    say(c, 'put 0 100 60 1', 'b');
    expect(say(c, 'reserve')).toBe('RESERVED 1 1\r\na');
    expect(say(c, 'reserve')).toBe('DEADLINE_SOON');
    expect(say(c, 'reserve-job 2')).toBe('RESERVED 2 1\r\nb');
  });

  test('the reservation behaves like any other: TTR, timeout, DEADLINE_SOON', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 2 1', 'x');
    say(c, 'reserve-job 1');
    expect(jobStats(c, 1)['time-left']).toBe('1');
    expect(say(c, 'reserve')).toBe('');
    l.advance(1000);
    expect(heard(c)).toBe('DEADLINE_SOON');
    l.advance(1000);
    const s = jobStats(c, 1);
    expect([s['state'], s['timeouts']]).toEqual(['ready', '1']);
  });

  test('a job reserved out of delayed or buried goes to ready on "release id pri 0"', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 100 60 1', 'd');
    say(c, 'put 0 0 60 1', 'b');
    say(c, 'reserve-job 2');
    say(c, 'bury 2 0');
    say(c, 'reserve-job 1');
    say(c, 'reserve-job 2');
    expect(say(c, 'release 1 4 0')).toBe('RELEASED');
    expect(say(c, 'release 2 4 0')).toBe('RELEASED');
    expect(jobStats(c, 1)['state']).toBe('ready');
    expect(jobStats(c, 2)['state']).toBe('ready');
  });

  test('not shown in the stats counters (cmd-reserve untouched, no reserve-job field)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'x');
    const before = stats(c);
    say(c, 'reserve-job 1');
    say(c, 'reserve-job 9');
    const after = stats(c);
    expect(Object.keys(after).filter((k) => k.includes('reserve-job'))).toEqual([]);
    for (const k of Object.keys(before).filter((k) => k.startsWith('cmd-'))) {
      expect(after[k], k).toBe(k === 'cmd-stats' ? '2' : before[k]);
    }
  });
});
