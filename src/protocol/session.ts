// The server side of one connection, for every transport (TCP socket, MessagePort, WebRTC data
// channel, in-page console): bytes in, replies out, with beanstalkd's framing rules exactly
// (conn_process_io / h_conn / fill_extra_data):
// - a command line ends at the FIRST "\r" in the buffer if "\n" follows it (scan_line_end);
// - a line may be at most 224 bytes with its CRLF; a longer one is discarded in 224-byte blocks until
//   a block holds a CRLF, then answered with one BAD_FORMAT;
// - a put reads exactly <bytes>+2 body bytes; JOB_TOO_BIG first throws exactly that many away;
// - while a reserve is blocked, input is not read (commands after it wait their turn);
// - while a reply is unsent, the next command is not read: here, while the transport says it is
//   backed up (Transport.backedUp), no further command runs until it calls resume();
// - end of input: a blocked reserve (also one read after the EOF) answers TIMED_OUT; complete
//   commands still run; then it closes.
import type { Engine } from '../engine/engine.ts';
import { Connection } from '../engine/connection.ts';
import { OrderedSet } from '../engine/ordered-set.ts';
import type { Command } from '../engine/command.ts';
import { LINE_BUF_SIZE } from '../engine/types.ts';
import { parseCommand } from './parse.ts';
import { encodeReply, latin1 } from './wire.ts';

/**
 * Which commands a connection may run (real-node mode limits remote nodes to the worker's commands).
 * `true` runs the command. A refused one is answered UNKNOWN_COMMAND (`false`), a reply every
 * beanstalkd client understands, or NOT_FOUND, beanstalkd's answer about a job the connection may not
 * touch; a refused put first reads and discards its body, as beanstalkd does for JOB_TOO_BIG.
 */
export type CommandPolicy = (cmd: Command, conn: Connection) => boolean | 'NOT_FOUND';

export interface Transport {
  write(bytes: Uint8Array): void;
  /** The server ends the connection (quit, or end of input). */
  close(): void;
  /**
   * Backpressure, for a transport that can hold unsent output: true while it wants no further
   * command run for now (it holds more unsent output than it wants to, as a socket whose client does
   * not read; or other connections should have a turn first). The session then runs none until the
   * transport calls Session.resume(), so a client that pipelines commands and never reads their
   * replies costs a bounded amount of memory. Replies the engine makes meanwhile (a blocked
   * reserve's job, TIMED_OUT, DEADLINE_SOON) are still written. Without it, never backed up.
   */
  backedUp?(): boolean;
}

type PutCommand = Extract<Command, { op: 'put' }>;

type Mode =
  | { kind: 'command' }
  | { kind: 'endline' } // discarding an over-long line, block by block
  | { kind: 'body'; id: number; cmd: PutCommand; need: number; parts: Uint8Array[]; got: number }
  | { kind: 'discard'; left: number; refusal?: string }; // JOB_TOO_BIG, or a put the policy refuses (its reply)

/**
 * A session between two framing steps, as plain data (Session.snapshot), to take up again beside a
 * restored engine (Session.restore). Byte arrays are copies.
 */
export interface SessionSnapshot {
  /** Its engine connection's id (and name, for a closed session whose connection the engine forgot). */
  conn: number;
  name: string;
  /** Bytes received and not yet framed. */
  input: Uint8Array;
  /** Framing state: reading a command line, discarding an over-long one, reading a put body (its bytes so far), or discarding bytes. */
  mode:
    | { kind: 'command' }
    | { kind: 'endline' }
    | { kind: 'body'; id: number; cmd: PutCommand; need: number; received: Uint8Array }
    | { kind: 'discard'; left: number; refusal?: string };
  /** The client shut its write side. */
  ended: boolean;
  closed: boolean;
  /** Replies made and not yet handed to the transport. */
  out: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** With a transport that can back up, queued replies are handed to it once they reach this size. */
const FLUSH_BYTES = 16 * 1024;

export class Session {
  readonly conn: Connection;
  private input: Uint8Array = EMPTY;
  private pos = 0;
  private mode: Mode = { kind: 'command' };
  private ended = false;
  private closed = false;
  private pumping = false;
  private out: Uint8Array[] = [];
  private outBytes = 0;

  /** `from`: a new connection's name, or the snapshot of a session to take up again (see restore). */
  constructor(
    private readonly engine: Engine,
    private readonly transport: Transport,
    from: string | SessionSnapshot,
    private readonly allow?: CommandPolicy,
  ) {
    const sink = (line: string, body?: Uint8Array) => this.onReply(line, body);
    if (typeof from === 'string') {
      this.conn = engine.connect(from, sink);
      return;
    }
    this.input = from.input.slice();
    const m = from.mode;
    this.mode =
      m.kind === 'body'
        ? { kind: 'body', id: m.id, cmd: { ...m.cmd }, need: m.need, parts: m.received.length ? [m.received.slice()] : [], got: m.received.length }
        : { ...m };
    this.ended = from.ended;
    this.closed = from.closed;
    if (from.out.length) this.out = [from.out.slice()];
    this.outBytes = from.out.length;
    const conn = engine.connection(from.conn);
    if (conn) {
      conn.send = sink;
      this.conn = conn;
    } else if (from.closed) {
      // The engine forgets a connection once closed; a closed session only needs one to say so.
      this.conn = new Connection(from.conn, from.name, sink, engine.defaultTube, new OrderedSet());
      this.conn.closed = true;
    } else {
      throw new Error(`Session.restore: connection ${from.conn} (${from.name}) is not open in the engine given; restore the engine from the same snapshot moment`);
    }
  }

  /**
   * A session taken up again from its snapshot, over a restored engine (Engine.restore) and a new
   * transport. Its connection's replies go to this session from now on.
   */
  static restore(engine: Engine, s: SessionSnapshot, transport: Transport, allow?: CommandPolicy): Session {
    return new Session(engine, transport, s, allow);
  }

  /** The session between engine calls as plain data (not from inside a transport's write or close). */
  snapshot(): SessionSnapshot {
    if (this.pumping) throw new Error('Session.snapshot: called while the session runs a command');
    const m = this.mode;
    return {
      conn: this.conn.id,
      name: this.conn.name,
      input: this.input.slice(this.pos),
      mode: m.kind === 'body' ? { kind: 'body', id: m.id, cmd: { ...m.cmd }, need: m.need, received: concat(m.parts, m.got) } : { ...m },
      ended: this.ended,
      closed: this.closed,
      out: concat(this.out, this.outBytes),
    };
  }

  /** Bytes from the client. */
  receive(chunk: Uint8Array): void {
    if (this.closed || this.ended) return;
    if (this.pos >= this.input.length) {
      this.input = chunk;
    } else {
      const rest = this.input.subarray(this.pos);
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest);
      joined.set(chunk, rest.length);
      this.input = joined;
    }
    this.pos = 0;
    this.pump();
  }

  /** The client shut its write side (EOF). */
  end(): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    this.pump();
  }

  /** The transport has written out what backed it up (see Transport.backedUp): run the commands that waited. */
  resume(): void {
    this.pump();
  }

  /** The transport is gone (error, reset, peer vanished): close without further output. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.out = [];
    this.outBytes = 0;
    this.input = EMPTY;
    this.pos = 0;
    this.mode = { kind: 'command' };
    this.engine.close(this.conn);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onReply(line: string, body?: Uint8Array): void {
    if (this.closed) return;
    const bytes = encodeReply(line, body);
    this.out.push(bytes);
    this.outBytes += bytes.length;
    // A reply can also arrive outside pump() (a job for a blocked reserve, a timer): send it, then
    // carry on with input that waited behind the reserve, once the engine call causing it is over.
    if (!this.pumping) this.engine.defer(() => this.pump());
  }

  private flush(): void {
    if (!this.out.length) return;
    const chunks = this.out;
    this.out = [];
    this.outBytes = 0;
    if (chunks.length === 1) return this.transport.write(chunks[0]);
    let n = 0;
    for (const c of chunks) n += c.length;
    const all = new Uint8Array(n);
    n = 0;
    for (const c of chunks) {
      all.set(c, n);
      n += c.length;
    }
    this.transport.write(all);
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    let backedUp = false;
    try {
      while (!this.closed && !this.conn.closed && !this.conn.waiting) {
        backedUp = this.backedUp();
        if (backedUp || !this.step()) break;
      }
    } finally {
      this.pumping = false;
    }
    if (this.conn.closed && !this.closed) {
      // quit: replies to earlier commands still go out; nothing more is read.
      this.flush();
      this.closed = true;
      this.transport.close();
      return;
    }
    this.flush();
    // Backed up, the end of input waits behind the commands still to run: resume() gets to it.
    if (!this.ended || this.closed || backedUp) return;
    if (this.conn.waiting) {
      // The EOF stays pending (EPOLLRDHUP is level-triggered), so every reserve that blocks after it,
      // even one read in the same packet, answers TIMED_OUT; its reply resumes the input.
      this.engine.halfClose(this.conn);
    } else {
      // End of input with no complete command left: beanstalkd's next read returns 0 and it closes.
      this.closed = true;
      this.engine.close(this.conn);
      this.transport.close();
    }
  }

  /** Asked before each framing step: hands the transport the replies queued so far once they are worth a write, then asks it. */
  private backedUp(): boolean {
    if (!this.transport.backedUp) return false;
    if (this.outBytes >= FLUSH_BYTES) this.flush();
    return this.transport.backedUp();
  }

  /** Consumes input for one framing step; false when more bytes are needed. */
  private step(): boolean {
    const avail = this.input.length - this.pos;
    const m = this.mode;
    switch (m.kind) {
      case 'command':
      case 'endline': {
        if (avail === 0) return false;
        const size = Math.min(avail, LINE_BUF_SIZE);
        const len = scanLineEnd(this.input, this.pos, size);
        if (len) {
          const from = this.pos;
          this.pos += len;
          if (m.kind === 'endline') {
            this.mode = { kind: 'command' };
            this.engine.reply(this.conn, 'BAD_FORMAT');
          } else {
            this.dispatch(latin1(this.input, from, from + len - 2));
          }
          return true;
        }
        if (size === LINE_BUF_SIZE) {
          // 224 bytes and no line end: throw the block away and keep discarding until a CRLF.
          this.pos += LINE_BUF_SIZE;
          this.mode = { kind: 'endline' };
          return true;
        }
        return false;
      }
      case 'body': {
        if (avail === 0) return false;
        const take = Math.min(avail, m.need - m.got);
        m.parts.push(this.input.subarray(this.pos, this.pos + take));
        m.got += take;
        this.pos += take;
        if (m.got < m.need) return false;
        this.mode = { kind: 'command' };
        const data = m.parts.length === 1 ? m.parts[0] : concat(m.parts, m.need);
        this.engine.putBody(this.conn, m.id, m.cmd, data);
        return true;
      }
      case 'discard': {
        const take = Math.min(avail, m.left);
        this.pos += take;
        m.left -= take;
        if (m.left > 0) return false;
        this.mode = { kind: 'command' };
        if (m.refusal) this.engine.reply(this.conn, m.refusal);
        else this.engine.putTooBig(this.conn);
        return true;
      }
    }
  }

  private dispatch(line: string): void {
    if (this.engine.observed) {
      this.engine.emit({ kind: 'wire', direction: 'in', at: this.engine.clock.now(), conn: this.conn.id, line });
    }
    const cmd = parseCommand(line);
    const verdict = this.allow ? this.allow(cmd, this.conn) : true;
    if (verdict !== true) {
      const refusal = verdict || 'UNKNOWN_COMMAND';
      if (cmd.op === 'put') this.mode = { kind: 'discard', left: cmd.bytes + 2, refusal };
      else this.engine.reply(this.conn, refusal);
      return;
    }
    if (cmd.op !== 'put') return this.engine.execute(this.conn, cmd);
    const r = this.engine.putHeader(this.conn, cmd);
    if (r.kind === 'too-big') this.mode = { kind: 'discard', left: r.discard };
    else if (r.kind === 'body') this.mode = { kind: 'body', id: r.id, cmd, need: r.read, parts: [], got: 0 };
  }
}

/** scan_line_end: only the first CR in buf[from, from+size-1) counts, and only if LF follows it. */
function scanLineEnd(buf: Uint8Array, from: number, size: number): number {
  const last = from + size - 1;
  for (let i = from; i < last; i++) {
    if (buf[i] === 13) return buf[i + 1] === 10 ? i - from + 2 : 0;
  }
  return 0;
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  const all = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}
