// The host's side of a room: classmates' tabs join over a data channel and each of their worker
// slots becomes a node of the cluster, beside the page's own Web Workers. To the cluster a remote node
// is just another NodeProcess (nodes/process.ts; see "Local and remote nodes are the same thing"): the same plain
// messages, relayed over the channel; it differs only in how it fails. A peer that closes its channel
// has its nodes killed (beanstalkd's close rule: their reserved jobs return at once); one that falls
// silent keeps its jobs until their TTR, and is dropped when it misses its heartbeats.
// A slot's node changes run after run (a reset, the experiment's fresh clusters) and its worker restarts;
// each start is a generation of the slot, named in every node message both ways, so what a stopped
// worker sent before its stop reached the joiner never reaches the node that replaced it.
// The speedup experiment borrows the joiners' slots (`lend`): they leave the lab's cluster, join its
// runs' fresh clusters k at a time, and go back to the lab's cluster when it ends.
// A joiner is a classmate's tab, but what it sends is checked as if anyone had written it: its nodes'
// commands follow the worker's rules (worker-commands.ts), it reports only jobs its node reserved, and
// it keeps to the quotas below (messages, chars and puts per second, tubes, connections, one channel per
// browser); whoever breaks one is dropped and told which. Seats (joiners and nodes) go only to admitted
// joiners: those still waiting to say hello or to be approved wait in a list of their own.
import type { AddNodeOptions, NodeLife, NodeProcess, RemoteLink } from '../nodes/process.ts';
import type { FromNode, NodeConfig, ToNode, WorkerConfig } from '../nodes/messages.ts';
import type { Command } from '../engine/command.ts';
import type { Connection } from '../engine/connection.ts';
import type { PeerChannel } from './channel.ts';
import { afterTurn, batchFrames, decodeJoinerMessages, encodeMessage, FrameReader, ROOM_PROTOCOL, SILENCE_BEATS, splitData, type HostMessage, type JoinerHello, type JoinerMessage, type LessonAt } from './messages.ts';
import { RemoteNodeRules } from './worker-commands.ts';
import { hostAnswer, joinerProof } from './challenge.ts';
import { sameMac } from './hmac.ts';
import { RoomVerification, type VerifiedCluster } from './room-verify.ts';

/** What the room needs of the cluster (a reset replaces the cluster, so it is looked up each time). */
export interface RoomCluster extends VerifiedCluster {
  addNode(name: string, config: NodeConfig, opts: AddNodeOptions): number;
  killNode(id: number, detail?: string): void;
  removeNode(id: number): void;
  readonly nodes: ReadonlyMap<number, { life: NodeLife; remote?: RemoteLink }>;
}

export interface RoomHostOptions {
  code: string;
  /** What joiners prove they know, and the host proves it knows (challenge.ts). */
  secret: string;
  cluster: () => RoomCluster;
  worker: WorkerConfig;
  /** Wall-clock ms. */
  now: () => number;
  /** How often the host pings each peer, ms. */
  heartbeatMs?: number;
  /** A peer not heard from for this long is dropped, ms. */
  silenceMs?: number;
  /** Joiners admitted at once (MAX_JOINERS). */
  maxPeers?: number;
  /** Remote nodes at once, over all joiners (MAX_ROOM_NODES). */
  maxNodes?: number;
  /** Joiners waiting to say hello or to be approved (MAX_WAITING). */
  maxWaiting?: number;
  onChange?: () => void;
}

export type PeerState = 'hello' | 'pending' | 'admitted' | 'gone';

/** One joiner, as the host's room panel shows it. */
export interface RoomPeer {
  /** Joiner number in this room (node names say it: "remote 2.1"). */
  readonly no: number;
  readonly peer: string;
  name: string;
  state: PeerState;
  slots: number;
  link: RemoteLink;
  /** Why it left (shown as text). */
  reason?: string;
  /** The machine's system and cores, if its hello said them. */
  platform?: string;
  cores?: number;
  /** Jobs its nodes finished in this room (task-done reports the host accepted), over every run. */
  jobsDone: number;
  /** The student's lesson and step, if the joiner shares them. */
  lesson: LessonAt | null;
}

/**
 * Remote slots lent to the speedup experiment. They are off the lab's cluster until `end`; each run
 * takes the first k (one slot of every joiner before a second of any, so k nodes span as many machines
 * as they can).
 */
export interface RoomLoan {
  /** Lent slots whose joiner is still in the room. */
  readonly size: number;
  /**
   * Takes the slots out of the run they were in and resolves once each joiner has answered a ping sent
   * after that: their stopped workers no longer compute beside the next run, which is timed, and each
   * joiner's round trip is freshly measured.
   */
  settle(): Promise<void>;
  /** Adds the first `k` slots still in the room to a run's cluster as worker nodes (settle first). */
  attach(cluster: RoomCluster, k: number): void;
  /** Gives the slots back to the lab's cluster. */
  end(): Promise<void>;
}

/**
 * The worker program a remote node runs: the lab's, but keeping its connection between jobs and
 * pipelining its commands, since each of its round trips crosses a data channel (at 128 nodes the seed's
 * reconnect for each job, about 8 round trips a job, bounds the room at a few dozen jobs a second). Local
 * nodes keep the seed's program, which lessons show.
 */
export function remoteWorker(worker: WorkerConfig): WorkerConfig {
  return { ...worker, reconnectEachJob: false, pipelined: true };
}

/** Where one slot's node is: its cluster and its id there. */
interface Placement {
  cluster: RoomCluster;
  id: number;
}

// The room's quotas, for a class of 30–40 students whose machines have up to 16 cores (MAX_SLOTS).
/** Joiners admitted at once: a class of 40, and a few second tabs or rejoins. */
export const MAX_JOINERS = 48;
/** Remote nodes at once: 40 joiners of 16 cores each. */
export const MAX_ROOM_NODES = 640;
/** Joiners waiting (before their hello, or for approval): a whole class joining at the same moment. */
export const MAX_WAITING = 64;
/** Live channels from one PeerJS id: a joiner's tab opens one (a rejoin is a new peer). */
export const MAX_CHANNELS_PER_PEER = 1;
/** Open connections one remote node may hold at once (the worker needs one). */
export const MAX_OPEN_CONNECTIONS = 4;
/** Tubes one remote connection may watch, even when every command is allowed (the worker watches one). */
export const MAX_WATCHED_TUBES = 8;
/**
 * Rates per slot a joiner offers, each with up to 2 s worth at once. A remote worker (remoteWorker) costs
 * 2 round trips a job and about 6 messages (batched into fewer data channel messages, each message
 * counted), and puts one result: at 200 jobs a second (a job every 5 ms, tasks of no length on a fast LAN)
 * that is 1,200 messages and 200 puts; a class of 128 nodes at 2,000 jobs/s needs 16 jobs a second a slot.
 * Chars: a 64 KiB result of control bytes is 384 Ki chars of JSON.
 */
export const MESSAGES_PER_SECOND_PER_SLOT = 3000;
export const PUTS_PER_SECOND_PER_SLOT = 200;
export const CHARS_PER_SECOND_PER_SLOT = 1024 * 1024;

/** A rate quota: `perSecond` on average, up to 2 s worth at once. */
class Allowance {
  private left: number;
  private at: number;

  constructor(
    private perSecond: number,
    now: number,
  ) {
    this.left = 2 * perSecond;
    this.at = now;
  }

  /** Scales the rate (a joiner's slots are known at its hello). */
  scale(k: number): void {
    this.perSecond *= k;
    this.left *= k;
  }

  /** Spends `n`; false once the quota is overdrawn. */
  spend(n: number, now: number): boolean {
    this.left = Math.min(2 * this.perSecond, this.left + ((now - this.at) * this.perSecond) / 1000) - n;
    this.at = now;
    return this.left >= 0;
  }
}

class PeerEntry implements RoomPeer {
  no: number;
  name = '';
  /** The tab's id from its hello, which it keeps across reloads. */
  tab?: string;
  /** Admitted once and not removed or refused by the host: a reload of its tab takes its number and seat back. */
  rejoinable = false;
  state: PeerState = 'hello';
  slots = 0;
  /** Each slot's node (null while it is in no cluster: lent, between two runs). */
  placed: (Placement | null)[] = [];
  /** Slots lent to the speedup experiment: a fresh lab cluster does not take them. */
  lent = new Set<number>();
  link: RemoteLink;
  reason?: string;
  platform?: string;
  cores?: number;
  jobsDone = 0;
  lesson: LessonAt | null = null;
  lastHeard: number;
  /** The host's heartbeats since it last heard this peer (see SILENCE_BEATS). */
  beatsUnheard = 0;
  pings = new Map<number, number>();
  /** Waiting for the pong to these pings (see RoomLoan.settle). */
  onPong = new Map<number, () => void>();
  nextPing = 0;
  /** Worker starts sent to this peer so far: the next start's generation. */
  starts = 0;
  /** The node process currently behind each slot, and its open connections. */
  processes: (RemoteNodeProcess | null)[] = [];
  readonly reader = new FrameReader();
  readonly messages: Allowance;
  readonly chars: Allowance;
  readonly puts: Allowance;

  constructor(
    readonly channel: PeerChannel,
    no: number,
    now: number,
  ) {
    this.no = no;
    this.link = { peer: channel.peer, rtt: null, connected: true };
    this.lastHeard = now;
    // One slot's worth until the hello says how many it offers.
    this.messages = new Allowance(MESSAGES_PER_SECOND_PER_SLOT, now);
    this.chars = new Allowance(CHARS_PER_SECOND_PER_SLOT, now);
    this.puts = new Allowance(PUTS_PER_SECOND_PER_SLOT, now);
  }

  get peer(): string {
    return this.channel.peer;
  }

  /** Messages sent in this turn of the event loop, encoded: they leave together at its end (flush), in a batch. */
  private outbox: string[] = [];

  send(m: HostMessage): void {
    if (this.state === 'gone') return;
    if (!this.outbox.length) afterTurn(() => this.flush());
    this.outbox.push(encodeMessage(m));
  }

  flush(): void {
    const texts = this.outbox;
    this.outbox = [];
    for (const f of batchFrames(texts)) this.channel.send(f);
  }
}

/** A remote worker slot as the cluster sees it: a NodeProcess whose messages cross the data channel. */
class RemoteNodeProcess implements NodeProcess {
  onmessage: ((e: MessageEvent<FromNode>) => void) | null = null;
  readonly open = new Set<number>();
  readonly rules: RemoteNodeRules;

  constructor(
    private readonly entry: PeerEntry,
    private readonly slot: number,
    /** Which start of the slot's worker this process is: the joiner tags that worker's messages with it. */
    readonly generation: number,
    worker: WorkerConfig,
  ) {
    this.rules = new RemoteNodeRules(worker);
  }

  postMessage(m: ToNode): void {
    if (m.t === 'closed' || m.t === 'refused') this.open.delete(m.conn);
    // A reply is going out: if it reserved a job, the node holds it from now on.
    if (m.t === 'data') this.rules.noteReservations();
    for (const part of m.t === 'data' ? splitData(m) : [m]) this.entry.send({ t: 'node', s: this.slot, g: this.generation, m: part });
  }

  terminate(): void {
    this.entry.send({ t: 'stop', s: this.slot, g: this.generation });
  }

  deliver(m: FromNode): void {
    this.onmessage?.({ data: m } as MessageEvent<FromNode>);
  }
}

export class RoomHost {
  private roomCode: string;
  private roomSecret: string;
  /** Verify results: re-run a share of the jobs on another node, exclude who disagrees (see room-verify.ts). */
  readonly verification: RoomVerification;
  /** New joiners wait until the host approves them. */
  requireApproval = false;
  /** Remote nodes may run every command, not only the worker's. */
  allowAllCommands = false;
  private readonly entries: PeerEntry[] = [];
  private nextNo = 1;
  private readonly heartbeatMs: number;
  private readonly silenceMs: number;
  private readonly maxPeers: number;
  private readonly maxNodes: number;
  private readonly maxWaiting: number;

  constructor(private readonly opts: RoomHostOptions) {
    this.roomCode = opts.code;
    this.roomSecret = opts.secret;
    this.verification = new RoomVerification({ cluster: opts.cluster, peers: () => this.entries, kick: (no, reason) => this.kick(no, reason) });
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
    this.silenceMs = opts.silenceMs ?? 5000;
    this.maxPeers = opts.maxPeers ?? MAX_JOINERS;
    this.maxNodes = opts.maxNodes ?? MAX_ROOM_NODES;
    this.maxWaiting = opts.maxWaiting ?? MAX_WAITING;
  }

  get code(): string {
    return this.roomCode;
  }

  /** What joiners must prove they know (it changes with the code when the room reopens). */
  get secret(): string {
    return this.roomSecret;
  }

  /** The room moves to a new code and secret (its id on the signaling server was lost): those in it stay, new joiners need the new link. */
  reopen(code: string, secret: string): void {
    this.roomCode = code;
    this.roomSecret = secret;
    this.changed();
  }

  /** Everyone who has joined or tried to, in order (those gone say why). */
  get peers(): readonly RoomPeer[] {
    return this.entries;
  }

  get heartbeatInterval(): number {
    return this.heartbeatMs;
  }

  /** A new data channel from a would-be joiner; it must say hello first. */
  accept(channel: PeerChannel): void {
    const live = this.entries.filter((e) => e.state !== 'gone');
    const waiting = live.filter((e) => e.state === 'hello' || e.state === 'pending').length;
    const sameBrowser = live.filter((e) => e.peer === channel.peer).length;
    const entry = new PeerEntry(channel, this.nextNo++, this.opts.now());
    channel.onmessage = (data) => this.receive(entry, data);
    channel.onclose = () => this.drop(entry, 'closed the connection', false);
    this.entries.push(entry);
    if (sameBrowser >= MAX_CHANNELS_PER_PEER) this.drop(entry, `this browser (${channel.peer}) is already connected to the room`);
    else if (waiting >= this.maxWaiting) this.drop(entry, `too many browsers are waiting to join (${this.maxWaiting}): try again once the host has let them in`);
    this.changed();
  }

  approve(no: number): void {
    const e = this.entry(no);
    if (e?.state === 'pending') this.seat(e);
  }

  refuse(no: number): void {
    const e = this.entry(no);
    if (e && e.state !== 'gone') {
      e.rejoinable = false;
      this.drop(e, 'the host refused to let this browser join');
    }
  }

  /** The host removes a joiner: its nodes leave the cluster view, its jobs come back at once. */
  kick(no: number, reason = 'removed by the host'): void {
    const e = this.entry(no);
    if (!e || e.state === 'gone') return;
    e.rejoinable = false;
    this.drop(e, reason);
    for (const at of e.placed) at?.cluster.removeNode(at.id);
  }

  /** Pings every peer; drops those not heard from for too long. Call every `heartbeatInterval` ms. */
  heartbeat(): void {
    const now = this.opts.now();
    for (const e of this.entries) {
      if (e.state === 'gone') continue;
      e.beatsUnheard++;
      if (now - e.lastHeard > this.silenceMs && e.beatsUnheard > SILENCE_BEATS) {
        this.drop(e, `missed its heartbeats (silent for ${((now - e.lastHeard) / 1000).toFixed(1)} s)`);
        continue;
      }
      const n = e.nextPing++;
      e.pings.set(n, now);
      // Unanswered pings are forgotten once they are older than the silence limit; nobody waits for them.
      for (const [k, at] of e.pings) {
        if (now - at <= this.silenceMs) continue;
        e.pings.delete(k);
        this.answer(e, k);
      }
      e.send({ t: 'ping', n });
    }
  }

  /** A fresh run replaced the cluster: the joiners' slots (those not lent) become nodes of the new one. */
  attach(): void {
    this.verification.apply();
    for (const e of this.entries) if (e.state === 'admitted') this.addNodes(e);
    this.changed();
  }

  /** Lends every admitted slot not lent yet to the speedup experiment (see RoomLoan). */
  lend(): RoomLoan {
    const admitted = this.entries.filter((e) => e.state === 'admitted');
    const slots: { e: PeerEntry; s: number }[] = [];
    for (let s = 0; admitted.some((e) => s < e.slots); s++) for (const e of admitted) if (s < e.slots && !e.lent.has(s)) slots.push({ e, s });
    for (const { e, s } of slots) {
      e.lent.add(s);
      this.unplace(e, s);
    }
    this.changed();
    const inRoom = () => slots.filter(({ e }) => e.state === 'admitted');
    const settle = async () => {
      for (const { e, s } of slots) this.unplace(e, s);
      await Promise.all([...new Set(inRoom().map(({ e }) => e))].map((e) => this.pingAnswered(e)));
    };
    return {
      get size() {
        return inRoom().length;
      },
      settle,
      attach: (cluster, k) => {
        const free = inRoom();
        if (free.length < k) throw new Error(`only ${free.length} remote node${free.length === 1 ? ' is' : 's are'} still in the room, not ${k}`);
        for (const { e, s } of free.slice(0, k)) this.place(e, s, cluster);
        this.changed();
      },
      end: async () => {
        await settle();
        for (const { e, s } of slots) {
          e.lent.delete(s);
          if (e.state === 'admitted') this.place(e, s, this.opts.cluster());
        }
        this.changed();
      },
    };
  }

  /** The host closes the room: every joiner is told and let go. */
  close(): void {
    this.verification.set(0);
    for (const e of this.entries) if (e.state !== 'gone') this.drop(e, 'the host closed the room');
  }

  private entry(no: number): PeerEntry | undefined {
    return this.entries.find((e) => e.no === no);
  }

  private receive(e: PeerEntry, data: unknown): void {
    if (e.state === 'gone') return;
    const now = this.opts.now();
    if (!e.messages.spend(1, now)) return this.drop(e, `sent more than ${MESSAGES_PER_SECOND_PER_SLOT} messages a second per node`);
    if (typeof data === 'string' && !e.chars.spend(data.length, now)) return this.drop(e, `sent more than ${CHARS_PER_SECOND_PER_SLOT} chars a second per node`);
    const frame = e.reader.read(data);
    if (!frame.ok) return this.drop(e, `sent a malformed message (${frame.why})`);
    if (frame.msg === null) return;
    const d = decodeJoinerMessages(frame.msg);
    if (!d.ok) return this.drop(e, `sent a malformed message (${d.why})`);
    // A batch spends a message of the quota for each message in it.
    if (d.msg.length > 1 && !e.messages.spend(d.msg.length - 1, now)) return this.drop(e, `sent more than ${MESSAGES_PER_SECOND_PER_SLOT} messages a second per node`);
    e.lastHeard = now;
    e.beatsUnheard = 0;
    // What a message does may end the membership: the rest of its batch is then dropped with it.
    for (const m of d.msg) if (this.handle(e, m) === 'gone') return;
  }

  /** Acts on one message from the peer; says what the peer's state is afterwards. */
  private handle(e: PeerEntry, m: JoinerMessage): PeerState {
    this.act(e, m);
    return e.state;
  }

  private act(e: PeerEntry, m: JoinerMessage): void {
    if (e.state === 'hello') {
      if (m.t !== 'hello') return this.drop(e, `spoke (${m.t}) before saying hello`);
      return this.hello(e, m);
    }
    switch (m.t) {
      case 'hello':
        return this.drop(e, 'said hello twice');
      case 'pong': {
        const sent = e.pings.get(m.n);
        if (sent === undefined) return;
        e.pings.delete(m.n);
        e.link.rtt = this.opts.now() - sent;
        this.answer(e, m.n);
        return this.changed();
      }
      case 'bye':
        return this.drop(e, 'left the room', false);
      case 'lesson':
        e.lesson = m.at;
        return this.changed();
      case 'node': {
        if (e.state !== 'admitted' || m.s >= e.slots) return this.drop(e, `sent a node message for slot ${m.s}, which it does not have`);
        const p = e.processes[m.s];
        // The slot is in no run now, or this comes from an earlier start of its worker (sent before its stop reached the joiner).
        if (p?.generation !== m.g) return;
        const fm = m.m;
        if (fm.t === 'connect') {
          p.open.add(fm.conn);
          if (p.open.size > MAX_OPEN_CONNECTIONS) return this.drop(e, `opened more than ${MAX_OPEN_CONNECTIONS} connections from one node`);
        } else if (fm.t === 'close') p.open.delete(fm.conn);
        else if (fm.t === 'report' && (fm.report.kind === 'task-done' || fm.report.kind === 'task-failed')) {
          const refused = p.rules.refuseReport(fm.report.job);
          if (refused) return this.drop(e, refused);
          if (fm.report.kind === 'task-done') e.jobsDone++;
        }
        return p.deliver(this.restamp(fm));
      }
    }
  }

  /** The joiner's clock is not ours: what it reports happened when it reached us. */
  private restamp(m: FromNode): FromNode {
    const now = this.opts.now();
    if (m.t === 'sleep') return { ...m, vt: now, until: now + Math.min(Math.max(m.until - m.vt, 0), 60_000) };
    return { ...m, vt: now };
  }

  private hello(e: PeerEntry, m: JoinerHello): void {
    if (m.v !== ROOM_PROTOCOL) return this.drop(e, `speaks room protocol ${m.v}, this host speaks ${ROOM_PROTOCOL}: reload both pages`);
    if (m.room !== this.code) return this.drop(e, 'asked for another room');
    if (m.nonce === undefined || m.proof === undefined) return this.drop(e, "came without the room's secret (the part of the join link after #, or of the code after the dash)");
    if (!sameMac(m.proof, joinerProof(this.secret, this.code, m.nonce))) return this.drop(e, "had the wrong secret for this room (an old link or a mistyped code?)");
    e.send({ t: 'hello', answer: hostAnswer(this.secret, this.code, m.nonce) });
    e.name = m.name;
    e.slots = m.slots;
    for (const quota of [e.messages, e.chars, e.puts]) quota.scale(m.slots);
    e.tab = m.tab;
    e.platform = m.platform;
    e.cores = m.cores;
    const before = m.tab === undefined ? undefined : this.entries.find((x) => x !== e && x.tab === m.tab && x.rejoinable);
    if (before) return this.rejoin(e, before);
    if (this.requireApproval) {
      e.state = 'pending';
      e.send({ t: 'waiting' });
      return this.changed();
    }
    this.seat(e);
  }

  /**
   * A joiner's tab again (a reload, or a new channel after a lost one): it takes the place of its old
   * entry, with its number, so its nodes keep their names, and its seat, without asking the host again.
   * The old entry's nodes are let go first (if its bye was lost, their jobs return now) and their cards
   * make way for the new nodes.
   */
  private rejoin(e: PeerEntry, before: PeerEntry): void {
    this.drop(before, 'rejoined from a new connection (a reload)');
    for (const at of before.placed) at?.cluster.removeNode(at.id);
    before.placed = [];
    if (e.no === this.nextNo - 1) this.nextNo--;
    e.no = before.no;
    e.jobsDone = before.jobsDone;
    this.entries.splice(this.entries.indexOf(e), 1);
    this.entries.splice(this.entries.indexOf(before), 1, e);
    this.seat(e);
  }

  /** Admits a joiner if the room has seats left: as many of its slots as there are nodes left. */
  private seat(e: PeerEntry): void {
    const admitted = this.entries.filter((x) => x.state === 'admitted');
    const nodesLeft = this.maxNodes - admitted.reduce((n, x) => n + x.slots, 0);
    if (admitted.length >= this.maxPeers) return this.drop(e, `the room is full (${this.maxPeers} joiners)`);
    if (nodesLeft <= 0) return this.drop(e, `the room is full (${this.maxNodes} nodes)`);
    e.slots = Math.min(e.slots, nodesLeft);
    this.admit(e);
  }

  private admit(e: PeerEntry): void {
    e.state = 'admitted';
    e.rejoinable = true;
    e.send({ t: 'welcome', room: this.code, joiner: e.no, nodes: Array.from({ length: e.slots }, (_, s) => ({ s, name: this.nodeName(e, s) })), lessons: true });
    this.addNodes(e);
    this.changed();
  }

  private nodeName(e: PeerEntry, slot: number): string {
    return `remote ${e.no}.${slot + 1}`;
  }

  private addNodes(e: PeerEntry): void {
    const cluster = this.opts.cluster();
    for (let s = 0; s < e.slots; s++) if (!e.lent.has(s)) this.place(e, s, cluster);
  }

  /** Makes a slot a worker node of `cluster`: the joiner starts its worker program. */
  private place(e: PeerEntry, s: number, cluster: RoomCluster): void {
    let process: RemoteNodeProcess;
    const id = cluster.addNode(
      this.nodeName(e, s),
      { role: 'worker', worker: remoteWorker(this.opts.worker) },
      {
        spawn: () => {
          process = new RemoteNodeProcess(e, s, e.starts++, this.opts.worker);
          e.processes[s] = process;
          return process;
        },
        allow: (cmd, conn) => this.withinQuota(e, cmd, conn) && process.rules.allows(cmd, conn, this.allowAllCommands),
        remote: e.link,
        // The data channel's own delay is real: the cluster adds none.
        latency: 0,
      },
    );
    e.placed[s] = { cluster, id };
  }

  /** The quotas a command of a joiner's node spends, which hold even when every command is allowed; false once the joiner is dropped. */
  private withinQuota(e: PeerEntry, cmd: Command, conn: Connection): boolean {
    if (e.state === 'gone') return false;
    if (cmd.op === 'put' && !e.puts.spend(1, this.opts.now())) {
      this.drop(e, `put more than ${PUTS_PER_SECOND_PER_SLOT} jobs a second per node`);
      return false;
    }
    if (cmd.op === 'watch' && conn.watch.length >= MAX_WATCHED_TUBES && !conn.watch.items.some((t) => t.name === cmd.tube)) {
      this.drop(e, `watched more than ${MAX_WATCHED_TUBES} tubes on one connection`);
      return false;
    }
    return true;
  }

  /** Takes a slot's node out of its cluster (the joiner stops its worker); what the slot sends meanwhile is dropped. */
  private unplace(e: PeerEntry, s: number): void {
    const at = e.placed[s];
    e.placed[s] = null;
    e.processes[s] = null;
    at?.cluster.removeNode(at.id);
  }

  /** Resolves once the peer answers a ping sent now (the channel is ordered: all it sent before has arrived), or leaves. */
  private pingAnswered(e: PeerEntry): Promise<void> {
    if (e.state !== 'admitted') return Promise.resolve();
    return new Promise((resolve) => {
      const n = e.nextPing++;
      e.pings.set(n, this.opts.now());
      e.onPong.set(n, resolve);
      e.send({ t: 'ping', n });
    });
  }

  private answer(e: PeerEntry, n: number): void {
    e.onPong.get(n)?.();
    e.onPong.delete(n);
  }

  /** Ends a peer's membership; its nodes die, so their connections close and their jobs return. */
  private drop(e: PeerEntry, reason: string, tell = true): void {
    if (e.state === 'gone') return;
    if (tell) e.send({ t: 'bye', reason });
    e.flush();
    e.state = 'gone';
    e.reason = reason;
    e.link.connected = false;
    e.channel.onmessage = null;
    e.channel.onclose = null;
    e.channel.close();
    for (const at of e.placed) at?.cluster.killNode(at.id, `left the room: ${reason}`);
    e.processes = [];
    for (const n of [...e.onPong.keys()]) this.answer(e, n);
    this.changed();
  }

  private changed(): void {
    this.opts.onChange?.();
  }
}
