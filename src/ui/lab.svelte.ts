// The app's state: one cluster run and how time moves for it. Components read these fields (Svelte 5
// runes) and call the methods; they hold no queue logic of their own.
import { Cluster } from '../sim/cluster.ts';
import type { NodeProcess } from '../nodes/process.ts';
import { IdbBinlogStorage } from '../sim/binlog-idb.ts';
import { TimeTravel } from '../sim/branches.ts';
import type { ListView } from '../sim/growing-list.ts';
import { parseRun, type RunRecord } from '../sim/run-record.ts';
import { seekReaches } from './console-lines.ts';
import { DEFAULT_SCENARIO, producerConfig, setUp, workerName, WORKER, type Scenario } from '../sim/scenario.ts';
import { ConsoleConnection } from './console.svelte.ts';
import { queueingRunPoint, withRunPoint, type QueueingRunPoint } from '../sim/queueing.ts';
import { runSpeedup, type SpeedupPoint, type SpeedupSetup } from '../sim/experiment.ts';
import type { HostedRoom } from '../net/peer-link.ts';
import { NodeWorkerPool, spawnNodeWorker } from './node-workers.ts';
import { eventsIn, pageStride, scrubTarget, SeekCoalescer, type ScrubKey } from './charts/scrub.ts';
import type { TimeWindow } from './charts/zoom.ts';

/**
 * Redraws of the run's state take at most 1 / REDRAW_SHARE of the main thread, come at least every
 * MAX_REDRAW_GAP_MS, and at most 30 times a second (every other frame: enough for clocks and growing
 * bars, and half the drawing on a machine whose cores the nodes need). Message dots move every frame.
 */
const REDRAW_SHARE = 3;
const MIN_REDRAW_GAP_MS = 30;
const MAX_REDRAW_GAP_MS = 100;
/**
 * In live time the nodes' work is real and the page's drawing takes cores from it (on one machine, or
 * on the host of a room, where it also delays the peers' messages): the state is redrawn, and the clock
 * (which shows tenths of a second) moves, 10 times a second.
 */
const LIVE_REDRAW_MS = 100;

/** An instant of a run to come back to (a lesson step's start): its branch, event and the actions taken by then. */
export interface RunMark {
  travel: TimeTravel;
  branch: number;
  n: number;
  /** The run up to there, actions taken at its last event included, and its event times. */
  record: RunRecord;
  times: ListView<number>;
  /** How a branch made to come back here is listed. */
  label: string;
}

/** Runs started in this page: each gets its own binlog database. */
let runs = 0;

export class Lab {
  cluster: Cluster = $state.raw(null as unknown as Cluster);
  /** The run's branches, the one on screen and where on it the cluster is (virtual time can be rewound). */
  travel: TimeTravel = $state.raw(null as unknown as TimeTravel);
  /** A seek is replaying the run to the chosen event (new nodes start: it takes a moment). */
  rewinding = $state(false);
  /** Why the last seek failed (the run on screen stayed as it was). */
  rewindError = $state('');
  scenario: Scenario = $state({ ...DEFAULT_SCENARIO });
  seed = $state(1);
  mode: 'virtual' | 'live' = $state('virtual');
  paused = $state(true);
  speed = $state(1);
  /** Bumped whenever the cluster changes (at most once per animation frame): read it to re-render. */
  tick = $state(0);
  selected: { kind: 'node'; id: number } | { kind: 'job'; id: number } | { kind: 'server' } | null = $state(null);
  /** Show messages moving along links. */
  animateMessages = $state(true);
  /** How the cluster view draws worker cards; only full cards have room for their failure controls. */
  nodeDensity: 'full' | 'compact' | 'tiny' = $state('full');
  /** The last speedup experiment's measurements (the Speedup tab runs it; lesson checks read it). */
  speedupPoints: SpeedupPoint[] = $state.raw([]);
  /** The run that was on screen when the last experiment started (it measured that run's scenario). */
  speedupRun: Cluster | null = $state.raw(null);
  /** What the last experiment measured (its scenario, seed, time and nodes), for the lab report. */
  speedupSetup: SpeedupSetup | null = $state.raw(null);
  /** Finished runs of the Poisson producer (lesson 12), kept across Resets: the wait-against-ρ chart's points. */
  queueingRuns: QueueingRunPoint[] = $state.raw([]);
  /** The room this page hosts (real-node mode): its joiners' worker slots join every live run. */
  room: HostedRoom | null = $state.raw(null);
  /** The part of the run the timeline shows (null: all of it); the Page keys move a tenth of its events. */
  timelineWindow: TimeWindow | null = null;
  /** The student's own connection to the queue server. */
  readonly console = new ConsoleConnection(
    () => this.cluster,
    () => this.refresh(),
    () => ({ at: { run: this.travel, branch: this.travel?.current.id ?? 0, n: this.travel?.position ?? 0 }, branches: this.travel?.branches ?? [] }),
  );

  private frame = 0;
  private liveClock: ReturnType<typeof setTimeout> | undefined;
  private lastFrame = 0;
  /** A redraw is due (asked for, not done yet). */
  private dirty = false;
  /**
   * Redraws are paced (see REDRAW_SHARE and LIVE_REDRAW_MS): the main thread also carries every node's
   * messages (Web Workers, and the room's data channels), which then wait less behind the drawing.
   */
  private redrawStart = 0;
  private redrawAfter = 0;
  /** A message posted as a redraw starts runs once the frame is drawn: its arrival times the redraw. */
  private readonly frameDrawn = new MessageChannel();
  /** The cluster whose virtual clock is being advanced (a fresh run must not wait for the old one's). */
  private advancing: Cluster | null = null;
  private stepping: Promise<void> = Promise.resolve();
  /** The frame's advance of virtual time in progress (a seek waits for it before replacing the cluster). */
  private advanced: Promise<void> = Promise.resolve();
  /** The queue server's binlog for this run, in IndexedDB. */
  private binlog: IdbBinlogStorage | null = null;

  /** How the cluster starts a node: by default in a Web Worker, one kept for the next node in virtual time. */
  private readonly spawn: () => NodeProcess;

  /** The Web Workers of virtual-time nodes (none when the nodes are spawned otherwise). */
  private readonly workers: NodeWorkerPool | null;

  constructor(spawn?: () => NodeProcess) {
    const workers = spawn ? null : new NodeWorkerPool();
    this.workers = workers;
    this.spawn = spawn ?? (() => (this.mode === 'virtual' ? workers!.spawn() : spawnNodeWorker()));
    this.frameDrawn.port1.onmessage = () => {
      const cost = performance.now() - this.redrawStart;
      const gap = this.cluster.virtual ? Math.min(MAX_REDRAW_GAP_MS, Math.max(MIN_REDRAW_GAP_MS, REDRAW_SHARE * cost)) : LIVE_REDRAW_MS;
      this.redrawAfter = this.redrawStart + gap;
    };
    this.reset();
  }

  /** A fresh, paused run of `scenario` in virtual time (a lesson's starting point), or live time (a scenario link's). */
  loadScenario(scenario: Scenario, seed: number, mode: 'virtual' | 'live' = 'virtual'): void {
    this.pause();
    this.mode = mode;
    this.scenario = { ...scenario };
    this.seed = seed;
    this.reset();
  }

  /** The top bar's Reset after setting these scenario values: a fresh run of the scenario they change. */
  resetWith(values: Partial<Scenario>): void {
    this.scenario = { ...this.scenario, ...values } as Scenario;
    this.pause();
    this.reset();
  }

  /** The Speedup tab's experiment on the current scenario, in virtual time, each run's nodes in Web Workers. */
  async runSpeedupExperiment(workers: number[]): Promise<void> {
    this.pause();
    const measured = this.cluster;
    const spawn = () => spawnNodeWorker('beanlab speedup node');
    const setup: SpeedupSetup = { scenario: $state.snapshot(this.scenario) as Scenario, seed: this.seed, mode: 'virtual', nodes: 'local' };
    const points = await runSpeedup({ ...setup, workers, spawn });
    this.speedupSetup = setup;
    this.speedupRun = measured;
    this.speedupPoints = points;
  }

  /** A fresh run of the current scenario and seed. */
  reset(): void {
    const binlog = new IdbBinlogStorage(`beanlab-binlog-${++runs}`);
    const cluster = new Cluster({ seed: this.seed, mode: this.mode, spawn: this.spawn, binlogStorage: binlog, loadBinlog: () => binlog.load() });
    setUp(cluster, this.scenario, this.seed);
    this.travel = new TimeTravel(cluster, this.spawn);
    this.show(cluster, binlog);
  }

  /**
   * Puts `cluster` on screen in place of the current run, which is disposed of with its binlog; `keep`:
   * the same run at another event (a seek), so what the student selected stays selected.
   */
  private show(cluster: Cluster, binlog: IdbBinlogStorage | null, keep = false): void {
    if (this.cluster && !keep) this.queueingRuns = withRunPoint(this.queueingRuns, queueingRunPoint(this.cluster));
    this.cluster?.dispose();
    void this.binlog?.dispose();
    this.binlog = binlog;
    cluster.onChange(() => this.markDirty());
    this.cluster = cluster;
    // Time travel starts every node again: warm workers for the next seek (a run's nodes, once it has them).
    if (cluster.virtual) this.workers?.keepSpare(cluster.nodes.size);
    if (!keep) this.selected = null;
    // The console's connection to the new queue server is in the first redraw's stats, not a later one's.
    this.console.sync(keep ? `The run as it was at event ${cluster.eventCount} (replayed): a new connection to its queue server.` : undefined);
    this.tick++;
    // Remote nodes run on real time only: a simulated run closes the room.
    if (this.room && cluster.virtual) this.closeRoom();
    else this.room?.room.attach();
  }

  closeRoom(): void {
    this.room?.close();
    this.room = null;
  }

  /** The run so far as JSON (seed, the student's actions, the event trace): in virtual time it replays exactly. */
  exportRun(): string {
    return JSON.stringify(this.travel.exportRun(), null, 1);
  }

  /**
   * Replays an exported run on a fresh cluster, event by event, then shows it (paused) in place of the
   * current one, with its branches. Resolves with whether the replay's trace is the recorded one, entry for entry.
   */
  async replay(json: string, progress?: (events: number, total: number) => void): Promise<{ events: number; identical: boolean }> {
    const run = parseRun(json);
    this.pause();
    const travel = await TimeTravel.open(run, this.spawn, progress);
    const cluster = travel.cluster;
    const identical = JSON.stringify(cluster.trace) === JSON.stringify(run.trace);
    this.mode = 'virtual';
    this.seed = run.seed;
    this.travel = travel;
    this.show(cluster, null);
    return { events: cluster.eventCount, identical };
  }

  /**
   * Shows the current branch at event `n` (pauses first): the run is replayed to it on a fresh cluster.
   * Step and Play then go on along the same branch; a new action taken there forks it. Virtual time only.
   */
  seek(n: number): Promise<void> {
    return this.travelTo((t) => t.seek(n));
  }

  /** Seeks asked for as fast as a drag or a held key asks: the latest waits behind the one replaying, none queue up. */
  private readonly scrubbing = new SeekCoalescer(
    (n) => this.seek(n),
    () => this.travel.position,
  );

  /** Scrubbing (a drag on the timeline): shows event `n` once the seek under way, if any, is done. */
  scrubTo(n: number): Promise<void> {
    return this.scrubbing.request(n);
  }

  /**
   * PageDown / PageUp (a tenth of the events the timeline shows, at least 10), Home / End (the run's
   * start and end), from where the scrubbing is headed; false if the key does not move (virtual time only).
   */
  scrubKey(key: ScrubKey): boolean {
    if (!this.cluster.virtual) return false;
    const times = this.travel.eventTimes;
    const shown = this.timelineWindow ? eventsIn(times, this.timelineWindow) : times.length;
    const to = scrubTarget(key, this.scrubbing.heading, this.travel.end, pageStride(shown));
    if (to === null) return false;
    void this.scrubTo(to);
    return true;
  }

  /** This instant of the run, to come back to with returnTo; null in live time. */
  mark(label: string): RunMark | null {
    const c = this.cluster;
    if (!c.virtual) return null;
    const r = c.exportRun();
    return { travel: this.travel, branch: this.travel.current.id, n: c.eventCount, record: { ...r, actions: r.actions.slice() }, times: c.eventTimes.snapshot(), label };
  }

  /**
   * Shows the run as it was at `m` (paused): a seek, when that instant is on the branch shown with no
   * action taken since at the same event; otherwise (an action taken right there, or on another branch)
   * a branch of its own, ending there, labelled `m.label`. False if `m` is of another run or the replay failed.
   */
  async returnTo(m: RunMark): Promise<boolean> {
    const t = this.travel;
    if (m.travel !== t || !this.cluster.virtual) return false;
    const actions = t.behind ? t.current.record.actions : this.cluster.actions;
    if (seekReaches({ branch: m.branch, n: m.n, actions: m.record.actions.length }, { branch: t.current.id, end: t.end }, actions, t.branches)) await this.seek(m.n);
    else {
      await this.switchBranch(t.addBranch(m.label, m.branch, m.n, m.record, m.times));
    }
    return this.travel === t && t.position === m.n && !this.rewindError;
  }

  /** One protocol event back. */
  stepBack(): Promise<void> {
    return this.travelTo((t) => t.stepBack());
  }

  /** Shows branch `id` at its end. */
  switchBranch(id: number): Promise<void> {
    return this.travelTo((t) => t.switchTo(id));
  }

  /**
   * Replaces the cluster on screen by `to`'s, after the steps asked before it; live time cannot be
   * rewound. A replay that fails leaves the run on screen as it was, and says why.
   */
  private travelTo(to: (t: TimeTravel) => Promise<Cluster>): Promise<void> {
    this.pause();
    this.stepping = this.stepping.then(async () => {
      await this.advanced;
      if (!this.cluster.virtual) return;
      this.rewinding = true;
      this.rewindError = '';
      try {
        const cluster = await to(this.travel);
        // A seek forward runs the cluster on screen on: nothing to replace.
        if (cluster === this.cluster) this.markDirty();
        else this.show(cluster, null, true);
      } catch (err) {
        this.rewindError = (err as Error).message;
      } finally {
        this.rewinding = false;
      }
    });
    return this.stepping;
  }

  /** Redraw after a change the cluster does not announce (a console command runs in the engine directly). */
  refresh(): void {
    this.markDirty();
  }

  private markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(this.redraw);
  }

  /** In an animation frame while a redraw is due: redraws, or comes back once `redrawAfter` has passed. */
  private readonly redraw = (): void => {
    const now = performance.now();
    if (now < this.redrawAfter) {
      // A timer, not a frame after frame of waiting: frames with nothing to draw still cost the page.
      setTimeout(() => requestAnimationFrame(this.redraw), this.redrawAfter - now);
      return;
    }
    this.dirty = false;
    this.redrawStart = now;
    this.tick++;
    this.frameDrawn.port2.postMessage(null);
  };

  play(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastFrame = performance.now();
    const loop = (t: number) => {
      if (this.paused) return;
      const dt = Math.min(t - this.lastFrame, 100);
      this.lastFrame = t;
      const cluster = this.cluster;
      if (cluster.virtual && this.advancing !== cluster) {
        // Each frame's worth of virtual time, waiting for nodes to answer within it: a producer putting
        // jobs then gets through all the round trips that fit, not one per frame. A stall (a node still
        // computing in real time) is not caught up afterwards: virtual time just waits.
        this.advancing = cluster;
        this.advanced = this.travel.advanceTo(cluster.clock.now() + dt * this.speed, true).finally(() => {
          if (this.advancing === cluster) this.advancing = null;
        });
      }
      // Time moved: the view is due for a redraw (in this frame, unless redraws are being paced).
      if (!this.dirty) {
        this.dirty = true;
        this.redraw();
      }
      // Live time needs no driving frame by frame (see LIVE_REDRAW_MS).
      if (cluster.virtual) this.frame = requestAnimationFrame(loop);
      else this.liveClock = setTimeout(() => (this.frame = requestAnimationFrame(loop)), LIVE_REDRAW_MS);
    };
    this.frame = requestAnimationFrame(loop);
  }

  pause(): void {
    this.paused = true;
    // The frame's advance under way ends at the next event, not at the end of its stretch of time.
    if (this.advancing) this.advancing.interruptAdvance();
    cancelAnimationFrame(this.frame);
    clearTimeout(this.liveClock);
  }

  toggle(): void {
    if (this.paused) this.play();
    else this.pause();
  }

  /**
   * One protocol event (pauses first). Steps queue up: pressing Step ten times quickly runs ten steps
   * one after the other, each waiting for the node it depends on, rather than ten racing each other.
   */
  step(): Promise<void> {
    this.pause();
    // A step asked before a reset is dropped; one asked before a seek goes on from where the seek lands.
    const travel = this.travel;
    this.stepping = this.stepping.then(async () => {
      if (this.travel !== travel) return;
      await travel.step();
      this.markDirty();
    });
    return this.stepping;
  }

  startProducer(asPrinted = false): void {
    this.cluster.addNode('producer', producerConfig(this.scenario, this.seed, asPrinted));
  }

  /**
   * Excludes a node whose results disagreed with re-runs: a joiner's node takes its joiner out of the
   * room (its jobs come back at once); one of the page's own is removed from the run.
   */
  exclude(id: number): void {
    if (!this.room?.room.verification.exclude(id)) this.cluster.removeNode(id);
  }

  addWorker(): void {
    const n = [...this.cluster.nodes.values()].filter((x) => x.role === 'worker').length;
    this.cluster.addNode(workerName(n + 1), { role: 'worker', worker: WORKER });
  }
}
