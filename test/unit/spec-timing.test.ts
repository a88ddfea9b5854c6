// Spec §5.2 (DEADLINE_SOON and reserve timeouts), §5.3 (TTR expiry), §5.4 (minimum TTR),
// §5.5 (pause-tube), §5.6 (delayed jobs) and §9 (the order of work inside one tick).
// All time is virtual: l.advance(ms) fires every timer at its exact instant; advance(0) runs what is
// due "at once" (beanstalkd's next loop turn, with no measurable delay).
import { describe, expect, test } from 'vitest';
import { heard, jobStats, say, setup, stats, tubeStats } from './spec-support.ts';

describe('§5.2 DEADLINE_SOON', () => {
  test('at once: ttr=1 held, a second reserve → DEADLINE_SOON at command time', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'x');
    expect(say(c, 'reserve')).toBe('RESERVED 1 1\r\nx');
    expect(say(c, 'reserve')).toBe('DEADLINE_SOON');
    expect(stats(c)['current-waiting']).toBe('0');
    expect(stats(c)['cmd-reserve']).toBe('2');
  });

  test('at deadline - 1 s: ttr=3 held, a blocked reserve gets DEADLINE_SOON after exactly 2 s', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 3 1', 'x');
    say(c, 'reserve');
    expect(say(c, 'reserve')).toBe('');
    l.advance(1999);
    expect(heard(c)).toBe('');
    l.advance(1);
    expect(heard(c)).toBe('DEADLINE_SOON');
    // Inside the margin any further reserve, with or without a timeout, is warned at once.
    expect(say(c, 'reserve-with-timeout 5')).toBe('DEADLINE_SOON');
    expect(say(c, 'reserve-with-timeout 0')).toBe('DEADLINE_SOON');
  });

  test('a warning only: the job stays reserved until its TTR runs out, then it can be reserved again', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'x');
    say(c, 'reserve');
    expect(say(c, 'reserve')).toBe('DEADLINE_SOON');
    expect(jobStats(c, 1)['state']).toBe('reserved');
    l.advance(999);
    expect(jobStats(c, 1)['state']).toBe('reserved');
    l.advance(1);
    const s = jobStats(c, 1);
    expect([s['state'], s['timeouts']]).toEqual(['ready', '1']);
    expect(say(c, 'reserve')).toBe('RESERVED 1 1\r\nx');
    expect(jobStats(c, 1)['reserves']).toBe('2');
  });

  test('beaten by a ready job: ttr=1 held plus a ready job in a watched tube → RESERVED', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'x');
    say(c, 'reserve');
    say(c, 'put 0 0 1 1', 'y');
    expect(say(c, 'reserve')).toBe('RESERVED 2 1\r\ny');
  });

  test('a ready job in an unwatched tube does not beat it', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'x');
    say(c, 'reserve');
    say(c, 'use other');
    say(c, 'put 0 0 1 1', 'y');
    expect(say(c, 'reserve')).toBe('DEADLINE_SOON');
  });

  test('with only a paused ready job: the check passes but the timer is due, so DEADLINE_SOON at once (reserve and rwt 0)', () => {
    const { l, cs } = setup(2);
    const [c, p] = cs;
    say(c, 'put 0 0 1 1', 'x');
    say(c, 'reserve');
    say(p, 'use pt');
    say(p, 'put 0 0 60 1', 'y');
    say(p, 'pause-tube pt 100');
    say(c, 'watch pt');
    expect(say(c, 'reserve')).toBe('');
    l.advance(0);
    expect(heard(c)).toBe('DEADLINE_SOON');
    expect(say(c, 'reserve-with-timeout 0')).toBe('');
    l.advance(0);
    expect(heard(c)).toBe('DEADLINE_SOON');
    expect(jobStats(p, 2)['state']).toBe('ready');
  });

  test('the soonest of several held jobs decides', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 10 1', 'a');
    say(c, 'put 0 0 4 1', 'b');
    say(c, 'reserve');
    say(c, 'reserve');
    say(c, 'reserve');
    l.advance(2999);
    expect(heard(c)).toBe('');
    l.advance(1);
    expect(heard(c)).toBe('DEADLINE_SOON');
  });

  test('commands queued behind the blocked reserve run after the DEADLINE_SOON', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 2 1', 'x');
    say(c, 'reserve');
    expect(c.write('reserve\r\ntouch 1\r\n')).toBe('');
    l.advance(1000);
    expect(heard(c)).toBe('DEADLINE_SOON\r\nTOUCHED');
    expect(jobStats(c, 1)['time-left']).toBe('1');
  });
});

describe('§5.2 reserve-with-timeout while holding a job', () => {
  test('ttr=5 held: rwt 1 → TIMED_OUT after 1 s; rwt 0 → TIMED_OUT at once', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 5 1', 'x');
    say(c, 'reserve');
    say(c, 'reserve-with-timeout 1');
    l.advance(999);
    expect(heard(c)).toBe('');
    l.advance(1);
    expect(heard(c)).toBe('TIMED_OUT');
    say(c, 'reserve-with-timeout 0');
    l.advance(0);
    expect(heard(c)).toBe('TIMED_OUT');
  });

  test('the timer is the earlier of deadline - 1 s and the reserve timeout', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 3 1', 'x');
    say(c, 'reserve');
    say(c, 'reserve-with-timeout 10');
    l.advance(2000);
    expect(heard(c)).toBe('DEADLINE_SOON');
    l.advance(20_000);
    expect(heard(c)).toBe('');
  });
});

describe('§5.3 TTR expiry', () => {
  test('at the deadline the job goes back to ready with timeouts +1 and global job-timeouts +1', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 9 0 2 1', 'x');
    say(c, 'reserve');
    l.advance(1999);
    expect(jobStats(c, 1)['state']).toBe('reserved');
    l.advance(1);
    const s = jobStats(c, 1);
    expect([s['state'], s['pri'], s['timeouts'], s['time-left']]).toEqual(['ready', '9', '1', '0']);
    expect(stats(c)['job-timeouts']).toBe('1');
  });

  test('hand-off: ttr=1 job held by w2, blocked w3 gets it after exactly 1 s; w2 can no longer delete it', () => {
    const { l, cs } = setup(3);
    const [p, w2, w3] = cs;
    say(p, 'put 0 0 1 1', 'x');
    expect(say(w2, 'reserve')).toBe('RESERVED 1 1\r\nx');
    expect(say(w3, 'reserve')).toBe('');
    l.advance(999);
    expect(heard(w3)).toBe('');
    l.advance(1);
    expect(heard(w3)).toBe('RESERVED 1 1\r\nx');
    expect(heard(w2)).toBe('');
    const s = jobStats(p, 1);
    expect([s['state'], s['reserves'], s['timeouts']]).toEqual(['reserved', '2', '1']);
    expect(say(w2, 'delete 1')).toBe('NOT_FOUND');
    expect(say(w3, 'delete 1')).toBe('DELETED');
  });

  test('several held jobs expire each at its own deadline', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 2 1', 'a');
    say(c, 'put 0 0 5 1', 'b');
    say(c, 'reserve');
    say(c, 'reserve');
    l.advance(2000);
    expect([jobStats(c, 1)['state'], jobStats(c, 2)['state']]).toEqual(['ready', 'reserved']);
    l.advance(3000);
    expect(jobStats(c, 2)['state']).toBe('ready');
    expect(stats(c)['job-timeouts']).toBe('2');
  });

  test.each(['touch 1', 'delete 2', 'release 2 0 0'])(
    'an earlier deadline still fires after "%s" and a later reservation (conn_reserve_job keeps the soonest cache honest)',
    (between) => {
      const { l, cs } = setup(1);
      const [c] = cs;
      say(c, 'put 0 0 3 1', 'a'); // 1: ttr 3
      say(c, 'put 1 0 50 1', 'x'); // 2: ttr 50
      say(c, 'put 2 0 100 1', 'b'); // 3: ttr 100
      say(c, 'reserve-job 1');
      say(c, 'reserve-job 2');
      say(c, between);
      expect(say(c, 'reserve-job 3')).toBe('RESERVED 3 1\r\nb');
      l.advance(3000);
      expect(jobStats(c, 1)['state']).toBe('ready');
      expect(jobStats(c, 3)['state']).toBe('reserved');
    },
  );

  test('a blocked reserve is warned for the soonest held job even after a later reservation', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 3 1', 'a');
    say(c, 'put 1 0 100 1', 'b');
    say(c, 'reserve');
    say(c, 'touch 1');
    say(c, 'reserve');
    expect(say(c, 'reserve')).toBe('');
    l.advance(2000);
    expect(heard(c)).toBe('DEADLINE_SOON');
  });

  test('touch resets the TTR: ttr=5, after 2 s time-left 2 → TOUCHED → 4; expiry and DEADLINE_SOON move', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 5 1', 'x');
    say(c, 'reserve');
    l.advance(2000);
    expect(jobStats(c, 1)['time-left']).toBe('2');
    expect(say(c, 'touch 1')).toBe('TOUCHED');
    expect(jobStats(c, 1)['time-left']).toBe('4');
    say(c, 'reserve');
    l.advance(3999);
    expect(heard(c)).toBe('');
    l.advance(1);
    expect(heard(c)).toBe('DEADLINE_SOON');
    l.advance(999);
    expect(jobStats(c, 1)['state']).toBe('reserved');
    l.advance(1);
    expect(jobStats(c, 1)['state']).toBe('ready');
  });

  test('touching a ttr=1 job does not lift DEADLINE_SOON: its whole TTR is inside the margin', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'x');
    say(c, 'reserve');
    expect(say(c, 'reserve')).toBe('DEADLINE_SOON');
    // ttr=1: even a touched job is always in its last second.
    say(c, 'touch 1');
    expect(say(c, 'reserve')).toBe('DEADLINE_SOON');
  });
});

describe('§5.4 minimum TTR', () => {
  test('ttr 0 becomes 1: stats-job ttr 1, DEADLINE_SOON at once, expiry after 1 s', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 0 1', 'x');
    expect(jobStats(c, 1)['ttr']).toBe('1');
    say(c, 'reserve');
    expect(say(c, 'reserve')).toBe('DEADLINE_SOON');
    l.advance(1000);
    expect(jobStats(c, 1)['timeouts']).toBe('1');
  });
});

describe('§5.5 pause-tube', () => {
  test('pause-tube pt 2: rwt 0 → TIMED_OUT; a blocked reserve returns after exactly 2 s; pause fields', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'use pt');
    say(p, 'put 0 0 60 1', 'x');
    expect(say(p, 'pause-tube pt 2')).toBe('PAUSED');
    let s = tubeStats(p, 'pt');
    expect([s['pause'], s['pause-time-left']]).toEqual(['2', '1']);
    say(w, 'watch pt');
    say(w, 'ignore default');
    say(w, 'reserve-with-timeout 0');
    l.advance(0);
    expect(heard(w)).toBe('TIMED_OUT');
    expect(say(w, 'reserve')).toBe('');
    expect(tubeStats(p, 'pt')['current-waiting']).toBe('1');
    l.advance(1000);
    expect(tubeStats(p, 'pt')['pause-time-left']).toBe('0');
    l.advance(999);
    expect(heard(w)).toBe('');
    l.advance(1);
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
    s = tubeStats(p, 'pt');
    expect([s['pause'], s['pause-time-left']]).toEqual(['0', '0']);
  });

  test('pause-tube X 0 lifts a pause: a blocked worker is served at once; pause shows 0', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'put 0 0 60 1', 'x');
    say(p, 'pause-tube default 100');
    say(w, 'reserve');
    l.advance(5000);
    expect(heard(w)).toBe('');
    expect(tubeStats(p, 'default')['pause']).toBe('100');
    expect(say(p, 'pause-tube default 0')).toBe('PAUSED');
    expect(tubeStats(p, 'default')['pause']).toBe('0');
    l.advance(0);
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
  });

  test('pause-tube X 0 on an unpaused tube changes nothing for reserves', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'x');
    say(c, 'pause-tube default 0');
    expect(say(c, 'reserve')).toBe('RESERVED 1 1\r\nx');
  });

  test('pausing again replaces the previous pause (shorter and longer)', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'put 0 0 60 1', 'x');
    say(p, 'pause-tube default 100');
    say(p, 'pause-tube default 3');
    say(w, 'reserve');
    l.advance(3000);
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
    say(p, 'put 0 0 60 1', 'y');
    say(p, 'pause-tube default 2');
    say(p, 'pause-tube default 50');
    say(w, 'reserve');
    l.advance(2000);
    expect(heard(w)).toBe('');
    expect(tubeStats(p, 'default')['pause-time-left']).toBe('47');
    l.advance(48_000);
    expect(heard(w)).toBe('RESERVED 2 1\r\ny');
  });

  test('while paused: peek-ready, kick, delete, reserve-job and delayed promotion still work', () => {
    const { l, cs } = setup(2);
    const [p, o] = cs;
    say(p, 'put 0 0 60 1', 'a'); // 1
    say(p, 'put 0 1 60 1', 'b'); // 2 delayed
    say(p, 'put 0 0 60 1', 'c'); // 3
    say(p, 'put 0 0 60 1', 'd'); // 4 → buried
    say(p, 'reserve-job 4');
    say(p, 'bury 4 0');
    say(p, 'pause-tube default 100');
    expect(say(o, 'peek-ready')).toBe('FOUND 1 1\r\na');
    expect(say(o, 'kick 1')).toBe('KICKED 1');
    expect(jobStats(o, 4)['state']).toBe('ready');
    expect(say(o, 'delete 3')).toBe('DELETED');
    expect(say(o, 'reserve-job 1')).toBe('RESERVED 1 1\r\na');
    l.advance(1000);
    expect(jobStats(o, 2)['state']).toBe('ready');
    expect(say(o, 'reserve-with-timeout 0')).toBe('');
    l.advance(0);
    expect(heard(o)).toBe('TIMED_OUT');
  });

  test('a paused tube is destroyed with its pause when unreferenced', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use pz');
    say(c, 'pause-tube pz 100');
    say(c, 'use pz2');
    expect(say(c, 'stats-tube pz')).toBe('NOT_FOUND');
    say(c, 'use pz');
    expect(tubeStats(c, 'pz')['pause']).toBe('0');
    say(c, 'put 0 0 60 1', 'x');
    say(c, 'watch pz');
    expect(say(c, 'reserve')).toBe('RESERVED 1 1\r\nx');
  });
});

describe('§5.6 delayed jobs', () => {
  test('a blocked worker gets a delay-1 job after exactly 1 s', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'put 0 1 60 1', 'x');
    say(w, 'reserve');
    l.advance(999);
    expect(heard(w)).toBe('');
    l.advance(1);
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
  });

  test('promotion is by deadline, not pri: the sooner job is served first', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'put 0 5 60 1', 'a'); // pri 0, later
    say(p, 'put 100 2 60 1', 'b'); // pri 100, sooner
    say(w, 'reserve');
    l.advance(2000);
    expect(heard(w)).toBe('RESERVED 2 1\r\nb');
    say(w, 'reserve');
    l.advance(3000);
    expect(heard(w)).toBe('RESERVED 1 1\r\na');
  });

  test('promoted jobs in a tube nobody waits on simply become ready', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 1 60 1', 'a');
    say(c, 'put 0 1 60 1', 'b');
    l.advance(1000);
    expect([stats(c)['current-jobs-ready'], stats(c)['current-jobs-delayed']]).toEqual(['2', '0']);
  });
});

describe('§9 order inside one tick: delayed promotion, then pauses, then connection timers', () => {
  test('a delayed job due at the same instant as a reserve timeout is handed out, not TIMED_OUT', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'put 0 1 60 1', 'x');
    say(w, 'reserve-with-timeout 1');
    l.advance(1000);
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
  });

  test('a pause ending at the same instant as a reserve timeout serves the worker', () => {
    const { l, cs } = setup(2);
    const [p, w] = cs;
    say(p, 'put 0 0 60 1', 'x');
    say(p, 'pause-tube default 1');
    say(w, 'reserve-with-timeout 1');
    l.advance(1000);
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
  });

  test('a job whose TTR ends at the same instant as another worker\'s timeout goes to a waiting worker first', () => {
    const { l, cs } = setup(3);
    const [p, h, w] = cs;
    say(p, 'put 0 0 1 1', 'x');
    say(h, 'reserve'); // TTR ends at +1 s
    say(w, 'reserve-with-timeout 1'); // times out at +1 s
    l.advance(1000);
    // Both timers are due; h's (earlier connection) runs first and hands the job to w.
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
  });
});
