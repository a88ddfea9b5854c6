// Running a lesson's steps, the same in the page (src/ui/lessons.svelte.ts) and headless (the lesson
// verifier, `npm run lessons:check`): what a step's checks read, and what "Restart step" does to the run.
import type { Cluster } from '../sim/cluster.ts';
import type { Scenario } from '../sim/scenario.ts';
import type { SpeedupPoint } from '../sim/experiment.ts';
import { checkHolds, type CheckContext } from './checks.ts';
import { runAction, type ActionTarget } from './actions.ts';
import type { Lesson, LessonStep } from './loader.ts';

/** What a step's checks read: the run, the student's console, the last speedup experiment. */
export interface LessonRun {
  readonly cluster: Cluster;
  readonly console: { readonly lines: readonly { kind: string; text: string }[] };
  readonly speedupPoints: readonly SpeedupPoint[];
  /** The run whose scenario the last experiment measured. */
  readonly speedupRun: Cluster | null;
  readonly scenario: Scenario;
}

/** How long (cluster time) a replayed step may run, with Play pressed, for its checks to hold. */
export const STEP_RUN_LIMIT_MS = 600_000;

/**
 * Where a step began: its checks read only what happened since. Console lines typed before the step
 * do not count, nor does a speedup experiment run before it (Speedup.svelte hands the lab a new list
 * of points for every experiment) or before the current run was started (Reset with other values), so
 * a check never passes on an earlier step's result or another scenario's.
 */
export class StepStart {
  private readonly lastLine: unknown;
  private readonly speedup: readonly SpeedupPoint[];

  constructor(run: LessonRun) {
    this.lastLine = run.console.lines.at(-1);
    this.speedup = run.speedupPoints;
  }

  context(run: LessonRun): CheckContext {
    const lines = run.console.lines;
    const mark = this.lastLine === undefined ? -1 : lines.lastIndexOf(this.lastLine as (typeof lines)[number]);
    return { cluster: run.cluster, console: lines.slice(mark + 1), speedup: run.speedupPoints === this.speedup || run.speedupRun !== run.cluster ? [] : run.speedupPoints, scenario: run.scenario };
  }

  /** Which of the step's checks hold now. */
  held(step: LessonStep, run: LessonRun): boolean[] {
    const ctx = this.context(run);
    return step.checks.map((c) => checkHolds(c, ctx));
  }

  /**
   * Whether all the step's checks hold now. It stops at the first that does not: run after every event,
   * a costly check (one that reads the whole job history) is then read only once the cheap ones before it hold.
   */
  allHold(step: LessonStep, run: LessonRun): boolean {
    const ctx = this.context(run);
    return step.checks.every((c) => checkHolds(c, ctx));
  }
}

/**
 * An action target whose Play and Pause only say whether the run is playing: time moves when the
 * caller runs the cluster, never with the wall clock, so a replay is the same every time.
 */
export interface TimedTarget extends ActionTarget, Omit<LessonRun, 'console'> {
  readonly playing: boolean;
}

/** A lab a lesson can start afresh on its scenario (the app's Lab, through a replay's eyes, or HeadlessLab). */
export interface LessonLab extends TimedTarget {
  loadScenario(scenario: Scenario, seed: number): void;
}

/**
 * What Restart step does to the run (before the step's automatic actions run again): puts it back
 * where the lesson's own path has it at the step's start, a fresh run of the lesson's scenario with
 * every earlier step replayed. Whatever the student did to the run (killed nodes, a crash without the
 * binlog, jobs run while playing), the step's Do it for me then works as on the lesson's path.
 */
export async function rewindToStep(lab: LessonLab, lesson: Lesson, index: number): Promise<void> {
  lab.loadScenario(lesson.scenario, lesson.seed);
  await replaySteps(lab, lesson, index);
}

/**
 * The lesson's own path up to step `index`, on a fresh run of its scenario (loaded by the caller):
 * each earlier step's automatic and Do-it-for-me actions, and, if the run is then playing, time until
 * that step's checks hold. A virtual-time run is a function of its seed and actions, so this ends
 * in the same place every time.
 */
export async function replaySteps(target: TimedTarget, lesson: Lesson, index: number): Promise<void> {
  for (const step of lesson.steps.slice(0, index)) {
    const start = new StepStart(target);
    for (const a of [...step.auto, ...step.actions]) await runAction(target, a);
    if (target.playing && step.checks.length) await target.cluster.runUntil(() => start.allHold(step, target), STEP_RUN_LIMIT_MS);
  }
}

/**
 * A step's prediction is made before the action it predicts. Set up where the step hands the run to
 * the student (after its automatic actions): until the student answers, acting on the run locks the
 * prediction, and only Restart step (a fresh step, a fresh gate) opens it again. The student acted when
 * the run took a recorded action (a kill, a hang, a worker added, a console command: the cluster's own
 * record of the student's actions), time moved on a run the step left paused (Step, Play), the run was
 * replaced (Reset), or a check that did not hold at the step's start has come to hold.
 */
export class PredictionGate {
  /** The student's answer (an index into the choices), or null before answering. */
  chosen: number | null = null;
  locked = false;
  private readonly cluster: Cluster;
  private readonly actions: number;
  private readonly now: number;
  private readonly paused: boolean;
  private readonly heldAtStart: readonly boolean[];

  /** `held`: which of the step's checks hold as the student is handed the run. */
  constructor(run: { readonly cluster: Cluster; readonly playing: boolean }, held: readonly boolean[]) {
    this.cluster = run.cluster;
    this.actions = run.cluster.actions.length;
    this.now = run.cluster.now;
    this.paused = !run.playing;
    this.heldAtStart = held;
  }

  /** Reads the run (and which checks hold now) while the prediction is open; whether it is locked. */
  observe(run: { readonly cluster: Cluster }, held: readonly boolean[]): boolean {
    if (this.chosen !== null || this.locked) return this.locked;
    const cluster = run.cluster;
    this.locked =
      cluster !== this.cluster ||
      cluster.actions.length > this.actions ||
      (this.paused && cluster.virtual && cluster.now > this.now) ||
      held.some((h, i) => h && !this.heldAtStart[i]);
    return this.locked;
  }

  /** The student's answer; refused (false) once answered or locked. */
  answer(choice: number): boolean {
    if (this.chosen !== null || this.locked) return false;
    this.chosen = choice;
    return true;
  }
}
