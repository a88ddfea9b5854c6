// The client side of the wire protocol: an incremental reply reader and a small promise-based client.
// Worker nodes, the console, tests and benchmarks all talk to the engine through it, over any pipe.
import { latin1, latin1Bytes } from './wire.ts';

export interface Reply {
  /** The reply line without CRLF, e.g. "INSERTED 5" or "RESERVED 3 11". */
  line: string;
  /** The body of RESERVED / FOUND / OK replies (without its CRLF). */
  body?: Uint8Array;
}

/** Splits a server's byte stream into replies. Throws on a stream no beanstalkd could send. */
export class ReplyReader {
  private buf: Uint8Array = new Uint8Array(0);
  private pending: { line: string; need: number } | null = null;

  constructor(private readonly onReply: (r: Reply) => void) {}

  push(chunk: Uint8Array): void {
    if (this.buf.length) {
      const all = new Uint8Array(this.buf.length + chunk.length);
      all.set(this.buf);
      all.set(chunk, this.buf.length);
      this.buf = all;
    } else {
      this.buf = chunk;
    }
    let pos = 0;
    for (;;) {
      if (this.pending) {
        if (this.buf.length - pos < this.pending.need + 2) break;
        const body = this.buf.slice(pos, pos + this.pending.need);
        pos += this.pending.need + 2;
        const line = this.pending.line;
        this.pending = null;
        this.onReply({ line, body });
        continue;
      }
      let end = -1;
      for (let i = pos; i + 1 < this.buf.length; i++) {
        if (this.buf[i] === 13 && this.buf[i + 1] === 10) {
          end = i;
          break;
        }
      }
      if (end < 0) break;
      const line = latin1(this.buf, pos, end);
      pos = end + 2;
      const need = bodyLength(line);
      if (need === null) this.onReply({ line });
      else this.pending = { line, need };
    }
    this.buf = pos >= this.buf.length ? new Uint8Array(0) : this.buf.slice(pos);
  }
}

/** Body length announced by a reply line, or null if the reply has no body. */
export function bodyLength(line: string): number | null {
  const parts = line.split(' ');
  if ((parts[0] === 'RESERVED' || parts[0] === 'FOUND') && parts.length === 3) return Number(parts[2]);
  if (parts[0] === 'OK' && parts.length === 2) return Number(parts[1]);
  return null;
}

export type Body = string | Uint8Array;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function bodyBytes(b: Body): Uint8Array {
  return typeof b === 'string' ? utf8.encode(b) : b;
}

export function bodyText(r: Reply): string {
  return r.body ? utf8Decoder.decode(r.body) : '';
}

export interface ClientPipe {
  write(bytes: Uint8Array): void;
}

/** A beanstalkd client: each call sends one command and resolves with its reply, in order. */
export class Client {
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  readonly reader = new ReplyReader((r) => {
    const w = this.waiting.shift();
    if (!w) throw new Error(`beanstalk client: unexpected reply "${r.line}"`);
    w.resolve(r);
  });

  constructor(private readonly pipe: ClientPipe) {}

  /** Bytes from the server. */
  receive(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  /** Sends a raw command line (without CRLF) and an optional body. */
  command(line: string, body?: Body): Promise<Reply> {
    const p = new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    const head = latin1Bytes(line + '\r\n');
    if (body === undefined) {
      this.pipe.write(head);
    } else {
      const b = bodyBytes(body);
      const all = new Uint8Array(head.length + b.length + 2);
      all.set(head);
      all.set(b, head.length);
      all[all.length - 2] = 13;
      all[all.length - 1] = 10;
      this.pipe.write(all);
    }
    return p;
  }

  put(body: Body, opts: { pri?: number; delay?: number; ttr?: number } = {}): Promise<Reply> {
    const b = bodyBytes(body);
    return this.command(`put ${opts.pri ?? 0} ${opts.delay ?? 0} ${opts.ttr ?? 60} ${b.length}`, b);
  }

  /** The connection is gone: every command still waiting for its reply fails with `err`. */
  fail(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  get pendingReplies(): number {
    return this.waiting.length;
  }
}
