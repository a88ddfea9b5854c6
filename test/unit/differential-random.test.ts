// Differential tests, random part: a seeded generator drives 3-5 connections with valid commands and
// mutated (malformed) lines; the same bytes go to the real beanstalkd and to ours, one command at a
// time, and every reply must agree. A failure names the seed, the step, the command and both replies.
//
// The generator avoids only what would make the outcome depend on timing rather than on the bytes:
// blocking reserves, TTRs and delays short enough to expire during a run, and pauses that end.
import { afterAll, describe, test } from 'vitest';
import { closeAllPairs, requireBeanstalkd, withPair, visible, reconcileAll, type DualConn, type Pair, type PairOptions, type Reply } from '../support/servers.ts';
import { mulberry32 } from '../../src/sim/rng.ts';

// More seeds for a deeper hunt: DIFF_SEEDS=200 DIFF_WAITER_SEEDS=50 npx vitest run test/unit/differential-random
const SEEDS = Number(process.env.DIFF_SEEDS ?? 20);
const STEPS = Number(process.env.DIFF_STEPS ?? 200);
/** How long an unpredictable step waits for silence before comparing. */
const QUIET_MS = 10;

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Picks by weight from [weight, value] pairs. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of table) total += w;
    let r = this.next() * total;
    for (const [w, v] of table) {
      r -= w;
      if (r < 0) return v;
    }
    return table[table.length - 1][1];
  }
}

const TUBES = ['default', 't1', 't2', 'x-y', 'A+b/c;d.e$f_g(h)'] as const;
/** Body bytes: no lower-case letters, so a body parsed as command lines never forms a command. */
const BODY_CHARS = 'ABCXYZ0123456789 !#%&*+,-./:;<=>?@[]^_{|}~\t\0\xff\xe9\x7f';
const INSERT_CHARS = [' ', ' ', '0', '1', '9', 'a', 'x', '-', '\0', '\xff', '\t', '\n', '\r', '.', '+', '*'];
const NUMBERS = ['0', '00', '1', '-1', '+1', '4294967295', '4294967296', '18446744073709551615', '18446744073709551616', '0x1', '', ' 1', '1 ', '99999999999999999999999'];

interface Step {
  conn: number;
  line: string;
  /** Put body (sent after the line's CRLF, followed by CRLF). */
  body?: string;
  terminator: string;
  /** The reply count cannot be predicted: compare whatever arrives before a quiet period. */
  uncertain: boolean;
  /** Replies expected when certain: 1, or 0 for quit. */
  expect: number;
  /** More commands pipelined in the same write. */
  extra?: string;
  /** Offsets at which the bytes are cut into separate writes. */
  splits?: number[];
}

function stepBytes(s: Step): string {
  return s.line + s.terminator + (s.body === undefined ? '' : `${s.body}\r\n`) + (s.extra ?? '');
}

/** strtol + (int) cast as in 1.12's reserve-with-timeout; 'erange' on overflow. */
function strtolInt(s: string): number | 'erange' {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(s)!;
  if (!m[2]) return 0;
  let v = BigInt(m[2]);
  if (m[1] === '-') v = -v;
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) return 'erange';
  return Number(BigInt.asIntN(32, v));
}

/** read_u32-like: skips spaces, reads digits; null when no digits. */
function readNumbers(s: string, n: number): { nums: number[]; rest: string } | null {
  const nums: number[] = [];
  let rest = s;
  for (let i = 0; i < n; i++) {
    const m = /^ *(\d+)/.exec(rest);
    if (!m) return null;
    nums.push(Number(m[1]));
    rest = rest.slice(m[0].length);
  }
  return { nums, rest };
}

/**
 * False when the (mutated) line could make the outcome depend on timing: a reserve that blocks,
 * a job or release whose TTR/delay could run out during the run, a pause that ends, or a put that
 * would swallow a long stretch of later commands as its body.
 */
function timingSafe(line: string, body: string | undefined): boolean {
  if (line.includes('\0')) return true; // BAD_FORMAT before anything else
  if (line.startsWith('reserve')) {
    if (line.startsWith('reserve-with-timeout ')) {
      const t = strtolInt(line.slice('reserve-with-timeout '.length));
      return t === 0 || t === 'erange';
    }
    if (line.startsWith('reserve-job ')) return true;
    return line !== 'reserve';
  }
  if (line.startsWith('put ')) {
    const r = readNumbers(line.slice(4), 4);
    if (!r) return true; // BAD_FORMAT: the body becomes command lines (no lower case: harmless)
    const [, delay, ttr, bytes] = r.nums;
    const sent = body === undefined ? 0 : body.length + 2;
    if (bytes + 2 > sent + 60) return false; // would eat many later commands
    if (r.rest !== '' && bytes <= 65535) return true; // trailing garbage: BAD_FORMAT
    if (ttr < 20) return false;
    if (delay > 0 && delay < 1_000_000) return false;
    return true;
  }
  if (line.startsWith('release ')) {
    const r = readNumbers(line.slice(8), 3);
    if (r && r.nums[2] > 0 && r.nums[2] < 1_000_000) return false;
    return true;
  }
  if (line.startsWith('pause-tube')) {
    const m = /(\d+)$/.exec(line);
    if (m && Number(m[1]) > 0 && Number(m[1]) < 1_000_000) return false;
    return true;
  }
  return true;
}

class Generator {
  private readonly rng: Rng;
  /** Highest job id seen in the real server's replies. */
  maxId = 0;
  readonly recent: number[] = [];

  constructor(
    seed: number,
    readonly conns: number,
  ) {
    this.rng = new Rng(seed);
  }

  /** Learns job ids from the real server's replies (so the sequence is reproducible from the seed). */
  observe(replies: Reply[]): void {
    for (const r of replies) {
      const m = /^(?:INSERTED|RESERVED|FOUND|BURIED) (\d+)/.exec(r.line);
      if (m) {
        const id = Number(m[1]);
        this.maxId = Math.max(this.maxId, id);
        this.recent.push(id);
        if (this.recent.length > 8) this.recent.shift();
      }
    }
  }

  private id(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [5, () => String(this.recent.length ? r.pick(this.recent) : 1)],
      [4, () => String(r.int(1, this.maxId + 2))],
      [1, () => r.pick(['0', '18446744073709551615', '4294967297'])],
    ])();
  }

  private pri(): number {
    const r = this.rng;
    return r.weighted([
      [3, r.int(0, 2000)],
      [1, 0],
      [1, 1023],
      [1, 1024],
      [1, 4294967295],
    ]);
  }

  private body(): string {
    const r = this.rng;
    const n = r.weighted([
      [6, r.int(0, 12)],
      [3, r.int(13, 60)],
      [1, r.int(200, 300)],
    ]);
    let s = '';
    for (let i = 0; i < n; i++) s += r.chance(0.05) ? '\r\n' : r.chance(0.01) ? '\r' : r.pick([...BODY_CHARS]);
    return s;
  }

  private tube(): string {
    return this.rng.pick(TUBES);
  }

  /** A valid command (line, optional body). */
  private valid(): { line: string; body?: string } {
    const r = this.rng;
    const kind = r.weighted<string>([
      [14, 'put'],
      [8, 'rwt'],
      [3, 'reserve-job'],
      [5, 'delete'],
      [4, 'release'],
      [4, 'bury'],
      [2, 'touch'],
      [3, 'kick'],
      [3, 'kick-job'],
      [4, 'use'],
      [3, 'watch'],
      [3, 'ignore'],
      [3, 'peek'],
      [2, 'peek-ready'],
      [2, 'peek-delayed'],
      [2, 'peek-buried'],
      [3, 'stats-job'],
      [2, 'stats-tube'],
      [1, 'stats'],
      [1, 'list-tubes'],
      [1, 'list-tube-used'],
      [1, 'list-tubes-watched'],
      [2, 'pause-tube'],
      [0.4, 'quit'],
      [1, 'junk'],
    ]);
    switch (kind) {
      case 'put': {
        const body = this.body();
        const delay = r.chance(0.15) ? r.pick([3600, 86400]) : 0;
        const ttr = r.pick([20, 60, 120, 4294967295]);
        return { line: `put ${this.pri()} ${delay} ${ttr} ${body.length}`, body };
      }
      case 'rwt':
        return { line: 'reserve-with-timeout 0' };
      case 'release':
        return { line: `release ${this.id()} ${this.pri()} ${r.chance(0.2) ? 3600 : 0}` };
      case 'bury':
        return { line: `bury ${this.id()} ${this.pri()}` };
      case 'kick':
        return { line: `kick ${r.pick(['0', '1', '2', '5', '-1', '100'])}` };
      case 'use':
      case 'watch':
      case 'ignore':
      case 'stats-tube':
        return { line: `${kind} ${this.tube()}` };
      case 'pause-tube':
        return { line: `pause-tube ${this.tube()} ${r.chance(0.25) ? 3600 : 0}` };
      case 'reserve-job':
      case 'delete':
      case 'touch':
      case 'kick-job':
      case 'peek':
      case 'stats-job':
        return { line: `${kind} ${this.id()}` };
      case 'junk': {
        // Over-long or odd lines (no lower case, so nothing left over forms a command).
        const n = r.pick([r.int(0, 5), r.int(218, 230), r.int(440, 452)]);
        let s = '';
        for (let i = 0; i < n; i++) s += r.pick(['X', 'Y', ' ', '1', '-', r.chance(0.05) ? '\r' : 'Z']);
        return { line: s };
      }
      default:
        return { line: kind };
    }
  }

  private mutate(line: string): string {
    const r = this.rng;
    const op = r.int(0, 8);
    const at = r.int(0, Math.max(0, line.length - 1));
    switch (op) {
      case 0:
        return line.slice(0, at) + line.slice(at + 1); // delete a byte
      case 1:
        return line.slice(0, at) + r.pick(INSERT_CHARS) + line.slice(at); // insert one
      case 2:
        return line.slice(0, at) + r.pick(INSERT_CHARS) + line.slice(at + 1); // replace one
      case 3:
        return `${line} `; // trailing space
      case 4:
        return line.replace(' ', '  '); // double a space
      case 5:
        return line.toUpperCase();
      case 6:
        return line.slice(0, at); // truncate
      case 7: {
        // replace one number by a boundary value
        const nums = [...line.matchAll(/\d+/g)];
        if (!nums.length) return `${line} ${r.pick(NUMBERS)}`;
        const m = r.pick(nums);
        return line.slice(0, m.index) + r.pick(NUMBERS) + line.slice(m.index! + m[0].length);
      }
      default:
        return line + r.pick(['x', ' 0', '\0', '\xff', ' default']); // extra text
    }
  }

  next(): Step {
    const r = this.rng;
    const conn = r.int(0, this.conns - 1);
    const v = this.valid();
    let line = v.line;
    let uncertain = v.line !== 'quit' && !/^[a-z]/.test(v.line); // junk
    if (r.chance(0.18)) {
      for (let tries = 0; tries < 6; tries++) {
        const m = this.mutate(v.line);
        if (timingSafe(m, v.body)) {
          line = m;
          uncertain = true;
          break;
        }
      }
    }
    let terminator = '\r\n';
    if (r.chance(0.015)) {
      terminator = r.pick(['\n', '\r', '\r\r\n', '\n\r\n']);
      uncertain = true;
    }
    const step: Step = { conn, line, body: v.body, terminator, uncertain, expect: line.startsWith('quit') ? 0 : 1 };
    if (r.chance(0.08)) {
      // Pipelining: a few more valid commands in the same write.
      let extra = '';
      for (let k = r.int(1, 4); k > 0; k--) {
        const e = this.valid();
        extra += `${e.line}\r\n${e.body === undefined ? '' : `${e.body}\r\n`}`;
      }
      step.extra = extra;
      step.uncertain = true;
    }
    if (r.chance(0.1)) {
      // Packet boundaries anywhere, even inside CRLF.
      const n = stepBytes(step).length;
      step.splits = [r.int(1, Math.max(1, n - 1)), r.int(1, Math.max(1, n - 1))].sort((a, b) => a - b);
    }
    // quit-like lines close the connection: their count is 0.
    return step;
  }
}

function describeStep(s: Step): string {
  return visible(JSON.stringify(stepBytes(s))) + (s.splits ? ` (written in pieces cut at ${s.splits.join(', ')})` : '');
}

/** Waits until a connection has been quiet, and until the other side has caught up with its count. */
async function settle(c: DualConn): Promise<void> {
  await Promise.all([c.real.waitQuiet(QUIET_MS, 2000), c.ours.waitQuiet(QUIET_MS, 2000)]);
  // A slow side (a loaded machine) gets more time before a difference in count is believed.
  if (c.real.pending !== c.ours.pending || c.real.closed !== c.ours.closed) {
    const lagging = c.real.pending < c.ours.pending || (!c.real.closed && c.ours.closed) ? c.real : c.ours;
    const other = lagging === c.real ? c.ours : c.real;
    await lagging.until(() => lagging.pending >= other.pending && (lagging.closed || !other.closed), 500);
    await Promise.all([c.real.waitQuiet(QUIET_MS, 2000), c.ours.waitQuiet(QUIET_MS, 2000)]);
  }
}

async function runSeed(seed: number, steps: number, pairOptions: PairOptions = {}): Promise<{ compared: number }> {
  return withPair(pairOptions, async (p: Pair) => {
    const rngConns = new Rng(seed ^ 0x5eed);
    const gen = new Generator(seed, rngConns.int(3, 5));
    const conns: DualConn[] = [];
    for (let i = 0; i < gen.conns; i++) conns.push(await p.connect(`c${i}`));
    const history: string[] = [];
    const dirty = new Array<boolean>(gen.conns).fill(false);
    let compared = 0;

    const fail = (step: number, s: Step | null, what: string, real: string[], ours: string[]) => {
      const head = `seed ${seed}, step ${step}${s ? `, connection c${s.conn}, command ${describeStep(s)}` : ''}: ${what}`;
      const detail = `\n  real: ${JSON.stringify(real)}\n  ours: ${JSON.stringify(ours)}\n  last steps:\n    ${history.slice(-12).join('\n    ')}`;
      throw new Error(head + detail);
    };

    const compare = (step: number, s: Step | null, c: DualConn, count: number) => {
      const real = c.real.take(count);
      const ours = c.ours.take(count);
      gen.observe(real);
      const r = reconcileAll(real, ours);
      compared += real.length;
      if (JSON.stringify(r.real) !== JSON.stringify(r.ours)) fail(step, s, 'replies differ', r.real, r.ours);
      return real.length;
    };

    for (let i = 0; i < steps; i++) {
      const s = gen.next();
      const c = conns[s.conn];
      const uncertain = s.uncertain || dirty[s.conn];
      history.push(`#${i} c${s.conn}${uncertain ? '?' : ''} ${describeStep(s)}`);
      const bytes = stepBytes(s);
      if (s.splits) {
        let from = 0;
        for (const cut of [...s.splits, bytes.length]) {
          if (cut > from) c.send(bytes.slice(from, cut));
          from = Math.max(from, cut);
          await new Promise((r) => setTimeout(r, 1));
        }
      } else {
        c.send(bytes);
      }
      if (!uncertain && s.expect > 0) {
        const ok = await c.real.waitReplies(s.expect, 300);
        if (ok) {
          await c.ours.waitReplies(c.real.pending, 1000);
          compare(i, s, c, c.real.pending);
          dirty[s.conn] = false;
        } else {
          // Something earlier left this connection mid-line or mid-body: fall back to quiet periods.
          await settle(c);
          compare(i, s, c, Infinity);
          dirty[s.conn] = true;
        }
      } else {
        await settle(c);
        // No reply to a line that should have one: the connection may be mid-line or mid-body.
        dirty[s.conn] = compare(i, s, c, Infinity) < s.expect;
      }
      if (c.real.closed || c.ours.closed) {
        await c.real.until(() => c.real.closed, 500);
        await c.ours.until(() => c.ours.closed, 500);
        if (c.real.closed !== c.ours.closed) {
          fail(i, s, `connection closed by ${c.real.closed ? 'the real server only' : 'our server only'}`, [], []);
        }
        compare(i, s, c, Infinity);
        c.closeBoth();
        conns[s.conn] = await p.connect(`c${s.conn}'`, { sync: false });
        await syncConn(conns[s.conn], i, s);
        dirty[s.conn] = false;
      }
    }
    // Whatever is still under way, then the global counters.
    for (const c of conns) {
      await settle(c);
      compare(steps, null, c, Infinity);
    }
    // A fresh connection (the others may be stuck mid-line) compares the global counters.
    const f = await p.connect('final', { sync: false });
    await syncConn(f, steps, null);
    f.send('stats\r\n');
    await f.real.waitReplies(1, 2000);
    await f.ours.waitReplies(1, 2000);
    compare(steps, null, f, 1);
    return { compared };

    async function syncConn(d: DualConn, step: number, s: Step | null) {
      d.send('list-tube-used\r\n');
      await d.real.waitReplies(1, 2000);
      await d.ours.waitReplies(1, 2000);
      compare(step, s, d, 1);
    }
  });
}

requireBeanstalkd();
afterAll(closeAllPairs);

describe.concurrent(`differential: ${SEEDS} seeded random sequences of ${STEPS} commands`, () => {
  for (let k = 0; k < SEEDS; k++) {
    const seed = 1000 + k * 7919;
    test(`seed ${seed}`, async ({ expect }) => {
      const { compared } = await runSeed(seed, STEPS);
      // Sanity: the run really compared replies (a few steps legitimately get none, e.g. quit).
      expect(compared).toBeGreaterThan(STEPS * 0.6);
    });
  }
});

describe.concurrent('differential harness controls (random sequences)', () => {
  test('two real beanstalkd processes agree with each other (the masking is not too strict)', async ({ expect }) => {
    const { compared } = await runSeed(424242, STEPS, { ours: 'real' });
    expect(compared).toBeGreaterThan(STEPS * 0.6);
  });

  test('a real beanstalkd with a different -z is caught, with seed, step, command and both replies', async ({ expect }) => {
    const err = await runSeed(1000, STEPS, { ours: 'real', oursFlags: ['-z', '100'] }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^seed 1000, step \d+(, connection c\d, command ".*")?: replies differ\n  real: .*\n  ours: .*\n  last steps:/);
    expect(err?.message).toMatch(/JOB_TOO_BIG|max-job-size: 100/);
  });
});

// ---- blocked workers: which waiting connection gets each job ------------------------------------

const WAITER_SEEDS = Number(process.env.DIFF_WAITER_SEEDS ?? 8);
const WAITER_STEPS = 80;
const WAITER_TUBES = ['default', 't1', 't2', 't3'];

interface Worker {
  c: DualConn;
  blocked: boolean;
  held: number[];
}

/**
 * Producers put jobs into a few tubes while 4-6 workers, each watching a random set of tubes, block
 * in `reserve`, work on what they get (delete, release, bury), close, or half-close. Every reply on
 * every connection must agree, which checks the choice of waiter (the Ms take cursor, §3.3) and the
 * (pri, id) choice across tubes (§5.1) under many interleavings.
 */
async function runWaiters(seed: number, steps: number, pairOptions: PairOptions = {}): Promise<{ delivered: number }> {
  return withPair(pairOptions, async (p: Pair) => {
    const rng = new Rng(seed);
    const history: string[] = [];
    let delivered = 0;
    let serial = 0;
    const prod = await p.connect('prod');
    const workers: Worker[] = [];

    const fail = (step: number, c: DualConn, what: string, real: string[], ours: string[]) => {
      throw new Error(
        `waiters seed ${seed}, step ${step}, connection ${c.name}: ${what}\n  real: ${JSON.stringify(real)}\n  ours: ${JSON.stringify(ours)}\n` +
          `  last steps:\n    ${history.slice(-12).join('\n    ')}`,
      );
    };

    /** Waits for every connection to go quiet, then compares everything each one received. */
    const check = async (step: number): Promise<void> => {
      const conns = [prod, ...workers.map((w) => w.c)];
      await Promise.all(conns.map((c) => settle(c)));
      for (const c of conns) {
        const real = c.real.take();
        const ours = c.ours.take();
        const r = reconcileAll(real, ours);
        if (JSON.stringify(r.real) !== JSON.stringify(r.ours)) fail(step, c, 'replies differ', r.real, r.ours);
        const w = workers.find((x) => x.c === c);
        for (const x of real) {
          const m = /^RESERVED (\d+)/.exec(x.line);
          if (m && w) {
            w.held.push(Number(m[1]));
            w.blocked = false;
            delivered++;
          }
          if (x.line === 'TIMED_OUT' && w) w.blocked = false;
        }
      }
    };

    const newWorker = async (name: string): Promise<Worker> => {
      const c = await p.connect(name);
      const watch = WAITER_TUBES.filter(() => rng.chance(0.5));
      if (!watch.length) watch.push(rng.pick(WAITER_TUBES));
      for (const t of watch) if (t !== 'default') await c.same(`watch ${t}\r\n`);
      if (!watch.includes('default')) await c.same('ignore default\r\n');
      return { c, blocked: false, held: [] };
    };

    const nWorkers = rng.int(4, 6);
    for (let i = 0; i < nWorkers; i++) workers.push(await newWorker(`w${i}`));

    for (let i = 0; i < steps; i++) {
      const idle = workers.filter((w) => !w.blocked);
      const holding = idle.filter((w) => w.held.length);
      const action = rng.weighted<string>([
        [6, 'put'],
        [idle.length ? 6 : 0, 'reserve'],
        [holding.length ? 5 : 0, 'work'],
        [1, 'kick'],
        [idle.length ? 1 : 0, 'reserve-job'],
        [1, 'close'],
        [workers.some((w) => w.blocked) ? 1 : 0, 'half-close'],
        [0.5, 'pause'],
        [1, 'stats'],
      ]);
      let note = action;
      if (action === 'put') {
        const tube = rng.pick(WAITER_TUBES);
        const body = `job${serial++}`;
        const data = `use ${tube}\r\nput ${rng.int(0, 3)} 0 120 ${body.length}\r\n${body}\r\n`;
        prod.send(data);
        note = `prod ${visible(JSON.stringify(data))}`;
      } else if (action === 'reserve') {
        const w = rng.pick(idle);
        w.blocked = true;
        w.c.send('reserve\r\n');
        note = `${w.c.name} reserve`;
      } else if (action === 'work') {
        const w = rng.pick(holding);
        const id = w.held.splice(rng.int(0, w.held.length - 1), 1)[0];
        const line = rng.pick([`delete ${id}`, `release ${id} ${rng.int(0, 3)} 0`, `bury ${id} ${rng.int(0, 3)}`]);
        w.c.send(`${line}\r\n`);
        note = `${w.c.name} ${line}`;
      } else if (action === 'kick') {
        const data = `use ${rng.pick(WAITER_TUBES)}\r\nkick ${rng.int(1, 3)}\r\n`;
        prod.send(data);
        note = `prod ${visible(JSON.stringify(data))}`;
      } else if (action === 'reserve-job') {
        const w = rng.pick(idle);
        const line = `reserve-job ${rng.int(1, serial + 1)}`;
        w.c.send(`${line}\r\n`);
        note = `${w.c.name} ${line}`;
      } else if (action === 'close' || action === 'half-close') {
        const pool = action === 'close' ? workers : workers.filter((w) => w.blocked);
        const k = workers.indexOf(rng.pick(pool));
        const w = workers[k];
        note = `${w.c.name} ${action} (blocked=${w.blocked}, held=${w.held.join(',')})`;
        if (action === 'close') {
          w.c.closeBoth();
        } else {
          w.c.real.end();
          w.c.ours.end();
          await Promise.all([w.c.real.waitClosed(1000), w.c.ours.waitClosed(1000)]);
          if (w.c.real.closed !== w.c.ours.closed) fail(i, w.c, 'closed by only one server after half-close', [], []);
          const [real, ours] = [w.c.real.take(), w.c.ours.take()];
          const r = reconcileAll(real, ours);
          if (JSON.stringify(r.real) !== JSON.stringify(r.ours)) fail(i, w.c, 'replies differ', r.real, r.ours);
          w.c.closeBoth();
        }
        history.push(`#${i} ${note}`);
        // Let the servers see the close (and hand the released jobs on) before anything else happens.
        await Promise.all(workers.filter((x) => x !== w).map((x) => settle(x.c)));
        workers[k] = await newWorker(`${w.c.name}'`);
        await check(i);
        continue;
      } else if (action === 'stats') {
        const line = rng.pick(['stats', 'stats-tube default', 'stats-tube t1', 'stats-tube t2', 'stats-tube t3', 'list-tubes']);
        prod.send(`${line}\r\n`);
        note = `prod ${line}`;
      } else if (action === 'pause') {
        const line = `pause-tube ${rng.pick(WAITER_TUBES)} 0`;
        prod.send(`${line}\r\n`);
        note = `prod ${line}`;
      }
      history.push(`#${i} ${note}`);
      await check(i);
    }
    prod.send('stats\r\n');
    await check(steps);
    return { delivered };
  });
}

describe.concurrent(`differential: ${WAITER_SEEDS} seeded runs with blocked workers (${WAITER_STEPS} steps each)`, () => {
  for (let k = 0; k < WAITER_SEEDS; k++) {
    const seed = 77 + k * 104729;
    test(`waiters seed ${seed}`, async ({ expect }) => {
      const { delivered } = await runWaiters(seed, WAITER_STEPS);
      expect(delivered).toBeGreaterThan(5);
    });
  }
});
