// Spec §6.1 (put), §3.1 (id allocation), §3.4 (producer flag), §12 items 2-3.
import { describe, expect, test } from 'vitest';
import { jobStats, say, setup, stats, tubeStats } from './spec-support.ts';

describe('§6.1 put: replies', () => {
  test('INSERTED <id> with ids 1, 2, 3 from a global counter, across tubes and connections', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    expect(say(a, 'put 0 0 10 1', 'x')).toBe('INSERTED 1');
    expect(say(b, 'use other')).toBe('USING other');
    expect(say(b, 'put 0 0 10 1', 'y')).toBe('INSERTED 2');
    expect(say(a, 'put 0 0 10 1', 'z')).toBe('INSERTED 3');
  });

  test('put goes into the used tube, not a watched one', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use u1');
    say(c, 'watch w1');
    say(c, 'put 0 0 10 1', 'x');
    expect(jobStats(c, 1)['tube']).toBe('u1');
    expect(tubeStats(c, 'u1')['current-jobs-ready']).toBe('1');
    expect(tubeStats(c, 'w1')['current-jobs-ready']).toBe('0');
  });

  test('delay 0 makes a ready job, delay > 0 a delayed one with deadline = now + delay', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 10 1', 'a');
    say(c, 'put 0 5 10 1', 'b');
    expect(jobStats(c, 1)['state']).toBe('ready');
    const s = jobStats(c, 2);
    expect(s['state']).toBe('delayed');
    expect(s['delay']).toBe('5');
    l.advance(4999);
    expect(jobStats(c, 2)['state']).toBe('delayed');
    l.advance(1);
    expect(jobStats(c, 2)['state']).toBe('ready');
  });

  test('the body is opaque: empty, embedded CRLF, NUL and high bytes come back exactly', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('put 0 0 10 0\r\n\r\n')).toBe('INSERTED 1\r\n');
    const body = 'a\r\nb\0c\xff\xe9\r\n';
    expect(c.write(`put 0 0 10 ${body.length}\r\n${body}\r\n`)).toBe('INSERTED 2\r\n');
    expect(c.write('reserve\r\n')).toBe('RESERVED 1 0\r\n\r\n');
    expect(c.write('reserve\r\n')).toBe(`RESERVED 2 ${body.length}\r\n${body}\r\n`);
    expect(c.write('peek 2\r\n')).toBe(`FOUND 2 ${body.length}\r\n${body}\r\n`);
  });

  test('a body that arrives in pieces is read exactly bytes+2 long', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('put 0 0 10 5\r\nhe')).toBe('');
    expect(c.write('l')).toBe('');
    expect(c.write('lo\r')).toBe('');
    expect(c.write('\nlist-tube-used\r\n')).toBe('INSERTED 1\r\nUSING default\r\n');
    expect(say(c, 'peek 1')).toBe('FOUND 1 5\r\nhello');
  });

  test('ttr 0 is stored as 1 s', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put 5 0 0 1', 'x')).toBe('INSERTED 1');
    expect(jobStats(c, 1)['ttr']).toBe('1');
    say(c, 'reserve');
    l.advance(999);
    expect(jobStats(c, 1)['state']).toBe('reserved');
    l.advance(1);
    expect(jobStats(c, 1)['state']).toBe('ready');
  });

  test('a put is handed at once to a blocked worker', () => {
    const { cs } = setup(2);
    const [w, p] = cs;
    expect(say(w, 'reserve')).toBe('');
    expect(say(p, 'put 0 0 10 3', 'abc')).toBe('INSERTED 1');
    expect(w.take()).toBe('RESERVED 1 3\r\nabc\r\n');
  });

  test('tube and global total-jobs count successful puts only', () => {
    const { cs } = setup(1, { maxJobSize: 10 });
    const [c] = cs;
    say(c, 'put 0 0 10 1', 'a');
    say(c, 'put 0 3 10 1', 'b');
    c.write('put 0 0 10 1\r\nxyz'); // EXPECTED_CRLF
    c.write('put 0 0 10 11\r\n' + 'q'.repeat(13)); // JOB_TOO_BIG
    say(c, 'put 0 0 10 1 junk');
    say(c, 'put -1 0 10 1');
    expect(stats(c)['total-jobs']).toBe('2');
    expect(tubeStats(c, 'default')['total-jobs']).toBe('2');
    say(c, 'delete 1');
    expect(stats(c)['total-jobs']).toBe('2');
  });
});

describe('§6.1 put: BAD_FORMAT leaves the body unread', () => {
  test.each([
    'put 0 0 10 1 ',
    'put -1 0 10 1',
    'put +1 0 10 1',
    'put 4294967296 0 10 1',
    'put 0 4294967296 10 1',
    'put 0 0 10',
    'put 0 0 10 1x',
    'put 0 0 10 0x1',
    'put a b c d',
  ])('"%s" → BAD_FORMAT, then the body line is parsed as a command', (line) => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write(`${line}\r\nZ\r\n`)).toBe('BAD_FORMAT\r\nUNKNOWN_COMMAND\r\n');
    expect(c.write('put 0 0 10 1\r\nlist-tube-used\r\n')).toBe('EXPECTED_CRLF\r\nUNKNOWN_COMMAND\r\n');
  });

  test('a body that is itself a command runs as one after a BAD_FORMAT put', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('put 0 0 10 14 \r\nlist-tube-used\r\n')).toBe('BAD_FORMAT\r\nUSING default\r\n');
  });
});

describe('§6.1 put: EXPECTED_CRLF', () => {
  test('exactly bytes+2 are read; the rest starts the next command ("\\nlist-tube-used" is unknown)', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('put 0 0 10 3\r\nabcd\r\nlist-tube-used\r\nlist-tube-used\r\n')).toBe(
      'EXPECTED_CRLF\r\nUNKNOWN_COMMAND\r\nUSING default\r\n',
    );
  });

  test('a body ending in "\\n\\r" or missing its CRLF is rejected and the job dropped', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('put 0 0 10 1\r\nx\n\r')).toBe('EXPECTED_CRLF\r\n');
    expect(c.write('put 0 0 10 1\r\nxyz\r\n')).toBe('EXPECTED_CRLF\r\nUNKNOWN_COMMAND\r\n');
    expect(say(c, 'peek 1')).toBe('NOT_FOUND');
    expect(say(c, 'peek 2')).toBe('NOT_FOUND');
    expect(stats(c)['current-jobs-ready']).toBe('0');
  });
});

describe('§3.1 id allocation', () => {
  test('ids are used up by a put that fails EXPECTED_CRLF', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put 0 0 10 1', 'a')).toBe('INSERTED 1');
    expect(c.write('put 0 0 10 1\r\nabc')).toBe('EXPECTED_CRLF\r\n');
    expect(say(c, 'put 0 0 10 1', 'c')).toBe('INSERTED 3');
  });

  test('ids are used up by a put that fails DRAINING', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put 0 0 10 1', 'a')).toBe('INSERTED 1');
    l.engine.draining = true; // SIGUSR1
    expect(say(c, 'put 0 0 10 1', 'b')).toBe('DRAINING');
    expect(say(c, 'peek 2')).toBe('NOT_FOUND');
    expect(stats(c)['draining']).toBe('true');
    l.engine.draining = false;
    expect(say(c, 'put 0 0 10 1', 'c')).toBe('INSERTED 3');
  });

  test('BAD_FORMAT (numbers or trailing garbage) and JOB_TOO_BIG do not use up an id', () => {
    const { cs } = setup(1, { maxJobSize: 10 });
    const [c] = cs;
    expect(say(c, 'put 0 0 10 1', 'a')).toBe('INSERTED 1');
    expect(say(c, 'put 0 0 10 x')).toBe('BAD_FORMAT');
    expect(say(c, 'put 0 0 10 1 junk')).toBe('BAD_FORMAT');
    expect(c.write('put 0 0 10 11\r\n' + 'q'.repeat(11) + '\r\n')).toBe('JOB_TOO_BIG\r\n');
    expect(say(c, 'put 0 0 10 1', 'b')).toBe('INSERTED 2');
  });

  test('an id is allocated when the put line is read, before the body: a put begun earlier keeps the lower id', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    expect(a.write('put 0 0 10 1\r\n')).toBe('');
    expect(say(b, 'put 0 0 10 1', 'b')).toBe('INSERTED 2');
    expect(a.write('a\r\n')).toBe('INSERTED 1\r\n');
  });

  test('a connection that closes during its body still uses up the id', () => {
    const { cs } = setup(2);
    const [a, b] = cs;
    a.write('put 0 0 10 5\r\nab');
    a.end();
    expect(a.closed).toBe(true);
    expect(say(b, 'put 0 0 10 1', 'b')).toBe('INSERTED 2');
    expect(say(b, 'peek 1')).toBe('NOT_FOUND');
  });

  test('draining: reserve still works', () => {
    const { l, cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 10 1', 'a');
    l.engine.draining = true;
    expect(say(c, 'reserve')).toBe('RESERVED 1 1\r\na');
  });
});

describe('§6.1 put: JOB_TOO_BIG', () => {
  test('default max-job-size 65535: 65535 accepted, 65536 rejected', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put 0 0 10 65535', 'a'.repeat(65535))).toBe('INSERTED 1');
    expect(say(c, 'put 0 0 10 65536', 'a'.repeat(65536))).toBe('JOB_TOO_BIG');
    expect(say(c, 'put 0 0 10 1', 'b')).toBe('INSERTED 2');
  });

  test('exactly bytes+2 bytes are swallowed, whatever they are; no reply until they have all arrived', () => {
    const { cs } = setup(1, { maxJobSize: 10 });
    const [c] = cs;
    expect(c.write('put 0 0 10 11\r\n')).toBe('');
    expect(c.write('delete 9999')).toBe('');
    expect(c.write('\r')).toBe('');
    expect(c.write('\nlist-tube-used\r\n')).toBe('JOB_TOO_BIG\r\nUSING default\r\n');
    expect(stats(c)['cmd-delete']).toBe('0');
  });

  test('swallowed bytes need not end in CRLF', () => {
    const { cs } = setup(1, { maxJobSize: 2 });
    const [c] = cs;
    expect(c.write('put 0 0 10 3\r\nabcdelist-tube-used\r\n')).toBe('JOB_TOO_BIG\r\nUSING default\r\n');
  });

  test('the size check comes before the trailing-garbage check', () => {
    const { cs } = setup(1, { maxJobSize: 10 });
    const [c] = cs;
    expect(c.write('put 0 0 10 11 junk\r\n')).toBe('');
    expect(c.write('0123456789ABC')).toBe('JOB_TOO_BIG\r\n');
  });

  test('max-job-size in stats follows -z', () => {
    const { cs } = setup(1, { maxJobSize: 10 });
    expect(stats(cs[0])['max-job-size']).toBe('10');
  });
});

describe('§6.1 / §8.1 cmd-put counting', () => {
  test('counted once the four numbers parse: trailing garbage, JOB_TOO_BIG, EXPECTED_CRLF, DRAINING count; number errors do not', () => {
    const { l, cs } = setup(1, { maxJobSize: 10 });
    const [c] = cs;
    const count = () => stats(c)['cmd-put'];
    expect(count()).toBe('0');
    say(c, 'put 0 0 10 1', 'a');
    expect(count()).toBe('1');
    say(c, 'put 0 0 10 1 junk'); // trailing garbage → BAD_FORMAT, counted
    expect(count()).toBe('2');
    say(c, 'put 0 0 10 1x'); // "1" parses, "x" is trailing garbage: counted
    expect(count()).toBe('3');
    c.write('put 0 0 10 11\r\n0123456789ABC'); // JOB_TOO_BIG
    expect(count()).toBe('4');
    c.write('put 0 0 10 1\r\nabc'); // EXPECTED_CRLF
    expect(count()).toBe('5');
    l.engine.draining = true;
    say(c, 'put 0 0 10 1', 'd'); // DRAINING
    expect(count()).toBe('6');
    l.engine.draining = false;
    for (const bad of ['put -1 0 10 1', 'put 0 0 10', 'put 4294967296 0 10 1', 'put 0 0 10 4294967296', 'put x']) say(c, bad);
    expect(count()).toBe('6');
  });
});

describe('§3.4 producer flag', () => {
  test('set by the first put past the size and trailing-garbage checks, once per connection', () => {
    const { cs } = setup(3, { maxJobSize: 10 });
    const [a, b, obs] = cs;
    const producers = () => stats(obs)['current-producers'];
    a.write('put 0 0 10 11\r\n0123456789ABC'); // JOB_TOO_BIG
    say(a, 'put 0 0 10 1 junk');
    say(a, 'put -1 0 10 1');
    expect(producers()).toBe('0');
    a.write('put 0 0 10 1\r\nabc'); // EXPECTED_CRLF: past the checks
    expect(producers()).toBe('1');
    say(a, 'put 0 0 10 1', 'a');
    expect(producers()).toBe('1');
    say(b, 'put 0 0 10 1', 'b');
    expect(producers()).toBe('2');
  });

  test('current-producers drops when a producer closes', () => {
    const { cs } = setup(2);
    const [a, obs] = cs;
    say(a, 'put 0 0 10 1', 'a');
    expect(stats(obs)['current-producers']).toBe('1');
    a.write('quit\r\n');
    expect(stats(obs)['current-producers']).toBe('0');
  });
});
