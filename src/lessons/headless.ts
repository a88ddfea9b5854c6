// A lab without a page, for the lesson verifier: a virtual-time run of a scenario with its nodes in
// this thread, the student's console, and Play/Pause that only say whether time would be moving (the
// verifier moves it). It offers a lesson the same actions and the same view as the app's Lab.
import { Cluster } from '../sim/cluster.ts';
import { spawnInThread } from '../nodes/in-thread.ts';
import { producerConfig, setUp, workerName, WORKER, type Scenario } from '../sim/scenario.ts';
import { runSpeedup, type SpeedupPoint } from '../sim/experiment.ts';
import { Session } from '../protocol/session.ts';
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import { RqShell } from '../history/rq-commands.ts';
import type { Engine } from '../engine/engine.ts';
import type { LessonLab } from './step-runner.ts';

/** The console as the app's ConsoleConnection keeps it: typed lines in, server replies out, rq's own lines. */
class HeadlessConsole {
  lines: { kind: 'in' | 'out' | 'note' | 'error'; text: string }[] = [];
  private session: Session | null = null;
  private engine: Engine | null = null;
  private readonly rq: RqShell;

  constructor(private readonly cluster: () => Cluster) {
    this.rq = new RqShell(cluster);
  }

  send(line: string): void {
    const cluster = this.cluster();
    if (this.rq.owns(line)) {
      this.lines.push({ kind: 'in', text: line });
      for (const out of this.rq.input(line)) this.lines.push({ kind: out.error ? 'error' : 'out', text: out.text });
      return;
    }
    this.lines.push({ kind: 'in', text: line });
    if (!cluster.engine) return;
    if (cluster.engine !== this.engine || !this.session) {
      this.engine = cluster.engine;
      this.session = new Session(this.engine, { write: (b) => this.lines.push({ kind: 'out', text: latin1(b).replace(/\r\n/g, '\n') }), close: () => (this.session = null) }, 'console');
    }
    const bytes = latin1Bytes(line + '\r\n');
    cluster.recordPageInput('console', bytes);
    this.session.receive(bytes);
  }
}

export class HeadlessLab implements LessonLab {
  cluster: Cluster = null as unknown as Cluster;
  scenario: Scenario = null as unknown as Scenario;
  seed = 1;
  playing = false;
  speed = 1;
  speedupPoints: SpeedupPoint[] = [];
  speedupRun: Cluster | null = null;
  /** One console for every run, as in the app: it connects again to a new run's server. */
  readonly console = new HeadlessConsole(() => this.cluster);

  /** A fresh, paused run of `scenario` in virtual time, as the app's Lab.loadScenario. */
  loadScenario(scenario: Scenario, seed: number): void {
    this.cluster?.dispose();
    this.playing = false;
    this.scenario = { ...scenario };
    this.seed = seed;
    this.cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
    setUp(this.cluster, this.scenario, seed);
  }

  play(): void {
    this.playing = true;
  }

  pause(): void {
    this.playing = false;
  }

  async step(): Promise<void> {
    this.playing = false;
    await this.cluster.step();
  }

  startProducer(asPrinted = false): void {
    this.cluster.addNode('producer', producerConfig(this.scenario, this.seed, asPrinted));
  }

  addWorker(): void {
    const n = [...this.cluster.nodes.values()].filter((x) => x.role === 'worker').length;
    this.cluster.addNode(workerName(n + 1), { role: 'worker', worker: WORKER });
  }

  /** As the app's Lab.resetWith: a fresh, paused run with these scenario values. */
  resetWith(values: Partial<Scenario>): void {
    this.loadScenario({ ...this.scenario, ...values } as Scenario, this.seed);
  }

  /** As the app's Lab.runSpeedupExperiment, with the runs' nodes in this thread. */
  async runSpeedupExperiment(workers: number[]): Promise<void> {
    this.playing = false;
    const measured = this.cluster;
    this.speedupPoints = await runSpeedup({ scenario: this.scenario, seed: this.seed, mode: 'virtual', workers, spawn: spawnInThread });
    this.speedupRun = measured;
  }

  /** Lets `ms` of wall-clock time pass: the run moves on by that times the speed if it is playing. */
  async wait(ms: number): Promise<void> {
    if (this.playing) await this.cluster.advanceTo(this.cluster.now + ms * this.speed);
  }

  dispose(): void {
    this.cluster?.dispose();
  }
}
