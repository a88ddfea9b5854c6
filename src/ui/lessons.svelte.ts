// The lesson runner: which lesson is open, which step, which checks have held, what the student
// predicted, and the progress the browser remembers (localStorage). Steps drive the Lab only through
// its public methods and the fixed actions of src/lessons/actions.ts.
import { untrack } from 'svelte';
import type { Lab } from './lab.svelte.ts';
import type { Scenario } from '../sim/scenario.ts';
import { describeAction, runAction } from '../lessons/actions.ts';
import { PredictionGate, rewindToStep, StepStart, type LessonLab } from '../lessons/step-runner.ts';
import { LessonError, parseLesson, type Lesson, type LessonStep } from '../lessons/loader.ts';
import type { LessonOutcome } from './lab-report.ts';
import { decodeLessonText, encodeLessonText, LESSON_IN_LINK_FILE, textKey } from '../lessons/lesson-link.ts';
import { LESSON_PROGRESS_KEY } from '../lessons/shared-progress.ts';
import type { RunMark } from './lab.svelte.ts';

const STORAGE_KEY = LESSON_PROGRESS_KEY;

/** Where a step handed the run to the student (after its automatic actions), and whether it was playing. */
interface StepMark {
  at: RunMark;
  playing: boolean;
}

/**
 * What the browser remembers: the open lesson, each lesson's step, finished steps and the student's first
 * answer to each prediction (step index → choice), finished lessons, and the text of each lesson that
 * came from a file or a link rather than with the site (so that it survives a reload).
 */
interface Progress {
  current: string | null;
  lessons: Record<string, { step: number; completed: number[]; answers?: Record<number, number> }>;
  finished: string[];
  texts?: Record<string, { file: string; text: string }>;
}

/** Where a lesson that did not come with the site came from: its id starts with this. */
const FROM_FILE = 'file:';
const FROM_URL = 'url:';
const FROM_LINK = 'link:';

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
  /** The student acted on the run before predicting: no answer is taken until Restart step. */
  locked = $state(false);
  /** Steps of this lesson the student has completed (their Next stays enabled). */
  completed: number[] = $state([]);
  /** The lesson resumed at the step this browser saved (not one a link asked for). */
  resumed = $state(false);
  /** The lesson's last step is done. */
  finishedNow = $state(false);
  acting = $state(false);
  /** What a link that opened the lesson at a step says about it (shown until the student moves on). */
  linkNote = $state('');
  /** The run is being put back as the step starts (earlier steps replayed: Restart step, resume, a link). */
  rebuilding = $state(false);
  actionError = $state('');
  /** Read before anything is saved: a newcomer is taken to the first lesson. */
  readonly firstVisit = firstVisit();
  private progress: Progress = loadProgress();
  /** Where the step began: checks read only what happened after it. */
  private start: StepStart | null = null;
  /** The step's prediction, once the step hands the run to the student (after its automatic actions). */
  private gate: PredictionGate | null = null;
  /** Steps of the open lesson whose prediction was locked: only Restart step opens one again (not Back, then Next). */
  private lockedSteps = new Set<number>();
  /** Where each step of the open lesson began, for Restart step and a step's rewind button to seek back to. */
  private marks = new Map<number, StepMark>();

  constructor(
    private readonly lab: Lab,
    bundled: { lessons: Lesson[]; errors: LessonError[] },
  ) {
    this.lessons = bundled.lessons;
    this.errors = bundled.errors;
    for (const [id, { file, text }] of Object.entries(this.progress.texts ?? {})) this.add(file, text, id);
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

  /**
   * Opens a lesson at the step where the student left it (or at `step`, counted from 0, from a link), with
   * the run as the lesson's own path has it at that step's start: the path Restart step takes.
   */
  open(id: string, step?: number): Promise<void> {
    const lesson = this.lessons.find((l) => l.id === id);
    if (!lesson) return Promise.resolve();
    this.lesson = lesson;
    this.lockedSteps.clear();
    this.marks.clear();
    const saved = this.progress.lessons[id];
    const at = Math.min(Math.max(0, step ?? saved?.step ?? 0), lesson.steps.length - 1);
    this.linkNote =
      step === undefined || at === 0
        ? ''
        : step > at
          ? `The link asked for step ${step + 1}, but “${lesson.title}” has ${lesson.steps.length} steps: this is the last.`
          : `The link opens the lesson at this step: the cluster is as the steps before it leave it.`;
    this.completed = saved ? saved.completed.filter((i) => i < lesson.steps.length) : [];
    this.progress.current = id;
    this.resumed = at > 0 && step === undefined;
    if (at > 0) return this.rebuild(lesson, at);
    this.lab.loadScenario(lesson.scenario, lesson.seed);
    return this.enter(0, true);
  }

  close(): void {
    this.linkNote = '';
    this.lesson = null;
    this.progress.current = null;
    this.save();
  }

  /** Adds a lesson file opened in the browser (an instructor trying a lesson without rebuilding) and opens it. */
  addFile(name: string, text: string): Lesson | null {
    return this.addAndOpen(name, text, FROM_FILE + name);
  }

  /**
   * Opens the lesson a link names: a lesson of the site by its id (01-first-contact), or a lesson file
   * anywhere by its URL, absolute or relative to the page (fetched, then read like a file opened in the
   * browser). A file that cannot be fetched or read is reported like a lesson file with a mistake.
   */
  async openByLink(ref: string, step?: number): Promise<void> {
    if (this.lessons.some((l) => l.id === ref)) return this.open(ref, step);
    if (!ref.includes('/') && !ref.endsWith('.md')) {
      const ids = this.lessons.filter((l) => !l.id.includes(':')).map((l) => l.id);
      this.fail(new LessonError(ref, 1, `no lesson of this site is called "${ref}" (they are ${ids.join(', ')}), and it is no lesson file's address (…/name.md).`));
      return;
    }
    let text: string;
    try {
      const response = await fetch(new URL(ref, location.href));
      if (!response.ok) throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
      text = await response.text();
    } catch (e) {
      this.fail(new LessonError(ref, 1, `could not fetch this lesson file: ${(e as Error).message}. Check the link's lesson= address.`));
      return;
    }
    this.addAndOpen(ref, text, FROM_URL + ref, step);
  }

  /** Opens the lesson carried in a link's #lesson= fragment (see src/lessons/lesson-link.ts). */
  async openInLink(code: string, step?: number): Promise<void> {
    let text: string;
    try {
      text = await decodeLessonText(code);
    } catch (e) {
      this.fail(new LessonError(LESSON_IN_LINK_FILE, 1, `${(e as Error).message}.`));
      return;
    }
    this.addAndOpen(LESSON_IN_LINK_FILE, text, FROM_LINK + textKey(text), step);
  }

  /**
   * How a link reopens the open lesson at its current step: by its id or URL in the query (`lesson`),
   * or, for a lesson from a file or from a link, its whole text in the #fragment (`inLink`).
   */
  async linkToLesson(): Promise<{ lesson?: string; step: number; inLink?: string } | null> {
    const lesson = this.lesson;
    if (!lesson) return null;
    const step = this.index + 1;
    if (lesson.id.startsWith(FROM_URL)) return { lesson: lesson.id.slice(FROM_URL.length), step };
    const saved = this.progress.texts?.[lesson.id];
    if (saved) return { step, inLink: await encodeLessonText(saved.text) };
    return { lesson: lesson.id, step };
  }

  /** Every lesson the student has begun, with each step's outcome and prediction, for the lab report. */
  outcomes(): LessonOutcome[] {
    return this.lessons
      .filter((l) => this.progress.lessons[l.id] || this.progress.finished.includes(l.id))
      .map((l) => {
        const saved = this.progress.lessons[l.id] ?? { step: 0, completed: [] };
        return {
          title: l.title,
          finished: this.progress.finished.includes(l.id),
          steps: l.steps.map((s, i) => {
            const answer = saved.answers?.[i];
            const p = s.predict;
            return {
              title: s.title,
              done: saved.completed.includes(i),
              prediction: p && answer !== undefined ? { question: p.question, answer: p.choices[answer], right: p.choices[p.answer], correct: answer === p.answer } : null,
            };
          }),
        };
      });
  }

  /**
   * The student's prediction for this step; the first answer to each is kept for the lab report. None is
   * taken while the step's automatic actions run, nor once the student acted first (see PredictionGate).
   */
  answer(choice: number): void {
    if (this.chosen !== null || !this.lesson || !this.gate?.answer(choice)) return;
    this.chosen = choice;
    const saved = this.progress.lessons[this.lesson.id];
    if (!saved) return;
    saved.answers ??= {};
    saved.answers[this.index] ??= choice;
    this.save();
  }

  /** Parses a lesson's text and adds it to the list, its text kept to survive a reload; errors are shown. */
  private add(file: string, text: string, id: string): Lesson | null {
    this.errors = this.errors.filter((e) => e.file !== file);
    try {
      const lesson = parseLesson(file, text, id);
      this.lessons = [...this.lessons.filter((l) => l.id !== lesson.id), lesson];
      this.progress.texts = { ...this.progress.texts, [id]: { file, text } };
      return lesson;
    } catch (e) {
      this.fail(e instanceof LessonError ? e : new LessonError(file, 1, (e as Error).message));
      return null;
    }
  }

  private addAndOpen(file: string, text: string, id: string, step?: number): Lesson | null {
    const lesson = this.add(file, text, id);
    if (lesson) void this.open(lesson.id, step);
    return lesson;
  }

  private fail(error: LessonError): void {
    this.errors = [...this.errors.filter((e) => e.file !== error.file), error];
  }

  get canNext(): boolean {
    const step = this.step;
    if (!step) return false;
    // Not while "Do it for me" still acts: its checks may hold halfway (42 steps, both workers busy by the
    // 30th), and the rest of its steps, played into the next step's prediction, locked it.
    if (this.acting) return false;
    if (this.completed.includes(this.index)) return true;
    return (step.checks.length === 0 || this.passed) && (step.predict === null || this.chosen !== null);
  }

  next(): void {
    if (!this.lesson || !this.canNext) return;
    this.linkNote = '';
    this.complete(this.index);
    if (this.index + 1 < this.lesson.steps.length) void this.enter(this.index + 1, true);
    else {
      this.finishedNow = true;
      if (!this.progress.finished.includes(this.lesson.id)) this.progress.finished.push(this.lesson.id);
      this.save();
    }
  }

  back(): void {
    this.linkNote = '';
    if (this.finishedNow) this.finishedNow = false;
    else if (this.index > 0) void this.enter(this.index - 1, false);
  }

  /**
   * The step afresh, its checks and prediction cleared: the run put back as the step began by time travel
   * on this run (Lab.returnTo: what the student did since is undone), else (another run, after a Reset)
   * rebuilt where the lesson's own path has it at the step's start (rewindToStep), its automatic actions
   * run again.
   */
  async restartStep(): Promise<void> {
    const lesson = this.lesson;
    if (!lesson) return;
    const index = this.index;
    this.completed = this.completed.filter((i) => i !== index);
    this.lockedSteps.delete(index);
    if (await this.seekToStart(index)) await this.enter(index, false);
    else await this.rebuild(lesson, index);
  }

  /**
   * A step's rewind button (`rewind:` in its step block): the run back as the step began, to try the other
   * choice; the student's prediction stays answered and checks that have held stay held. The run branches
   * there: the Timeline tab lists both to compare.
   */
  async rewindStep(): Promise<void> {
    const lesson = this.lesson;
    if (!lesson) return;
    const index = this.index;
    const chosen = this.chosen;
    const passed = this.passed;
    if (await this.seekToStart(index)) await this.enter(index, false);
    else await this.rebuild(lesson, index);
    if (this.lesson !== lesson || this.index !== index) return;
    if (chosen !== null && this.gate?.answer(chosen)) this.chosen = chosen;
    if (passed) {
      this.passed = true;
      this.held = this.held.map(() => true);
    }
  }

  /** Puts the run back where step `index` began, by time travel on this run; false if it cannot (another run, live time, a failed replay). */
  private async seekToStart(index: number): Promise<boolean> {
    const mark = this.marks.get(index);
    if (!mark || mark.at.travel !== this.lab.travel) return false;
    // Nothing is read of the run while it goes back: the step begins again once it is there.
    this.gate = null;
    this.start = null;
    this.locked = false;
    this.acting = true;
    let back: boolean;
    try {
      back = await this.lab.returnTo(mark.at);
    } finally {
      this.acting = false;
    }
    if (!back) return false;
    if (mark.playing) this.lab.play();
    return true;
  }

  /** Step `index` of `lesson` on the run its own path leads to (see restartStep). */
  private async rebuild(lesson: Lesson, index: number): Promise<void> {
    this.index = index;
    this.finishedNow = false;
    this.chosen = null;
    this.gate = null;
    this.locked = false;
    this.held = lesson.steps[index].checks.map(() => false);
    // No check is read while the run is rebuilt: the step begins once it is back.
    this.start = null;
    this.passed = false;
    const rehearsal = new Rehearsal(this.lab);
    this.acting = true;
    this.rebuilding = true;
    this.actionError = '';
    try {
      await rewindToStep(rehearsal, lesson, index);
    } catch (e) {
      this.actionError = `Could not put the run back to this step's start: ${(e as Error).message}.`;
    } finally {
      this.acting = false;
      this.rebuilding = false;
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
    void this.open(lesson.id);
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
    // A step already done keeps its Next, whatever the student does to the run when coming back to it.
    if (this.gate && !this.completed.includes(this.index) && this.gate.observe(this.lab, now)) {
      this.locked = true;
      this.lockedSteps.add(this.index);
    }
    // Once all hold at the same moment the step is done, whatever the run does next.
    if (now.every(Boolean)) this.passed = true;
    if (!this.passed && now.some((v, i) => v !== this.held[i])) this.held = now;
    else if (this.passed && !this.held.every(Boolean)) this.held = now.map(() => true);
  }

  private async enter(index: number, runAuto: boolean): Promise<void> {
    const lesson = this.lesson;
    if (!lesson) return;
    const step = lesson.steps[index];
    this.index = index;
    this.finishedNow = false;
    this.chosen = null;
    this.gate = null;
    this.locked = this.lockedSteps.has(index);
    this.actionError = '';
    this.held = step.checks.map(() => false);
    this.passed = false;
    const start = untrack(() => new StepStart(this.lab));
    this.start = start;
    this.progress.lessons[lesson.id] = { ...this.progress.lessons[lesson.id], step: index, completed: [...this.completed] };
    this.save();
    if (runAuto) await this.perform(step.auto);
    if (this.lesson !== lesson || this.index !== index || this.start !== start) return;
    const at = runAuto ? untrack(() => this.lab.mark(`back to step ${index + 1}, “${step.title}”`)) : null;
    if (at) this.marks.set(index, { at, playing: !this.lab.paused });
    if (!step.predict) return;
    const gate = untrack(() => new PredictionGate({ cluster: this.lab.cluster, playing: !this.lab.paused }, start.held(step, this.lab)));
    // A step whose prediction was locked before, entered again by Back then Next on the run as the student left it.
    if (this.locked) gate.locked = true;
    this.gate = gate;
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
    if (this.lesson) this.progress.lessons[this.lesson.id] = { ...this.progress.lessons[this.lesson.id], step: index, completed: [...this.completed] };
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
  startProducer(asPrinted?: boolean): void {
    this.lab.startProducer(asPrinted);
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
