// Differential-test harness: the real beanstalkd (Debian's /usr/bin/beanstalkd 1.12) and beanlab's
// server side by side on loopback, raw byte-level connections to both, and reply comparison with the
// values that legitimately differ (pid, uptime, rusage, instance id, host names, ages) masked.
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { startTcpServer } from '../../src/server/tcp.ts';
import { hostInfo } from '../../src/server/host-info.ts';

export const BEANSTALKD = process.env.BEANSTALKD_PATH ?? '/usr/bin/beanstalkd';
export const HOST = '127.0.0.1';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Side = 'real' | 'ours';

export interface RunningServer {
  side: Side;
  port: number;
  /** The server process's pid (real server / CLI); the in-process server has none of its own. */
  pid?: number;
  /** What the process wrote to stderr so far (real server / CLI only). */
  stderr(): string;
  /** Sends a signal to the server process (real server / CLI only); SIGKILL waits for the exit. */
  signal(sig: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** -z: maximum job size. */
  maxJobSize?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A free loopback port: bind port 0, read the port, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One TCP connect attempt; resolves true once accepted (the socket is then closed again). */
function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Spawns a server process and waits until it accepts connections; one successful probe connection. */
async function spawnServer(side: Side, cmd: string, argsFor: (port: number) => string[], what: string): Promise<RunningServer> {
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(cmd, argsFor(port), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (err += d));
    let exited: { code: number | null; signal: string | null } | null = null;
    let spawnError: Error | null = null;
    const exitPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        children.delete(child);
        resolve();
      });
      child.once('error', (e) => {
        spawnError = e;
        exited = { code: null, signal: null };
        children.delete(child);
        resolve();
      });
    });
    const deadline = Date.now() + 15000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      if (await tryConnect(port)) {
        up = true;
        break;
      }
      await sleep(10);
    }
    if (up && !exited) {
      return {
        side,
        port,
        pid: child.pid,
        stderr: () => err,
        signal: async (sig) => {
          if (exited) throw new Error(`${what} already exited`);
          child.kill(sig);
          if (sig === 'SIGKILL') await exitPromise;
        },
        close: async () => {
          if (exited) return;
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 2000);
          await exitPromise;
          clearTimeout(t);
        },
      };
    }
    if (!exited) {
      child.kill('SIGKILL');
      await exitPromise;
    }
    if (spawnError) throw new Error(`${what}: cannot start ${cmd}: ${String(spawnError)}`);
    lastErr = `${what} exited (${JSON.stringify(exited)}) on port ${port}: ${err.trim()}`;
    // Most likely the port was taken between freePort() and bind(): try another one.
  }
  throw new Error(lastErr);
}

/** Fails loudly (never skips) when the reference server is not installed. */
export function requireBeanstalkd(): void {
  if (!existsSync(BEANSTALKD)) {
    throw new Error(
      `The differential tests need the real beanstalkd at ${BEANSTALKD} (or set BEANSTALKD_PATH). ` +
        'Install it with: apt-get install beanstalkd',
    );
  }
}

/** Debian's beanstalkd on a free loopback port, with extra flags such as ['-z', '10']. */
export async function startReal(opts: ServerOptions & { flags?: string[] } = {}): Promise<RunningServer> {
  requireBeanstalkd();
  const flags = [...(opts.flags ?? [])];
  if (opts.maxJobSize !== undefined) flags.push('-z', String(opts.maxJobSize));
  return spawnServer('real', BEANSTALKD, (port) => ['-l', HOST, '-p', String(port), ...flags], 'beanstalkd');
}


/** beanlab's server in this process on port 0 (startTcpServer + an Engine on the real clock). */
export async function startOurs(opts: ServerOptions = {}): Promise<RunningServer> {
  const engine = new Engine({ clock: new RealClock(), maxJobSize: opts.maxJobSize, host: hostInfo() });
  const srv = await startTcpServer(engine, { host: HOST, port: 0 });
  // The same single probe connection the real server got, so total-connections agree.
  if (!(await tryConnect(srv.port))) throw new Error('our server does not accept connections');
  let closed = false;
  return {
    side: 'ours',
    port: srv.port,
    stderr: () => '',
    signal: async () => {
      throw new Error('the in-process server cannot be signalled; use the CLI (ours: "cli")');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await srv.close();
    },
  };
}

/** beanlab's CLI (`node scripts/run-ts.mjs src/server/cli.ts -l 127.0.0.1 -p PORT ...`) as a process. */
export async function startOursCli(opts: ServerOptions & { flags?: string[] } = {}): Promise<RunningServer> {
  const flags = [...(opts.flags ?? [])];
  if (opts.maxJobSize !== undefined) flags.push('-z', String(opts.maxJobSize));
  return spawnServer(
    'ours',
    process.execPath,
    (port) => [path.join(ROOT, 'scripts/run-ts.mjs'), 'src/server/cli.ts', '-l', HOST, '-p', String(port), ...flags],
    'beanlab cli',
  );
}

// ---- raw connections and reply splitting ------------------------------------------------------

export interface Reply {
  /** The reply line without CRLF, latin1. */
  line: string;
  /** Body of RESERVED / FOUND / OK replies, without its CRLF. */
  body?: Buffer;
  /** performance.now() when the reply was complete. */
  at: number;
}

/** Body length announced by a reply line (RESERVED id n, FOUND id n, OK n), else null. */
function announcedBody(line: string): number | null {
  const m = /^(?:(?:RESERVED|FOUND) \d+ (\d+)|OK (\d+))$/.exec(line);
  if (!m) return null;
  return Number(m[1] ?? m[2]);
}

/** One client connection that records every byte and reply the server sends. */
export class RawConn {
  readonly replies: Reply[] = [];
  /** Index of the first reply not yet taken. */
  private cursor = 0;
  private buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private pendingLine: string | null = null;
  private pendingNeed = 0;
  /** The server closed (or reset) its side. */
  closed = false;
  closedAt = 0;
  lastDataAt = 0;
  totalBytes = 0;
  /** Every chunk received, as it came. */
  readonly chunks: Buffer[] = [];
  private listeners = new Set<() => void>();

  private constructor(
    readonly label: string,
    readonly socket: net.Socket,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.lastDataAt = performance.now();
      this.totalBytes += chunk.length;
      this.chunks.push(chunk);
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.split();
      this.notify();
    });
    const onClose = () => {
      if (!this.closed) {
        this.closed = true;
        this.closedAt = performance.now();
      }
      this.notify();
    };
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.on('error', onClose);
  }

  static open(port: number, label: string): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: HOST, port, allowHalfOpen: true, noDelay: true });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new RawConn(label, s));
      });
      s.once('error', reject);
    });
  }

  private notify(): void {
    for (const fn of [...this.listeners]) fn();
  }

  private split(): void {
    const now = performance.now();
    let pos = 0;
    for (;;) {
      if (this.pendingLine !== null) {
        if (this.buf.length - pos < this.pendingNeed + 2) break;
        const body = Buffer.from(this.buf.subarray(pos, pos + this.pendingNeed));
        const crlf = this.buf[pos + this.pendingNeed] === 13 && this.buf[pos + this.pendingNeed + 1] === 10;
        pos += this.pendingNeed + 2;
        const line = this.pendingLine;
        this.pendingLine = null;
        this.replies.push({ line: crlf ? line : `${line} <<body not followed by CRLF>>`, body, at: now });
        continue;
      }
      const end = this.buf.indexOf('\r\n', pos, 'latin1');
      if (end < 0) break;
      const line = this.buf.toString('latin1', pos, end);
      pos = end + 2;
      const need = announcedBody(line);
      if (need === null) this.replies.push({ line, at: now });
      else {
        this.pendingLine = line;
        this.pendingNeed = need;
      }
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  /** Bytes not yet forming a complete reply (should be empty when the server is idle). */
  get leftover(): string {
    const head = this.pendingLine !== null ? `${this.pendingLine}\r\n` : '';
    return head + this.buf.toString('latin1');
  }

  send(data: string | Uint8Array): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Writes chunk by chunk, each in its own write, pausing between them so they travel separately. */
  async sendInPieces(data: string | Uint8Array, size = 1, pauseMs = 1): Promise<void> {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    for (let i = 0; i < b.length; i += size) {
      await new Promise<void>((r) => this.socket.write(b.subarray(i, i + size), () => r()));
      if (pauseMs > 0) await sleep(pauseMs);
    }
  }

  /** Replies received and not yet taken. */
  get pending(): number {
    return this.replies.length - this.cursor;
  }

  /** Takes up to n (default all) replies received since the last take. */
  take(n = Infinity): Reply[] {
    const end = Math.min(this.replies.length, this.cursor + n);
    const out = this.replies.slice(this.cursor, end);
    this.cursor = end;
    return out;
  }

  /** Resolves when cond() holds (true) or after timeoutMs (false); re-checked on every event. */
  until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(t);
        this.listeners.delete(check);
        resolve(v);
      };
      const check = () => {
        if (cond()) done(true);
      };
      const t = setTimeout(() => done(cond()), timeoutMs);
      this.listeners.add(check);
    });
  }

  /** Waits until at least n untaken replies are there (or the server closed); false on timeout. */
  waitReplies(n: number, timeoutMs = 3000): Promise<boolean> {
    return this.until(() => this.pending >= n || this.closed, timeoutMs).then(() => this.pending >= n);
  }

  /** Waits until nothing has arrived for quietMs (counted from now or the last byte), at most maxMs. */
  async waitQuiet(quietMs: number, maxMs = 5000): Promise<void> {
    const start = performance.now();
    for (;;) {
      const since = Math.max(start, this.lastDataAt);
      const left = since + quietMs - performance.now();
      if (left <= 0 || performance.now() - start >= maxMs) return;
      await sleep(Math.min(left, maxMs - (performance.now() - start)) + 1);
    }
  }

  waitClosed(timeoutMs = 2000): Promise<boolean> {
    return this.until(() => this.closed, timeoutMs);
  }

  /** Half-close: shut our write side (SHUT_WR). */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ---- masking and comparison -------------------------------------------------------------------

/** Stats fields whose values legitimately differ between two servers, with the format they must have. */
const STATS_MASK: Record<string, RegExp> = {
  pid: /^\d+$/,
  uptime: /^\d+$/,
  'rusage-utime': /^\d+\.\d{6}$/,
  'rusage-stime': /^\d+\.\d{6}$/,
  id: /^[0-9a-f]{16}$/,
  hostname: /^[^\n]*$/,
  os: /^[^\n]*$/,
  platform: /^[^\n]*$/,
};

/** Fields compared with a ±1 tolerance (whole seconds that may straddle a tick). */
const TOLERANT: Record<string, string[]> = {
  job: ['age', 'time-left'],
  tube: ['pause-time-left'],
  stats: [],
};

function yamlKind(body: string): 'stats' | 'job' | 'tube' | null {
  if (body.startsWith('---\ncurrent-jobs-urgent: ')) return 'stats';
  if (body.startsWith('---\nid: ')) return 'job';
  if (body.startsWith('---\nname: ')) return 'tube';
  return null;
}

function mapYaml(body: string, f: (key: string, value: string) => string): string {
  return body.replace(/^([a-z-]+): (.*)$/gm, (_m, k: string, v: string) => `${k}: ${f(k, v)}`);
}

/** Escapes a latin1 string so control and high bytes are visible in assertion messages. */
export function visible(s: string): string {
  return s.replace(/[\x00-\x09\x0b-\x1f\x7f-\xff]/g, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A reply as text: "LINE" or "LINE\n<body>" (body latin1, escaped). OK counts recomputed after masking. */
function render(line: string, body: string | undefined): string {
  if (body === undefined) return visible(line);
  if (/^OK \d+$/.test(line)) line = `OK ${body.length}`;
  return `${visible(line)}\n${visible(body)}`;
}

/** Checks that an OK reply's announced count matches its body (before masking changes lengths). */
function countNote(r: Reply): string {
  if (!r.body) return '';
  const n = announcedBody(r.line);
  return n !== null && n !== r.body.length ? ` <<announced ${n}, body ${r.body.length}>>` : '';
}

/**
 * Renders a real/ours reply pair for comparison: masks the stats fields that legitimately differ
 * (when both have the expected format), and lets age/time-left/pause-time-left differ by one.
 */
export function reconcile(real: Reply | undefined, ours: Reply | undefined): [string, string] {
  const text = (r: Reply | undefined) => (r ? { line: r.line + countNote(r), body: r.body?.toString('latin1') } : undefined);
  const a = text(real);
  const b = text(ours);
  if (a?.body !== undefined && b?.body !== undefined) {
    const ka = yamlKind(a.body);
    if (ka && ka === yamlKind(b.body)) {
      const av = new Map<string, string>();
      a.body.replace(/^([a-z-]+): (.*)$/gm, (_m, k: string, v: string) => (av.set(k, v), ''));
      const mask = (k: string, v: string) => (ka === 'stats' && STATS_MASK[k]?.test(v) ? `<${k}>` : v);
      a.body = mapYaml(a.body, mask);
      b.body = mapYaml(b.body, (k, v) => {
        const m = mask(k, v);
        if (m !== v) return m;
        const r = av.get(k);
        if (r !== undefined && TOLERANT[ka].includes(k) && /^\d+$/.test(v) && /^\d+$/.test(r) && Math.abs(Number(v) - Number(r)) <= 1) return r;
        return v;
      });
    }
  }
  return [a ? render(a.line, a.body) : '<no reply>', b ? render(b.line, b.body) : '<no reply>'];
}

/** Renders two reply lists side by side for comparison. */
export function reconcileAll(real: Reply[], ours: Reply[]): { real: string[]; ours: string[] } {
  const n = Math.max(real.length, ours.length);
  const r: string[] = [];
  const o: string[] = [];
  for (let i = 0; i < n; i++) {
    const [x, y] = reconcile(real[i], ours[i]);
    if (real[i]) r.push(x);
    if (ours[i]) o.push(y);
  }
  return { real: r, ours: o };
}

// ---- a pair of servers and paired connections -------------------------------------------------

/** One logical client: the same bytes go to a connection on each server. */
export class DualConn {
  /** Everything sent, for failure messages. */
  readonly log: string[] = [];

  constructor(
    readonly name: string,
    readonly real: RawConn,
    readonly ours: RawConn,
  ) {}

  send(data: string | Uint8Array): number {
    const t = performance.now();
    this.log.push(typeof data === 'string' ? data : Buffer.from(data).toString('latin1'));
    this.real.send(data);
    this.ours.send(data);
    return t;
  }

  async sendInPieces(data: string, size = 1, pauseMs = 1): Promise<void> {
    this.log.push(data);
    await Promise.all([this.real.sendInPieces(data, size, pauseMs), this.ours.sendInPieces(data, size, pauseMs)]);
  }

  /**
   * Waits for n replies from the real server (failing if they do not come), then for as many from
   * ours, and returns both rendered (masked) lists. With n = 0 it waits for quietMs instead.
   */
  async collect(n: number, opts: { timeoutMs?: number; quietMs?: number } = {}): Promise<{ real: string[]; ours: string[]; raw: { real: Reply[]; ours: Reply[] } }> {
    const timeoutMs = opts.timeoutMs ?? 3000;
    if (n === 0 || opts.quietMs) {
      const quiet = () => Promise.all([this.real.waitQuiet(opts.quietMs ?? 150), this.ours.waitQuiet(opts.quietMs ?? 150)]);
      await quiet();
      if (this.real.pending !== this.ours.pending) {
        // On a loaded machine one side may just be late: give it time before believing a difference.
        const [slow, fast] = this.real.pending < this.ours.pending ? [this.real, this.ours] : [this.ours, this.real];
        await slow.until(() => slow.pending >= fast.pending, 500);
        await quiet();
      }
    }
    if (n > 0) {
      const ok = await this.real.waitReplies(n, timeoutMs);
      if (!ok) {
        throw new Error(
          `[${this.name}] harness: the real server sent ${this.real.pending} of ${n} expected replies within ${timeoutMs} ms ` +
            `(closed=${this.real.closed}); sent so far: ${visible(JSON.stringify(this.log.slice(-5)))}`,
        );
      }
      await this.ours.waitReplies(this.real.pending, timeoutMs);
    }
    const count = n === 0 || opts.quietMs ? Infinity : this.real.pending;
    const raw = { real: this.real.take(count), ours: this.ours.take(count) };
    return { ...reconcileAll(raw.real, raw.ours), raw };
  }

  /**
   * Sends data to both servers, waits for n replies (n = 0: for a quiet period) and asserts that our
   * replies equal the real server's after masking. Returns the real server's rendered replies.
   */
  async same(data: string | Uint8Array, n = 1, opts: { timeoutMs?: number; quietMs?: number } = {}): Promise<string[]> {
    this.send(data);
    return this.expectSame(n, opts, data);
  }

  /** Collects n replies already under way (e.g. for a blocked reserve) and asserts they agree. */
  async expectSame(n = 1, opts: { timeoutMs?: number; quietMs?: number } = {}, sent?: string | Uint8Array): Promise<string[]> {
    const r = await this.collect(n, opts);
    const what = sent === undefined ? 'waiting' : `after sending ${visible(JSON.stringify(typeof sent === 'string' ? sent : Buffer.from(sent).toString('latin1'))).slice(0, 400)}`;
    expect(r.ours, `[${this.name}] our replies differ from beanstalkd's, ${what}`).toEqual(r.real);
    return r.real;
  }

  /** Asserts that both servers have closed this connection, or both kept it open. */
  async expectSameClosed(timeoutMs = 1000): Promise<boolean> {
    await this.real.waitClosed(timeoutMs);
    if (this.real.closed) await this.ours.waitClosed(timeoutMs);
    else await sleep(50);
    expect({ closed: this.ours.closed }, `[${this.name}] connection closed by our server?`).toEqual({ closed: this.real.closed });
    return this.real.closed;
  }

  async closeBoth(): Promise<void> {
    this.real.destroy();
    this.ours.destroy();
  }
}

export interface Pair {
  real: RunningServer;
  ours: RunningServer;
  conns: DualConn[];
  /**
   * Opens a connection on both servers. Unless sync is false it then sends `list-tube-used` (and
   * compares the replies) so both servers have accepted it before anything else happens.
   */
  connect(name?: string, opts?: { sync?: boolean }): Promise<DualConn>;
  close(): Promise<void>;
}

const openPairs = new Set<Pair>();

/** Stops every pair still running (afterAll safety net; withPair already closes its own). */
export async function closeAllPairs(): Promise<void> {
  await Promise.all([...openPairs].map((p) => p.close()));
}

/** Runs fn with a fresh pair of servers and always stops both afterwards. */
export async function withPair<T>(opts: PairOptions, fn: (p: Pair) => Promise<T>): Promise<T> {
  const p = await startPair(opts);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

export interface PairOptions extends ServerOptions {
  /** Extra flags for the real server (and for our CLI). */
  realFlags?: string[];
  /**
   * What plays "ours": the in-process server (default), our CLI as a process, or (harness controls
   * only) a second real beanstalkd with oursFlags, to check the comparison is neither too strict
   * nor too lax.
   */
  ours?: 'inprocess' | 'cli' | 'real';
  oursFlags?: string[];
}

export async function startPair(opts: PairOptions = {}): Promise<Pair> {
  const oursFlags = opts.oursFlags ?? opts.realFlags;
  const started = await Promise.allSettled([
    startReal({ maxJobSize: opts.maxJobSize, flags: opts.realFlags }),
    opts.ours === 'cli'
      ? startOursCli({ maxJobSize: opts.maxJobSize, flags: oursFlags })
      : opts.ours === 'real'
        ? startReal({ maxJobSize: opts.maxJobSize, flags: oursFlags }).then((s) => ({ ...s, side: 'ours' as const }))
        : startOurs({ maxJobSize: opts.maxJobSize }),
  ]);
  if (started[0].status === 'rejected' || started[1].status === 'rejected') {
    for (const s of started) if (s.status === 'fulfilled') await s.value.close();
    const failed = started.find((s) => s.status === 'rejected') as PromiseRejectedResult;
    throw failed.reason;
  }
  const real = started[0].value;
  const ours = started[1].value;
  const conns: DualConn[] = [];
  const pair: Pair = {
    real,
    ours,
    conns,
    async connect(name = `c${conns.length + 1}`, opts: { sync?: boolean } = {}) {
      const [r, o] = await Promise.all([RawConn.open(real.port, `real:${name}`), RawConn.open(ours.port, `ours:${name}`)]);
      const c = new DualConn(name, r, o);
      conns.push(c);
      // One round trip, so both servers have accepted the connection before anything else happens
      // (otherwise current-connections in a concurrent `stats` would depend on scheduling).
      if (opts.sync ?? true) await c.same('list-tube-used\r\n');
      return c;
    },
    async close() {
      openPairs.delete(pair);
      for (const c of conns) await c.closeBoth();
      await Promise.all([real.close(), ours.close()]);
    },
  };
  openPairs.add(pair);
  return pair;
}

// ---- both servers with a binlog (-b) -------------------------------------------------------------

/** Two fresh directories, one for each server's binlog, removed afterwards. */
export async function withBinlogDirs(fn: (dirs: { real: string; ours: string }) => Promise<void>): Promise<void> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'beanlab-binlog-pair-'));
  const dirs = { real: path.join(base, 'real'), ours: path.join(base, 'ours') };
  mkdirSync(dirs.real);
  mkdirSync(dirs.ours);
  try {
    await fn(dirs);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** Both servers on their own binlog directories with the same flags; paired connections; kill -9 of both. */
export async function startBinlogPair(dirs: { real: string; ours: string }, flags: string[] = []) {
  const [real, ours] = await Promise.all([startReal({ flags: ['-b', dirs.real, ...flags] }), startOursCli({ flags: ['-b', dirs.ours, ...flags] })]);
  const servers: RunningServer[] = [real, ours];
  const conns: DualConn[] = [];
  return {
    real,
    ours,
    async connect(name: string) {
      const c = new DualConn(name, await RawConn.open(real.port, `real:${name}`), await RawConn.open(ours.port, `ours:${name}`));
      conns.push(c);
      await c.same('list-tube-used\r\n');
      return c;
    },
    async crash() {
      for (const c of conns) c.closeBoth();
      await Promise.all(servers.map((s) => s.signal('SIGKILL')));
    },
    async close() {
      for (const c of conns) c.closeBoth();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
