// The lesson runner: which lesson is open, which step, which checks have held, what the student
// predicted, and the progress the browser remembers (localStorage). Steps drive the Lab only through
// its public methods and the fixed actions of src/lessons/actions.ts.
import { untrack } from 'svelte';
import type { Lab } from './lab.svelte.ts';
import type { Scenario } from '../sim/scenario.ts';
import { describeAction, runAction } from '../lessons/actions.ts';
import { rewindToStep, StepStart, type LessonLab } from '../lessons/step-runner.ts';
import { LessonError, parseLesson, type Lesson, type LessonStep } from '../lessons/loader.ts';

const STORAGE_KEY = 'beanlab-lessons';

/** What the browser remembers: the open lesson, each lesson's step and finished steps, finished lessons. */
interface Progress {
  current: string | null;
  lessons: Record<string, { step: number; completed: number[] }>;
  finished: string[];
}

function loadProgress(): Progress {
  try {
    const p = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Progress | null;
    if (p && typeof p === 'object' && p.lessons && Array.isArray(p.finished)) return p;
  } catch {
    // Unreadable progress (edited by hand, another version): start afresh rather than fail.
  }
  return { current: null, lessons: {}, finished: [] };
}

/** Nothing saved, ever: this browser's first visit (or one that cannot keep progress, where every visit is). */
function firstVisit(): boolean {
  try {
    return localStorage.getItem(STORAGE_KEY) === null;
  } catch {
    return true;
  }
}

export class LessonRunner {
  lessons: Lesson[] = $state.raw([]);
  /** Lesson files that could not be loaded, with file, line and problem. */
  errors: LessonError[] = $state.raw([]);
  lesson: Lesson | null = $state.raw(null);
  index = $state(0);
  /** Which of the step's checks hold now (all of them, once the step is passed). */
  held: boolean[] = $state([]);
  /** All the step's checks have held at the same moment since the step began. */
  passed = $state(false);
  /** The student's prediction (index into the choices), or null before answering. */
  chosen: number | null = $state(null);
  /** Steps of this lesson the student has completed (their Next stays enabled). */
  completed: number[] = $state([]);
  /** The lesson resumed at a saved step on a fresh run. */
  resumed = $state(false);
  /** The lesson's last step is done. */
  finishedNow = $state(false);
  acting = $state(false);
  actionError = $state('');
  /** Read before anything is saved: a newcomer is taken to the first lesson. */
  readonly firstVisit = firstVisit();
  private progress: Progress = loadProgress();
  /** Where the step began: checks read only what happened after it. */
  private start: StepStart | null = null;

  constructor(
    private readonly lab: Lab,
    bundled: { lessons: Lesson[]; errors: LessonError[] },
  ) {
    this.lessons = bundled.lessons;
    this.errors = bundled.errors;
  }

  get step(): LessonStep | null {
    return this.lesson?.steps[this.index] ?? null;
  }

  isFinished(id: string): boolean {
    return this.progress.finished.includes(id);
  }

  /** The lesson saved as open when the page was last left, if it still exists. */
  get savedLesson(): string | null {
    const id = this.progress.current;
    return id && this.lessons.some((l) => l.id === id) ? id : null;
  }

  /** Opens a lesson on a fresh run of its scenario, at the step where the student left it. */
  open(id: string): void {
    const lesson = this.lessons.find((l) => l.id === id);
    if (!lesson) return;
    this.lesson = lesson;
    const saved = this.progress.lessons[id];
    const at = saved ? Math.min(Math.max(0, saved.step), lesson.steps.length - 1) : 0;
    this.completed = saved ? saved.completed.filter((i) => i < lesson.steps.length) : [];
    this.progress.current = id;
    this.lab.loadScenario(lesson.scenario, lesson.seed);
    this.resumed = at > 0;
    void this.enter(at, at === 0);
  }

  close(): void {
    this.lesson = null;
    this.progress.current = null;
    this.save();
  }

  /** Adds a lesson file opened in the browser (an instructor trying a lesson without rebuilding) and opens it. */
  addFile(name: string, text: string): Lesson | null {
    this.errors = this.errors.filter((e) => e.file !== name);
    try {
      const lesson = parseLesson(name, text, `file:${name}`);
      this.lessons = [...this.lessons.filter((l) => l.id !== lesson.id), lesson];
      this.open(lesson.id);
      return lesson;
    } catch (e) {
      this.errors = [...this.errors, e instanceof LessonError ? e : new LessonError(name, 1, (e as Error).message)];
      return null;
    }
  }

  get canNext(): boolean {
    const step = this.step;
    if (!step) return false;
    if (this.completed.includes(this.index)) return true;
    return (step.checks.length === 0 || this.passed) && (step.predict === null || this.chosen !== null);
  }

  next(): void {
    if (!this.lesson || !this.canNext) return;
    this.complete(this.index);
    if (this.index + 1 < this.lesson.steps.length) void this.enter(this.index + 1, true);
    else {
      this.finishedNow = true;
      if (!this.progress.finished.includes(this.lesson.id)) this.progress.finished.push(this.lesson.id);
      this.save();
    }
  }

  back(): void {
    if (this.finishedNow) this.finishedNow = false;
    else if (this.index > 0) void this.enter(this.index - 1, false);
  }

  /**
   * The step afresh: the run put back where the lesson's own path has it at the step's start
   * (rewindToStep), its checks and prediction cleared, its automatic actions run again.
   */
  async restartStep(): Promise<void> {
    const lesson = this.lesson;
    if (!lesson) return;
    const index = this.index;
    this.completed = this.completed.filter((i) => i !== index);
    this.finishedNow = false;
    // No check is read while the run is rebuilt: the step begins once it is back.
    this.start = null;
    this.passed = false;
    const rehearsal = new Rehearsal(this.lab);
    this.acting = true;
    this.actionError = '';
    try {
      await rewindToStep(rehearsal, lesson, index);
    } catch (e) {
      this.actionError = `Could not put the run back to this step's start: ${(e as Error).message}.`;
    } finally {
      this.acting = false;
      this.lab.refresh();
    }
    if (this.lesson !== lesson || this.index !== index) return;
    if (rehearsal.playing) this.lab.play();
    await this.enter(index, true);
  }

  /** The lesson from its first step on a fresh run of its scenario. */
  resetLesson(): void {
    const lesson = this.lesson;
    if (!lesson) return;
    delete this.progress.lessons[lesson.id];
    this.progress.finished = this.progress.finished.filter((id) => id !== lesson.id);
    this.completed = [];
    this.open(lesson.id);
  }

  /** "Do it for me": the step's actions, one after the other. */
  async doIt(): Promise<void> {
    const step = this.step;
    if (step) await this.perform(step.actions);
  }

  describeActions(step: LessonStep): string {
    return step.actions.map(describeAction).join(', then ');
  }

  /** Re-reads the step's checks against the run; a check that has held stays ticked. */
  evaluate(): void {
    const step = this.step;
    if (!step || this.finishedNow) return;
    if (!this.start) return;
    const now = this.start.held(step, this.lab);
    // Once all hold at the same moment the step is done, whatever the run does next.
    if (now.every(Boolean)) this.passed = true;
    if (!this.passed && now.some((v, i) => v !== this.held[i])) this.held = now;
    else if (this.passed && !this.held.every(Boolean)) this.held = now.map(() => true);
  }

  private async enter(index: number, runAuto: boolean): Promise<void> {
    const lesson = this.lesson;
    if (!lesson) return;
    this.index = index;
    this.finishedNow = false;
    this.chosen = null;
    this.actionError = '';
    this.held = lesson.steps[index].checks.map(() => false);
    this.passed = false;
    this.start = untrack(() => new StepStart(this.lab));
    this.progress.lessons[lesson.id] = { step: index, completed: [...this.completed] };
    this.save();
    if (runAuto) await this.perform(lesson.steps[index].auto);
  }

  private async perform(actions: LessonStep['actions']): Promise<void> {
    if (!actions.length) return;
    this.acting = true;
    this.actionError = '';
    try {
      for (const a of actions) await runAction(this.lab, a);
    } catch (e) {
      this.actionError = `Could not ${actions.map(describeAction).join(', then ')}: ${(e as Error).message}.`;
    } finally {
      this.acting = false;
      this.lab.refresh();
    }
  }

  private complete(index: number): void {
    if (!this.completed.includes(index)) this.completed.push(index);
    if (this.lesson) this.progress.lessons[this.lesson.id] = { step: index, completed: [...this.completed] };
    this.save();
  }

  private save(): void {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.progress));
    } catch {
      // Storage full or disabled (private mode): progress is then kept for this page only.
    }
  }
}

/**
 * The lab driven by a replay: Play and Pause only say whether the run would be playing, and the replay
 * moves time itself, so the lab is left paused until the replay is over.
 */
class Rehearsal implements LessonLab {
  playing = false;

  constructor(private readonly lab: Lab) {}

  loadScenario(scenario: Scenario, seed: number): void {
    this.playing = false;
    this.lab.loadScenario(scenario, seed);
  }

  get cluster() {
    return this.lab.cluster;
  }
  get console() {
    return this.lab.console;
  }
  get speedupPoints() {
    return this.lab.speedupPoints;
  }
  get speedupRun() {
    return this.lab.speedupRun;
  }
  get scenario() {
    return this.lab.scenario;
  }
  get speed() {
    return this.lab.speed;
  }
  set speed(v: number) {
    this.lab.speed = v;
  }
  play(): void {
    this.playing = true;
  }
  pause(): void {
    this.playing = false;
  }
  step(): Promise<void> {
    this.playing = false;
    return this.lab.step();
  }
  startProducer(): void {
    this.lab.startProducer();
  }
  addWorker(): void {
    this.lab.addWorker();
  }
  resetWith(values: Partial<Scenario>): void {
    this.lab.resetWith(values);
  }
  runSpeedupExperiment(workers: number[]): Promise<void> {
    return this.lab.runSpeedupExperiment(workers);
  }
}
