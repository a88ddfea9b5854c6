// A joiner's side of a room: this browser offers worker slots to the host; each runs the worker
// program in its own Web Worker (node.worker.ts, as a local node does), and this page only relays
// the plain node messages between the data channel and the Web Worker. Whatever the host sends is
// checked first; only the worker program ever starts here. Each worker runs one start (generation) of
// its slot, tags what it sends with it, and takes only the host's messages for that start.
// Messages go in frames the data channel can carry (messages.ts), those sent in one turn of the event
// loop together in one frame where they fit (a batch), wire bytes in data messages of a bounded size (a 64 KiB result reaches the host as a student's 64 KiB job reaches this browser), and
// texts cut to the protocol's limits.
import type { NodeProcess } from '../nodes/process.ts';
import type { NodeStatus } from '../nodes/messages.ts';
import type { PeerChannel } from './channel.ts';
import { afterTurn, batchFrames, decodeHostMessages, encodeMessage, FrameReader, MAX_CORES, ROOM_PROTOCOL, SILENCE_BEATS, splitData, withinLimits, type HostMessage, type JoinerMessage, type LessonAt } from './messages.ts';
import { hostAnswer, joinerProof, newNonce } from './challenge.ts';
import { sameMac } from './hmac.ts';

export type MemberPhase =
  | { phase: 'joining' }
  | { phase: 'waiting' }
  | { phase: 'joined'; joiner: number }
  /** `byHost`: the host ended it (the reason is the host's, about this browser). */
  | { phase: 'left'; reason: string; byHost: boolean };

/** One worker slot of this browser, as the joiner's page shows it. */
export interface MemberNode {
  slot: number;
  name: string;
  status: NodeStatus;
  jobs: number;
}

export interface RoomMemberOptions {
  code: string;
  /** The room's secret, from the join link: the host must prove it knows it (challenge.ts). */
  secret: string;
  slots: number;
  /** What the host will call this machine. */
  name: string;
  /** This tab's id (newNonce(), kept in sessionStorage): after a reload the host gives the tab its old joiner number and seat. */
  tab?: string;
  /** The machine's system and cores, for the host's roster (sent if known). */
  platform?: string;
  cores?: number;
  /** Starts a Web Worker running slot `slot`'s node (a terminal joiner's bridge slot is a TCP port instead). */
  spawn: (slot: number) => NodeProcess;
  now: () => number;
  /** Leave when the host has not been heard from (or has not proved itself) for this long, ms. */
  silenceMs?: number;
  onChange?: () => void;
}

const ACTIVITY: Record<NodeStatus['state'], string> = {
  starting: 'starting',
  connecting: 'connecting to the queue server',
  idle: 'idle',
  waiting: 'waiting for a job (reserve)',
  working: 'working on job',
  sending: 'sending the result of job',
  sleeping: 'sleeping',
  done: 'done',
  failed: 'stopped',
};

/** What a joiner's node is doing, as its page and its terminal say it: "working on job 17". */
export function memberNodeActivity(status: NodeStatus): string {
  return `${ACTIVITY[status.state]}${status.job !== undefined ? ` ${status.job}` : ''}${status.detail ? ` (${status.detail})` : ''}`;
}

/** Whoever answered at the host's id did not prove it knows the room's secret. */
export const NOT_THE_HOST = "this is not the room's host (it could not prove it knows the room's secret). Ask the host for the room's current link";

export class RoomMember {
  state: MemberPhase = { phase: 'joining' };
  nodes: MemberNode[] = [];
  /** Each slot's running worker and the start (generation) it runs. */
  private workers: ({ process: NodeProcess; g: number } | null)[] = [];
  private lastHeard: number;
  /** Watches since the host was last heard (see SILENCE_BEATS). */
  private watchesUnheard = 0;
  private readonly silenceMs: number;
  private readonly reader = new FrameReader();
  private readonly nonce = newNonce();
  private readonly since: number;
  /** The host answered the challenge: until then nothing runs here and nothing but pongs goes back. */
  private verified = false;
  /** The lesson and step the student shares (null: none), and whether the host reads them (its welcome said so). */
  private lesson: LessonAt | null = null;
  private hostReadsLessons = false;
  /** Messages sent in this turn of the event loop, encoded: they leave together at its end (flush). */
  private outbox: string[] = [];

  constructor(
    private readonly channel: PeerChannel,
    private readonly opts: RoomMemberOptions,
  ) {
    this.silenceMs = opts.silenceMs ?? 6000;
    this.lastHeard = this.since = opts.now();
    channel.onmessage = (data) => this.receive(data);
    channel.onclose = () => this.end('the connection to the host closed', false, false);
    const proof = joinerProof(opts.secret, opts.code, this.nonce);
    const machine = { ...(opts.platform ? { platform: opts.platform.slice(0, 60) } : {}), ...(opts.cores ? { cores: Math.min(Math.max(1, Math.floor(opts.cores)), MAX_CORES) } : {}) };
    this.send({ t: 'hello', v: ROOM_PROTOCOL, room: opts.code, slots: opts.slots, name: opts.name, nonce: this.nonce, proof, ...(opts.tab ? { tab: opts.tab } : {}), ...machine });
  }

  /** The student's current lesson and step, or null (none open, or not shared): the host's roster shows it. */
  shareLesson(at: LessonAt | null): void {
    if (this.lesson?.lesson === at?.lesson && this.lesson?.step === at?.step) return;
    this.lesson = at;
    if (this.hostReadsLessons) this.send({ t: 'lesson', at });
  }

  /** The student leaves: the host sees the channel close and takes its jobs back. */
  leave(): void {
    this.end('you left the room');
  }

  /** Call now and then: a host that stopped answering (tab closed, network gone) ends the membership. */
  watch(): void {
    if (!this.verified && this.state.phase !== 'left' && this.opts.now() - this.since > this.silenceMs) return this.end(NOT_THE_HOST);
    const silent = this.opts.now() - this.lastHeard;
    this.watchesUnheard++;
    if (this.state.phase !== 'left' && silent > this.silenceMs && this.watchesUnheard > SILENCE_BEATS) this.end(`the host stopped answering (silent for ${(silent / 1000).toFixed(1)} s)`);
  }

  private send(m: JoinerMessage): void {
    if (this.state.phase === 'left') return;
    if (!this.outbox.length) afterTurn(() => this.flush());
    this.outbox.push(encodeMessage(m));
  }

  private flush(): void {
    const texts = this.outbox;
    this.outbox = [];
    for (const f of batchFrames(texts)) this.channel.send(f);
  }

  private receive(data: unknown): void {
    if (this.state.phase === 'left') return;
    const frame = this.reader.read(data);
    if (!frame.ok) return this.end(`the host sent a malformed message (${frame.why})`);
    if (frame.msg === null) return;
    const d = decodeHostMessages(frame.msg);
    if (!d.ok) return this.end(`the host sent a malformed message (${d.why})`);
    this.lastHeard = this.opts.now();
    this.watchesUnheard = 0;
    // A message that ends the membership (a bye, a bad slot) drops the rest of its batch.
    for (const m of d.msg) if (this.handle(m) === 'left') return;
  }

  /** Acts on one message from the host; says the membership's phase afterwards. */
  private handle(m: HostMessage): MemberPhase['phase'] {
    this.act(m);
    return this.state.phase;
  }

  private act(m: HostMessage): void {
    // A bye needs no proof: the host refuses a wrong secret without answering.
    if (!this.verified && m.t !== 'hello' && m.t !== 'ping' && m.t !== 'bye') return this.end(NOT_THE_HOST);
    switch (m.t) {
      case 'hello':
        if (this.verified) return this.end('the host said hello twice');
        if (!sameMac(m.answer, hostAnswer(this.opts.secret, this.opts.code, this.nonce))) return this.end(NOT_THE_HOST);
        this.verified = true;
        break;
      case 'waiting':
        this.state = { phase: 'waiting' };
        break;
      case 'welcome':
        this.state = { phase: 'joined', joiner: m.joiner };
        this.nodes = m.nodes.filter((n) => n.s < this.opts.slots).map((n) => ({ slot: n.s, name: n.name, status: { state: 'starting' }, jobs: 0 }));
        this.workers = this.nodes.map(() => null);
        this.hostReadsLessons = m.lessons === true;
        if (this.hostReadsLessons && this.lesson) this.send({ t: 'lesson', at: this.lesson });
        break;
      case 'ping':
        return this.send({ t: 'pong', n: m.n });
      case 'stop':
        // A stop for an earlier start (its cluster let the node go after the slot started again) is not for this worker.
        if (this.workers[m.s]?.g !== m.g) return;
        this.stopWorker(m.s);
        this.setStatus(m.s, { state: 'failed', detail: 'killed by the host' });
        break;
      case 'node': {
        if (this.state.phase !== 'joined' || !this.nodes[m.s]) return this.end(`the host addressed slot ${m.s}, which this browser does not offer`);
        if (m.m.t === 'start') this.startWorker(m.s, m.g);
        const w = this.workers[m.s];
        if (w?.g === m.g) w.process.postMessage(m.m, m.m.t === 'data' ? [m.m.bytes.buffer as ArrayBuffer] : undefined);
        return;
      }
      case 'bye':
        return this.end(m.reason, false, true);
    }
    this.opts.onChange?.();
  }

  /** A start (also a restart by the host) gets a fresh Web Worker. */
  private startWorker(slot: number, g: number): void {
    this.stopWorker(slot);
    const w = { process: this.opts.spawn(slot), g };
    this.workers[slot] = w;
    w.process.onmessage = (e) => {
      if (this.workers[slot] !== w) return;
      const fm = e.data;
      if (fm.t === 'status') this.setStatus(slot, fm.status);
      else if (fm.t === 'report' && fm.report.kind === 'task-done') {
        this.nodes[slot].jobs++;
        this.opts.onChange?.();
      }
      for (const m of fm.t === 'data' ? splitData(fm) : [withinLimits(fm)]) this.send({ t: 'node', s: slot, g, m });
    };
  }

  private stopWorker(slot: number): void {
    this.workers[slot]?.process.terminate();
    this.workers[slot] = null;
  }

  private setStatus(slot: number, status: NodeStatus): void {
    const n = this.nodes[slot];
    if (!n) return;
    n.status = status;
    this.opts.onChange?.();
  }

  private end(reason: string, tell = true, byHost = false): void {
    if (this.state.phase === 'left') return;
    if (tell) this.send({ t: 'bye' });
    this.flush();
    this.state = { phase: 'left', reason, byHost };
    for (let s = 0; s < this.workers.length; s++) this.stopWorker(s);
    for (const n of this.nodes) n.status = { state: 'failed', detail: 'left the room' };
    this.channel.onmessage = null;
    this.channel.onclose = null;
    this.channel.close();
    this.opts.onChange?.();
  }
}
