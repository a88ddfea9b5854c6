// Spec §6.11 peek family, §6.12 kick-job, §6.13 kick (buried first and only; lenient strtoul argument).
import { describe, expect, test } from 'vitest';
import { heard, jobStats, say, setup, stats } from './spec-support.ts';

describe('§6.11 peek <id>', () => {
  test('finds a job in any tube and any state, reserved (by another connection) included', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    say(a, 'use t1');
    say(a, 'put 0 0 60 1', 'r'); // 1 ready
    say(a, 'put 0 9 60 1', 'd'); // 2 delayed
    say(a, 'put 0 0 60 1', 'b'); // 3 buried
    say(a, 'reserve-job 3');
    say(a, 'bury 3 0');
    say(a, 'put 0 0 60 1', 'v'); // 4 reserved by a
    say(a, 'reserve-job 4');
    for (const [id, body] of [[1, 'r'], [2, 'd'], [3, 'b'], [4, 'v']] as const) {
      expect(say(b, `peek ${id}`)).toBe(`FOUND ${id} 1\r\n${body}`);
    }
  });

  test('peek 0, a missing id and 18446744073709551615 → NOT_FOUND; 18446744073709551616 → BAD_FORMAT', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'x');
    expect(say(c, 'peek 0')).toBe('NOT_FOUND');
    expect(say(c, 'peek 2')).toBe('NOT_FOUND');
    expect(say(c, 'peek 18446744073709551615')).toBe('NOT_FOUND');
    expect(say(c, 'peek 18446744073709551616')).toBe('BAD_FORMAT');
  });

  test('peek changes nothing', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'x');
    say(c, 'peek 1');
    say(c, 'peek-ready');
    const s = jobStats(c, 1);
    expect([s['state'], s['reserves']]).toEqual(['ready', '0']);
  });
});

describe('§6.11 peek-ready / peek-delayed / peek-buried', () => {
  test('peek-ready: the head of the used tube\'s ready heap, min (pri, id)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 5 0 60 1', 'a');
    say(c, 'put 3 0 60 1', 'b');
    say(c, 'put 3 0 60 1', 'c');
    expect(say(c, 'peek-ready')).toBe('FOUND 2 1\r\nb');
  });

  test('peek-ready works on a paused tube', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 5 0 60 1', 'a');
    say(c, 'pause-tube default 100');
    expect(say(c, 'peek-ready')).toBe('FOUND 1 1\r\na');
  });

  test('peek-delayed: the soonest deadline first, ties by id', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 20 60 1', 'a'); // 1: due at +20 s
    l.advance(5000);
    say(c, 'put 0 10 60 1', 'b'); // 2: due at +15 s
    say(c, 'put 0 10 60 1', 'c'); // 3: due at +15 s, tie → id
    expect(say(c, 'peek-delayed')).toBe('FOUND 2 1\r\nb');
    say(c, 'delete 2');
    expect(say(c, 'peek-delayed')).toBe('FOUND 3 1\r\nc');
    say(c, 'delete 3');
    expect(say(c, 'peek-delayed')).toBe('FOUND 1 1\r\na');
  });

  test('peek-buried: the oldest buried job (not the lowest pri or id)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    for (let i = 0; i < 3; i++) say(c, 'put 0 0 60 1', String(i + 1));
    for (const [id, pri] of [[3, 9], [1, 0], [2, 0]]) {
      say(c, `reserve-job ${id}`);
      say(c, `bury ${id} ${pri}`);
    }
    expect(say(c, 'peek-buried')).toBe('FOUND 3 1\r\n3');
  });

  test('only the used tube is looked at, never the watched tubes; NOT_FOUND if empty', () => {
    const { cs } = setup(2);
    const [p, c] = cs;
    say(p, 'use other');
    say(p, 'put 0 0 60 1', 'r');
    say(p, 'put 0 9 60 1', 'd');
    say(p, 'put 0 0 60 1', 'b');
    say(p, 'reserve-job 3');
    say(p, 'bury 3 0');
    say(c, 'watch other');
    for (const cmd of ['peek-ready', 'peek-delayed', 'peek-buried']) expect(say(c, cmd)).toBe('NOT_FOUND');
    say(c, 'use other');
    expect(say(c, 'peek-ready')).toBe('FOUND 1 1\r\nr');
    expect(say(c, 'peek-delayed')).toBe('FOUND 2 1\r\nd');
    expect(say(c, 'peek-buried')).toBe('FOUND 3 1\r\nb');
  });

  test('each peek is counted in its own cmd-* field, NOT_FOUND included', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'peek 1');
    say(c, 'peek 1');
    say(c, 'peek-ready');
    say(c, 'peek-delayed');
    say(c, 'peek-delayed');
    say(c, 'peek-delayed');
    say(c, 'peek-buried');
    say(c, 'peek x');
    say(c, 'peek-ready ');
    const s = stats(c);
    expect([s['cmd-peek'], s['cmd-peek-ready'], s['cmd-peek-delayed'], s['cmd-peek-buried']]).toEqual(['2', '1', '3', '1']);
  });
});

describe('§6.12 kick-job', () => {
  test('buried or delayed job in any tube → KICKED (ready, kicks +1); again → NOT_FOUND', () => {
    const { cs } = setup(2);
    const [p, c] = cs;
    say(p, 'use far');
    say(p, 'put 0 0 60 1', 'b');
    say(p, 'put 0 9 60 1', 'd');
    say(p, 'reserve-job 1');
    say(p, 'bury 1 0');
    expect(say(c, 'kick 10')).toBe('KICKED 0'); // c uses default
    expect(say(c, 'kick-job 1')).toBe('KICKED');
    expect(say(c, 'kick-job 1')).toBe('NOT_FOUND');
    expect(say(c, 'kick-job 2')).toBe('KICKED');
    for (const id of [1, 2]) {
      const s = jobStats(c, id);
      expect([s['state'], s['kicks']]).toEqual(['ready', '1']);
    }
  });

  test('ready, reserved or missing → NOT_FOUND', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'r');
    say(c, 'put 0 0 60 1', 'v');
    say(c, 'reserve-job 2');
    expect(say(c, 'kick-job 1')).toBe('NOT_FOUND');
    expect(say(c, 'kick-job 2')).toBe('NOT_FOUND');
    expect(say(c, 'kick-job 3')).toBe('NOT_FOUND');
  });

  test('kick-job is not shown in stats (cmd-kick unchanged)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 9 60 1', 'd');
    say(c, 'kick-job 1');
    say(c, 'kick-job 7');
    const s = say(c, 'stats');
    expect(s).not.toMatch(/kick-job/);
    expect(stats(c)['cmd-kick']).toBe('0');
  });
});

describe('§6.13 kick', () => {
  function buriedAndDelayed() {
    const s = setup(2);
    const [c] = s.cs;
    for (let i = 0; i < 3; i++) say(c, 'put 0 0 60 1', 'b'); // 1..3 → buried 3, 1, 2
    for (const id of [3, 1, 2]) {
      say(c, `reserve-job ${id}`);
      say(c, `bury ${id} 0`);
    }
    say(c, 'put 0 50 60 1', 'd'); // 4: due later
    say(c, 'put 0 20 60 1', 'e'); // 5: due sooner
    return s;
  }

  test('with buried jobs only buried ones are kicked, oldest first, and it stops there', () => {
    const { cs } = buriedAndDelayed();
    const [c] = cs;
    expect(say(c, 'kick 2')).toBe('KICKED 2');
    expect(jobStats(c, 3)['state']).toBe('ready');
    expect(jobStats(c, 1)['state']).toBe('ready');
    expect(jobStats(c, 2)['state']).toBe('buried');
    expect(say(c, 'kick 10')).toBe('KICKED 1');
    expect(jobStats(c, 4)['state']).toBe('delayed');
    expect(jobStats(c, 5)['state']).toBe('delayed');
    expect(say(c, 'kick 1')).toBe('KICKED 1');
    expect(jobStats(c, 5)['state']).toBe('ready'); // the soonest delayed
    expect(jobStats(c, 4)['state']).toBe('delayed');
    expect(say(c, 'kick 1')).toBe('KICKED 1');
    expect(say(c, 'kick 1')).toBe('KICKED 0');
  });

  test('kicked jobs keep their pri, get kicks +1, and may go straight to a blocked worker', () => {
    const { cs } = setup(2);
    const [c, w] = cs;
    say(c, 'put 77 0 60 1', 'x');
    say(c, 'reserve');
    say(c, 'bury 1 66');
    expect(say(w, 'reserve')).toBe('');
    expect(say(c, 'kick 1')).toBe('KICKED 1');
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
    const s = jobStats(c, 1);
    expect([s['pri'], s['kicks'], s['reserves']]).toEqual(['66', '1', '2']);
  });

  test('kick works only on the used tube', () => {
    const { cs } = setup(2);
    const [p, c] = cs;
    say(p, 'use other');
    say(p, 'put 0 0 60 1', 'x');
    say(p, 'reserve-job 1');
    say(p, 'bury 1 0');
    say(c, 'watch other');
    expect(say(c, 'kick 5')).toBe('KICKED 0');
    say(c, 'use other');
    expect(say(c, 'kick 5')).toBe('KICKED 1');
  });

  test('kick works on a paused tube', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 9 60 1', 'x');
    say(c, 'pause-tube default 100');
    expect(say(c, 'kick 1')).toBe('KICKED 1');
  });

  // Argument: strtoul, truncated to 32 bits; trailing text ignored.
  test.each([
    ['-1', 3], // wraps to 4294967295: everything
    ['4294967296', 0], // truncates to 0
    ['4294967297', 1],
    ['18446744073709551615', 3], // low 32 bits all set
    ['0abc', 0],
    ['2abc', 2],
    ['  2', 2],
    ['+2', 2],
    ['\t1', 1],
    ['2 3', 2],
    ['0', 0],
  ])('lenient parsing: "kick %s" → KICKED %i', (arg, n) => {
    const { cs } = buriedAndDelayed();
    const [c] = cs;
    expect(say(c, `kick ${arg}`)).toBe(`KICKED ${n}`);
    expect(stats(c)['current-jobs-buried']).toBe(String(3 - n));
  });

  test.each(['abc', '', ' ', '-', '18446744073709551616', '99999999999999999999999'])('"kick %s" → BAD_FORMAT, not counted', (arg) => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, `kick ${arg}`)).toBe('BAD_FORMAT');
    expect(stats(c)['cmd-kick']).toBe('0');
  });

  test('cmd-kick counts every well-formed kick, KICKED 0 included', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'kick 1');
    say(c, 'kick 0');
    expect(stats(c)['cmd-kick']).toBe('2');
  });
});
