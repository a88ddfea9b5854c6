// Spec §1 (transport and framing), §1.1 (command words), §1.2 (numbers), §1.3 (tube names).
import { describe, expect, test } from 'vitest';
import { lab } from './helpers.ts';
import { heard, jobStats, say, setup, stats, tubeStats } from './spec-support.ts';

describe('§1 framing', () => {
  test('a bare \\n does not end a line; a later \\r\\n completes it with the \\n as garbage', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('list-tube-used\n')).toBe('');
    expect(c.write('\r\n')).toBe('BAD_FORMAT\r\n');
    expect(say(c, 'list-tube-used')).toBe('USING default');
  });

  test('only the first \\r in the buffer counts: "\\r" not followed by "\\n" leaves the line open', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('list-tube-used\rx\r\n')).toBe('');
    expect(c.write('list-tube-used\r\n')).toBe('');
    // The open line is thrown away once 224 bytes have gathered, and answered with one BAD_FORMAT.
    expect(c.write('y'.repeat(250) + '\r\n')).toBe('BAD_FORMAT\r\n');
    expect(say(c, 'list-tube-used')).toBe('USING default');
  });

  test('a 224-byte line (CRLF included) is accepted: pause-tube <200 chars> 4294967295', () => {
    const { cs } = setup(1);
    const [c] = cs;
    const name = 'n'.repeat(200);
    expect(say(c, `use ${name}`)).toBe(`USING ${name}`);
    const line = `pause-tube ${name} 4294967295\r\n`;
    expect(line.length).toBe(224);
    expect(c.write(line)).toBe('PAUSED\r\n');
    expect(tubeStats(c, name)['pause']).toBe('4294967295');
  });

  test('a 226-byte line is BAD_FORMAT (discarded), and the next command works', () => {
    const { cs } = setup(1);
    const [c] = cs;
    const name = 'n'.repeat(200);
    say(c, `use ${name}`);
    const line = `pause-tube ${name} 004294967295\r\n`;
    expect(line.length).toBe(226);
    expect(c.write(line)).toBe('BAD_FORMAT\r\n');
    expect(tubeStats(c, name)['pause']).toBe('0');
    expect(stats(c)['cmd-pause-tube']).toBe('0');
  });

  test('a 224-byte unknown line still gets UNKNOWN_COMMAND (it fits)', () => {
    const { cs } = setup(1);
    expect(cs[0].write('z'.repeat(222) + '\r\n')).toBe('UNKNOWN_COMMAND\r\n');
  });

  test('a too-long line: nothing until a CRLF turns up, then one BAD_FORMAT; bytes after it are the next command', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('x'.repeat(224))).toBe('');
    expect(c.write('x'.repeat(300))).toBe('');
    expect(c.write('x'.repeat(1000))).toBe('');
    expect(c.write('tail\r\nlist-tube-used\r\n')).toBe('BAD_FORMAT\r\nUSING default\r\n');
  });

  test('a too-long line sent byte by byte is discarded the same way', () => {
    const { cs } = setup(1);
    const [c] = cs;
    let out = '';
    for (const ch of 'q'.repeat(500) + '\r\nlist-tube-used\r\n') out += c.write(ch);
    expect(out).toBe('BAD_FORMAT\r\nUSING default\r\n');
  });

  test('quirk: a CR as byte 224 and its LF as byte 225 are not seen as a line end; the next line is swallowed', () => {
    const { cs } = setup(1);
    const [c] = cs;
    const line = 'w'.repeat(223) + '\r\n';
    expect(line.length).toBe(225);
    expect(c.write(line)).toBe('');
    expect(c.write('list-tube-used\r\n')).toBe('BAD_FORMAT\r\n');
    expect(c.write('list-tube-used\r\n')).toBe('USING default\r\n');
  });

  test('the boundary quirk also applies while discarding: blocks are counted from the start of the line', () => {
    const { cs } = setup(1);
    const [c] = cs;
    // Second block = 223 "y" + CR; its LF starts the third block: the line end is missed once more.
    expect(c.write('x'.repeat(224) + 'y'.repeat(223) + '\r\nlist-tube-used\r\nlist-tube-used\r\n')).toBe('BAD_FORMAT\r\nUSING default\r\n');
    // One byte shorter: the CRLF lies inside the second block.
    expect(c.write('x'.repeat(224) + 'y'.repeat(222) + '\r\nlist-tube-used\r\n')).toBe('BAD_FORMAT\r\nUSING default\r\n');
  });

  test('the same 225-byte line in one packet with a following command: one BAD_FORMAT for both', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('w'.repeat(223) + '\r\nlist-tube-used\r\nlist-tube-used\r\n')).toBe('BAD_FORMAT\r\nUSING default\r\n');
  });

  test('a NUL byte in a command line is BAD_FORMAT, whatever the command', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('list-tubes\0\r\n')).toBe('BAD_FORMAT\r\n');
    expect(c.write('\0\r\n')).toBe('BAD_FORMAT\r\n');
    expect(c.write('nosuch\0command\r\n')).toBe('BAD_FORMAT\r\n');
    expect(c.write('quit\0\r\n')).toBe('BAD_FORMAT\r\n');
    expect(c.closed).toBe(false);
  });

  test('pipelining: several commands in one packet run in order, one reply each', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('use p\r\nput 0 0 10 2\r\nab\r\nlist-tube-used\r\npeek 1\r\nbogus\r\ndelete 1\r\npeek 1\r\n')).toBe(
      'USING p\r\nINSERTED 1\r\nUSING p\r\nFOUND 1 2\r\nab\r\nUNKNOWN_COMMAND\r\nDELETED\r\nNOT_FOUND\r\n',
    );
  });

  test('a command split over several packets is answered once it is complete', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(c.write('list-')).toBe('');
    expect(c.write('tube-used\r')).toBe('');
    expect(c.write('\n')).toBe('USING default\r\n');
  });

  test('blocking: while a reserve waits, the commands sent after it are not read', () => {
    const { cs } = setup(2);
    const [w, p] = cs;
    expect(w.write('reserve\r\nlist-tube-used\r\nuse other\r\n')).toBe('');
    expect(stats(p)['cmd-list-tube-used']).toBe('0');
    expect(stats(p)['cmd-use']).toBe('0');
    expect(say(p, 'put 0 0 10 1', 'x')).toBe('INSERTED 1');
    expect(w.take()).toBe('RESERVED 1 1\r\nx\r\nUSING default\r\nUSING other\r\n');
  });

  test('half-close while blocked in reserve: TIMED_OUT, then the server closes', () => {
    const { cs } = setup(1);
    const [w] = cs;
    expect(w.write('reserve\r\n')).toBe('');
    expect(w.end()).toBe('TIMED_OUT\r\n');
    expect(w.closed).toBe(true);
  });

  test('half-close while blocked: commands queued behind the reserve still run before the close', () => {
    const { cs } = setup(1);
    const [w] = cs;
    expect(w.write('reserve-with-timeout 100\r\nlist-tube-used\r\n')).toBe('');
    expect(w.end()).toBe('TIMED_OUT\r\nUSING default\r\n');
    expect(w.closed).toBe(true);
  });

  test('half-close sent together with a reserve (read before the reserve ran) still gives TIMED_OUT', () => {
    const { l, cs } = setup(2);
    const [w, p] = cs;
    expect(w.write('watch hc\r\nignore default\r\nreserve\r\nlist-tube-used\r\nreserve\r\n')).toBe('WATCHING 2\r\nWATCHING 1\r\n');
    // The reserves run after the end of input was seen: each still answers TIMED_OUT at once.
    expect(w.end()).toBe('TIMED_OUT\r\nUSING default\r\nTIMED_OUT\r\n');
    expect(w.closed).toBe(true);
    expect(stats(p)['current-waiting']).toBe('0');
    l.advance(10_000);
    expect(p.take()).toBe('');
  });

  test('half-close with a job available: a pipelined reserve still gets the job', () => {
    const { cs } = setup(2);
    const [w, p] = cs;
    say(p, 'put 0 0 10 1', 'x');
    w.session.receive(Buffer.from('list-tube-used\r\nreserve\r\n'));
    expect(w.end()).toBe('USING default\r\nRESERVED 1 1\r\nx\r\n');
    expect(w.closed).toBe(true);
    // closing gave the job back at once
    expect(jobStats(p, 1)['state']).toBe('ready');
  });

  test('half-close when not blocked: complete commands run, an incomplete line is dropped, then close', () => {
    const { cs } = setup(1);
    const [c] = cs;
    c.session.receive(Buffer.from('list-tube-used\r\nlist-tu'));
    expect(c.end()).toBe('USING default\r\n');
    expect(c.closed).toBe(true);
  });

  test('command words are case-sensitive lower case', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'PUT 0 0 10 1')).toBe('UNKNOWN_COMMAND');
    expect(say(c, 'Reserve')).toBe('UNKNOWN_COMMAND');
    expect(say(c, 'STATS')).toBe('UNKNOWN_COMMAND');
    expect(say(c, 'List-tubes')).toBe('UNKNOWN_COMMAND');
    expect(say(c, 'QUIT')).toBe('UNKNOWN_COMMAND');
    expect(c.closed).toBe(false);
  });

  test('an empty line gets UNKNOWN_COMMAND', () => {
    const { cs } = setup(1);
    expect(cs[0].write('\r\n')).toBe('UNKNOWN_COMMAND\r\n');
    expect(cs[0].write('\r\n\r\n')).toBe('UNKNOWN_COMMAND\r\nUNKNOWN_COMMAND\r\n');
  });
});

describe('§1.1 which_cmd: prefix order decides UNKNOWN_COMMAND vs BAD_FORMAT', () => {
  const unknown = [
    'delete',
    'put',
    'use',
    'watch',
    'kick',
    'peek',
    'touch',
    'ignore',
    'release',
    'bury',
    'kick-job',
    'list-tube',
    'pause',
    'foo',
    'qui',
    'peek\t1',
    ' reserve',
  ];
  test.each(unknown)('"%s" matches no prefix: UNKNOWN_COMMAND', (line) => {
    const { cs } = setup(1);
    expect(say(cs[0], line)).toBe('UNKNOWN_COMMAND');
  });

  const badFormat = [
    'stats-job', // prefix 17 "stats", not exact
    'stats ',
    'statsx',
    'stats-tubes',
    'stats-tube',
    'reserve-with-timeout', // prefix 8 "reserve", not exact
    'reserve ',
    'reservex',
    'reserve-job',
    'reserve-jobs 1',
    'peek-readyx',
    'peek-ready ',
    'peek-delayed ',
    'peek-buriedx',
    'list-tubes ',
    'list-tubes-watchedX',
    'list-tube-used x',
    'use ',
    'pause-tube',
    'peek \t1',
  ];
  test.each(badFormat)('"%s" matches a prefix but fails its check: BAD_FORMAT', (line) => {
    const { cs } = setup(1);
    expect(say(cs[0], line)).toBe('BAD_FORMAT');
  });

  test('the exact-match commands answer when exact', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'peek-ready')).toBe('NOT_FOUND');
    expect(say(c, 'peek-delayed')).toBe('NOT_FOUND');
    expect(say(c, 'peek-buried')).toBe('NOT_FOUND');
    expect(say(c, 'list-tubes')).toBe('OK 14\r\n---\n- default\n');
    expect(say(c, 'list-tubes-watched')).toBe('OK 14\r\n---\n- default\n');
    expect(say(c, 'list-tube-used')).toBe('USING default');
    expect(say(c, 'stats')).toMatch(/^OK \d+\r\n---\n/);
  });

  test.each(['quit', 'quitnow', 'quit now', 'quit '])('"%s" closes the connection without a reply', (line) => {
    const { cs } = setup(2);
    const [c, other] = cs;
    expect(c.write(line + '\r\n')).toBe('');
    expect(c.closed).toBe(true);
    expect(stats(other)['current-connections']).toBe('1');
  });

  test('quit: replies to the commands before it are sent, commands after it are never run', () => {
    const { cs } = setup(2);
    const [c, other] = cs;
    expect(c.write('list-tube-used\r\nquit\r\nuse later\r\n')).toBe('USING default\r\n');
    expect(c.closed).toBe(true);
    expect(stats(other)['cmd-use']).toBe('0');
  });

  test('quit is never counted in stats', () => {
    const { cs } = setup(2);
    cs[0].write('quit\r\n');
    expect(say(cs[1], 'stats')).not.toMatch(/quit/);
  });

  test('"pause-tubedefault 0" is pause-tube default 0 (the prefix has no space)', () => {
    const { cs } = setup(1);
    expect(say(cs[0], 'pause-tubedefault 0')).toBe('PAUSED');
    expect(tubeStats(cs[0], 'default')['cmd-pause-tube']).toBe('1');
  });
});

describe('§1.2 number parsing', () => {
  test('spaces before a number are skipped: "peek  1" and "put  0  0  10  1"', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put  0  0  10  1', 'x')).toBe('INSERTED 1');
    expect(say(c, 'peek  1')).toBe('FOUND 1 1\r\nx');
    expect(say(c, 'stats-job    1')).toMatch(/^OK /);
  });

  test('leading zeros are fine: "put 00 000 010 001"', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put 00 000 010 001', 'x')).toBe('INSERTED 1');
    const s = jobStats(c, 1);
    expect([s['pri'], s['delay'], s['ttr']]).toEqual(['0', '0', '10']);
    expect(say(c, 'peek 0000000000000000000000000001')).toBe('FOUND 1 1\r\nx');
  });

  test.each(['peek -1', 'peek +1', 'peek ', 'peek 0x1', 'peek 1x', 'delete -1', 'touch +1', 'kick-job ', 'stats-job x'])(
    'the first char after the spaces must be a digit and nothing may follow: "%s" is BAD_FORMAT',
    (line) => {
      const { cs } = setup(1);
      const [c] = cs;
      say(c, 'put 0 0 10 1', 'x');
      expect(say(c, line)).toBe('BAD_FORMAT');
    },
  );

  test('u64 ids: 18446744073709551615 is in range (NOT_FOUND), one more or a long digit run is BAD_FORMAT', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'peek 18446744073709551615')).toBe('NOT_FOUND');
    expect(say(c, 'delete 18446744073709551615')).toBe('NOT_FOUND');
    expect(say(c, 'peek 18446744073709551616')).toBe('BAD_FORMAT');
    expect(say(c, 'peek 99999999999999999999999999')).toBe('BAD_FORMAT');
    expect(say(c, 'release 18446744073709551616 0 0')).toBe('BAD_FORMAT');
  });

  test('u32 fields accept 0..4294967295; 4294967296 is BAD_FORMAT in every position', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put 4294967295 0 4294967295 1', 'x')).toBe('INSERTED 1');
    expect(jobStats(c, 1)['pri']).toBe('4294967295');
    expect(jobStats(c, 1)['ttr']).toBe('4294967295');
    for (const line of [
      'put 4294967296 0 10 1',
      'put 0 4294967296 10 1',
      'put 0 0 4294967296 1',
      'put 0 0 10 4294967296',
      'release 1 4294967296 0',
      'release 1 0 4294967296',
      'bury 1 4294967296',
      'pause-tube default 4294967296',
    ]) {
      expect(c.write(line + '\r\n'), line).toBe('BAD_FORMAT\r\n');
    }
  });

  test('a delay of 4294967295 s is accepted and shown as such', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'put 0 4294967295 10 1', 'x')).toBe('INSERTED 1');
    const s = jobStats(c, 1);
    expect(s['state']).toBe('delayed');
    expect(s['delay']).toBe('4294967295');
    expect(s['time-left']).toBe('4294967294');
  });

  test.each(['peek 1 ', 'delete 1 ', 'release 1 2 3 ', 'bury 1 2 ', 'touch 1 ', 'kick-job 1 ', 'stats-job 1 ', 'reserve-job 1 '])(
    'trailing spaces are BAD_FORMAT: "%s"',
    (line) => {
      const { cs } = setup(1);
      const [c] = cs;
      say(c, 'put 0 0 10 1', 'x');
      expect(say(c, line)).toBe('BAD_FORMAT');
      // nothing happened to the job
      expect(jobStats(c, 1)['state']).toBe('ready');
    },
  );

  test('release and bury take several spaces between fields', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'put 0 0 10 1', 'x');
    say(c, 'reserve');
    expect(say(c, 'release   1   7   0')).toBe('RELEASED');
    say(c, 'reserve');
    expect(say(c, 'bury  1  9')).toBe('BURIED');
    expect(jobStats(c, 1)['pri']).toBe('9');
  });
});

describe('§1.3 tube names', () => {
  test('allowed bytes A-Z a-z 0-9 - + / ; . $ _ ( ), "-" anywhere but first', () => {
    const { cs } = setup(1);
    const [c] = cs;
    expect(say(c, 'use A+b/c;d.e$f_g(h)')).toBe('USING A+b/c;d.e$f_g(h)');
    expect(say(c, 'use x-')).toBe('USING x-');
    expect(say(c, 'use a-b')).toBe('USING a-b');
    expect(say(c, 'use 9')).toBe('USING 9');
    expect(say(c, 'use -lead')).toBe('BAD_FORMAT');
    expect(say(c, 'list-tube-used')).toBe('USING 9');
  });

  test('length 1..200: 200 chars is fine, 201 is BAD_FORMAT', () => {
    const { cs } = setup(1);
    const [c] = cs;
    const n200 = 'a'.repeat(200);
    expect(say(c, `use ${n200}`)).toBe(`USING ${n200}`);
    expect(say(c, `watch ${n200}`)).toBe('WATCHING 2');
    expect(say(c, `use ${n200}b`)).toBe('BAD_FORMAT');
    expect(say(c, `watch ${n200}b`)).toBe('BAD_FORMAT');
    expect(say(c, `stats-tube ${n200}b`)).toBe('BAD_FORMAT');
  });

  const bad = ['a*b', 'a:b', 'a,b', 'a\tb', 'a\xe9b', ' default', 'default ', 'a b', '-x', '', 'a#b', 'a"b'];
  for (const cmd of ['use', 'watch', 'ignore', 'stats-tube']) {
    test.each(bad)(`${cmd}: everything after the single space must be a valid name; %j is BAD_FORMAT`, (name) => {
      const { cs } = setup(1);
      const [c] = cs;
      expect(c.write(`${cmd} ${name}\r\n`)).toBe('BAD_FORMAT\r\n');
      expect(stats(c)[`cmd-${cmd}`]).toBe('0');
    });
  }

  test('an invalid name never creates a tube', () => {
    const { cs } = setup(1);
    const [c] = cs;
    say(c, 'use a*b');
    say(c, 'watch a:b');
    expect(say(c, 'list-tubes')).toBe('OK 14\r\n---\n- default\n');
  });
});

describe('§2 every command read gets exactly one reply (except quit)', () => {
  test('a long pipelined mix yields one reply per line', () => {
    const l = lab();
    const c = l.raw();
    const lines = ['use t', 'watch t', 'ignore default', 'peek 5', 'bogus', 'stats-tube t', 'kick 3', 'list-tubes', 'touch 1', 'PUT'];
    const out = c.write(lines.map((x) => x + '\r\n').join(''));
    const replies = out.match(/(?:^|\r\n)(USING|WATCHING|NOT_FOUND|UNKNOWN_COMMAND|OK|KICKED)/g) ?? [];
    expect(replies.length).toBe(lines.length);
    expect(heard(c)).toBe('');
  });
});
