// `npm run join -- … --bridge PORT`: a real beanstalkd client on this machine (the report's worker.py
// with beanstalkc, node-beanstalk, telnet) reaches the room host's engine through a TCP port here,
// changed only in host and port. The port belongs to one slot of the joiner, a bridge node: it runs no
// program; each accepted client is one of the node's connections, relayed with the node messages a
// worker's connections use (connect, data, close), so the host applies the room policy to it as to any
// remote node (worker-commands.ts) and keeps its quotas (a node holds at most MAX_OPEN_CONNECTIONS).
// What the node's card says is read off the traffic: waiting after a reserve, working on job N after
// its RESERVED, and a job done (a task-done report) when the client's delete of it is answered DELETED.
import net from 'node:net';
import type { NodeProcess } from '../nodes/process.ts';
import type { FromNode, NodeReport, NodeStatus, ToNode } from '../nodes/messages.ts';
import { FRAME_CHARS, MAX_RESULT_CHARS } from '../net/messages.ts';
import { CHARS_PER_SECOND_PER_SLOT, MAX_OPEN_CONNECTIONS, MESSAGES_PER_SECOND_PER_SLOT, PUTS_PER_SECOND_PER_SLOT } from '../net/room-host.ts';
import { ReplyReader, type Reply } from '../protocol/client.ts';
import { latin1 } from '../protocol/wire.ts';
import { decodeTask, type TaskKind } from '../tasks/index.ts';

/** A command line longer than this without its CRLF is not followed (beanstalkd's own limit is 224 bytes). */
const MAX_LINE = 1024;

/**
 * Commands of a client the host has not answered yet, past which its socket is not read. Its socket's
 * backpressure alone came too late: the host's replies to a client that reads none wait in the data
 * channel, which nothing bounds, while its next commands went on (944 peeks of 60 kB all answered).
 */
const MAX_UNANSWERED = 32;

const RESERVES = new Set(['reserve', 'reserve-with-timeout', 'reserve-job']);
/** Commands on a job the client holds: NOT_FOUND says it holds it no more. */
const ON_HELD_JOB = new Set(['delete', 'release', 'bury', 'touch']);

/** A job a client holds: since when, and what the card and the host's history learn when it is done. */
interface Held {
  since: number;
  /** Its body's task kind; null for a body that is none of the lab's tasks (not counted as a task done). */
  task: TaskKind | null;
  /** What the client put while holding it: its result. */
  result?: string;
}

/**
 * One client's conversation, followed from both sides: the commands it sends (put bodies skipped over)
 * and the replies, which come back in the same order. Only for what the card shows: the host's engine
 * and rules decide what happens.
 */
export class ClientTraffic {
  private line = '';
  private body: { need: number; text: string } | null = null;
  /** Commands sent and not answered yet: their verb and the job id they name. */
  private readonly asked: { verb: string; id: number }[] = [];
  readonly held = new Map<number, Held>();
  private readonly replies = new ReplyReader((r) => this.answered(r));

  constructor(
    private readonly now: () => number,
    private readonly done: (report: NodeReport) => void,
  ) {}

  /** Commands sent and not answered yet. */
  get unanswered(): number {
    return this.asked.length;
  }

  /** Whether a reserve of this client's waits for its answer. */
  get waiting(): boolean {
    return this.asked.some((a) => RESERVES.has(a.verb));
  }

  /** Follows what the client sent; returns where in `bytes` each put command's line ends (the host counts a put there). */
  fromClient(bytes: Uint8Array): number[] {
    const text = latin1(bytes);
    const puts: number[] = [];
    let at = 0;
    while (at < text.length) {
      if (this.body) {
        const take = Math.min(this.body.need + 2 - this.body.text.length, text.length - at);
        this.body.text += text.slice(at, at + take);
        at += take;
        if (this.body.text.length === this.body.need + 2) {
          this.putDone(this.body.text.slice(0, this.body.need));
          this.body = null;
        }
        continue;
      }
      const end = text.indexOf('\n', at);
      if (end < 0) {
        this.line = (this.line + text.slice(at)).slice(-MAX_LINE);
        break;
      }
      if (this.command((this.line + text.slice(at, end)).replace(/\r$/, ''))) puts.push(end + 1);
      this.line = '';
      at = end + 1;
    }
    return puts;
  }

  fromServer(bytes: Uint8Array): void {
    try {
      this.replies.push(bytes);
    } catch {
      // Not a stream beanstalkd sends: nothing more to follow on this connection.
      this.asked.length = 0;
    }
  }

  /** Takes note of a command line; true for a put. */
  private command(line: string): boolean {
    const words = line.split(' ');
    if (words[0] === 'quit') return false;
    this.asked.push({ verb: words[0], id: Number(words[1]) });
    if (words[0] === 'put' && words.length === 5 && /^\d+$/.test(words[4])) this.body = { need: Number(words[4]), text: '' };
    return words[0] === 'put';
  }

  /** A put's body: the result of the job the client holds that has none yet. */
  private putDone(latin1Body: string): void {
    const job = [...this.held.values()].reverse().find((h) => h.result === undefined);
    if (!job) return;
    const result = new TextDecoder().decode(Uint8Array.from(latin1Body, (c) => c.charCodeAt(0)));
    if (result.length <= MAX_RESULT_CHARS) job.result = result;
  }

  private answered(r: Reply): void {
    const asked = this.asked.shift();
    if (!asked) return;
    const [word, id] = r.line.split(' ');
    if (word === 'RESERVED' && RESERVES.has(asked.verb)) {
      this.held.set(Number(id), { since: this.now(), task: taskKind(r.body) });
    } else if (word === 'DELETED' && asked.verb === 'delete') {
      const h = this.held.get(asked.id);
      this.held.delete(asked.id);
      if (h?.task) this.done({ kind: 'task-done', job: asked.id, task: h.task, ms: this.now() - h.since, units: 1, ...(h.result !== undefined ? { result: h.result } : {}) });
    } else if (((word === 'RELEASED' || word === 'BURIED') && (asked.verb === 'release' || asked.verb === 'bury')) || (word === 'NOT_FOUND' && ON_HELD_JOB.has(asked.verb))) {
      // Given back, or no longer this client's (its TTR ran out).
      this.held.delete(asked.id);
    }
  }
}

function taskKind(body: Uint8Array | undefined): TaskKind | null {
  try {
    return decodeTask(new TextDecoder().decode(body)).kind;
  } catch {
    return null;
  }
}

interface BridgedClient {
  socket: net.Socket;
  traffic: ClientTraffic;
  /** The host has opened its connection. */
  opened: boolean;
  /** Its socket has more of the host's replies buffered than it takes at once: its next commands wait (it reads no more until then). */
  draining: boolean;
  /** Its bytes held back by the pace, in order, each part with at most one put; and whether its close follows them. */
  queued: number;
  closing: boolean;
}

/**
 * Four fifths of the room's quotas per node (room-host.ts), with a second's worth at once where the host
 * allows two: the pace the bridge keeps what its clients send to, so that a fast client (a producer
 * putting through the bridge when the host allows every command, say) is slowed down, its socket paused
 * so that TCP pushes back, and is not the reason its joiner is dropped.
 */
const PACE = { puts: PUTS_PER_SECOND_PER_SLOT * 0.8, messages: MESSAGES_PER_SECOND_PER_SLOT * 0.8, chars: CHARS_PER_SECOND_PER_SLOT * 0.8 };
/** The chars of a data message the host counts (its bytes as JSON text, latin1), plus the message's own. */
function messageChars(bytes: Uint8Array): number {
  let n = 100;
  for (const b of bytes) n += b < 0x20 ? 6 : b === 0x22 || b === 0x5c ? 2 : 1;
  return n;
}

const KINDS = ['puts', 'messages', 'chars'] as const;

/** Token buckets at PACE, each holding a second's worth at most. */
class Pace {
  private left = { ...PACE };
  private at = Date.now();

  /** Spends a message of `chars` (in as many frames as the room needs) with `puts` puts if the pace allows; else how long to wait, ms. */
  take(chars: number, puts: number): number {
    this.refill();
    const need = { puts, messages: Math.ceil(chars / FRAME_CHARS), chars };
    const wait = Math.max(...KINDS.map((k) => ((need[k] - this.left[k]) / PACE[k]) * 1000));
    if (wait > 0) return Math.ceil(wait);
    for (const k of KINDS) this.left[k] -= need[k];
    return 0;
  }

  /** Spends a message that cannot wait (a status, a report, a connect or close): the data after it waits instead. */
  charge(chars: number): void {
    this.refill();
    this.left.messages -= Math.ceil(chars / FRAME_CHARS);
    this.left.chars -= chars;
  }

  private refill(): void {
    const now = Date.now();
    for (const k of KINDS) this.left[k] = Math.min(PACE[k], this.left[k] + ((now - this.at) / 1000) * PACE[k]);
    this.at = now;
  }
}

/**
 * One start of the bridge slot's node: the clients it relays are its connections. Stopping it (the host
 * stops or restarts the node, the joiner leaves) closes them, as beanstalkd's clients see a server go.
 */
class BridgeNode implements NodeProcess {
  onmessage: ((e: MessageEvent<FromNode>) => void) | null = null;
  started = false;
  stopped = false;
  private readonly clients = new Map<number, BridgedClient>();
  private nextConn = 1;
  private shown = '';
  private readonly pace = new Pace();
  /** What the clients sent, in order, not yet relayed (held back by the pace). */
  private readonly outbox: { conn: number; bytes: Uint8Array; puts: number }[] = [];
  private pumping: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly port: BridgePort) {}

  get count(): number {
    return this.clients.size;
  }

  postMessage(m: ToNode): void {
    if (this.stopped) return;
    const c = 'conn' in m ? this.clients.get(m.conn) : undefined;
    switch (m.t) {
      case 'start':
        this.started = true;
        this.showStatus();
        return;
      case 'open':
        if (!c) return;
        c.opened = true;
        return this.flow(c);
      case 'refused':
        if (!c) return;
        this.clients.delete(m.conn);
        c.socket.destroy();
        this.port.tell("refused a client: the host's queue server is down");
        return this.showStatus();
      case 'data':
        if (!c) return;
        c.traffic.fromServer(m.bytes);
        if (!c.socket.write(m.bytes) && !c.draining) {
          c.draining = true;
          c.socket.once('drain', () => {
            c.draining = false;
            this.flow(c);
          });
        }
        this.flow(c);
        return this.showStatus();
      case 'closed':
        if (!c) return;
        this.clients.delete(m.conn);
        // What the server sent before closing still reaches the client.
        c.socket.end();
        return this.showStatus();
      case 'rerun':
        this.post({ t: 'rerun-done', vt: Date.now(), n: m.n, ms: 0, error: 'a bridge node relays a beanstalkd client and runs no tasks itself' });
        return;
      default:
        // wake, hang, slow: for nodes that run a program of ours.
        return;
    }
  }

  terminate(): void {
    this.stopped = true;
    clearTimeout(this.pumping);
    this.outbox.length = 0;
    for (const c of this.clients.values()) c.socket.destroy();
    this.clients.clear();
    this.port.changed();
  }

  /** A client of the port: one more connection of this node, if the node may open one. */
  accept(socket: net.Socket): void {
    if (this.clients.size >= MAX_OPEN_CONNECTIONS) {
      const from = `${socket.remoteAddress}:${socket.remotePort}`;
      socket.destroy();
      this.port.tell(`refused a client from ${from}: a node holds at most ${MAX_OPEN_CONNECTIONS} connections to the room's queue, and ${this.clients.size} clients are connected`);
      return;
    }
    const conn = this.nextConn++;
    const traffic = new ClientTraffic(Date.now, (report) => this.post({ t: 'report', vt: Date.now(), report }));
    const c: BridgedClient = { socket, traffic, opened: false, draining: false, queued: 0, closing: false };
    this.clients.set(conn, c);
    // Nothing is relayed until the host has opened the connection.
    socket.pause();
    socket.on('data', (chunk: Buffer) => {
      if (this.clients.get(conn) !== c) return;
      const bytes = new Uint8Array(chunk);
      // One part per put, so that the pace can hold back the rest of a pipelined run of puts.
      let from = 0;
      for (const end of traffic.fromClient(bytes)) {
        this.outbox.push({ conn, bytes: bytes.subarray(from, end), puts: 1 });
        c.queued++;
        from = end;
      }
      if (from < bytes.length) {
        this.outbox.push({ conn, bytes: bytes.subarray(from), puts: 0 });
        c.queued++;
      }
      this.pump();
    });
    const gone = () => {
      if (this.clients.get(conn) !== c || c.closing) return;
      c.closing = true;
      this.pump();
    };
    socket.on('close', gone);
    // A reset client closes as well (its 'close' follows).
    socket.on('error', () => {});
    this.post({ t: 'connect', vt: Date.now(), conn });
    this.showStatus();
  }

  /** Relays what the clients sent as fast as the pace allows; a client's close follows its last bytes. */
  private pump(): void {
    clearTimeout(this.pumping);
    this.pumping = undefined;
    while (this.outbox.length) {
      const part = this.outbox[0];
      const c = this.clients.get(part.conn);
      if (c) {
        const wait = this.pace.take(messageChars(part.bytes), part.puts);
        if (wait > 0) {
          this.pumping = setTimeout(() => this.pump(), wait);
          break;
        }
        c.queued--;
        this.post({ t: 'data', vt: Date.now(), conn: part.conn, bytes: part.bytes });
      }
      this.outbox.shift();
    }
    for (const [conn, c] of this.clients) {
      if (c.closing && c.queued === 0) {
        this.clients.delete(conn);
        this.post({ t: 'close', vt: Date.now(), conn });
      } else this.flow(c);
    }
    this.showStatus();
  }

  /** A client's socket is read while the host has its connection open, the pace lets its bytes through, and its replies are answered and taken. */
  private flow(c: BridgedClient): void {
    if (c.opened && !c.draining && c.queued === 0 && !c.closing && c.traffic.unanswered < MAX_UNANSWERED) c.socket.resume();
    else c.socket.pause();
  }

  private post(m: FromNode): void {
    if (this.stopped) return;
    if (m.t !== 'data') this.pace.charge(JSON.stringify(m).length + 100);
    this.onmessage?.({ data: m } as MessageEvent<FromNode>);
  }

  /** The card's status, from the traffic: the newest job held, else a reserve waiting, else idle. */
  private showStatus(): void {
    const all = [...this.clients.values()];
    const where = `bridge ${this.port.address}, ${all.length} client${all.length === 1 ? '' : 's'}`;
    const held = all.flatMap((c) => [...c.traffic.held].map(([job, h]) => ({ job, since: h.since })));
    const newest = held.sort((a, b) => b.since - a.since)[0];
    const status: NodeStatus = newest
      ? { state: 'working', job: newest.job, detail: where }
      : all.some((c) => c.traffic.waiting)
        ? { state: 'waiting', detail: where }
        : { state: 'idle', detail: where };
    const text = JSON.stringify(status);
    if (text !== this.shown) {
      this.shown = text;
      this.post({ t: 'status', vt: Date.now(), status });
    }
    this.port.changed();
  }
}

/** The bridge's TCP port: it lives as long as the joiner, and hands each client to the slot's node of the moment. */
export class BridgePort {
  private node: BridgeNode | null = null;
  /** The latest thing the terminal should know (a refused client), with its time. */
  notice = '';

  private constructor(
    private readonly server: net.Server,
    readonly address: string,
    private readonly onChange: () => void,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on host:port; rejects with an error that says why it cannot (the port is taken, say). */
  static listen(host: string, port: number, onChange: () => void): Promise<BridgePort> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'something else listens there (a beanstalkd?)' : err.code === 'EACCES' ? 'not allowed' : err.message;
        reject(new Error(`cannot listen on ${host}:${port} for --bridge: ${why}`));
      });
      server.listen(port, host, () => {
        const a = server.address() as net.AddressInfo;
        resolve(new BridgePort(server, `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`, onChange));
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The node process of one start of the bridge slot (RoomMember spawns it when the host starts the slot). */
  spawn(): NodeProcess {
    this.node?.terminate();
    this.node = new BridgeNode(this);
    return this.node;
  }

  /** What the terminal's bridge line says. */
  summary(): string {
    const n = this.node && !this.node.stopped ? this.node.count : 0;
    return `bridge ${this.address}: ${n} client${n === 1 ? '' : 's'}${this.notice ? `; ${this.notice}` : ''}`;
  }

  tell(notice: string): void {
    this.notice = `${new Date().toISOString().slice(11, 19)} ${notice}`;
    this.changed();
  }

  changed(): void {
    this.onChange();
  }

  close(): void {
    this.node?.terminate();
    this.server.close();
  }

  private accept(socket: net.Socket): void {
    const node = this.node;
    if (!node?.started || node.stopped) {
      socket.destroy();
      this.tell("refused a client: the room's host runs no node for this bridge now (not in the room yet, or the host stopped it)");
      return;
    }
    node.accept(socket);
  }
}
