// The simulated cluster: a queue server (the engine, in the page), nodes (Web Workers running the
// seed's programs) and the links between them, on one clock. This file composes them: it boots and
// crashes the server, starts, stops and breaks nodes (the faults of faults.ts), and routes what nodes
// send; scheduler.ts orders the events, links.ts carries the messages, run-record.ts records the run.
//
// Virtual time (lessons, step mode): every message between a node and the server is an event at a
// virtual instant; nodes stamp what they send with their own virtual time and announce how long a
// computation will take (modelled from its size, not measured), so a run is a function of its seed and
// the student's actions — and can be stepped one protocol event at a time.
// Live time (measuring speedup): the real clock; messages are handled as they arrive; durations are real.
//
// Checkpoints (virtual time, for time travel): every `checkpointEvery` events the cluster copies its whole
// state as data (checkpoint.ts); Cluster.restore(checkpoint) gives a cluster that runs on exactly as this
// one did from there.
import { Engine } from '../engine/engine.ts';
import { ManualClock, RealClock, RealTimeDriver } from '../engine/clock.ts';
import { Scheduler } from './scheduler.ts';
import { GrowingList } from './growing-list.ts';
import { Links, type LinkEvent, type LinkedNode } from './links.ts';
import { NodeInputs, resumeMessage } from './node-resume.ts';
import { BinlogCopier, chunked, JobChunker, joinChunks, joinJobs, noJobs, restoreData, StateCopier, type ClusterCheckpoint, type NodeCheckpoint } from './checkpoint.ts';
import type { Clock } from '../engine/types.ts';
import type { EngineEvent } from '../engine/events.ts';
import { MemoryBinlogStorage, restoreFromBinlog, type BinlogStorage } from '../engine/binlog.ts';
import { Session, type CommandPolicy, type SessionSnapshot } from '../protocol/session.ts';
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import { QueueModel, type ConnOwner } from './queue-model.ts';
import { JobHistory } from '../history/history.ts';
import { KvSession, KvStore, storeReplyMs } from '../store/store.ts';
import type { FromNode, NodeConfig, NodeReport, NodeStatus, ToNode } from '../nodes/messages.ts';
import type { NodeControl } from '../nodes/control.ts';
import type { AddNodeOptions, NodeLife, NodeProcess, RemoteLink } from '../nodes/process.ts';
import type { TaskSpec } from '../tasks/index.ts';
import { ResultChecker, type JobCheck, type RerunAnswer } from './verify.ts';
import { WorkBook } from './exclusion.ts';
import { applyFault, isFault, NODE_FAULTS, SERVER_FAULTS } from './faults.ts';
import { RunLog, textOf, type ClusterAction, type RecordedAction, type RunRecord, type TraceEntry } from './run-record.ts';
import type { Remote } from 'comlink';

export interface NodeView {
  id: number;
  name: string;
  role: NodeConfig['role'];
  life: NodeLife;
  status: NodeStatus;
  slow: number;
  /** A producer with backup tasks: whether they are on (none for any other node). */
  backupTasks?: boolean;
  /** Share of its results it falsifies (the "wrong results" fault; 0: honest). */
  cheat: number;
  /** Why the result check excluded it (its results were dropped and its tasks put again). */
  excluded?: string;
  latency: number;
  /** Tasks finished and when (cluster ms), for throughput. */
  done: number[];
  /** Modelled computing time so far, ms of virtual time (0 in live time, where it is not modelled). */
  computeMs: number;
  reports: NodeReport[];
  log: string[];
  remote?: RemoteLink;
}

export interface ClusterOptions {
  seed: number;
  mode: 'virtual' | 'live';
  spawn: () => NodeProcess;
  /** Binlog storage for the queue server; persistent (IndexedDB) in the app, memory by default. */
  binlogStorage?: BinlogStorage & { snapshot?(): Map<number, Uint8Array> };
  /** Read back what the binlog storage holds (after a crash). Defaults to the memory snapshot. */
  loadBinlog?: () => Promise<Map<number, Uint8Array>>;
  /** Default one-way latency between a node and the server, ms. */
  latency?: number;
  /** Whether the queue server starts with a binlog (`beanstalkd -b`). */
  binlog?: boolean;
  /** Virtual time: take a checkpoint every this many events (none if absent). */
  checkpointEvery?: number;
  /** Cluster.restore builds the server itself. */
  restoring?: boolean;
}

interface NodeHandle extends NodeView, LinkedNode {
  config: NodeConfig;
  /** The node's open connections to the server, by the node's connection number. */
  sessions: Map<number, Session>;
  /** Its open connections to the key-value store, and until when each is busy answering (the store answers a connection's requests in turn). */
  storeSessions: Map<number, KvSession>;
  storeBusy: Map<number, number>;
  spawnProcess: () => NodeProcess;
  allow?: CommandPolicy;
}

export class Cluster {
  readonly clock: Clock & { set?(t: number): void };
  readonly virtual: boolean;
  engine: Engine | null = null;
  model = new QueueModel();
  /** Every job's record, across server crashes and restarts (rq's view of the queue). */
  readonly history: JobHistory;
  readonly nodes = new Map<number, NodeHandle>();
  /** The run as data: the event trace and the student's actions. */
  private log = new RunLog();
  /** The key-value store node (memcached's role in the report's matrix program), once a scenario adds it. */
  store: KvStore | null = null;
  readonly binlog: BinlogStorage & { snapshot?(): Map<number, Uint8Array> };
  /** The server runs with a binlog (`-b`): its jobs survive a crash. */
  binlogEnabled: boolean;
  /** Re-runs a fraction of the jobs on a second node and compares the results (off until its fraction is set). */
  readonly checker: ResultChecker;
  /** Re-runs asked of a node and not answered yet, by request number. */
  private readonly reruns = new Map<number, { node: NodeHandle; answer: (a: RerunAnswer) => void }>();
  /** Each node's finished tasks and the jobs it put, to undo a cheater's work. */
  private readonly work = new WorkBook();
  /** Verify results (the simulator's setting): a node caught by the result check is excluded. */
  private excluding = false;
  private nextRerun = 1;
  /**
   * Which node's connection each connection of the running queue server is (a new map per boot). Kept
   * after a connection closes: a job's record and its reservations are named after it later.
   */
  private owners = new Map<number, ConnOwner>();
  /** The event heap, the engine's timers and the nodes' horizons, on the cluster's clock. */
  private readonly scheduler: Scheduler<LinkEvent>;
  /** The links between the page's servers and the nodes. */
  private readonly links: Links;
  private nextNodeId = 1;
  private listeners = new Set<() => void>();
  private actionListeners = new Set<(entry: TraceEntry) => void>();
  private unsubscribe: (() => void) | null = null;
  /** Live time: the real-time driver (the TCP server's too) keeps one timer armed for the next event or engine timer. */
  private readonly live: RealTimeDriver | null;
  /** Node updates waiting for virtual time to reach them. */
  private shown: { at: number; seq: number; node: NodeHandle; gen: number; m: Extract<FromNode, { t: 'status' | 'report' | 'log' }> }[] = [];
  private shownSeq = 0;
  readonly startedAt: number;
  /**
   * Checkpoints of this run, in order of position (virtual time, with `checkpointEvery`): those it was
   * restored with, then those it took. Time travel keeps a list per branch.
   */
  checkpoints: ClusterCheckpoint[] = [];
  /** What consecutive checkpoints share: unchanged records, binlog bytes already kept. */
  private readonly copier = new StateCopier();
  private readonly binlogCopier = new BinlogCopier();
  private readonly jobChunker = new JobChunker();

  constructor(private readonly opts: ClusterOptions) {
    this.virtual = opts.mode === 'virtual';
    this.clock = this.virtual ? new ManualClock(0) : new RealClock();
    this.binlog = opts.binlogStorage ?? new MemoryBinlogStorage();
    this.binlogEnabled = opts.binlog ?? true;
    this.startedAt = this.clock.now();
    this.history = new JobHistory(this.startedAt);
    this.checker = new ResultChecker(this, opts.seed, () => this.changed());
    this.scheduler = new Scheduler(this.clock, this.virtual, {
      nodes: () => this.nodes.values(),
      timersDue: () => (this.engine ? this.engine.nextDue : Infinity),
      fireTimers: () => {
        const before = this.model.version;
        this.engine?.tick();
        if (this.model.version !== before) this.record('timer', undefined, undefined, 'timers fired');
      },
      beforeEvent: () => this.showDue(),
      scheduled: () => this.armLive(),
      run: (e) => this.links.run(e),
      stale: (e) => this.links.stale(e),
      counted: () => this.checkpointDue(),
    });
    this.links = new Links(
      this.clock,
      this.virtual,
      this.scheduler,
      (kind, node, conn, text, job) => this.record(kind, node, conn, text, job),
      (id) => this.nodes.get(id),
      (n, m) => this.arrive(n as NodeHandle, m),
    );
    const scheduler = this.scheduler;
    this.live = this.virtual
      ? null
      : new RealTimeDriver({
          clock: this.clock,
          get nextDue() {
            return scheduler.nextAt();
          },
          tick: () => {
            const now = this.clock.now();
            while (scheduler.processOne(now));
            this.changed();
          },
        });
    if (!opts.restoring) this.bootServer(new Map());
  }

  // ---- observers ------------------------------------------------------------------------------

  /** Called after anything changes (events processed, node reports, actions). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called as each action is recorded (the student's, a lesson's or a replay's), with its trace entry. */
  onAction(fn: (entry: TraceEntry) => void): () => void {
    this.actionListeners.add(fn);
    return () => this.actionListeners.delete(fn);
  }

  private changed(): void {
    // In live time an action (a kill, a restart) can schedule engine timers: keep the timer armed.
    if (!this.virtual) this.armLive();
    this.showDue();
    for (const fn of this.listeners) fn();
  }

  /** Every processed event and action, in order. */
  get trace(): GrowingList<TraceEntry> {
    return this.log.trace;
  }

  /** The student's actions, each at the event count it was taken at. */
  get actions(): readonly RecordedAction[] {
    return this.log.actions;
  }

  get now(): number {
    return this.clock.now() - this.startedAt;
  }

  /**
   * A new node's one-way latency to the servers, ms: as set, else 1 ms of simulated network in virtual
   * time, and none added in live time, where a node's messages cross a real MessagePort or data channel
   * (an added millisecond put each of them behind a timer, and a page busy with a class's remote nodes
   * ran its producer's timers last: it had read 366 results of 1,058 done).
   */
  get defaultLatency(): number {
    return this.opts.latency ?? (this.virtual ? 1 : 0);
  }

  /** Data messages and their bytes, both ways, between the nodes and each server: communication, counted. */
  get traffic(): Links['traffic'] {
    return this.links.traffic;
  }

  get eventCount(): number {
    return this.scheduler.processed;
  }

  /** Virtual time: the clock time of each processed event, in order (the clock starts at 0: ms since the start). Live time keeps none. */
  get eventTimes(): GrowingList<number> {
    return this.scheduler.times;
  }

  get serverUp(): boolean {
    return this.engine !== null;
  }

  /** The node connection behind connection `conn` of the running server; none for one of the page's own (the console). */
  ownerOf(conn: number): ConnOwner | undefined {
    return this.engine ? this.owners.get(conn) : undefined;
  }

  /** Who holds connection `conn` of the running server, in words: its node's name, or the connection's own name (the console). */
  connectionOwner(conn: number): string {
    return (this.engine && this.owners.get(conn)?.name) ?? this.engine?.connection(conn)?.name ?? `connection ${conn}`;
  }

  // ---- the queue server -------------------------------------------------------------------------

  private bootServer(files: Map<number, Uint8Array>): void {
    const engine = new Engine({ clock: this.clock, instanceId: (this.opts.seed >>> 0).toString(16).padStart(16, '0') });
    this.owners = new Map();
    this.model = this.newModel();
    this.checker.serverRestarted();
    this.work.serverRestarted();
    this.attach(engine);
    // `default` exists before anyone can listen: tell the model about the tubes already there.
    for (const t of engine.tubes.items) this.model.apply({ kind: 'tube', action: 'created', at: this.clock.now(), tube: t.name });
    if (this.binlogEnabled) restoreFromBinlog(engine, files, this.binlog, { fileSize: 10485760, warn: (m) => this.note(`binlog: ${m}`) });
    this.history.serverUp(this.clock.now());
    this.engine = engine;
  }

  /** A queue model naming the running server's connections after their nodes. */
  private newModel(): QueueModel {
    return new QueueModel((conn) => this.owners.get(conn));
  }

  /** The model, the job history, the result check and the work book follow `engine`'s events. */
  private attach(engine: Engine): void {
    const { model, history, checker, work } = this;
    const owners = this.owners;
    history.attach(
      (id) => {
        const job = engine.jobs.get(id);
        return job ? latin1(job.body, 0, Math.min(job.body.length, 200)) : null;
      },
      (conn) => owners.get(conn)?.name ?? null,
    );
    const body = (id: number) => engine.jobs.get(id)?.body ?? null;
    this.unsubscribe = engine.subscribe((e: EngineEvent) => {
      model.apply(e);
      history.apply(e);
      work.apply(e, (conn) => owners.get(conn)?.node, body);
      checker.apply(e, body);
      // A closed connection acts no more (its jobs went back before it closed): a run whose workers
      // connect anew for each job would otherwise keep, checkpoint and restore an owner for each.
      if (e.kind === 'conn' && e.action === 'closed') owners.delete(e.conn);
    });
  }

  /** The queue server process dies: all in-memory state is gone, every connection drops. */
  crashServer(): void {
    if (!SERVER_FAULTS['crash-server'].allowed(this)) return;
    this.action({ op: 'crash-server' });
    this.unsubscribe?.();
    this.engine = null;
    this.history.serverDown(this.clock.now());
    for (const n of this.nodes.values()) {
      for (const [conn] of n.sessions) this.toNode(n, { t: 'closed', vt: 0, conn });
      n.sessions.clear();
    }
    this.changed();
  }

  /**
   * Starts the server again: with the binlog (`-b`) it recovers what the log holds and keeps logging;
   * without, it starts empty and logs nothing, and the old log is thrown away.
   */
  async restartServer(withBinlog: boolean): Promise<void> {
    if (!SERVER_FAULTS['restart-server'].allowed(this)) return;
    this.action({ op: 'restart-server', binlog: withBinlog });
    let files = new Map<number, Uint8Array>();
    if (withBinlog) files = this.opts.loadBinlog ? await this.opts.loadBinlog() : (this.binlog.snapshot?.() ?? new Map());
    else for (const seq of (this.binlog.snapshot?.() ?? new Map()).keys()) this.binlog.remove(seq);
    this.binlogEnabled = withBinlog;
    this.bootServer(files);
    this.changed();
  }

  /** Starts the key-value store node; nodes reach it with a connection of their own. */
  addStore(): void {
    if (this.store) return;
    this.action({ op: 'add-store' });
    this.store = new KvStore();
    this.changed();
  }

  // ---- nodes ------------------------------------------------------------------------------------

  addNode(name: string, config: NodeConfig, opts: AddNodeOptions = {}): number {
    const id = this.nextNodeId++;
    // Live time: the π producer does not wait on each answer (ProducerConfig.pipelined says why).
    if (!this.virtual && 'producer' in config) config = { ...config, producer: { ...config.producer, pipelined: true } };
    const n: NodeHandle = {
      id,
      name,
      role: config.role,
      life: 'running',
      status: { state: 'starting' },
      slow: 1,
      backupTasks: 'producer' in config ? config.producer.backups?.on : undefined,
      cheat: 0,
      latency: opts.latency ?? this.defaultLatency,
      done: [],
      computeMs: 0,
      reports: [],
      log: [],
      process: null as unknown as NodeProcess,
      config,
      horizon: Infinity,
      msgSeq: 0,
      sessions: new Map(),
      storeSessions: new Map(),
      storeBusy: new Map(),
      inputs: new NodeInputs(),
      generation: 0,
      spawnProcess: opts.spawn ?? this.opts.spawn,
      allow: opts.allow,
      remote: opts.remote,
      queuedToNode: 0,
      queuedFromNode: 0,
    };
    this.nodes.set(id, n);
    this.spawn(n);
    this.action({ op: 'add-node', name, config }, n);
    return id;
  }

  private spawn(n: NodeHandle): void {
    const gen = ++n.generation;
    n.process = n.spawnProcess();
    n.life = 'running';
    n.status = { state: 'starting' };
    // A fresh process runs the program as written: honest.
    n.cheat = 0;
    n.inputs.restarted();
    this.listen(n, gen);
    this.toNode(n, { t: 'start', vt: this.clock.now(), name: n.name, seed: (this.opts.seed + n.id * 7919) >>> 0, config: n.config, virtual: this.virtual }, true);
  }

  /** What process `gen` of node `n` sends is handled while it is the node's process. */
  private listen(n: NodeHandle, gen: number): void {
    n.process.onmessage = (e) => {
      if (n.generation !== gen) return;
      if (e.data.t !== 'idle' && e.data.t !== 'mark') n.inputs.heard();
      this.fromNode(n, e.data);
    };
  }

  /** The control API of a node whose process is running (a hung one would never answer). */
  control(id: number): Remote<NodeControl> | undefined {
    const n = this.nodes.get(id);
    return n?.life === 'running' ? n.process.control : undefined;
  }

  /** Kill: the worker process is terminated; its connections close, so the server returns its jobs at once. */
  killNode(id: number, detail = 'killed'): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS.kill.allowed(n)) return;
    this.action({ op: 'kill', node: id }, n);
    this.stop(n, detail);
  }

  private stop(n: NodeHandle, detail: string): void {
    n.process.terminate();
    n.generation++;
    n.life = 'dead';
    n.horizon = Infinity;
    n.status = { state: 'failed', detail };
    this.closeConnections(n, `it stopped (${detail}) before answering`);
    this.scheduler.wake();
    this.changed();
  }

  /** Hang: the process stops making progress but keeps its connection open; only TTR brings its job back. */
  hangNode(id: number): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS.hang.allowed(n)) return;
    this.action({ op: 'hang', node: id }, n);
    this.links.post(n, { t: 'hang' });
    n.life = 'hung';
    n.horizon = Infinity;
    this.scheduler.wake();
    this.changed();
  }

  restartNode(id: number): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS.restart.allowed(n)) return;
    this.action({ op: 'restart', node: id }, n);
    if (n.life !== 'dead') {
      n.process.terminate();
      this.closeConnections(n, 'it restarted before answering');
    }
    n.horizon = Infinity;
    this.spawn(n);
    this.changed();
  }

  removeNode(id: number): void {
    const n = this.nodes.get(id);
    if (!n) return;
    this.action({ op: 'remove', node: id }, n);
    if (n.life !== 'dead') this.killNode(id);
    this.nodes.delete(id);
    this.changed();
  }

  slowNode(id: number, factor: number): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS.slow.allowed(n)) return;
    this.action({ op: 'slow', node: id, factor }, n);
    n.slow = factor;
    this.links.post(n, { t: 'slow', factor });
    this.changed();
  }

  /** Switches a producer's backup tasks on or off (its program reads the switch as it runs). */
  setBackupTasks(id: number, on: boolean): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS['backup-tasks'].allowed(n)) return;
    this.action({ op: 'backup-tasks', node: id, on }, n);
    n.backupTasks = on;
    this.links.post(n, { t: 'backup-tasks', on });
    this.changed();
  }

  /** The "wrong results" fault: from now on the node falsifies a share `rate` of its results (0: honest again). */
  cheatNode(id: number, rate: number): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS.cheat.allowed(n)) return;
    this.action({ op: 'cheat', node: id, rate }, n);
    n.cheat = rate;
    this.links.post(n, { t: 'cheat', rate });
    this.changed();
  }

  /**
   * Verify results: a share `fraction` of the jobs is re-run on a second node (the result check), and a
   * node whose result disagrees is excluded (0: off). The room sets the check's fraction itself and
   * removes a caught joiner its own way.
   */
  setVerification(fraction: number): void {
    if (!(fraction >= 0 && fraction <= 1)) throw new Error(`verify results: the share of jobs re-run must be from 0 to 1, not ${fraction}`);
    this.action({ op: 'verify', fraction });
    this.checker.fraction = fraction;
    this.excluding = fraction > 0;
    this.changed();
  }

  /** Whether results are verified: the share of jobs re-run (0: off). */
  get verification(): number {
    return this.excluding ? this.checker.fraction : 0;
  }

  /**
   * The result check caught node `check.nodeId` (its result disagreed with a re-run that a third node, or
   * no third node, did not overrule). With verification on, it is excluded: stopped (its held job comes
   * back), every result job it put dropped by the producers, and the tasks it finished put again.
   * Not a recorded action: it follows from the run and the verify setting, so a replay does it again.
   */
  excludeCheater(check: JobCheck): void {
    const n = this.nodes.get(check.nodeId);
    if (!this.excluding || !n || n.excluded !== undefined || n.role !== 'worker') return;
    n.excluded = `its result of job ${check.job} disagreed with ${check.checker ?? 'a re-run'}`;
    this.note(`exclude ${n.name}: ${n.excluded}`);
    if (n.life !== 'dead') this.stop(n, 'excluded: caught giving wrong results');
    this.undoWork(n.id);
  }

  /**
   * Undoes node `id`'s work, once it is known to give wrong results: the producers still collecting drop
   * every job it put (its results), and the tasks it finished are put again. The room does it for a
   * joiner it excludes.
   */
  undoWork(id: number): void {
    const { put, finished } = this.work.take(id);
    // Once the producers have combined every result, the answer is given: nothing is left to mend.
    const collecting = [...this.nodes.values()].filter((p) => p.role === 'producer' && p.life === 'running' && p.status.state !== 'done');
    if (!collecting.length) return;
    for (const p of collecting) if (put.length) this.toNode(p, { t: 'discard', vt: 0, results: put });
    if (this.engine && finished.length) {
      // Put again from a connection of the page's own, as an operator would.
      const s = new Session(this.engine, { write: () => {}, close: () => {} }, 'result check');
      for (const t of finished) {
        s.receive(latin1Bytes(`use ${t.tube}\r\nput ${t.pri} 0 ${t.ttr} ${t.body.length}\r\n`));
        s.receive(t.body);
        s.receive(latin1Bytes('\r\n'));
      }
      s.end();
    }
    this.changed();
  }

  setLatency(id: number, ms: number): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS.latency.allowed(n)) return;
    this.action({ op: 'latency', node: id, ms }, n);
    n.latency = ms;
    this.changed();
  }

  /** The network between the node and the server drops: both ends see the connection close. */
  dropConnection(id: number): void {
    const n = this.nodes.get(id);
    if (!n || !NODE_FAULTS.drop.allowed(n)) return;
    this.action({ op: 'drop', node: id }, n);
    for (const [conn, s] of n.sessions) {
      s.destroy();
      this.toNode(n, { t: 'closed', vt: 0, conn });
    }
    n.sessions.clear();
    this.closeStoreSessions(n, true);
    this.changed();
  }

  /** The store forgets the node's connections; `tell`: the node learns they closed (a network drop). */
  private closeStoreSessions(n: NodeHandle, tell: boolean): void {
    for (const [conn, s] of n.storeSessions) {
      s.destroy();
      if (tell) this.toNode(n, { t: 'closed', vt: 0, conn }, false, 'store');
    }
    n.storeSessions.clear();
    n.storeBusy.clear();
  }

  /**
   * Asks node `id` to compute `spec` outside the queue (the result check's second opinion): nothing is
   * put or reserved, and the node takes the time between two steps of its own program.
   */
  rerun(id: number, spec: TaskSpec, answer: (a: RerunAnswer) => void): void {
    const n = this.nodes.get(id);
    if (!n || n.life !== 'running') return answer({ ms: 0, error: `${n?.name ?? `node ${id}`} is not running` });
    const req = this.nextRerun++;
    this.reruns.set(req, { node: n, answer });
    this.toNode(n, { t: 'rerun', vt: 0, n: req, spec });
  }

  private rerunDone(n: NodeHandle, m: Extract<FromNode, { t: 'rerun-done' }>): void {
    const asked = this.reruns.get(m.n);
    // Only the node asked may answer.
    if (asked?.node !== n) return;
    this.reruns.delete(m.n);
    asked.answer('error' in m ? { ms: m.ms, error: m.error } : { ms: m.ms, result: m.result });
  }

  /** A terminated process's connections close (the server returns its jobs) and its re-runs fail with `why`. */
  private closeConnections(n: NodeHandle, why: string): void {
    for (const s of n.sessions.values()) s.destroy();
    n.sessions.clear();
    this.closeStoreSessions(n, false);
    this.failReruns(n, why);
  }

  /** A node that stops (killed, restarted, removed) answers none of the re-runs it was asked. */
  private failReruns(n: NodeHandle, why: string): void {
    for (const [req, asked] of this.reruns) {
      if (asked.node !== n) continue;
      this.reruns.delete(req);
      asked.answer({ ms: 0, error: why });
    }
  }

  // ---- messages ---------------------------------------------------------------------------------

  private toNode(n: NodeHandle, m: ToNode, now = false, from: 'server' | 'store' = 'server', delay = 0): void {
    this.links.toNode(n, m, now, from, delay);
  }

  private fromNode(n: NodeHandle, m: FromNode): void {
    if (n.life !== 'running') return;
    switch (m.t) {
      case 'connect':
      case 'data':
      case 'close':
      case 'rerun-done':
        // What a node sent before it was killed or restarted dies with that process (see Links).
        this.links.fromNode(n, m);
        break;
      case 'mark':
        n.inputs.marked(m);
        break;
      case 'compute':
        if (this.virtual) {
          n.horizon = m.until;
          n.computeMs += m.until - m.vt;
        }
        break;
      case 'sleep':
        this.links.wakeAt(n, this.virtual ? m.until : this.clock.now() + (m.until - m.vt));
        break;
      case 'idle':
        n.horizon = Infinity;
        break;
      case 'status':
      case 'report':
      case 'log':
        // What a node shows happens at its own virtual instant: a worker that has already finished
        // computing in real time still shows "working" until virtual time reaches the end of the job.
        if (this.virtual && m.vt > this.clock.now()) this.shown.push({ at: m.vt, seq: this.shownSeq++, node: n, gen: n.generation, m });
        else this.show(n, m);
        break;
    }
    this.scheduler.wake();
    this.changed();
  }

  /** What a node sent has arrived, from its live process. */
  private arrive(n: NodeHandle, m: FromNode): void {
    switch (m.t) {
      case 'connect':
        if (m.to === 'store') this.storeAccept(n, m.conn);
        else this.serverAccept(n, m.conn);
        break;
      case 'data': {
        const store = n.storeSessions.get(m.conn);
        if (store) {
          this.record('to-store', n.id, m.conn, textOf(m.bytes));
          this.links.count('store', m.bytes);
          store.receive(m.bytes);
          return;
        }
        this.record('to-server', n.id, m.conn, textOf(m.bytes));
        this.links.count('server', m.bytes);
        n.sessions.get(m.conn)?.receive(m.bytes);
        break;
      }
      case 'close': {
        const store = n.storeSessions.get(m.conn);
        if (store) {
          n.storeSessions.delete(m.conn);
          n.storeBusy.delete(m.conn);
          this.record('to-store', n.id, m.conn, 'close');
          store.end();
          return;
        }
        const s = n.sessions.get(m.conn);
        n.sessions.delete(m.conn);
        this.record('to-server', n.id, m.conn, 'close');
        s?.end();
        break;
      }
      case 'rerun-done':
        this.rerunDone(n, m);
        break;
    }
  }

  private show(n: NodeHandle, m: Extract<FromNode, { t: 'status' | 'report' | 'log' }>): void {
    if (m.t === 'status') n.status = m.status;
    else if (m.t === 'report') {
      n.reports.push(m.report);
      if (m.report.kind === 'task-done') n.done.push(Math.max(m.vt, 0) - this.startedAt);
      this.history.report(n.name, m.report, this.virtual ? m.vt : this.clock.now());
      this.checker.report(n, m.report);
    } else {
      n.log.push(m.text);
      if (n.log.length > 200) n.log.shift();
    }
  }

  /** Shows the node updates whose instant has come. */
  private showDue(): void {
    if (!this.shown.length) return;
    const now = this.clock.now();
    const due = this.shown.filter((x) => x.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    if (!due.length) return;
    this.shown = this.shown.filter((x) => x.at > now);
    for (const x of due) if (x.gen === x.node.generation) this.show(x.node, x.m);
  }

  private serverAccept(n: NodeHandle, conn: number): void {
    this.record('to-server', n.id, conn, 'connect');
    if (!this.engine) {
      this.toNode(n, { t: 'refused', vt: 0, conn });
      return;
    }
    const session = new Session(this.engine, this.serverTransport(n, conn), `${n.name}#${conn}`, n.allow);
    this.owners.set(session.conn.id, { node: n.id, conn, name: n.name });
    n.sessions.set(conn, session);
    this.toNode(n, { t: 'open', vt: 0, conn });
  }

  /** Where the queue server's replies on node `n`'s connection `conn` go. */
  private serverTransport(n: NodeHandle, conn: number) {
    return {
      write: (bytes: Uint8Array) => this.toNode(n, { t: 'data', vt: 0, conn, bytes: bytes.slice() }),
      close: () => {
        n.sessions.delete(conn);
        this.toNode(n, { t: 'closed', vt: 0, conn });
      },
    };
  }

  private storeAccept(n: NodeHandle, conn: number): void {
    this.record('to-store', n.id, conn, 'connect');
    const store = this.store;
    if (!store) {
      this.toNode(n, { t: 'refused', vt: 0, conn }, false, 'store');
      return;
    }
    const session = new KvSession(store, this.storeTransport(n, conn));
    n.storeSessions.set(conn, session);
    n.storeBusy.set(conn, 0);
    this.toNode(n, { t: 'open', vt: 0, conn }, false, 'store');
  }

  /** Where the store's replies on node `n`'s connection `conn` go. */
  private storeTransport(n: NodeHandle, conn: number) {
    // The store answers a connection's requests one after another: a reply never overtakes an earlier one.
    const after = (ms: number) => {
      const busyUntil = Math.max(this.clock.now(), n.storeBusy.get(conn) ?? 0) + ms;
      n.storeBusy.set(conn, busyUntil);
      return busyUntil - this.clock.now();
    };
    return {
      write: (bytes: Uint8Array) => this.toNode(n, { t: 'data', vt: 0, conn, bytes: bytes.slice() }, false, 'store', after(storeReplyMs(bytes.length))),
      close: () => {
        n.storeSessions.delete(conn);
        this.toNode(n, { t: 'closed', vt: 0, conn }, false, 'store', after(0));
      },
    };
  }

  // ---- time ------------------------------------------------------------------------------------

  /**
   * Records what one of the page's own connections (named `conn`: the console, rq) sends to the queue
   * server. The page's connections live outside the cluster; recorded, their input is replayed at the same
   * point of the run, on a connection of the same name.
   */
  recordPageInput(conn: string, bytes: Uint8Array): void {
    this.action({ op: 'page-input', conn, text: latin1(bytes) });
  }

  /** The replay's stand-ins for the page's connections (their replies are not needed: only their effects). */
  private readonly pageSessions = new Map<string, { engine: Engine; session: Session }>();

  private replayPageInput(conn: string, bytes: Uint8Array): void {
    const engine = this.engine;
    if (!engine) return;
    this.recordPageInput(conn, bytes);
    const page = this.pageSessions.get(conn);
    (page?.engine === engine ? page.session : this.pageSession(engine, conn, conn)).receive(bytes);
    this.changed();
  }

  /** The replay's stand-in for page connection `conn` (new, or `from` a checkpoint's snapshot): its replies go nowhere. */
  private pageSession(engine: Engine, conn: string, from: string | SessionSnapshot): Session {
    const session: Session = new Session(
      engine,
      {
        write: () => {},
        close: () => {
          if (this.pageSessions.get(conn)?.session === session) this.pageSessions.delete(conn);
        },
      },
      from,
    );
    this.pageSessions.set(conn, { engine, session });
    return session;
  }

  /** Moves virtual time on to `at` without processing anything: a replay reaching an action taken between events. */
  advanceClock(at: number): void {
    this.scheduler.advanceClock(at);
  }

  /**
   * Virtual time: moves the clock towards `to`, processing every event due on the way; returns early
   * (time stalls) when a node has not answered yet and `wait` is false, or once `stopAt` events have been processed.
   */
  async advanceTo(to: number, wait = true, stopAt = Infinity): Promise<void> {
    await this.scheduler.advanceTo(to, wait, stopAt);
    this.changed();
  }

  /** Ends the advance under way at the next event (Pause), see Scheduler.interrupt. */
  interruptAdvance(): void {
    this.scheduler.interrupt();
  }

  /**
   * Waits until every node has answered what it was last sent (virtual time). An action taken then
   * (a kill, a hang) cuts each node at a well-defined point, so it is the same in a replay.
   */
  settle(): Promise<void> {
    return this.scheduler.settle();
  }

  /** Nodes the clock is waiting for (their computation has not finished in real time yet). */
  waitingFor(): NodeView[] {
    const h = this.scheduler.horizon();
    if (h === Infinity || h > this.clock.now()) return [];
    return [...this.nodes.values()].filter((n) => n.life === 'running' && n.horizon <= h);
  }

  /** Step mode: exactly one protocol event (waiting for nodes to answer first if needed). */
  async step(): Promise<TraceEntry | null> {
    if (!(await this.scheduler.step())) return null;
    this.changed();
    return this.trace.last() ?? null;
  }

  /**
   * Runs until `until` returns true or nothing more can happen (virtual time), or until the time limit
   * (ms of cluster time) passes. In live time the real clock drives events; this only waits.
   */
  async runUntil(until: () => boolean, limitMs = 3_600_000): Promise<void> {
    await this.scheduler.runUntil(until, limitMs);
    this.changed();
  }

  /** Live time: keeps the timer armed for whatever is due next (after the page's own connections put work in). */
  armLive(): void {
    this.live?.poke();
  }

  // ---- trace ------------------------------------------------------------------------------------

  private record(kind: TraceEntry['kind'], node: number | undefined, conn: number | undefined, text: string, job?: number): void {
    this.log.record(this.clock.now() - this.startedAt, kind, node, conn, text, job);
  }

  /** Records the student's action `a`, on node `on` if it acts on one. */
  private action(a: ClusterAction, on?: NodeView): void {
    this.log.action(this.scheduler.processed, this.clock.now(), this.clock.now() - this.startedAt, a, on);
    const entry = this.log.trace.last();
    for (const fn of this.actionListeners) fn(entry!);
  }

  /** Applies a recorded action (replay). */
  async apply(a: ClusterAction): Promise<void> {
    if (isFault(a)) return applyFault(this, a);
    switch (a.op) {
      case 'add-node':
        this.addNode(a.name, a.config);
        break;
      case 'add-store':
        this.addStore();
        break;
      case 'remove':
        this.removeNode(a.node);
        break;
      case 'page-input':
        this.replayPageInput(a.conn, latin1Bytes(a.text));
        break;
      case 'verify':
        this.setVerification(a.fraction);
        break;
    }
  }

  private note(text: string): void {
    this.record('action', undefined, undefined, text);
  }

  /** The run as JSON-ready data: enough to replay it (seed, mode, actions) and to check it (trace). */
  exportRun(): RunRecord {
    return this.log.export({ seed: this.opts.seed, mode: this.opts.mode, latency: this.defaultLatency, binlog: this.opts.binlog ?? true, events: this.scheduler.processed });
  }

  // ---- checkpoints -------------------------------------------------------------------------------

  /**
   * Virtual time: after each event, a checkpoint if one is due (past the last one kept): every
   * `checkpointEvery` events, and ten times as often over the first 2 × `checkpointEvery` events, where
   * a lesson's short runs are (a seek there costs a tenth as much, and those checkpoints are small).
   */
  private checkpointDue(): void {
    const every = this.opts.checkpointEvery;
    const n = this.scheduler.processed;
    if (!every) return;
    const spacing = n <= 2 * every ? Math.max(1, Math.floor(every / 10)) : every;
    if (n % spacing !== 0 || (this.checkpoints.at(-1)?.n ?? -1) >= n) return;
    const cp = this.checkpoint();
    if (cp) this.checkpoints.push(cp);
  }

  /** Takes checkpoints every `every` events from now on (virtual time), into `into` (by default the list it has). */
  checkpointEvery(every: number, into = this.checkpoints): void {
    this.opts.checkpointEvery = every;
    this.checkpoints = into;
  }

  /**
   * The cluster now, as data (see checkpoint.ts); null when it cannot be taken whole: live time, a
   * remote or restricted node, or the result check on (its re-runs are promises in flight).
   */
  checkpoint(): ClusterCheckpoint | null {
    if (!this.virtual || this.reruns.size || this.checker.fraction > 0) return null;
    if ([...this.nodes.values()].some((n) => n.remote || n.allow || n.spawnProcess !== this.opts.spawn)) return null;
    const engine = this.engine?.snapshot() ?? null;
    // The binlog files are kept once, beside the engine, whether the server is up or not.
    if (engine?.binlog) engine.binlog.storage = null;
    const ours = new Set<number>();
    const before = this.checkpoints.at(-1);
    const nodes = [...this.nodes.values()].map((n): NodeCheckpoint => {
      for (const s of n.sessions.values()) ours.add(s.conn.id);
      const was = before?.nodes.find((b) => b.id === n.id && b.generation === n.generation);
      return {
        id: n.id,
        name: n.name,
        config: n.config,
        life: n.life,
        status: n.status,
        slow: n.slow,
        cheat: n.cheat,
        excluded: n.excluded,
        backupTasks: n.backupTasks,
        latency: n.latency,
        done: chunked(n.done, was?.done),
        computeMs: n.computeMs,
        reports: chunked(n.reports, was?.reports),
        log: chunked(n.log, was?.log),
        horizon: n.horizon,
        generation: n.generation,
        msgSeq: n.msgSeq,
        queuedToNode: n.queuedToNode,
        queuedFromNode: n.queuedFromNode,
        sessions: [...n.sessions].map(([conn, s]) => [conn, s.snapshot()]),
        store: [...n.storeSessions].map(([conn, s]) => ({ conn, session: this.copier.dataOf(s, ['store', 'transport']), busyUntil: n.storeBusy.get(conn) ?? 0 })),
        process: n.life === 'dead' ? null : n.inputs.state(),
      };
    });
    const pageSessions = [...this.pageSessions].filter(([, p]) => p.engine === this.engine && !p.session.conn.closed);
    for (const [, p] of pageSessions) ours.add(p.session.conn.id);
    const binlog = {
      files: this.binlog instanceof MemoryBinlogStorage ? this.binlogCopier.files(this.binlog.writes()) : [...(this.binlog.snapshot?.() ?? [])].map(([seq, bytes]) => ({ seq, chunks: [bytes] })),
      lastId: this.binlog.keptLastId(),
      flushes: this.binlog instanceof MemoryBinlogStorage ? this.binlog.flushes : 0,
    };
    const n = this.scheduler.processed;
    return {
      n,
      clock: this.clock.now(),
      scheduler: structuredClone(this.scheduler.state()),
      engine: engine && { ...engine, jobs: noJobs(engine.jobs) },
      engineJobs: engine ? this.jobChunker.chunks(engine.jobs) : [],
      binlog,
      binlogEnabled: this.binlogEnabled,
      owners: { keys: chunked([...this.owners.keys()], before?.owners.keys), values: chunked([...this.owners.values()], before?.owners.values) },
      pageSessions: pageSessions.map(([name, p]) => [name, p.session.snapshot()]),
      foreign: engine ? engine.connections.map((c) => c.id).filter((id) => !ours.has(id)) : [],
      nodes,
      nextNodeId: this.nextNodeId,
      nextRerun: this.nextRerun,
      shownSeq: this.shownSeq,
      shown: this.shown.map((x) => ({ at: x.at, seq: x.seq, node: x.node.id, gen: x.gen, m: x.m })),
      model: this.copier.dataOf(this.model, [], true),
      // Frozen: the history copies a record a checkpoint shares before it changes it.
      history: this.copier.dataOf(this.history, [], true),
      checker: this.copier.dataOf(this.checker, ['cluster']),
      work: this.copier.dataOf(this.work, [], true),
      store: this.store && this.copier.dataOf(this.store),
      traffic: structuredClone(this.links.traffic),
      log: { trace: this.log.trace.share(), actions: this.log.actions, actionsLength: this.log.actions.length, times: this.scheduler.times.share() },
    };
  }

  /**
   * A cluster at checkpoint `cp` (of a run with options `opts`), which runs on exactly as the run did
   * from there; it keeps `checkpoints` (the run's, ordered by position) and adds its own past their last.
   * Its nodes are new processes brought back to their resume points (node-resume.ts).
   */
  static restore(cp: ClusterCheckpoint, opts: ClusterOptions, checkpoints: ClusterCheckpoint[] = [cp]): Cluster {
    const binlog = MemoryBinlogStorage.fromParts(
      cp.binlog.files.map((f) => ({ seq: f.seq, parts: f.chunks })),
      cp.binlog.lastId,
      cp.binlog.flushes,
    );
    const c = new Cluster({ ...opts, mode: 'virtual', binlogStorage: binlog, loadBinlog: undefined, restoring: true });
    c.binlogCopier.keep(binlog.writes());
    c.checkpoints = checkpoints;
    try {
      c.takeUp(cp);
    } catch (err) {
      c.dispose();
      throw err;
    }
    return c;
  }

  private takeUp(cp: ClusterCheckpoint): void {
    (this.clock as ManualClock).set(cp.clock);
    this.binlogEnabled = cp.binlogEnabled;
    const ownerKeys = joinChunks(cp.owners.keys);
    this.owners = new Map(joinChunks(cp.owners.values).map((o, i) => [ownerKeys[i], o]));
    this.model = this.newModel();
    restoreData(this.model, cp.model, true);
    this.model.thaw();
    restoreData(this.checker, cp.checker);
    restoreData(this.work, cp.work, true);
    this.jobChunker.keep(cp.engineJobs);
    const engine = cp.engine && Engine.restore({ ...cp.engine, jobs: joinJobs(cp.engine.jobs, cp.engineJobs) }, { clock: this.clock, binlogStorage: this.binlog, warn: (m) => this.note(`binlog: ${m}`) });
    if (engine) {
      this.attach(engine);
      this.engine = engine;
      for (const id of cp.foreign) {
        const conn = engine.connection(id);
        if (conn) conn.send = () => {};
      }
      for (const [name, snap] of cp.pageSessions) this.pageSession(engine, name, snap);
    }
    // After attach, which forgets the names of the server's connections.
    restoreData(this.history, cp.history, true);
    if (cp.store) this.store = new KvStore();
    for (const nc of cp.nodes) {
      const n: NodeHandle = {
        ...nc,
        role: nc.config.role,
        done: joinChunks(nc.done),
        reports: joinChunks(nc.reports),
        log: joinChunks(nc.log),
        process: null as unknown as NodeProcess,
        sessions: new Map(),
        storeSessions: new Map(),
        storeBusy: new Map(),
        inputs: new NodeInputs(),
        spawnProcess: this.opts.spawn,
      };
      for (const [conn, snap] of nc.sessions) {
        if (!engine) throw new Error(`checkpoint at event ${cp.n}: ${n.name} has a connection to a queue server that is down`);
        n.sessions.set(conn, Session.restore(engine, snap, this.serverTransport(n, conn)));
      }
      for (const s of nc.store) {
        if (!this.store) throw new Error(`checkpoint at event ${cp.n}: ${n.name} has a connection to a key-value store it does not hold`);
        const session = new KvSession(this.store, this.storeTransport(n, s.conn));
        restoreData(session, s.session);
        n.storeSessions.set(s.conn, session);
        n.storeBusy.set(s.conn, s.busyUntil);
      }
      this.nodes.set(n.id, n);
    }
    // After the store's sessions, whose construction counted connections the store's counters already hold.
    if (this.store && cp.store) restoreData(this.store, cp.store);
    this.nextNodeId = cp.nextNodeId;
    this.nextRerun = cp.nextRerun;
    this.shownSeq = cp.shownSeq;
    this.shown = cp.shown.map((x) => ({ ...x, node: this.nodes.get(x.node) as NodeHandle }));
    Object.assign(this.links.traffic.server, cp.traffic.server);
    Object.assign(this.links.traffic.store, cp.traffic.store);
    this.scheduler.restore(structuredClone(cp.scheduler), GrowingList.from(cp.log.times));
    this.log = new RunLog(GrowingList.from(cp.log.trace), cp.log.actions.slice(0, cp.log.actionsLength));
    // Last, the nodes' processes: each a new one, brought back to where the checkpoint had it.
    for (const nc of cp.nodes) {
      const n = this.nodes.get(nc.id) as NodeHandle;
      if (!nc.process) {
        n.process = { postMessage: () => {}, onmessage: null, terminate: () => {} };
        continue;
      }
      n.process = n.spawnProcess();
      n.inputs.restore(nc.process);
      this.listen(n, n.generation);
      // A hung process answers nothing ever again: it needs no program.
      if (n.life === 'hung') n.process.postMessage({ t: 'hang' });
      else {
        n.process.postMessage(resumeMessage(nc.process));
        // Time waits until the new process has caught up (it says so with an idle notice).
        n.horizon = Math.min(n.horizon, this.clock.now());
      }
    }
  }

  dispose(): void {
    this.live?.stop();
    // A node whose process failed to start has none to end.
    for (const n of this.nodes.values()) n.process?.terminate();
    this.nodes.clear();
    this.unsubscribe?.();
  }
}
