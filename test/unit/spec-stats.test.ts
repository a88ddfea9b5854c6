// Spec §8 (exact YAML layouts and field order), §6.14-6.16 (stats-job, stats-tube, stats),
// §7 (reply lines) and the counting rules of §8.1.
import { describe, expect, test } from 'vitest';
import { heard, jobStats, say, setup, stats, tubeStats, yaml } from './spec-support.ts';

/** Host-dependent stats fields: checked for shape only. */
const MASKED: Record<string, RegExp> = {
  pid: /^\d+$/,
  'rusage-utime': /^\d+\.\d{6}$/,
  'rusage-stime': /^\d+\.\d{6}$/,
  id: /^[0-9a-f]{16}$/,
  hostname: /^\S.*$/,
  os: /^.+$/,
  platform: /^.+$/,
};

describe('§8.1 stats', () => {
  test('every field in STATS_FMT order with the values beanstalkd 1.12 gave for the same session', () => {
    // Replayed against the real Debian 1.12 server: its reply was OK 955 with exactly these values
    // (pid, rusage, uptime, id, hostname, os and platform aside).
    const { l, cs } = setup(2);
    const [a, b] = cs;
    say(a, 'put 1023 0 60 1', 'a');
    say(a, 'put 1024 0 60 1', 'b');
    say(a, 'put 0 10 60 1', 'c');
    say(a, 'put 5000 0 60 1', 'd');
    say(a, 'reserve-job 4');
    say(a, 'bury 4 5000');
    say(a, 'reserve-job 2');
    expect(b.write('use t\r\nwatch w\r\nignore default\r\nreserve-with-timeout 5\r\n')).toBe('USING t\r\nWATCHING 2\r\nWATCHING 1\r\n');
    l.advance(4000);
    say(a, 'stats'); // the earlier stats of the real session
    const reply = say(a, 'stats');
    const [head, body] = reply.split('\r\n');
    expect(head).toBe(`OK ${body.length}`);
    const lines = body.split('\n');
    expect(lines[lines.length - 1]).toBe('');
    const expected = `---
current-jobs-urgent: 1
current-jobs-ready: 1
current-jobs-reserved: 1
current-jobs-delayed: 1
current-jobs-buried: 1
cmd-put: 4
cmd-peek: 0
cmd-peek-ready: 0
cmd-peek-delayed: 0
cmd-peek-buried: 0
cmd-reserve: 0
cmd-reserve-with-timeout: 1
cmd-delete: 0
cmd-release: 0
cmd-use: 1
cmd-watch: 1
cmd-ignore: 1
cmd-bury: 1
cmd-kick: 0
cmd-touch: 0
cmd-stats: 2
cmd-stats-job: 0
cmd-stats-tube: 0
cmd-list-tubes: 0
cmd-list-tube-used: 0
cmd-list-tubes-watched: 0
cmd-pause-tube: 0
job-timeouts: 0
total-jobs: 4
max-job-size: 65535
current-tubes: 3
current-connections: 2
current-producers: 1
current-workers: 2
current-waiting: 1
total-connections: 2
pid: *
version: "1.12"
rusage-utime: *
rusage-stime: *
uptime: 4
binlog-oldest-index: 0
binlog-current-index: 0
binlog-records-migrated: 0
binlog-records-written: 0
binlog-max-size: 10485760
draining: false
id: *
hostname: *
os: *
platform: *
`.split('\n');
    expect(lines.length).toBe(expected.length);
    expect(lines.length).toBe(53); // "---", 51 fields, and the empty string after the last "\n"
    lines.forEach((line, i) => {
      const want = expected[i];
      if (!want.endsWith(': *')) return expect(line).toBe(want);
      const key = want.slice(0, -3);
      expect(line.startsWith(`${key}: `), `line ${i}: ${line}`).toBe(true);
      expect(line.slice(key.length + 2)).toMatch(MASKED[key]);
    });
  });

  test('host fields come from the host; version is quoted, strings are not', () => {
    const { l, cs } = setup(1);
    const s = stats(cs[0]);
    expect(s['version']).toBe('"1.12"');
    expect(s['hostname']).toBe(l.engine.host.hostname);
    expect(s['os']).toBe(l.engine.host.os);
    expect(s['platform']).toBe(l.engine.host.platform);
    expect(s['pid']).toBe(String(l.engine.host.pid));
    expect(s['id']).toBe(l.engine.instanceId);
  });

  test('uptime is whole seconds, truncated', () => {
    const { l, cs } = setup(1);
    expect(stats(cs[0])['uptime']).toBe('0');
    l.advance(1999);
    expect(stats(cs[0])['uptime']).toBe('1');
    l.advance(1);
    expect(stats(cs[0])['uptime']).toBe('2');
  });

  test('current-jobs-urgent counts ready jobs with pri < 1024 only', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1023 0 60 1', 'a');
    say(c, 'put 1024 0 60 1', 'b');
    say(c, 'put 0 5 60 1', 'c'); // delayed: not urgent
    say(c, 'use other');
    say(c, 'put 0 0 60 1', 'd');
    expect(stats(c)['current-jobs-urgent']).toBe('2');
    expect(tubeStats(c, 'default')['current-jobs-urgent']).toBe('1');
    say(c, 'reserve-job 4'); // reserved: not urgent
    expect(stats(c)['current-jobs-urgent']).toBe('1');
    say(c, 'release 4 2000 0'); // back with a non-urgent pri
    expect(stats(c)['current-jobs-urgent']).toBe('1');
    say(c, 'reserve-job 2');
    say(c, 'release 2 5 0'); // back with an urgent pri
    expect(stats(c)['current-jobs-urgent']).toBe('2');
    expect(tubeStats(c, 'default')['current-jobs-urgent']).toBe('2');
  });

  test('current-connections includes the asking connection; total-connections counts every one ever accepted', () => {
    const { l, cs } = setup(3);
    const [a, b, c] = cs;
    b.write('quit\r\n');
    c.end();
    const s = stats(a);
    expect([s['current-connections'], s['total-connections']]).toEqual(['1', '3']);
    const d = l.raw();
    expect(stats(d)['total-connections']).toBe('4');
  });

  test('current-waiting counts connections blocked in a reserve', () => {
    const { l, cs } = setup(3);
    const [a, b, o] = cs;
    say(a, 'reserve');
    say(b, 'reserve-with-timeout 3');
    expect(stats(o)['current-waiting']).toBe('2');
    l.advance(3000);
    expect(stats(o)['current-waiting']).toBe('1');
  });

  test('draining and max-job-size', () => {
    const { l, cs } = setup(1, { maxJobSize: 1234 });
    expect(stats(cs[0])['draining']).toBe('false');
    expect(stats(cs[0])['max-job-size']).toBe('1234');
    l.engine.draining = true;
    expect(stats(cs[0])['draining']).toBe('true');
  });

  test('"stats" must be exact', () => {
    const { cs } = setup(1);
    expect(say(cs[0], 'stats ')).toBe('BAD_FORMAT');
    expect(stats(cs[0])['cmd-stats']).toBe('1');
  });
});

describe('§8.1 each command moves its own cmd-* counter and no other', () => {
  const counters = (s: Record<string, string>) => Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('cmd-')));

  const cases: [string, string, string | null][] = [
    ['put 0 0 60 1\r\nx', 'cmd-put', null],
    ['peek 1', 'cmd-peek', null],
    ['peek-ready', 'cmd-peek-ready', null],
    ['peek-delayed', 'cmd-peek-delayed', null],
    ['peek-buried', 'cmd-peek-buried', null],
    ['reserve', 'cmd-reserve', null],
    ['reserve-with-timeout 0', 'cmd-reserve-with-timeout', null],
    ['delete 99', 'cmd-delete', null],
    ['release 99 0 0', 'cmd-release', null],
    ['use x', 'cmd-use', null],
    ['watch x', 'cmd-watch', null],
    ['ignore x', 'cmd-ignore', null],
    ['bury 99 0', 'cmd-bury', null],
    ['kick 1', 'cmd-kick', null],
    ['touch 99', 'cmd-touch', null],
    ['stats', 'cmd-stats', null],
    ['stats-job 99', 'cmd-stats-job', null],
    ['stats-tube default', 'cmd-stats-tube', null],
    ['list-tubes', 'cmd-list-tubes', null],
    ['list-tube-used', 'cmd-list-tube-used', null],
    ['list-tubes-watched', 'cmd-list-tubes-watched', null],
    ['pause-tube default 0', 'cmd-pause-tube', null],
    ['reserve-job 99', '', 'not shown'],
    ['kick-job 99', '', 'not shown'],
    ['bogus', '', 'unknown'],
    ['peek 1 ', '', 'bad format'],
    ['put -1 0 60 1', '', 'bad format'],
  ];
  test.each(cases)('"%s" → %s', (line, key) => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'j'); // something for reserve to take
    const before = counters(stats(c));
    c.write(line + '\r\n');
    const after = counters(stats(c));
    const diff = Object.fromEntries(
      Object.keys(after)
        .filter((k) => after[k] !== before[k])
        .map((k) => [k, Number(after[k]) - Number(before[k])]),
    );
    const want: Record<string, number> = { 'cmd-stats': 1 }; // the stats reading the counters counts itself
    if (key) want[key] = (want[key] ?? 0) + 1;
    expect(diff).toEqual(want);
  });
});

describe('§8.2 stats-tube', () => {
  test('verbatim layout (1.12: OK 265 for a tube holding one reserved job)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 30 1', 'x');
    say(c, 'reserve');
    expect(say(c, 'stats-tube default')).toBe(
      'OK 265\r\n---\nname: default\ncurrent-jobs-urgent: 0\ncurrent-jobs-ready: 0\ncurrent-jobs-reserved: 1\ncurrent-jobs-delayed: 0\ncurrent-jobs-buried: 0\ntotal-jobs: 1\ncurrent-using: 1\ncurrent-watching: 1\ncurrent-waiting: 0\ncmd-delete: 0\ncmd-pause-tube: 0\npause: 0\npause-time-left: 0\n',
    );
  });

  test('values after a mixed session (replayed against 1.12)', () => {
    const { l, cs } = setup(2);
    const [a, b] = cs;
    say(a, 'put 1023 0 60 1', 'a');
    say(a, 'put 1024 0 60 1', 'b');
    say(a, 'put 0 10 60 1', 'c');
    say(a, 'put 5000 0 60 1', 'd');
    say(a, 'reserve-job 4');
    say(a, 'bury 4 5000');
    say(a, 'reserve-job 2');
    b.write('use t\r\nwatch w\r\nignore default\r\nreserve-with-timeout 5\r\n');
    l.advance(2500);
    expect(say(a, 'stats-tube default')).toBe(
      'OK 265\r\n---\nname: default\ncurrent-jobs-urgent: 1\ncurrent-jobs-ready: 1\ncurrent-jobs-reserved: 1\ncurrent-jobs-delayed: 1\ncurrent-jobs-buried: 1\ntotal-jobs: 4\ncurrent-using: 1\ncurrent-watching: 1\ncurrent-waiting: 0\ncmd-delete: 0\ncmd-pause-tube: 0\npause: 0\npause-time-left: 0\n',
    );
    const w = tubeStats(a, 'w');
    expect([w['current-waiting'], w['current-watching'], w['current-using']]).toEqual(['1', '1', '0']);
  });

  test('the byte count follows the name length', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use abcdefghij');
    expect(say(c, 'stats-tube abcdefghij')).toMatch(/^OK 268\r\n---\nname: abcdefghij\n/);
  });
});

describe('§8.3 stats-job', () => {
  test('verbatim layout for a ready job (1.12: OK 147)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1500 0 30 3', 'abc');
    expect(say(c, 'stats-job 1')).toBe(
      'OK 147\r\n---\nid: 1\ntube: default\nstate: ready\npri: 1500\nage: 0\ndelay: 0\nttr: 30\ntime-left: 0\nfile: 0\nreserves: 0\ntimeouts: 0\nreleases: 0\nburies: 0\nkicks: 0\n',
    );
  });

  test('reserved just now with ttr=30: OK 151 and time-left 29 (truncated, read an instant later)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1500 0 30 3', 'abc');
    say(c, 'reserve');
    expect(say(c, 'stats-job 1')).toBe(
      'OK 151\r\n---\nid: 1\ntube: default\nstate: reserved\npri: 1500\nage: 0\ndelay: 0\nttr: 30\ntime-left: 29\nfile: 0\nreserves: 1\ntimeouts: 0\nreleases: 0\nburies: 0\nkicks: 0\n',
    );
  });

  test('the same values as 1.12 for a reserved job 3 s old (time-left 56 of 60)', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 1024 0 60 1', 'b');
    l.advance(500);
    say(c, 'reserve-job 1');
    l.advance(3000);
    expect(say(c, 'stats-job 1')).toBe(
      'OK 151\r\n---\nid: 1\ntube: default\nstate: reserved\npri: 1024\nage: 3\ndelay: 0\nttr: 60\ntime-left: 56\nfile: 0\nreserves: 1\ntimeouts: 0\nreleases: 0\nburies: 0\nkicks: 0\n',
    );
  });

  test('time-left: ttr=1 just reserved shows 0; it counts down in whole seconds, truncated', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 1 1', 'a');
    say(c, 'put 0 0 10 1', 'b');
    say(c, 'reserve-job 1');
    expect(jobStats(c, 1)['time-left']).toBe('0');
    say(c, 'reserve-job 2');
    const left = () => jobStats(c, 2)['time-left'];
    expect(left()).toBe('9');
    l.advance(1);
    expect(left()).toBe('9');
    l.advance(998);
    expect(left()).toBe('9');
    l.advance(1);
    expect(left()).toBe('8');
  });

  test('time-left of a delayed job counts down to its deadline; ready and buried show 0', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 3 60 1', 'a');
    expect(jobStats(c, 1)['time-left']).toBe('2');
    l.advance(1500);
    expect(jobStats(c, 1)['time-left']).toBe('1');
    l.advance(1500);
    expect(jobStats(c, 1)['time-left']).toBe('0');
    expect(jobStats(c, 1)['state']).toBe('ready');
    say(c, 'reserve');
    say(c, 'bury 1 0');
    expect(jobStats(c, 1)['time-left']).toBe('0');
  });

  test('age counts whole seconds since the put, in every state', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 60 1', 'a');
    l.advance(999);
    expect(jobStats(c, 1)['age']).toBe('0');
    l.advance(1);
    expect(jobStats(c, 1)['age']).toBe('1');
    say(c, 'reserve');
    l.advance(5000);
    expect(jobStats(c, 1)['age']).toBe('6');
  });

  test('the tube name is unquoted and the byte count follows it; NOT_FOUND is counted', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use q(1)');
    say(c, 'put 0 0 60 1', 'a');
    expect(say(c, 'stats-job 1')).toMatch(/^OK 141\r\n---\nid: 1\ntube: q\(1\)\nstate: ready\n/);
    expect(say(c, 'stats-job 2')).toBe('NOT_FOUND');
    expect(stats(c)['cmd-stats-job']).toBe('2');
  });
});

describe('§7 reply lines', () => {
  test('OK/FOUND/RESERVED byte counts never include the trailing CRLF; the body is followed by CRLF', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('put 0 0 60 4\r\nab\r\n\r\n')).toBe('INSERTED 1\r\n');
    expect(c.write('peek 1\r\n')).toBe('FOUND 1 4\r\nab\r\n\r\n');
    expect(c.write('reserve\r\n')).toBe('RESERVED 1 4\r\nab\r\n\r\n');
    const r = c.write('list-tubes\r\n');
    expect(r).toBe('OK 14\r\n---\n- default\n\r\n');
    expect(yaml(say(c, 'stats-job 1'))['state']).toBe('reserved');
  });

  test('every reply word of the protocol, once each', () => {
    const { l, cs } = setup(2, { maxJobSize: 5 });
    const [c, w] = cs;
    const seen: string[] = [];
    const take = (s: string) => seen.push(s.split(/[\r ]/)[0]);
    take(say(c, 'put 0 0 1 1', 'x')); // INSERTED
    take(c.write('put 0 0 1 1\r\nxyz')); // EXPECTED_CRLF
    take(c.write('put 0 0 1 6\r\n12345678')); // JOB_TOO_BIG
    l.engine.draining = true;
    take(say(c, 'put 0 0 1 1', 'x')); // DRAINING
    l.engine.draining = false;
    take(say(c, 'use default')); // USING
    take(say(c, 'reserve')); // RESERVED
    take(say(c, 'reserve')); // DEADLINE_SOON
    take(say(c, 'touch 1')); // TOUCHED
    take(say(c, 'release 1 0 0')); // RELEASED
    take(say(c, 'reserve'));
    take(say(c, 'bury 1 0')); // BURIED
    take(say(c, 'kick 1')); // KICKED
    take(say(c, 'kick-job 1')); // NOT_FOUND
    take(say(c, 'peek 1')); // FOUND
    take(say(c, 'watch default')); // WATCHING
    take(say(c, 'ignore default')); // NOT_IGNORED
    take(say(c, 'stats')); // OK
    take(say(c, 'pause-tube default 0')); // PAUSED
    take(say(c, 'delete 1')); // DELETED
    take(say(c, 'x')); // UNKNOWN_COMMAND
    take(say(c, 'peek x')); // BAD_FORMAT
    say(w, 'reserve-with-timeout 0');
    l.advance(0);
    take(heard(w)); // TIMED_OUT
    expect(seen).toEqual([
      'INSERTED',
      'EXPECTED_CRLF',
      'JOB_TOO_BIG',
      'DRAINING',
      'USING',
      'RESERVED',
      'DEADLINE_SOON',
      'TOUCHED',
      'RELEASED',
      'RESERVED',
      'BURIED',
      'KICKED',
      'NOT_FOUND',
      'FOUND',
      'WATCHING',
      'NOT_IGNORED',
      'OK',
      'PAUSED',
      'DELETED',
      'UNKNOWN_COMMAND',
      'BAD_FORMAT',
      'TIMED_OUT',
    ]);
  });
});
