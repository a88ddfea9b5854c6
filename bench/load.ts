// A pipelining beanstalkd load generator over raw sockets, identical for every server it is pointed at.
//
// Each connection runs a closed loop of three phases, each one batch of `batch` commands written in a
// single write and answered before the next phase starts:
//   put 0 0 60 <BODY> x batch  ->  reserve-with-timeout 0 x batch  ->  delete <id> for each reserved id
// so a cycle keeps the tube's depth constant. Throughput = replies received per second.
import net from 'node:net';
import { BODY_SIZE } from './inproc.ts';
import { cpuSecondsOf, sleep } from './util.ts';

export interface LoadOptions {
  port: number;
  conns: number;
  batch: number;
  warmMs: number;
  measureMs: number;
  /** The server's pid, to report how busy it was during the measured window. */
  serverPid?: number;
}

export interface LoadResult {
  /** Replies per second during the measured window. */
  ops: number;
  replies: number;
  seconds: number;
  /** CPU use during the window, as a fraction of one core: the server's and this load generator's. */
  serverCpu: number;
  loadCpu: number;
}

type Phase = 'put' | 'reserve' | 'delete';

const BODY = 'x'.repeat(BODY_SIZE);

/** One connection's loop. */
class Worker {
  private readonly sock: net.Socket;
  private phase: Phase = 'put';
  private expect = 0;
  private ids: number[] = [];
  private rest: Buffer | null = null;
  /** Bytes of a RESERVED body (plus CRLF) still to skip. */
  private skip = 0;
  private stopping = false;
  private stopped!: () => void;
  readonly done = new Promise<void>((r) => (this.stopped = r));
  replies = 0;
  error: Error | null = null;

  constructor(
    port: number,
    private readonly batch: number,
    private readonly putBatch: Buffer,
    private readonly reserveBatch: Buffer,
    private readonly onFail: (e: Error) => void,
  ) {
    this.sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
    this.sock.on('connect', () => this.send());
    this.sock.on('data', (b: Buffer) => this.onData(b));
    this.sock.on('error', (e) => this.fail(e));
    this.sock.on('close', () => {
      if (!this.stopping) this.fail(new Error('server closed the connection'));
      this.stopped();
    });
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    this.onFail(e);
    this.sock.destroy();
  }

  /** Finish the current cycle (so every reserved job is deleted), then close. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.expect === 0) this.sock.end();
    return this.done;
  }

  private send(): void {
    switch (this.phase) {
      case 'put':
        if (this.stopping) {
          this.sock.end();
          return;
        }
        this.expect = this.batch;
        this.sock.write(this.putBatch);
        return;
      case 'reserve':
        this.ids = [];
        this.expect = this.batch;
        this.sock.write(this.reserveBatch);
        return;
      case 'delete': {
        if (!this.ids.length) {
          this.phase = 'put';
          return this.send();
        }
        let s = '';
        for (const id of this.ids) s += `delete ${id}\r\n`;
        this.expect = this.ids.length;
        this.sock.write(Buffer.from(s, 'latin1'));
        return;
      }
    }
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let pos = 0;
    const n = buf.length;
    while (pos < n) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, n - pos);
        this.skip -= take;
        pos += take;
        if (this.skip > 0) break;
        this.reply();
        continue;
      }
      const nl = buf.indexOf(10, pos);
      if (nl < 0) {
        this.rest = buf.subarray(pos);
        break;
      }
      const c0 = buf[pos];
      if (c0 === 73 /* INSERTED */ || (c0 === 68 && buf[pos + 1] === 69) /* DELETED */ || c0 === 84 /* TIMED_OUT */) {
        pos = nl + 1;
        this.reply();
      } else if (c0 === 82 && buf[pos + 2] === 83 /* RESERVED id bytes */) {
        let i = pos + 9;
        let id = 0;
        for (; buf[i] !== 32; i++) id = id * 10 + buf[i] - 48;
        let bytes = 0;
        for (i++; buf[i] !== 13; i++) bytes = bytes * 10 + buf[i] - 48;
        this.ids.push(id);
        pos = nl + 1;
        this.skip = bytes + 2; // counted as a reply once the body is skipped
      } else {
        return this.fail(new Error(`unexpected reply: ${buf.toString('latin1', pos, nl)}`));
      }
    }
  }

  private reply(): void {
    this.replies++;
    if (--this.expect > 0) return;
    this.phase = this.phase === 'put' ? 'reserve' : this.phase === 'reserve' ? 'delete' : 'put';
    this.send();
  }
}

function batches(batch: number): { putBatch: Buffer; reserveBatch: Buffer } {
  return {
    putBatch: Buffer.from(`put 0 0 60 ${BODY_SIZE}\r\n${BODY}\r\n`.repeat(batch), 'latin1'),
    reserveBatch: Buffer.from('reserve-with-timeout 0\r\n'.repeat(batch), 'latin1'),
  };
}

/** Puts `n` jobs over one connection, pipelined `batch` at a time; resolves when all are INSERTED. */
export function fill(port: number, n: number, batch = 1000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const { putBatch } = batches(batch);
    const perPut = putBatch.length / batch;
    let sent = 0;
    let inBatch = 0;
    let lineStart = true;
    const next = () => {
      if (sent >= n) {
        sock.end();
        return resolve();
      }
      const k = Math.min(batch, n - sent);
      sent += k;
      inBatch = k;
      sock.write(k === batch ? putBatch : putBatch.subarray(0, perPut * k));
    };
    sock.on('connect', next);
    sock.on('error', reject);
    sock.on('data', (b: Buffer) => {
      for (let i = 0; i < b.length; i++) {
        const ch = b[i];
        if (lineStart && ch !== 73 /* INSERTED */) {
          sock.destroy();
          return reject(new Error(`unexpected reply while filling: ${b.toString('latin1', i, i + 40)}`));
        }
        lineStart = ch === 10;
        if (lineStart && --inBatch === 0) next();
      }
    });
  });
}

/** Runs `conns` workers: `warmMs` unmeasured, then counts replies for `measureMs`; then stops cleanly. */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const { putBatch, reserveBatch } = batches(o.batch);
  let failure: Error | null = null;
  const workers: Worker[] = [];
  for (let i = 0; i < o.conns; i++)
    workers.push(
      new Worker(o.port, o.batch, putBatch, reserveBatch, (e) => {
        failure ??= e;
      }),
    );
  const count = () => workers.reduce((s, w) => s + w.replies, 0);
  await sleep(o.warmMs);
  const cpu = () => (o.serverPid ? cpuSecondsOf(o.serverPid) : NaN);
  const s0 = cpu();
  const u0 = process.cpuUsage();
  const c0 = count();
  const t0 = performance.now();
  await sleep(o.measureMs);
  const c1 = count();
  const t1 = performance.now();
  const u1 = process.cpuUsage(u0);
  const s1 = cpu();
  await Promise.race([Promise.all(workers.map((w) => w.stop())), sleep(5000)]);
  if (failure) throw failure;
  const seconds = (t1 - t0) / 1e3;
  return {
    ops: (c1 - c0) / seconds,
    replies: c1 - c0,
    seconds,
    serverCpu: (s1 - s0) / seconds,
    loadCpu: (u1.user + u1.system) / 1e6 / seconds,
  };
}
