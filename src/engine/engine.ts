// The beanstalkd engine (prot.c, conn.c, tube.c, job.c): all server state lives in one instance,
// so a page can host a server that crashes and restarts and tests never leak into each other.
// The engine knows nothing of sockets or bytes: transports parse bytes into Commands
// (src/protocol) and hand them to execute(); replies go back through each connection's sink.
import { Heap } from './heap.ts';
import { OrderedSet } from './ordered-set.ts';
import { Job } from './job.ts';
import { JobTable } from './job-table.ts';
import { Tube } from './tube.ts';
import { Connection, type ReplySink } from './connection.ts';
import { COUNTED_OPS, type Command, type CountedOp } from './command.ts';
import type { EngineEvent, EngineListener, JobAction } from './events.ts';
import {
  BROWSER_HOST,
  JOB_DATA_SIZE_LIMIT_DEFAULT,
  SAFETY_MARGIN_MS,
  URGENT_THRESHOLD,
  type Clock,
  type HostInfo,
  type JobState,
} from './types.ts';
import { HANDLERS } from './commands/index.ts';
import { Binlog, type BinlogStorage } from './binlog.ts';
import { JOB_STATES, SNAPSHOT_VERSION, type BinlogSnapshot, type EngineSnapshot, type JobColumns } from './snapshot.ts';

/** Where the engine logs job transitions (the binlog). Absent = in-memory only, like beanstalkd without -b. */
export interface JobLog {
  /** Reserves space for a new job's full record and its later delete (walresvput); false: none to be had. */
  reservePut(job: Job): boolean;
  /** Reserves space for one more short record: a bury, a kick, a release with delay (walresvupdate). */
  reserveUpdate(): boolean;
  /** Appends a record for the job's current state (deleted = true for a delete), in reserved space. */
  write(job: Job, deleted?: boolean): void;
  /** Housekeeping after writes: compaction, fsync scheduling, deleting dead files. */
  maintain(): void;
  /** Its bookkeeping as plain data (job ids for jobs); see BinlogSnapshot. */
  snapshot(): BinlogSnapshot;
  readonly stats: {
    oldestIndex: number;
    currentIndex: number;
    recordsMigrated: number;
    recordsWritten: number;
    maxSize: number;
  };
}

export interface EngineOptions {
  clock: Clock;
  /** `-z`: largest job body in bytes. */
  maxJobSize?: number;
  host?: HostInfo;
  /** 16 hex digits shown as `id` in stats; random if absent. */
  instanceId?: string;
  /** Binlog `-s` size shown in stats even without a binlog. */
  binlogMaxSize?: number;
  /** Instant the server started (uptime's base); the clock's now if absent. */
  startedAt?: number;
}

/** What Engine.restore needs besides the snapshot: what is not data. */
export interface RestoreOptions {
  clock: Clock;
  host?: HostInfo;
  /** Where a restored binlog goes on writing; needed unless the snapshot holds its files (MemoryBinlogStorage). */
  binlogStorage?: BinlogStorage;
  /** Binlog warnings (stderr in Node). */
  warn?: (msg: string) => void;
}

/** Outcome of a put line once its numbers parsed: what the transport must do with the body bytes. */
export type PutHeaderResult =
  | { kind: 'too-big'; discard: number }
  | { kind: 'bad-format' }
  | { kind: 'body'; id: number; read: number };

const COUNTED: ReadonlySet<string> = new Set(COUNTED_OPS);

function randomHex16(): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

export class Engine {
  readonly clock: Clock;
  maxJobSize: number;
  readonly host: HostInfo;
  readonly instanceId: string;
  readonly binlogMaxSize: number;
  log: JobLog | null = null;

  /** Every tube, in beanstalkd's global-set order (`list-tubes`). Weak: holds no reference. */
  readonly tubes = new OrderedSet<Tube>();
  private readonly tubesByName = new Map<string, Tube>();
  readonly jobs = new JobTable();
  readonly defaultTube: Tube;
  nextId = 1;
  /** Connections with a timer, by when it fires (srv->conns). */
  private readonly timers = new Heap<Connection>((a, b) => a.tickAt < b.tickAt || (a.tickAt === b.tickAt && a.id < b.id));
  private readonly connections = new Map<number, Connection>();
  private nextConnId = 1;

  // Global statistics (global_stat, op_ct and friends).
  readyCount = 0;
  urgentCount = 0;
  reservedCount = 0;
  buriedCount = 0;
  waitingCount = 0;
  totalJobs = 0;
  timeoutCount = 0;
  /** `cmd-*` in stats: how many times each counted command was run, failed ones included. */
  readonly cmdCounts = Object.fromEntries(COUNTED_OPS.map((op) => [op, 0])) as Record<CountedOp, number>;
  currentConnections = 0;
  totalConnections = 0;
  currentProducers = 0;
  currentWorkers = 0;
  draining = false;
  readonly startedAt: number;

  /** Earliest instant at which tick() has work; Infinity when nothing is scheduled. */
  nextDue = Infinity;
  private readonly listeners = new Set<EngineListener>();
  /** Nesting of entry points (commands, ticks, closes) and the work deferred until they all return. */
  private depth = 0;
  /** The instant of the command being run: one clock read per command, as a command takes no time. */
  private instant = 0;
  private readonly deferred: (() => void)[] = [];

  constructor(opts: EngineOptions) {
    this.clock = opts.clock;
    this.maxJobSize = opts.maxJobSize ?? JOB_DATA_SIZE_LIMIT_DEFAULT;
    this.host = opts.host ?? BROWSER_HOST;
    this.instanceId = opts.instanceId ?? randomHex16();
    this.binlogMaxSize = opts.binlogMaxSize ?? 10485760;
    this.startedAt = opts.startedAt ?? this.clock.now();
    this.defaultTube = this.findOrMakeTube('default');
    this.tubeRef(this.defaultTube); // pinned for ever
  }

  // ---- events -------------------------------------------------------------------------------

  subscribe(fn: EngineListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get observed(): boolean {
    return this.listeners.size > 0;
  }

  emit(e: EngineEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  emitJob(action: JobAction, j: Job, conn: Connection | null, state: JobState | 'deleted' = j.state): void {
    if (!this.listeners.size) return;
    this.emit({
      kind: 'job',
      action,
      at: this.now(),
      id: j.id,
      tube: j.tube.name,
      state,
      pri: j.pri,
      deadlineAt: j.deadlineAt,
      ttr: j.ttr,
      bytes: j.body.length,
      conn: conn ? conn.id : null,
    });
  }

  emitConn(action: 'opened' | 'closed' | 'waiting' | 'deadline-soon' | 'wait-timed-out' | 'wait-ended', c: Connection): void {
    if (this.listeners.size) this.emit({ kind: 'conn', action, at: this.now(), conn: c.id, name: c.name });
  }

  /**
   * Runs fn once the current engine call has returned (now, if none is running). Transports use it to
   * resume a connection's queued input after an asynchronous reply, as beanstalkd does on a later
   * turn of its event loop rather than in the middle of another connection's command.
   */
  defer(fn: () => void): void {
    if (this.depth === 0) fn();
    else this.deferred.push(fn);
  }

  private enter(): void {
    if (this.depth++ === 0) this.instant = this.clock.now();
  }

  private leave(): void {
    if (--this.depth > 0) return;
    while (this.deferred.length) (this.deferred.shift() as () => void)();
  }

  /** The current instant: fixed for the duration of a command, read from the clock otherwise. */
  now(): number {
    return this.depth > 0 ? this.instant : this.clock.now();
  }

  // ---- tubes (tube.c) -----------------------------------------------------------------------

  findTube(name: string): Tube | undefined {
    return this.tubesByName.get(name);
  }

  findOrMakeTube(name: string): Tube {
    let t = this.tubesByName.get(name);
    if (!t) {
      t = new Tube(name);
      this.tubes.append(t);
      this.tubesByName.set(name, t);
      if (this.listeners.size) this.emit({ kind: 'tube', action: 'created', at: this.now(), tube: name });
    }
    return t;
  }

  tubeRef(t: Tube): void {
    t.refs++;
  }

  tubeUnref(t: Tube): void {
    if (--t.refs < 1) {
      this.tubes.remove(t);
      this.tubesByName.delete(t.name);
      t.waitingConns.clear();
      if (this.listeners.size) this.emit({ kind: 'tube', action: 'destroyed', at: this.now(), tube: t.name });
    }
  }

  // ---- connections (conn.c) -----------------------------------------------------------------

  /** Opens a connection: uses and watches `default`. */
  connect(name: string, sink: ReplySink): Connection {
    const watch = this.watchSet();
    const c = new Connection(this.nextConnId++, name, sink, this.defaultTube, watch);
    watch.append(this.defaultTube);
    this.tubeRef(this.defaultTube);
    this.defaultTube.usingCount++;
    this.connections.set(c.id, c);
    this.currentConnections++;
    this.totalConnections++;
    this.emitConn('opened', c);
    return c;
  }

  /** A connection's watch list: watching a tube refers to it. */
  private watchSet(): OrderedSet<Tube> {
    return new OrderedSet<Tube>(
      (t) => {
        this.tubeRef(t);
        t.watchingCount++;
      },
      (t) => {
        t.watchingCount--;
        this.tubeUnref(t);
      },
    );
  }

  connection(id: number): Connection | undefined {
    return this.connections.get(id);
  }

  allConnections(): IterableIterator<Connection> {
    return this.connections.values();
  }

  /** Closes a connection (EOF, error or quit): its reserved jobs go back to ready at once, silently. */
  close(c: Connection): void {
    this.enter();
    try {
      if (c.closed) return;
      this.runDue();
      c.closed = true;
      if (c.isProducer) this.currentProducers--;
      if (c.isWorker) this.currentWorkers--;
      this.currentConnections--;
      this.removeWaitingConn(c);
      this.enqueueReservedJobs(c);
      c.watch.clear();
      c.use.usingCount--;
      this.tubeUnref(c.use);
      this.timers.remove(c);
      this.connections.delete(c.id);
      this.emitConn('closed', c);
    } finally {
      this.leave();
    }
  }

  /**
   * The client shut its write side. A blocked reserve answers TIMED_OUT (conn_process_io STATE_WAIT).
   * The transport closes the connection once no complete command is left in its input.
   */
  halfClose(c: Connection): void {
    this.enter();
    try {
      this.runDue();
      if (c.waiting) {
        c.pendingTimeout = -1;
        this.removeWaitingConn(c);
        this.emitConn('wait-timed-out', c);
        this.reply(c, 'TIMED_OUT');
      }
    } finally {
      this.leave();
    }
  }

  setProducer(c: Connection): void {
    if (c.isProducer) return;
    c.isProducer = true;
    this.currentProducers++;
  }

  setWorker(c: Connection): void {
    if (c.isWorker) return;
    c.isWorker = true;
    this.currentWorkers++;
  }

  /** Sends a reply and reschedules the connection's timer, as every reply does in beanstalkd. */
  reply(c: Connection, line: string, body?: Uint8Array): void {
    if (c.closed) return;
    if (this.listeners.size) this.emit({ kind: 'wire', direction: 'out', at: this.now(), conn: c.id, line });
    c.send(line, body);
    this.connSched(c);
  }

  enqueueWaitingConn(c: Connection, timeout: number): void {
    c.waiting = true;
    this.waitingCount++;
    for (const t of c.watch.items) {
      t.waitingCount++;
      t.waitingConns.append(c);
    }
    c.pendingTimeout = timeout;
    this.connSched(c);
    this.emitConn('waiting', c);
  }

  removeWaitingConn(c: Connection): void {
    if (!c.waiting) return;
    c.waiting = false;
    this.waitingCount--;
    for (const t of c.watch.items) {
      t.waitingCount--;
      t.waitingConns.remove(c);
    }
  }

  /** A held reservation is in its last second (conndeadlinesoon). */
  deadlineSoon(c: Connection): boolean {
    const j = c.soonestJob();
    return j !== null && this.now() >= j.deadlineAt - SAFETY_MARGIN_MS;
  }

  /** Some watched tube has a ready job, paused or not (conn_ready). */
  hasReadyWatched(c: Connection): boolean {
    for (const t of c.watch.items) if (t.ready.length) return true;
    return false;
  }

  private connTickAt(c: Connection): number {
    const now = this.now();
    let t = Infinity;
    const j = c.soonestJob();
    if (j) t = j.deadlineAt - now - (c.waiting ? SAFETY_MARGIN_MS : 0);
    if (c.pendingTimeout >= 0) t = Math.min(t, c.pendingTimeout * 1000);
    return now + t;
  }

  connSched(c: Connection): void {
    this.timers.remove(c);
    if (c.closed) return;
    c.tickAt = this.connTickAt(c);
    if (c.tickAt !== Infinity) {
      this.timers.insert(c);
      if (c.tickAt < this.nextDue) this.nextDue = c.tickAt;
    }
  }

  reserveJob(c: Connection, j: Job): void {
    this.reservedCount++;
    j.tube.reservedCount++;
    j.reserveCount++;
    j.deadlineAt = this.now() + j.ttr;
    j.state = 'reserved';
    c.reserved.add(j);
    j.reserver = c;
    c.pendingTimeout = -1;
    if (!c.soonest || j.deadlineAt < c.soonest.deadlineAt) c.soonest = j;
  }

  /** The job `id` if connection c holds it reserved: the only jobs its release, bury and touch act on. */
  reservedBy(c: Connection, id: number): Job | null {
    const j = this.jobs.get(id);
    return j && j.reserver === c && j.state === 'reserved' ? j : null;
  }

  /** Takes a job out of its owner's reservations; null unless c holds it. */
  removeReservedJob(c: Connection, j: Job | undefined): Job | null {
    if (!j || this.reservedBy(c, j.id) !== j) return null;
    return this.removeThisReservedJob(c, j);
  }

  private removeThisReservedJob(c: Connection, j: Job): Job {
    c.reserved.delete(j);
    this.reservedCount--;
    j.tube.reservedCount--;
    j.reserver = null;
    c.soonest = null;
    return j;
  }

  private enqueueReservedJobs(c: Connection): void {
    for (const j of c.reserved) {
      this.removeThisReservedJob(c, j);
      this.enqueueJob(j, 0, false, 'returned', c);
    }
  }

  // ---- jobs and queues (prot.c) -------------------------------------------------------------

  makeJob(id: number, pri: number, delay: number, ttr: number, body: Uint8Array, tube: Tube, createdAt = this.now()): Job {
    const j = new Job(id, pri, delay, ttr, body, tube, createdAt);
    if (id >= this.nextId) this.nextId = id + 1;
    this.jobs.set(id, j);
    this.tubeRef(tube);
    return j;
  }

  freeJob(j: Job): void {
    this.jobs.delete(j.id);
    this.tubeUnref(j.tube);
  }

  /**
   * Puts a job in its tube's ready or delay queue, logs it if asked, reports `action` (before any
   * waiting worker can take the job, so events read in causal order), then serves waiting workers.
   */
  enqueueJob(j: Job, delay: number, updateStore: boolean, action?: JobAction, conn: Connection | null = null): void {
    j.reserver = null;
    const t = j.tube;
    if (delay > 0) {
      j.deadlineAt = this.now() + delay;
      t.delay.insert(j);
      j.state = 'delayed';
      if (j.deadlineAt < this.nextDue) this.nextDue = j.deadlineAt;
    } else {
      t.ready.insert(j);
      j.state = 'ready';
      this.readyCount++;
      if (j.pri < URGENT_THRESHOLD) {
        this.urgentCount++;
        t.urgentCount++;
      }
    }
    if (updateStore && this.log) {
      this.log.write(j);
      this.log.maintain();
    }
    if (action) this.emitJob(action, j, conn);
    this.processQueue();
  }

  buryJob(j: Job, updateStore: boolean): void {
    j.tube.buried.add(j);
    this.buriedCount++;
    j.state = 'buried';
    j.reserver = null;
    j.buryCount++;
    if (updateStore && this.log) {
      this.log.write(j);
      this.log.maintain();
    }
  }

  removeReadyJob(j: Job | undefined): Job | null {
    if (!j || j.state !== 'ready') return null;
    this.takeReady(j);
    return j;
  }

  /** Takes a ready job out of its tube's ready queue, with the ready and urgent counts that go with it. */
  private takeReady(j: Job): void {
    j.tube.ready.remove(j);
    this.readyCount--;
    if (j.pri < URGENT_THRESHOLD) {
      this.urgentCount--;
      j.tube.urgentCount--;
    }
  }

  removeBuriedJob(j: Job | undefined): Job | null {
    if (!j || j.state !== 'buried') return null;
    j.tube.buried.delete(j);
    this.buriedCount--;
    return j;
  }

  removeDelayedJob(j: Job | undefined): Job | null {
    if (!j || j.state !== 'delayed') return null;
    j.tube.delay.remove(j);
    return j;
  }

  /** Reserves binlog space for one more record of a job (true without a binlog). */
  reserveUpdate(): boolean {
    return !this.log || this.log.reserveUpdate();
  }

  /** False, and the job stays buried, when the binlog has no space for the kick. */
  kickBuriedJob(j: Job, c: Connection): boolean {
    if (!this.reserveUpdate()) return false;
    this.removeBuriedJob(j);
    j.kickCount++;
    this.enqueueJob(j, 0, true, 'kicked', c);
    return true;
  }

  /** False, and the job stays delayed, when the binlog has no space for the kick. */
  kickDelayedJob(j: Job, c: Connection): boolean {
    if (!this.reserveUpdate()) return false;
    j.tube.delay.remove(j);
    j.kickCount++;
    this.enqueueJob(j, 0, true, 'kicked', c);
    return true;
  }

  /** The ready job to hand out next: min (pri, id) over unpaused tubes that have a waiting worker. */
  private nextAwaitedJob(now: number): Job | null {
    let best: Job | null = null;
    for (const t of this.tubes.items) {
      if (t.paused) {
        if (t.unpauseAt > now) continue;
        this.unpause(t);
      }
      if (t.waitingConns.length && t.ready.length) {
        const cand = t.ready.items[0];
        if (!best || cand.pri < best.pri || (cand.pri === best.pri && cand.id < best.id)) best = cand;
      }
    }
    return best;
  }

  processQueue(): void {
    if (!this.waitingCount) return; // nothing can be handed out: skip the scan (no state changes)
    const now = this.now();
    let j: Job | null;
    while ((j = this.nextAwaitedJob(now))) {
      this.takeReady(j);
      const c = j.tube.waitingConns.take() as Connection;
      this.removeWaitingConn(c);
      this.reserveJob(c, j);
      this.emitConn('wait-ended', c);
      this.emitJob('reserved', j, c);
      this.reply(c, `RESERVED ${j.id} ${j.body.length}`, j.body);
      if (!this.waitingCount) break;
    }
  }

  private unpause(t: Tube): void {
    t.paused = false;
    t.pause = 0;
    if (this.listeners.size) this.emit({ kind: 'tube', action: 'unpaused', at: this.now(), tube: t.name });
  }

  pauseTube(t: Tube, delay: number): void {
    const now = this.now();
    t.unpauseAt = now + delay;
    t.pause = delay;
    t.paused = true;
    t.pauseCount++;
    if (t.unpauseAt < this.nextDue) this.nextDue = t.unpauseAt;
    if (this.listeners.size) this.emit({ kind: 'tube', action: 'paused', at: now, tube: t.name, pause: delay });
  }

  private soonestDelayedJob(): Job | null {
    let best: Job | null = null;
    for (const t of this.tubes.items) {
      const nj = t.delay.items[0];
      if (nj && (!best || nj.deadlineAt < best.deadlineAt)) best = nj;
    }
    return best;
  }

  // ---- time (prottick, conn_timeout) --------------------------------------------------------

  /** Runs everything due at the clock's current instant; returns the next instant with work (or Infinity). */
  tick(): number {
    this.enter();
    try {
      const now = this.now();
      let j: Job | null;
      while ((j = this.soonestDelayedJob()) && j.deadlineAt <= now) {
        j.tube.delay.remove(j);
        this.enqueueJob(j, 0, false, 'delay-ended');
      }
      const tubes = this.tubes.items;
      for (let i = 0; i < tubes.length; i++) {
        const t = tubes[i];
        if (t.paused && t.unpauseAt <= now) {
          this.unpause(t);
          this.processQueue();
        }
      }
      let c: Connection | undefined;
      while ((c = this.timers.peek()) && c.tickAt <= now) {
        this.timers.take();
        c.tickAt = Infinity;
        this.connTimeout(c);
      }
      this.nextDue = this.computeNextDeadline();
      return this.nextDue;
    } finally {
      this.leave();
    }
  }

  /** Runs due timers if any are due; commands call this first, as beanstalkd ticks before each event. */
  runDue(): void {
    if (this.now() >= this.nextDue) this.tick();
  }

  private computeNextDeadline(): number {
    let next = Infinity;
    for (const t of this.tubes.items) {
      const d = t.delay.items[0];
      if (d && d.deadlineAt < next) next = d.deadlineAt;
      if (t.paused && t.unpauseAt < next) next = t.unpauseAt;
    }
    const c = this.timers.peek();
    if (c && c.tickAt < next) next = c.tickAt;
    return next;
  }

  private connTimeout(c: Connection): void {
    const shouldTimeout = c.waiting && this.deadlineSoon(c);
    const now = this.now();
    let j: Job | null;
    while ((j = c.soonestJob())) {
      // beanstalkd expires strictly after the deadline; a virtual clock fires exactly at it.
      if (j.deadlineAt > now) break;
      this.timeoutCount++;
      j.timeoutCount++;
      this.removeThisReservedJob(c, j);
      this.enqueueJob(j, 0, false, 'timed-out', c);
      this.connSched(c);
    }
    if (shouldTimeout) {
      this.removeWaitingConn(c);
      this.emitConn('deadline-soon', c);
      this.reply(c, 'DEADLINE_SOON');
    } else if (c.waiting && c.pendingTimeout >= 0) {
      c.pendingTimeout = -1;
      this.removeWaitingConn(c);
      this.emitConn('wait-timed-out', c);
      this.reply(c, 'TIMED_OUT');
    }
  }

  // ---- commands -----------------------------------------------------------------------------

  /**
   * Runs one parsed command (anything but put, whose body needs the transport: see putHeader).
   * A counted command is counted before it runs, so failed ones count too, as in beanstalkd.
   */
  execute(c: Connection, cmd: Exclude<Command, { op: 'put' }>): void {
    this.enter();
    try {
      if (c.closed) return;
      this.runDue();
      if (COUNTED.has(cmd.op)) this.cmdCounts[cmd.op as CountedOp]++;
      HANDLERS[cmd.op](this, c, cmd as never);
    } finally {
      this.leave();
    }
  }

  /**
   * First half of `put`: the numbers parsed. Counts the command, then decides what happens to the
   * body: thrown away (JOB_TOO_BIG), not read at all (trailing garbage: BAD_FORMAT), or read as the
   * body of job `id` — allocated now, so a failed body still uses up its id.
   */
  putHeader(c: Connection, cmd: Extract<Command, { op: 'put' }>): PutHeaderResult {
    this.enter();
    try {
      this.runDue();
      this.cmdCounts.put++;
      if (cmd.bytes > this.maxJobSize) return { kind: 'too-big', discard: cmd.bytes + 2 };
      if (cmd.trailingGarbage) {
        this.reply(c, 'BAD_FORMAT');
        return { kind: 'bad-format' };
      }
      this.setProducer(c);
      return { kind: 'body', id: this.nextId++, read: cmd.bytes + 2 };
    } finally {
      this.leave();
    }
  }

  /** Second half of `put`: `data` is the body plus the two bytes that must be CRLF. */
  putBody(c: Connection, id: number, cmd: Extract<Command, { op: 'put' }>, data: Uint8Array): void {
    this.enter();
    try {
      if (c.closed) return;
      this.runDue();
      const n = data.length;
      if (data[n - 2] !== 13 || data[n - 1] !== 10) {
        this.reply(c, 'EXPECTED_CRLF');
        return;
      }
      if (this.draining) {
        this.reply(c, 'DRAINING');
        return;
      }
      const ttr = Math.max(cmd.ttr, 1000);
      const j = this.makeJob(id, cmd.pri, cmd.delay, ttr, data.subarray(0, n - 2), c.use);
      // No binlog space (disk full, directory not writable): the put is undone, its id stays used.
      if (this.log && !this.log.reservePut(j)) {
        this.freeJob(j);
        this.reply(c, 'OUT_OF_MEMORY');
        return;
      }
      this.enqueueJob(j, j.delay, true, 'put', c);
      this.totalJobs++;
      j.tube.totalJobsCount++;
      this.reply(c, `INSERTED ${id}`);
    } finally {
      this.leave();
    }
  }

  /** Replies JOB_TOO_BIG once the transport has thrown away the announced body. */
  putTooBig(c: Connection): void {
    this.enter();
    try {
      this.reply(c, 'JOB_TOO_BIG');
    } finally {
      this.leave();
    }
  }

  // ---- start-up from the binlog (prot_replay) ------------------------------------------------

  /** Re-inserts jobs recovered from the binlog, in the order the log first mentions them. */
  replay(jobs: Job[]): void {
    const now = this.now();
    for (const j of jobs) {
      if (j.state === 'buried') {
        this.buryJob(j, false);
        this.emitJob('recovered', j, null);
      } else {
        const delay = j.state === 'delayed' && now < j.deadlineAt ? j.deadlineAt - now : 0;
        this.enqueueJob(j, delay, false, 'recovered');
      }
    }
  }

  // ---- snapshot and restore (snapshot.ts) ---------------------------------------------------

  /**
   * The whole state as plain data: restore() builds an engine that behaves exactly like this one from
   * here on. Taken between engine calls (not from inside a listener); nothing in it is shared with
   * the engine. Listeners, the clock and the host are not state: restore is given its own.
   */
  snapshot(): EngineSnapshot {
    if (this.depth > 0) throw new Error('Engine.snapshot: called during an engine call; take it once the call has returned');
    const ids = (xs: Iterable<{ id: number }>) => Array.from(xs, (x) => x.id);
    return {
      version: SNAPSHOT_VERSION,
      maxJobSize: this.maxJobSize,
      instanceId: this.instanceId,
      binlogMaxSize: this.binlogMaxSize,
      startedAt: this.startedAt,
      nextId: this.nextId,
      nextConnId: this.nextConnId,
      nextDue: this.nextDue,
      draining: this.draining,
      readyCount: this.readyCount,
      urgentCount: this.urgentCount,
      reservedCount: this.reservedCount,
      buriedCount: this.buriedCount,
      waitingCount: this.waitingCount,
      totalJobs: this.totalJobs,
      timeoutCount: this.timeoutCount,
      currentConnections: this.currentConnections,
      totalConnections: this.totalConnections,
      currentProducers: this.currentProducers,
      currentWorkers: this.currentWorkers,
      cmdCounts: { ...this.cmdCounts },
      tubes: this.tubes.items.map((t) => ({
        name: t.name,
        refs: t.refs,
        usingCount: t.usingCount,
        watchingCount: t.watchingCount,
        pause: t.pause,
        paused: t.paused,
        unpauseAt: t.unpauseAt,
        urgentCount: t.urgentCount,
        reservedCount: t.reservedCount,
        waitingCount: t.waitingCount,
        totalDeleteCount: t.totalDeleteCount,
        totalJobsCount: t.totalJobsCount,
        pauseCount: t.pauseCount,
        ready: ids(t.ready.items),
        delayed: ids(t.delay.items),
        buried: ids(t.buried),
        waiting: ids(t.waitingConns.items),
        waitingCursor: t.waitingConns.takeCursor,
      })),
      jobs: this.jobColumns(),
      connections: Array.from(this.connections.values(), (c) => ({
        id: c.id,
        name: c.name,
        use: c.use.name,
        watch: c.watch.items.map((t) => t.name),
        watchCursor: c.watch.takeCursor,
        reserved: ids(c.reserved),
        soonest: c.soonest ? c.soonest.id : null,
        isProducer: c.isProducer,
        isWorker: c.isWorker,
        waiting: c.waiting,
        pendingTimeout: c.pendingTimeout,
        tickAt: c.tickAt,
      })),
      timers: ids(this.timers.items),
      binlog: this.log ? this.log.snapshot() : null,
    };
  }

  private jobColumns(): JobColumns {
    const jobs = this.jobs.all();
    const n = jobs.length;
    const tubeIndex = new Map(this.tubes.items.map((t, i) => [t, i]));
    const stateIndex = new Map(JOB_STATES.map((st, i) => [st, i]));
    const c: JobColumns = {
      count: n,
      id: new Float64Array(n),
      tube: new Uint32Array(n),
      state: new Uint8Array(n),
      pri: new Uint32Array(n),
      delay: new Float64Array(n),
      ttr: new Float64Array(n),
      createdAt: new Float64Array(n),
      deadlineAt: new Float64Array(n),
      reserver: new Float64Array(n),
      reserveCount: new Uint32Array(n),
      timeoutCount: new Uint32Array(n),
      releaseCount: new Uint32Array(n),
      buryCount: new Uint32Array(n),
      kickCount: new Uint32Array(n),
      file: new Float64Array(n),
      walUsed: new Float64Array(n),
      bytes: new Uint32Array(n),
      bodies: new Uint8Array(0),
    };
    let total = 0;
    for (let i = 0; i < n; i++) {
      const j = jobs[i];
      c.id[i] = j.id;
      c.tube[i] = tubeIndex.get(j.tube) as number;
      c.state[i] = stateIndex.get(j.state) as number;
      c.pri[i] = j.pri;
      c.delay[i] = j.delay;
      c.ttr[i] = j.ttr;
      c.createdAt[i] = j.createdAt;
      c.deadlineAt[i] = j.deadlineAt;
      c.reserver[i] = j.reserver ? j.reserver.id : 0;
      c.reserveCount[i] = j.reserveCount;
      c.timeoutCount[i] = j.timeoutCount;
      c.releaseCount[i] = j.releaseCount;
      c.buryCount[i] = j.buryCount;
      c.kickCount[i] = j.kickCount;
      c.file[i] = j.file;
      c.walUsed[i] = j.walUsed;
      c.bytes[i] = j.body.length;
      total += j.body.length;
    }
    c.bodies = new Uint8Array(total);
    total = 0;
    for (const j of jobs) {
      c.bodies.set(j.body, total);
      total += j.body.length;
    }
    return c;
  }

  /**
   * An engine in the state of `s`, behaving from then on exactly as the engine it was taken from.
   * Its connections have no reply sink until their Sessions take them up (Session.restore), or the
   * caller sets Connection.send; a reply before that throws, naming the connection.
   */
  static restore(s: EngineSnapshot, opts: RestoreOptions): Engine {
    if (s.version !== SNAPSHOT_VERSION) throw new Error(`Engine.restore: snapshot format ${String(s.version)}, this engine reads ${SNAPSHOT_VERSION}`);
    const e = new Engine({
      clock: opts.clock,
      host: opts.host,
      maxJobSize: s.maxJobSize,
      instanceId: s.instanceId,
      binlogMaxSize: s.binlogMaxSize,
      startedAt: s.startedAt,
    });
    const missing = (what: string, key: string | number): never => {
      throw new Error(`Engine.restore: the snapshot names ${what} ${key}, which it does not hold`);
    };
    // Tubes first: the constructor made `default`; the others are made in list-tubes order.
    e.tubes.load([], 0);
    e.tubesByName.clear();
    for (const ts of s.tubes) {
      const t = ts.name === 'default' ? e.defaultTube : new Tube(ts.name);
      e.tubes.append(t);
      e.tubesByName.set(t.name, t);
    }
    const tube = (name: string) => e.tubesByName.get(name) ?? missing('tube', name);
    const jc = s.jobs;
    const tubes = e.tubes.items;
    // One copy of all bodies; each job's body is a view into it (bodies are never written to).
    const bodies = jc.bodies.slice();
    let offset = 0;
    for (let i = 0; i < jc.count; i++) {
      const body = bodies.subarray(offset, offset + jc.bytes[i]);
      offset += jc.bytes[i];
      const j = new Job(jc.id[i], jc.pri[i], jc.delay[i], jc.ttr[i], body, tubes[jc.tube[i]] ?? missing('tube number', jc.tube[i]), jc.createdAt[i]);
      j.state = JOB_STATES[jc.state[i]];
      j.deadlineAt = jc.deadlineAt[i];
      j.reserveCount = jc.reserveCount[i];
      j.timeoutCount = jc.timeoutCount[i];
      j.releaseCount = jc.releaseCount[i];
      j.buryCount = jc.buryCount[i];
      j.kickCount = jc.kickCount[i];
      j.file = jc.file[i];
      j.walUsed = jc.walUsed[i];
      e.jobs.set(j.id, j);
    }
    const job = (id: number) => e.jobs.get(id) ?? missing('job', id);
    for (const cs of s.connections) {
      const sink = () => {
        throw new Error(`Engine: connection ${cs.id} (${cs.name}) was restored without a reply sink: restore its Session (Session.restore) first`);
      };
      const c = new Connection(cs.id, cs.name, sink, tube(cs.use), e.watchSet());
      c.watch.load(cs.watch.map(tube), cs.watchCursor);
      for (const id of cs.reserved) c.reserved.add(job(id));
      c.soonest = cs.soonest === null ? null : job(cs.soonest);
      c.isProducer = cs.isProducer;
      c.isWorker = cs.isWorker;
      c.waiting = cs.waiting;
      c.pendingTimeout = cs.pendingTimeout;
      c.tickAt = cs.tickAt;
      e.connections.set(c.id, c);
    }
    const conn = (id: number) => e.connections.get(id) ?? missing('connection', id);
    for (let i = 0; i < jc.count; i++) if (jc.reserver[i]) job(jc.id[i]).reserver = conn(jc.reserver[i]);
    for (const ts of s.tubes) {
      const t = tube(ts.name);
      t.refs = ts.refs;
      t.usingCount = ts.usingCount;
      t.watchingCount = ts.watchingCount;
      t.pause = ts.pause;
      t.paused = ts.paused;
      t.unpauseAt = ts.unpauseAt;
      t.urgentCount = ts.urgentCount;
      t.reservedCount = ts.reservedCount;
      t.waitingCount = ts.waitingCount;
      t.totalDeleteCount = ts.totalDeleteCount;
      t.totalJobsCount = ts.totalJobsCount;
      t.pauseCount = ts.pauseCount;
      t.ready.load(ts.ready.map(job));
      t.delay.load(ts.delayed.map(job));
      for (const id of ts.buried) t.buried.add(job(id));
      t.waitingConns.load(ts.waiting.map(conn), ts.waitingCursor);
    }
    e.timers.load(s.timers.map(conn));
    e.nextId = s.nextId;
    e.nextConnId = s.nextConnId;
    e.nextDue = s.nextDue;
    e.draining = s.draining;
    e.readyCount = s.readyCount;
    e.urgentCount = s.urgentCount;
    e.reservedCount = s.reservedCount;
    e.buriedCount = s.buriedCount;
    e.waitingCount = s.waitingCount;
    e.totalJobs = s.totalJobs;
    e.timeoutCount = s.timeoutCount;
    e.currentConnections = s.currentConnections;
    e.totalConnections = s.totalConnections;
    e.currentProducers = s.currentProducers;
    e.currentWorkers = s.currentWorkers;
    Object.assign(e.cmdCounts, s.cmdCounts);
    if (s.binlog) {
      e.log = Binlog.restore(s.binlog, job, {
        storage: opts.binlogStorage,
        warn: opts.warn ?? ((msg) => console.warn(msg)),
        lastId: () => e.nextId - 1,
      });
    }
    return e;
  }
}
