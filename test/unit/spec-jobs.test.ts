// Spec §4 (job state machine and ownership), §6.5 delete, §6.6 release, §6.7 bury, §6.8 touch,
// §6.18 quit and §6.19 connection close.
import { describe, expect, test } from 'vitest';
import { heard, jobStats, say, setup, stats, tubeStats } from './spec-support.ts';

const pick = (s: Record<string, string>, ...keys: string[]) => keys.map((k) => s[k]);

describe('§4 state transitions', () => {
  test('put delay 0 → ready; put delay > 0 → delayed; both count total-jobs', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 0 60 1', 'a');
    say(c, 'put 1 30 60 1', 'b');
    expect(pick(jobStats(c, 1), 'state', 'time-left')).toEqual(['ready', '0']);
    expect(pick(jobStats(c, 2), 'state', 'delay', 'time-left')).toEqual(['delayed', '30', '29']);
    expect(stats(c)['total-jobs']).toBe('2');
    expect(pick(stats(c), 'current-jobs-ready', 'current-jobs-delayed')).toEqual(['1', '1']);
  });

  test('delayed → ready when the deadline is reached, with no counter change', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 2 60 1', 'a');
    l.advance(1999);
    expect(jobStats(c, 1)['state']).toBe('delayed');
    l.advance(1);
    const s = jobStats(c, 1);
    expect(pick(s, 'state', 'kicks', 'reserves', 'releases', 'delay')).toEqual(['ready', '0', '0', '0', '2']);
  });

  test('delayed → ready by kick and by kick-job: kicks +1', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 100 60 1', 'a');
    say(c, 'put 1 100 60 1', 'b');
    expect(say(c, 'kick 1')).toBe('KICKED 1');
    expect(say(c, 'kick-job 2')).toBe('KICKED');
    for (const id of [1, 2]) expect(pick(jobStats(c, id), 'state', 'kicks')).toEqual(['ready', '1']);
  });

  test('ready → reserved by reserve: reserves +1, deadline = now + ttr', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 0 10 1', 'a');
    l.advance(5000);
    say(c, 'reserve');
    expect(pick(jobStats(c, 1), 'state', 'reserves', 'time-left')).toEqual(['reserved', '1', '9']);
  });

  test('reserved → ready by "release id pri 0": the new pri, releases +1, delay := 0', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 5 60 1', 'a');
    say(c, 'reserve-job 1');
    expect(say(c, 'release 1 2000 0')).toBe('RELEASED');
    expect(pick(jobStats(c, 1), 'state', 'pri', 'delay', 'releases')).toEqual(['ready', '2000', '0', '1']);
  });

  test('reserved → delayed by "release id pri d": delayed pri=99 delay=30 time-left=29 releases=1', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 7 0 60 1', 'a');
    say(c, 'reserve');
    expect(say(c, 'release 1 99 30')).toBe('RELEASED');
    expect(pick(jobStats(c, 1), 'state', 'pri', 'delay', 'time-left', 'releases')).toEqual(['delayed', '99', '30', '29', '1']);
    l.advance(30_000);
    expect(jobStats(c, 1)['state']).toBe('ready');
  });

  test('reserved → buried by "bury id pri": the new pri, buries +1, FIFO tail', () => {
    const { cs } = setup(1);
    const [c] = cs;
    for (let i = 0; i < 3; i++) say(c, 'put 1 0 60 1', 'x');
    for (const id of [2, 3, 1]) {
      say(c, `reserve-job ${id}`);
      expect(say(c, `bury ${id} ${id * 10}`)).toBe('BURIED');
    }
    expect(pick(jobStats(c, 2), 'state', 'pri', 'buries')).toEqual(['buried', '20', '1']);
    expect(say(c, 'peek-buried')).toBe('FOUND 2 1\r\nx');
    expect(say(c, 'kick 1')).toBe('KICKED 1');
    expect(say(c, 'peek-buried')).toBe('FOUND 3 1\r\nx');
    expect(pick(stats(c), 'current-jobs-buried', 'current-jobs-ready')).toEqual(['2', '1']);
    expect(tubeStats(c, 'default')['current-jobs-buried']).toBe('2');
  });

  test('buried → ready by kick and by kick-job: kicks +1, pri kept', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 0 60 1', 'a');
    say(c, 'put 1 0 60 1', 'b');
    for (const id of [1, 2]) {
      say(c, `reserve-job ${id}`);
      say(c, `bury ${id} 33`);
    }
    expect(say(c, 'kick-job 2')).toBe('KICKED');
    expect(say(c, 'kick 5')).toBe('KICKED 1');
    for (const id of [1, 2]) expect(pick(jobStats(c, id), 'state', 'pri', 'kicks', 'buries')).toEqual(['ready', '33', '1', '1']);
  });

  test('reserved (by me) → reserved by touch: deadline := now + ttr', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1 0 5 1', 'a');
    say(c, 'reserve');
    l.advance(2000);
    expect(jobStats(c, 1)['time-left']).toBe('2');
    expect(say(c, 'touch 1')).toBe('TOUCHED');
    expect(jobStats(c, 1)['time-left']).toBe('4');
    l.advance(4999);
    expect(jobStats(c, 1)['state']).toBe('reserved');
    l.advance(1);
    expect(pick(jobStats(c, 1), 'state', 'timeouts')).toEqual(['ready', '1']);
  });

  test('reserved → ready when the TTR passes: pri unchanged, timeouts +1, job-timeouts +1, no delay', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 42 0 1 1', 'a');
    say(c, 'reserve');
    l.advance(1000);
    expect(pick(jobStats(c, 1), 'state', 'pri', 'reserves', 'timeouts', 'releases')).toEqual(['ready', '42', '1', '1', '0']);
    expect(stats(c)['job-timeouts']).toBe('1');
    expect(pick(stats(c), 'current-jobs-reserved', 'current-jobs-ready', 'current-jobs-urgent')).toEqual(['0', '1', '1']);
  });

  test('after a TTR timeout the old owner is not told; its release/delete/touch/bury → NOT_FOUND', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'a');
    say(c, 'reserve');
    l.advance(1200);
    expect(heard(c)).toBe('');
    expect(say(c, 'release 1 0 0')).toBe('NOT_FOUND');
    expect(say(c, 'touch 1')).toBe('NOT_FOUND');
    expect(say(c, 'bury 1 0')).toBe('NOT_FOUND');
    expect(jobStats(c, 1)['state']).toBe('ready');
  });

  test('delete: reserved (by me), ready, delayed and buried jobs are deleted; then every command gets NOT_FOUND', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'r');
    say(c, 'put 0 0 60 1', 's');
    say(c, 'put 0 99 60 1', 'd');
    say(c, 'put 0 0 60 1', 'b');
    say(c, 'reserve-job 2');
    say(c, 'reserve-job 4');
    say(c, 'bury 4 0');
    for (const id of [1, 2, 3, 4]) expect(say(c, `delete ${id}`)).toBe('DELETED');
    for (const id of [1, 2, 3, 4]) {
      expect(say(c, `delete ${id}`)).toBe('NOT_FOUND');
      expect(say(c, `peek ${id}`)).toBe('NOT_FOUND');
      expect(say(c, `stats-job ${id}`)).toBe('NOT_FOUND');
      expect(say(c, `kick-job ${id}`)).toBe('NOT_FOUND');
      expect(say(c, `reserve-job ${id}`)).toBe('NOT_FOUND');
    }
    const s = stats(c);
    expect(pick(s, 'current-jobs-ready', 'current-jobs-reserved', 'current-jobs-delayed', 'current-jobs-buried')).toEqual([
      '0',
      '0',
      '0',
      '0',
    ]);
  });

  test('a deleted reserved job no longer holds its owner: no DEADLINE_SOON, no timeout later', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'a');
    say(c, 'reserve');
    say(c, 'delete 1');
    expect(say(c, 'reserve-with-timeout 2')).toBe('');
    l.advance(1999);
    expect(heard(c)).toBe('');
    l.advance(1);
    expect(heard(c)).toBe('TIMED_OUT');
    expect(stats(c)['job-timeouts']).toBe('0');
  });
});

describe('§4 ownership', () => {
  test('a job reserved by another connection: release, bury, touch, delete, reserve-job, kick-job → NOT_FOUND; peek and stats-job work', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    say(a, 'put 0 0 60 1', 'x');
    expect(say(a, 'reserve')).toBe('RESERVED 1 1\r\nx');
    for (const line of ['release 1 0 0', 'release 1 0 5', 'bury 1 0', 'touch 1', 'delete 1', 'reserve-job 1', 'kick-job 1']) {
      expect(say(b, line), line).toBe('NOT_FOUND');
    }
    expect(say(b, 'peek 1')).toBe('FOUND 1 1\r\nx');
    expect(pick(jobStats(b, 1), 'state', 'releases', 'buries')).toEqual(['reserved', '0', '0']);
    expect(say(a, 'delete 1')).toBe('DELETED');
  });

  test('release and bury of a job that is not reserved at all → NOT_FOUND', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'r'); // ready
    say(c, 'put 0 50 60 1', 'd'); // delayed
    for (const id of [1, 2]) {
      expect(say(c, `release ${id} 0 0`)).toBe('NOT_FOUND');
      expect(say(c, `bury ${id} 0`)).toBe('NOT_FOUND');
      expect(say(c, `touch ${id}`)).toBe('NOT_FOUND');
    }
    expect(say(c, 'release 9 0 0')).toBe('NOT_FOUND');
    expect(jobStats(c, 1)['state']).toBe('ready');
    expect(jobStats(c, 2)['state']).toBe('delayed');
  });

  test('delete needs no ownership for ready, delayed and buried jobs of others', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    say(a, 'put 0 0 60 1', 'r');
    say(a, 'put 0 50 60 1', 'd');
    say(a, 'put 0 0 60 1', 'b');
    say(a, 'reserve-job 3');
    say(a, 'bury 3 0');
    for (const id of [1, 2, 3]) expect(say(b, `delete ${id}`)).toBe('DELETED');
    expect(say(b, 'delete 1')).toBe('NOT_FOUND');
  });

  test('delete counters: global cmd-delete counts every well-formed delete, the tube\'s only successful ones', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use t');
    say(c, 'put 0 0 60 1', 'x');
    say(c, 'put 0 0 60 1', 'y');
    expect(say(c, 'delete 1')).toBe('DELETED');
    expect(say(c, 'delete 1')).toBe('NOT_FOUND');
    expect(say(c, 'delete 1 ')).toBe('BAD_FORMAT');
    expect(stats(c)['cmd-delete']).toBe('2');
    expect(tubeStats(c, 't')['cmd-delete']).toBe('1');
    expect(tubeStats(c, 'default')['cmd-delete']).toBe('0');
  });

  test('release, bury and touch are counted for NOT_FOUND too, not for BAD_FORMAT', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'release 1 0 0');
    say(c, 'bury 1 0');
    say(c, 'touch 1');
    say(c, 'release 1 0');
    say(c, 'bury 1');
    say(c, 'touch x');
    expect(pick(stats(c), 'cmd-release', 'cmd-bury', 'cmd-touch')).toEqual(['1', '1', '1']);
  });

  test('stats-job delay is the last delay from put or release; kick does not reset it', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 500 60 1', 'x');
    say(c, 'kick 1');
    expect(pick(jobStats(c, 1), 'state', 'delay')).toEqual(['ready', '500']);
    say(c, 'reserve');
    say(c, 'release 1 0 7');
    expect(jobStats(c, 1)['delay']).toBe('7');
    say(c, 'kick-job 1');
    expect(pick(jobStats(c, 1), 'state', 'delay')).toEqual(['ready', '7']);
  });
});

describe('§4 a job that becomes ready is handed at once to a blocked worker', () => {
  const cases: [string, (s: ReturnType<typeof setup>) => void][] = [
    ['release', ({ cs }) => say(cs[0], 'release 1 0 0')],
    ['kick of a buried job', ({ cs }) => (say(cs[0], 'bury 1 0'), say(cs[0], 'kick 1'))],
    ['kick-job of a buried job', ({ cs }) => (say(cs[0], 'bury 1 0'), say(cs[0], 'kick-job 1'))],
    ['kick of a delayed job', ({ cs }) => (say(cs[0], 'release 1 0 100'), say(cs[0], 'kick 1'))],
    ['delay expiry', ({ l, cs }) => (say(cs[0], 'release 1 0 3'), l.advance(3000))],
    ['TTR expiry', ({ l }) => l.advance(10_000)],
    ['owner quits', ({ cs }) => cs[0].write('quit\r\n')],
    ['owner closes', ({ cs }) => cs[0].end()],
  ];
  test.each(cases)('%s', (_, act) => {
    const s = setup(2);
    const [owner, w] = s.cs;
    say(owner, 'put 0 0 10 1', 'x');
    expect(say(owner, 'reserve')).toBe('RESERVED 1 1\r\nx');
    expect(say(w, 'reserve')).toBe('');
    act(s);
    expect(heard(w)).toBe('RESERVED 1 1\r\nx');
    expect(jobStats(w, 1)['reserves']).toBe('2');
  });
});

describe('§6.18 / §6.19 quit and close give reserved jobs back silently', () => {
  test('close while holding two jobs: both ready, releases=0 timeouts=0, job-timeouts unchanged', () => {
    const { cs } = setup(2);
    const [a, obs] = cs;
    say(a, 'put 3 0 60 1', 'x');
    say(a, 'put 3 0 60 1', 'y');
    say(a, 'reserve');
    say(a, 'reserve');
    a.end();
    expect(a.closed).toBe(true);
    for (const id of [1, 2]) {
      expect(pick(jobStats(obs, id), 'state', 'pri', 'reserves', 'releases', 'timeouts')).toEqual(['ready', '3', '1', '0', '0']);
    }
    expect(pick(stats(obs), 'job-timeouts', 'current-jobs-reserved', 'current-jobs-ready')).toEqual(['0', '0', '2']);
    expect(tubeStats(obs, 'default')['current-jobs-reserved']).toBe('0');
  });

  test('quit while reserved: the job is ready at once and can be re-reserved (reserves=2)', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    say(b, 'put 0 0 60 1', 'x');
    say(a, 'reserve');
    expect(a.write('quit\r\n')).toBe('');
    expect(say(b, 'reserve')).toBe('RESERVED 1 1\r\nx');
    expect(jobStats(b, 1)['reserves']).toBe('2');
  });

  test('jobs go back in the order they were reserved: a single waiter gets the first one', () => {
    const { cs } = setup(3);
    const [p, a, w] = cs;
    for (let i = 0; i < 3; i++) say(p, 'put 5 0 60 1', 'x');
    for (const id of [3, 1, 2]) say(a, `reserve-job ${id}`);
    say(w, 'reserve');
    a.end();
    expect(heard(w)).toBe('RESERVED 3 1\r\nx');
  });

  test('closing a blocked worker removes it from the waiting sets', () => {
    const { cs } = setup(2);
    const [w, p] = cs;
    say(w, 'watch other');
    say(w, 'reserve');
    w.write('quit'); // incomplete line: still blocked
    expect(stats(p)['current-waiting']).toBe('1');
    w.session.destroy();
    expect(stats(p)['current-waiting']).toBe('0');
    expect(tubeStats(p, 'default')['current-waiting']).toBe('0');
    say(p, 'put 0 0 60 1', 'x');
    expect(jobStats(p, 1)['state']).toBe('ready');
  });
});
