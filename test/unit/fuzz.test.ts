// Bad input over TCP: seeded random and mutated command lines and bodies. Our server must stay
// up, answer only with beanstalkd reply words, leave jobs the fuzz cannot name alone, and answer
// the same byte stream exactly as the reference beanstalkd 1.12 does.
//
// Reproduce a failure with the seed printed in its message: FUZZ_SEED=<n> npx vitest run test/unit/fuzz
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { startTcpServer, type TcpServer } from '../../src/server/tcp.ts';
import { exchange, field, rawClient, splitReplies, startRealBeanstalkd, waitForListen, type Reply } from './server-harness.ts';
import { prng } from '../support/prng.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);

// ---------------------------------------------------------------------------------------------
// Seeded generator (test/support/prng.ts)

type Rng = ReturnType<typeof prng>;

const enc = (s: string) => Buffer.from(s, 'latin1');
const TUBES = ['default', 'fz', 'fz-a', 'fz(b)', 'a+b/c;d.e$f_g', 'x', 'Zz9', 'tube-with-a-long-name-' + 'n'.repeat(150)];
const BAD_TUBES = ['-lead', 'a b', 'a*b', 'ü', 'tab\there', 'n'.repeat(201), '', ' fz', 'fz '];
const HUGE = ['4294967295', '4294967296', '18446744073709551615', '18446744073709551616', '99999999999999999999999999999', '0000000000000000000000007', '-1', '-0', '+1', '1e3', '0x10', ' ', '', '00'];

function tube(r: Rng): string {
  if (r.chance(0.1)) return r.pick(BAD_TUBES);
  if (r.chance(0.1)) {
    const chars = 'abcXYZ019-+/;.$_()';
    let s = '';
    for (let i = r.int(1, 12); i > 0; i--) s += r.pick([...chars]);
    return s;
  }
  return r.pick(TUBES);
}

/**
 * Where one generator thinks the server's job ids are, so the ids it names mostly exist: the ids
 * used before it started, plus its own puts times the number of generators running side by side.
 */
interface IdGuess {
  base: number;
  puts: number;
  lanes: number;
}

function num(r: Rng, kind: 'id' | 'pri' | 'delay' | 'ttr' | 'n', g?: IdGuess, spread = 12): string {
  switch (kind) {
    case 'id': {
      // about 40% of generated puts reach the server as an id (the rest are mutated away)
      const near = g ? g.base + Math.round(g.puts * 0.4 * g.lanes) : 0;
      return String(r.chance(0.85) ? Math.max(1, near - r.int(-2, spread * (g?.lanes ?? 1))) : r.int(0, 100000));
    }
    case 'pri':
      return String(r.pick([0, 1, 10, 512, 1023, 1024, 2048, 4294967295]));
    case 'delay':
      // 0 or long: a job that becomes ready mid-run would make the differential test timing-dependent
      return String(r.pick([0, 0, 0, 100, 3600]));
    case 'ttr':
      return String(r.pick([0, 1, 60, 3600]));
    case 'n':
      return String(r.pick([0, 1, 2, 5, 100, 4294967295]));
  }
}

function body(r: Rng): Buffer {
  const n = r.pick([0, 1, 3, 5, 10, 20, 50, 200, 900]);
  const b = Buffer.alloc(n);
  const binary = r.chance(0.3);
  for (let i = 0; i < n; i++) b[i] = binary ? r.int(0, 255) : r.int(32, 126);
  if (n > 4 && r.chance(0.3)) b.write('\r\n', r.int(0, n - 2), 'latin1');
  return b;
}

/** One well-formed command (line + CRLF, plus body for put). */
function validUnit(r: Rng, g: IdGuess): Buffer {
  const line = (s: string) => enc(`${s}\r\n`);
  switch (r.int(0, 27)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const b = body(r);
      g.puts++;
      return Buffer.concat([line(`put ${num(r, 'pri')} ${num(r, 'delay')} ${num(r, 'ttr')} ${b.length}`), b, enc('\r\n')]);
    }
    case 4:
      return line(`use ${tube(r)}`);
    case 5:
      return line(`watch ${tube(r)}`);
    case 6:
      return line(`ignore ${tube(r)}`);
    case 7:
    case 8:
      return line('reserve-with-timeout 0');
    case 9:
      return line(`reserve-job ${num(r, 'id', g)}`);
    case 10:
      return line(`delete ${num(r, 'id', g)}`);
    case 11:
      return line(`release ${num(r, 'id', g)} ${num(r, 'pri')} ${num(r, 'delay')}`);
    case 12:
      return line(`bury ${num(r, 'id', g)} ${num(r, 'pri')}`);
    case 13:
      return line(`touch ${num(r, 'id', g)}`);
    case 14:
      return line(`peek ${num(r, 'id', g)}`);
    case 15:
      return line(r.pick(['peek-ready', 'peek-delayed', 'peek-buried']));
    case 16:
      return line(`kick ${num(r, 'n')}`);
    case 17:
      return line(`kick-job ${num(r, 'id', g)}`);
    case 18:
      return line(`stats-job ${num(r, 'id', g)}`);
    case 19:
      return line(`stats-tube ${tube(r)}`);
    case 20:
      return line('stats');
    case 21:
      return line(r.pick(['list-tubes', 'list-tube-used', 'list-tubes-watched']));
    case 22:
      return line(`pause-tube ${tube(r)} ${r.pick(['0', '100', '3600'])}`);
    case 24:
    case 25:
    case 26: {
      // take a job and act on it, so release/bury/touch/delete meet jobs this connection holds
      const id = num(r, 'id', g, 4);
      const act = r.pick([`release ${id} ${num(r, 'pri')} ${num(r, 'delay')}`, `bury ${id} ${num(r, 'pri')}`, `touch ${id}`, `delete ${id}`, `kick-job ${id}`]);
      return Buffer.concat([line(`reserve-job ${id}`), line(act)]);
    }
    case 23:
      return line(r.pick(['reserve-with-timeout', 'reserve ', 'reservex', 'stats ', 'PUT 0 0 1 1', 'peek', 'delete', '']));
    default: {
      // put whose declared size and actual body disagree
      const b = body(r);
      const declared = Math.max(0, b.length + r.pick([-3, -2, -1, 1, 2, 3]));
      g.puts++;
      return Buffer.concat([line(`put 0 0 60 ${declared}`), b, enc('\r\n')]);
    }
  }
}

function randomBytes(r: Rng, n: number, printable = false): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = printable ? r.int(32, 126) : r.int(0, 255);
  return b;
}

const SPECIAL_BYTES = [0, 13, 10, 32, 9, 0x2d, 0x30, 0x31, 0x39, 0xff, 0x80];

/** One mutation of a unit. */
function mutate(r: Rng, u: Buffer): Buffer {
  const at = (extra = 0) => r.int(0, Math.max(0, u.length - 1 + extra));
  let op = r.int(0, 15);
  // the two most destructive ones (they usually swallow the next unit too) are rarer
  if ((op === 9 || op === 10) && r.chance(0.5)) op = r.int(0, 8);
  switch (op) {
    case 0: {
      if (!u.length) return u;
      const c = Buffer.from(u);
      c[at()] = r.int(0, 255);
      return c;
    }
    case 1: {
      if (!u.length) return u;
      const c = Buffer.from(u);
      c[at()] ^= 1 << r.int(0, 7);
      return c;
    }
    case 2: {
      const i = at(1);
      const b = r.chance(0.5) ? r.pick(SPECIAL_BYTES) : r.int(0, 255);
      return Buffer.concat([u.subarray(0, i), Buffer.from([b]), u.subarray(i)]);
    }
    case 3: {
      if (!u.length) return u;
      const i = at();
      return Buffer.concat([u.subarray(0, i), u.subarray(i + 1)]);
    }
    case 4: {
      const i = at();
      const j = Math.min(u.length, i + r.int(1, 30));
      return Buffer.concat([u.subarray(0, j), u.subarray(i, j), u.subarray(j)]);
    }
    case 5:
    case 6: {
      // replace a number in the command line with something extreme, negative or malformed
      const eol = u.indexOf('\r\n');
      const head = (eol < 0 ? u : u.subarray(0, eol)).toString('latin1');
      const runs = [...head.matchAll(/\d+/g)];
      if (!runs.length) return u;
      const m = r.pick(runs);
      const s = head.slice(0, m.index) + r.pick(HUGE) + head.slice(m.index! + m[0].length);
      return Buffer.concat([enc(s), eol < 0 ? Buffer.alloc(0) : u.subarray(eol)]);
    }
    case 7: {
      // lone CR or LF somewhere
      const i = at(1);
      return Buffer.concat([u.subarray(0, i), enc(r.pick(['\r', '\n', '\n\r', '\r\r'])), u.subarray(i)]);
    }
    case 8: {
      // damage the first line terminator: LF only, CR only, none, or doubled
      const eol = u.indexOf('\r\n');
      if (eol < 0) return u;
      return Buffer.concat([u.subarray(0, eol), enc(r.pick(['\n', '\r', '', '\r\n\r\n', '\n\r'])), u.subarray(eol + 2)]);
    }
    case 9: {
      // over-long line (224 bytes is the most beanstalkd accepts, CRLF included)
      const i = at();
      const n = r.pick([180, 221, 222, 223, 224, 225, 300, 447, 448, 449, 700]);
      return Buffer.concat([u.subarray(0, i), randomBytes(r, n, r.chance(0.7)), u.subarray(i)]);
    }
    case 10:
      // random binary, with or without a line end
      return Buffer.concat([randomBytes(r, r.int(0, 300)), r.chance(0.6) ? enc('\r\n') : Buffer.alloc(0)]);
    case 11:
      return enc(u.toString('latin1').toUpperCase());
    case 12:
      // truncate: the rest of this unit never arrives (the next one runs into it)
      return u.subarray(0, at());
    case 13:
    case 14: {
      // wrong body length: the declared size of a put no longer matches its body
      const m = /^put (\d+ \d+ \d+ )(\d+)\r\n/.exec(u.toString('latin1'));
      if (!m) return u;
      const size = Number(m[2]);
      const wrong = r.pick([size + 1, size + 2, size + 3, Math.max(0, size - 1), Math.max(0, size - 2), 0, 999, 1000, 1001, 1002, 65535, 65536]);
      return Buffer.concat([enc(`put ${m[1]}${wrong}\r\n`), u.subarray(m[0].length)]);
    }
    default: {
      // NUL in the command line
      const eol = u.indexOf('\r\n');
      const i = r.int(0, Math.max(0, eol < 0 ? u.length : eol));
      return Buffer.concat([u.subarray(0, i), Buffer.from([0]), u.subarray(i)]);
    }
  }
}

function unit(r: Rng, g: IdGuess): Buffer {
  let u = validUnit(r, g);
  if (r.chance(0.45)) for (let k = r.chance(0.7) ? 1 : r.int(2, 3); k > 0; k--) u = mutate(r, u);
  return u;
}

// ---------------------------------------------------------------------------------------------
// Sanitizer: what the byte stream must never contain, whatever the mutations produced. It only
// ever swaps one byte for another, so declared body sizes keep meaning what they meant.

interface Guard {
  /** Names of tubes the fuzz must not be able to name (a byte of each occurrence is changed). */
  tubes: string[];
  /** Job ids the fuzz must not be able to name (every digit run with such a value is changed). */
  ids: Set<bigint>;
}

function sanitize(stream: Buffer, guard: Guard): Buffer {
  const b = Buffer.from(stream);
  const s = b.toString('latin1');
  // `quit` would close the connection, dropping the rest of the stream.
  for (let i = s.indexOf('quit'); i >= 0; i = s.indexOf('quit', i + 1)) b[i] = 0x51; // 'Q'
  // A reserve that can block (no job ready) would stall the connection: bare `reserve`, or
  // `reserve-with-timeout` whose argument has a non-zero digit. `reserve-with-timeout 0` and its
  // zero-valued variants answer at once, so they stay.
  for (let i = s.indexOf('reserve'); i >= 0; i = s.indexOf('reserve', i + 1)) {
    const rest = s.slice(i + 7);
    const bare = rest.startsWith('\r\n');
    let blocking = false;
    if (rest.startsWith('-with-timeout')) {
      const cr = rest.indexOf('\r');
      blocking = /[1-9]/.test(cr < 0 ? rest : rest.slice(0, cr));
    }
    if (bare || blocking) b[i] = 0x52; // 'R'
  }
  for (const name of guard.tubes) {
    for (let i = s.indexOf(name); i >= 0; i = s.indexOf(name, i + 1)) b[i] ^= 0x20; // flip case of the first letter
  }
  if (guard.ids.size) {
    const t = b.toString('latin1');
    for (const m of t.matchAll(/\d+/g)) {
      let v = BigInt(m[0]);
      if (!guard.ids.has(v)) continue;
      const last = m.index! + m[0].length - 1;
      while (guard.ids.has(v)) {
        b[last] = 0x30 + ((b[last] - 0x30 + 1) % 10);
        v = BigInt(b.subarray(m.index!, last + 1).toString('latin1'));
      }
    }
  }
  return b;
}

/** Random chunk boundaries for a stream. */
function chunks(r: Rng, b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; ) {
    const n = r.chance(0.3) ? r.int(1, 8) : r.int(9, 3000);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reply checks

const NAME = '[A-Za-z0-9\\-+/;.$_()]{1,200}';
const REPLY_LINE = new RegExp(
  '^(?:' +
    [
      'INSERTED \\d+',
      'BURIED \\d+',
      'BURIED',
      'EXPECTED_CRLF',
      'JOB_TOO_BIG',
      'DRAINING',
      'BAD_FORMAT',
      'UNKNOWN_COMMAND',
      'RESERVED \\d+ \\d+',
      'DEADLINE_SOON',
      'TIMED_OUT',
      'DELETED',
      'NOT_FOUND',
      'RELEASED',
      'TOUCHED',
      `WATCHING \\d+`,
      'NOT_IGNORED',
      'FOUND \\d+ \\d+',
      'KICKED \\d+',
      'KICKED',
      'OK \\d+',
      `USING ${NAME}`,
      'PAUSED',
    ].join('|') +
    ')$',
);

function checkReplies(replies: Reply[], where: string): Map<string, number> {
  const words = new Map<string, number>();
  for (const [i, r] of replies.entries()) {
    if (!REPLY_LINE.test(r.line)) throw new Error(`${where}: reply #${i} is not a beanstalkd reply: ${JSON.stringify(r.line)}`);
    if (r.line.startsWith('OK ') && !r.body!.toString('latin1').startsWith('---\n')) {
      throw new Error(`${where}: reply #${i} OK body is not YAML: ${JSON.stringify(r.body!.toString('latin1').slice(0, 60))}`);
    }
    const w = r.line.split(' ')[0];
    words.set(w, (words.get(w) ?? 0) + 1);
  }
  return words;
}

/** Makes two servers' replies comparable: fields that legitimately differ between processes are masked. */
function normalize(r: Reply): string {
  if (!r.body) return r.line;
  let text = r.body.toString('latin1');
  let line = r.line;
  if (text.startsWith('---\ncurrent-jobs-urgent:')) {
    // global stats: process identity, clocks and CPU time differ; every counter must not
    text = text.replace(/^(pid|version|rusage-utime|rusage-stime|uptime|id|hostname|os|platform): .*$/gm, '$1: *');
    line = 'OK *';
  }
  return `${line}\n${text}`;
}

// ---------------------------------------------------------------------------------------------

let engine: Engine;
let server: TcpServer;

beforeAll(async () => {
  engine = new Engine({ clock: new RealClock() });
  server = await startTcpServer(engine, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
});

describe('fuzz: random and mutated input over TCP', () => {
  test('10,000+ units on 4 concurrent lanes: the server stays up, replies are well-formed, guarded jobs are untouched', async () => {
    // Jobs queued before the fuzz, in a tube whose name the sanitized stream can never contain,
    // with ids it can never contain: ready, delayed, buried, and one held reserved by a live connection.
    const setup = await rawClient(server.port);
    for (let i = 0; i < 40; i++) {
      // burn ids 1..40 so the guarded ids are not the small numbers the fuzz uses most
      const id = /^INSERTED (\d+)$/.exec(await setup.send('put 0 0 60 1', 'b'))![1];
      expect(await setup.send(`delete ${id}`)).toBe('DELETED');
    }
    const VAULT = 'VAULT';
    expect(await setup.send(`use ${VAULT}`)).toBe(`USING ${VAULT}`);
    const guardedBodies = [
      Buffer.from('ready job\r\nwith CRLF'),
      Buffer.from([0, 1, 2, 13, 10, 255, 0]),
      Buffer.from('delayed'),
      Buffer.from('to be buried'),
      Buffer.from('held reserved'),
    ];
    const guarded: { id: number; body: Buffer; pri: number; state: string }[] = [];
    const put = async (b: Buffer, pri: number, delay: number, ttr = 3600) => {
      const id = Number(/^INSERTED (\d+)$/.exec(await setup.send(`put ${pri} ${delay} ${ttr} ${b.length}`, b))![1]);
      return id;
    };
    guarded.push({ id: await put(guardedBodies[0], 5, 0), body: guardedBodies[0], pri: 5, state: 'ready' });
    guarded.push({ id: await put(guardedBodies[1], 4294967295, 0), body: guardedBodies[1], pri: 4294967295, state: 'ready' });
    guarded.push({ id: await put(guardedBodies[2], 7, 3600), body: guardedBodies[2], pri: 7, state: 'delayed' });
    const buryId = await put(guardedBodies[3], 9, 0);
    const holdId = await put(guardedBodies[4], 11, 0);
    expect(await setup.send(`watch ${VAULT}`)).toBe('WATCHING 2');
    expect(await setup.send('ignore default')).toBe('WATCHING 1');
    expect(await setup.send(`reserve-job ${buryId}`)).toBe(`RESERVED ${buryId} ${guardedBodies[3].length}\n${guardedBodies[3].toString('latin1')}`);
    expect(await setup.send(`bury ${buryId} 3`)).toBe('BURIED');
    guarded.push({ id: buryId, body: guardedBodies[3], pri: 3, state: 'buried' });
    expect(await setup.send(`reserve-job ${holdId}`)).toMatch(/^RESERVED /);
    guarded.push({ id: holdId, body: guardedBodies[4], pri: 11, state: 'reserved' });
    const guard: Guard = { tubes: [VAULT], ids: new Set(guarded.map((g) => BigInt(g.id))) };
    const vaultBefore = (await setup.send(`stats-tube ${VAULT}`)).replace(/^(current-using|current-watching): .*$/gm, '');

    const LANES = 4;
    const UNITS_PER_LANE = 2600;
    const totals = new Map<string, number>();
    let unitsSent = 0;
    let replies = 0;
    let segments = 0;
    const lane = async (laneNo: number) => {
      const r = prng(SEED * 31 + laneNo);
      const g: IdGuess = { base: 45, puts: 0, lanes: LANES };
      let done = 0;
      for (let seg = 0; done < UNITS_PER_LANE; seg++) {
        const n = Math.min(UNITS_PER_LANE - done, r.int(40, 160));
        const parts: Buffer[] = [];
        for (let k = 0; k < n; k++) parts.push(unit(r, g));
        let stream = sanitize(Buffer.concat(parts), guard);
        // some connections end with a quit (in a form beanstalkd accepts: any line starting with "quit")
        if (r.chance(0.3)) stream = Buffer.concat([stream, enc(r.pick(['quit\r\n', 'quitnow\r\n', 'quit 1\r\n', '\r\nquit\r\n']))]);
        const where = `seed ${SEED} lane ${laneNo} segment ${seg}`;
        const out = await exchange(server.port, chunks(r, stream));
        const rs = splitReplies(out);
        for (const [w, c] of checkReplies(rs, where)) totals.set(w, (totals.get(w) ?? 0) + c);
        done += n;
        unitsSent += n;
        replies += rs.length;
        segments++;
      }
    };
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));

    expect(unitsSent).toBeGreaterThanOrEqual(10000);
    expect(segments).toBeGreaterThan(50);
    // the fuzz really exercised the server: most units got a reply, and a wide range of replies occurred
    expect(replies).toBeGreaterThan(unitsSent * 0.5);
    for (const w of ['INSERTED', 'BAD_FORMAT', 'UNKNOWN_COMMAND', 'NOT_FOUND', 'EXPECTED_CRLF', 'USING', 'WATCHING', 'OK', 'FOUND', 'RESERVED', 'TIMED_OUT', 'DELETED', 'KICKED', 'PAUSED', 'RELEASED', 'BURIED', 'TOUCHED', 'DEADLINE_SOON']) {
      expect(totals.get(w) ?? 0, `reply ${w} never seen`).toBeGreaterThan(0);
    }

    // still up: a brand-new connection works normally
    const after = await rawClient(server.port);
    expect(await after.send('use after-fuzz')).toBe('USING after-fuzz');
    const id = /^INSERTED (\d+)$/.exec(await after.send('put 0 0 60 5', 'hello'))![1];
    expect(await after.send('watch after-fuzz')).toBe('WATCHING 2');
    expect(await after.send('ignore default')).toBe('WATCHING 1');
    expect(await after.send('reserve-with-timeout 0')).toBe(`RESERVED ${id} 5\nhello`);
    expect(await after.send(`delete ${id}`)).toBe('DELETED');

    // the guarded jobs are exactly as they were
    for (const g of guarded) {
      expect(await after.send(`peek ${g.id}`)).toBe(`FOUND ${g.id} ${g.body.length}\n${g.body.toString('latin1')}`);
      const sj = await after.send(`stats-job ${g.id}`);
      expect({ tube: field(sj, 'tube'), state: field(sj, 'state'), pri: field(sj, 'pri'), timeouts: field(sj, 'timeouts') }).toEqual({
        tube: VAULT,
        state: g.state,
        pri: String(g.pri),
        timeouts: '0',
      });
    }
    expect((await after.send(`stats-tube ${VAULT}`)).replace(/^(current-using|current-watching): .*$/gm, '')).toBe(vaultBefore);
    // and the connection holding one of them reserved survived the storm
    expect(await setup.send(`touch ${holdId}`)).toBe('TOUCHED');
    setup.close();
    after.close();
  });
});

describe('fuzz: differential against the reference beanstalkd 1.12', () => {
  test('the same 2,000 mutated units give the same replies on both servers, connection by connection', async () => {
    // -z 1000: a mutated size means at most ~1 KB is read as a body, so a connection keeps going
    const real = await startRealBeanstalkd(['-z', '1000']);
    const ours = new Engine({ clock: new RealClock(), maxJobSize: 1000 });
    const srv = await startTcpServer(ours, { host: '127.0.0.1', port: 0 });
    try {
      await waitForListen(srv.port); // the same one probe connection the real server got
      const r = prng(SEED ^ 0x5eed);
      const g: IdGuess = { base: 0, puts: 0, lanes: 1 };
      const CONNS = 10;
      const PER_CONN = 200;
      let compared = 0;
      for (let c = 0; c < CONNS; c++) {
        const parts: Buffer[] = [];
        for (let k = 0; k < PER_CONN; k++) parts.push(unit(r, g));
        const stream = sanitize(Buffer.concat(parts), { tubes: [], ids: new Set() });
        const pieces = chunks(r, stream);
        const theirs = splitReplies(await exchange(real.port, pieces)).map(normalize);
        const mine = splitReplies(await exchange(srv.port, pieces)).map(normalize);
        const where = `seed ${SEED} connection ${c}`;
        const firstDiff = theirs.findIndex((t, i) => t !== mine[i]);
        if (firstDiff >= 0 || theirs.length !== mine.length) {
          const i = firstDiff >= 0 ? firstDiff : Math.min(theirs.length, mine.length);
          expect(
            { where, reply: i, ours: mine.slice(Math.max(0, i - 2), i + 2) },
            `replies differ (rerun with FUZZ_SEED=${SEED}); start of this connection's stream (base64): ${stream.toString('base64').slice(0, 1500)}`,
          ).toEqual({ where, reply: i, ours: theirs.slice(Math.max(0, i - 2), i + 2) });
        }
        compared += theirs.length;
      }
      expect(compared).toBeGreaterThan(CONNS * PER_CONN * 0.5);
    } finally {
      await srv.close();
      await real.stop();
    }
  });
});
