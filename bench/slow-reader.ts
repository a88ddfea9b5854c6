// A client that pipelines commands and never reads its replies, against one server: how much the
// server's memory grows, and how long another client's round trips take meanwhile. beanstalkd reads
// no next command while a reply is unsent, so neither should grow with what the hog sends.
import net from 'node:net';
import { median, rssOf, sleep } from './util.ts';

export interface SlowReaderResult {
  /** Peak RSS growth of the server while the hog's commands are in, bytes. */
  growth: number;
  /** RSS growth left a moment after the hog disconnected, bytes. */
  growthAfter: number;
  /** The other client's put + reserve-with-timeout 0 + delete round trips, ms. */
  medianMs: number;
  maxMs: number;
  trips: number;
}

const JOB_SIZE = 65535;

/** A connection that collects replies; next() resolves with the next complete reply's line. */
class Client {
  private buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.waiting?.();
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  /** The next reply line (a body, if announced, is skipped). */
  async next(): Promise<string> {
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol >= 0) {
        const line = this.buf.toString('latin1', 0, eol);
        const m = /^(?:RESERVED|FOUND) \d+ (\d+)$|^OK (\d+)$/.exec(line);
        const need = eol + 2 + (m ? Number(m[1] ?? m[2]) + 2 : 0);
        if (this.buf.length >= need) {
          this.buf = this.buf.subarray(need);
          return line;
        }
      }
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = null;
    }
  }

  async send(text: string, replies: number): Promise<string[]> {
    this.sock.write(text);
    const out: string[] = [];
    for (let i = 0; i < replies; i++) out.push(await this.next());
    return out;
  }
}

/** `sendBytes` of `peek 1` of a 64 KiB job from a client that never reads, other client's trips for measureMs. */
export async function slowReader(port: number, serverPid: number, sendBytes: number, measureMs: number): Promise<SlowReaderResult> {
  const other = await Client.open(port);
  await other.send(`put 0 0 60 ${JOB_SIZE}\r\n${'j'.repeat(JOB_SIZE)}\r\nuse other\r\nwatch other\r\nignore default\r\n`, 4);
  await sleep(300);
  const before = rssOf(serverPid);
  const hog = await Client.open(port);
  hog.sock.pause(); // never reads
  hog.sock.write('peek 1\r\n'.repeat(Math.ceil(sendBytes / 8)));
  let peak = before;
  const trips: number[] = [];
  const start = performance.now();
  while (performance.now() - start < measureMs) {
    const t = performance.now();
    const [, reserved] = await other.send('put 0 0 60 1\r\nz\r\nreserve-with-timeout 0\r\n', 2);
    const id = /^RESERVED (\d+)/.exec(reserved)?.[1];
    if (!id) throw new Error(`expected RESERVED, got ${reserved}`);
    await other.send(`delete ${id}\r\n`, 1);
    trips.push(performance.now() - t);
    peak = Math.max(peak, rssOf(serverPid));
    await sleep(5);
  }
  hog.sock.destroy();
  await sleep(500);
  const after = rssOf(serverPid);
  other.sock.destroy();
  return { growth: peak - before, growthAfter: after - before, medianMs: median(trips), maxMs: Math.max(...trips), trips: trips.length };
}
