// The lesson verifier (`npm run lessons:check`): walks every step of a lesson headless, on a virtual-time
// run in this thread, through the same step code as the app (step-runner.ts), and says what is wrong:
//  1. a step whose checks already hold when it begins, before the student acts (a check that cannot fail);
//  2. a step whose checks do not hold after its own Do it for me;
//  3. a check that can never hold in the lesson's scenario;
//  4. a step a student can be locked out of: stray actions (a seeded mix of kill, hang, add worker,
//     crash and restart the server, play, pause), then Restart step and Do it for me, leave this step's
//     or a later step's checks unmet;
//  5. a prediction the run answers by itself: the step leaves the run playing and, while the student
//     reads the question, the run moves on until a check holds, so the prediction locks
//     (PredictionGate) before the student could answer it and act.
// A step with checks but no Do it for me (in the shipped lessons, only a step in live time, whose runs
// take real time and depend on the machine) cannot be walked headless: it is named as skipped, never
// passed in silence. Speedup experiments run in virtual time here, as the lessons' Do it for me runs them.
import { mulberry32 } from '../sim/rng.ts';
import { DEFAULT_SCENARIOS } from '../sim/scenario.ts';
import { describeAction, runAction, type Action } from './actions.ts';
import type { Check } from './checks.ts';
import type { Lesson, LessonStep } from './loader.ts';
import { HeadlessLab } from './headless.ts';
import { PredictionGate, replaySteps, rewindToStep, StepStart, STEP_RUN_LIMIT_MS } from './step-runner.ts';

/** Something wrong (or not walked) in a lesson, at a line of its file. */
export interface LessonFinding {
  file: string;
  line: number;
  /** The step's number, from 1. */
  step: number;
  title: string;
  what: string;
}

export interface Verdict {
  problems: LessonFinding[];
  /** Steps (or parts of them) the verifier could not walk headless, with why. */
  skipped: LessonFinding[];
}

export interface VerifyOptions {
  /** Seed of the stray actions (rule 4). */
  seed?: number;
  /** Rounds of stray actions tried on each step (3: the shipped lessons take a few seconds). */
  rounds?: number;
  /** Stray actions per round. */
  strays?: number;
  /** What Restart step does to the run; the app's rewindToStep unless a test asks what another would leave. */
  rewind?: (lab: HeadlessLab, lesson: Lesson, index: number) => Promise<void>;
}

export function formatFinding(f: LessonFinding): string {
  return `${f.file}:${f.line}: step ${f.step} "${f.title}": ${f.what}`;
}

/** How long (wall-clock) a student may take to read a step and answer its prediction (rule 5). */
export const READING_MS = 30_000;

const texts = (checks: Check[]) => checks.map((c) => `"${c.text}" (line ${c.line})`).join(', ');

/** The run after `do`: with Play pressed, time moves on until the checks hold (or the limit passes). */
async function settle(lab: HeadlessLab, step: LessonStep, start: StepStart): Promise<Check[]> {
  if (lab.playing && step.checks.length) await lab.cluster.runUntil(() => start.allHold(step, lab), STEP_RUN_LIMIT_MS);
  const held = start.held(step, lab);
  return step.checks.filter((_, i) => !held[i]);
}

async function perform(lab: HeadlessLab, actions: Action[]): Promise<string | null> {
  try {
    for (const a of actions) await runAction(lab, a);
    return null;
  } catch (e) {
    return `${actions.map(describeAction).join(', then ')} fails: ${(e as Error).message}`;
  }
}

/** Rule 3: checks no run of the lesson's scenario can meet. */
function impossible(lesson: Lesson, check: Check): string | null {
  const s = lesson.scenario;
  const added = lesson.steps.flatMap((st) => [...st.auto, ...st.actions]).reduce((n, a) => n + (a.op === 'add-worker' ? a.count : 0), 0);
  const most = s.workers + added;
  const args = check.args as Record<string, unknown>;
  if (check.name === 'workers') {
    const want = (args.count ?? args.min) as number;
    if (want > most) return `"${check.text}" can never hold: the scenario has ${s.workers} worker${s.workers === 1 ? '' : 's'} and the lesson's actions add ${added}`;
  }
  if (check.name === 'node-state' || check.name === 'excluded') {
    const m = /^worker (\d+)$/.exec((check.name === 'excluded' ? check.args : args.node) as string);
    if (m && Number(m[1]) > most) return `"${check.text}" can never hold: the scenario has ${s.workers} worker${s.workers === 1 ? '' : 's'} and the lesson's actions add ${added}, so there is no worker ${m[1]}`;
  }
  if (check.name === 'scenario') {
    const fields = Object.keys(DEFAULT_SCENARIOS[s.kind]);
    const wrong = Object.keys(args).filter((k) => !fields.includes(k));
    if (wrong.length) return `"${check.text}" can never hold: a ${s.kind} scenario has no ${wrong.join(', ')}`;
  }
  if (['pi-within', 'pi-off', 'pi-estimate'].includes(check.name) && s.kind !== 'pi') return `"${check.text}" can never hold: the scenario is ${s.kind}, not π`;
  return null;
}

/** A student's stray actions: a seeded mix of what the run's buttons do, with some wall-clock time between. */
async function strayActions(lab: HeadlessLab, rng: () => number, count: number): Promise<string[]> {
  const done: string[] = [];
  const pick = <T>(xs: T[]): T => xs[Math.floor(rng() * xs.length)];
  for (let i = 0; i < count; i++) {
    const nodes = [...lab.cluster.nodes.values()].filter((n) => n.life === 'running');
    const kind = pick(['kill', 'hang', 'add-worker', 'crash-restart', 'play', 'pause'] as const);
    if ((kind === 'kill' || kind === 'hang') && nodes.length) {
      const n = pick(nodes);
      if (kind === 'kill') lab.cluster.killNode(n.id);
      else lab.cluster.hangNode(n.id);
      done.push(`${kind} ${n.name}`);
    } else if (kind === 'crash-restart') {
      const binlog = rng() < 0.5;
      lab.cluster.crashServer();
      await lab.wait(rng() * 2000);
      await lab.cluster.restartServer(binlog);
      done.push(`crash and restart the server ${binlog ? 'with' : 'without'} its binlog`);
    } else if (kind === 'play') {
      lab.play();
      done.push('play');
    } else if (kind === 'pause') {
      lab.pause();
      done.push('pause');
    } else {
      lab.addWorker();
      done.push('add a worker');
    }
    const ms = Math.round(rng() * 3000);
    await lab.wait(ms);
    if (lab.playing) done.push(`wait ${ms} ms`);
  }
  return done;
}

/** Checks the lesson; every problem found, not only the first. */
export async function verifyLesson(lesson: Lesson, opts: VerifyOptions = {}): Promise<Verdict> {
  const verdict: Verdict = { problems: [], skipped: [] };
  const at = (list: LessonFinding[], i: number, line: number, what: string) => list.push({ file: lesson.file, line, step: i + 1, title: lesson.steps[i].title, what });

  lesson.steps.forEach((step, i) => {
    for (const c of step.checks) {
      const why = impossible(lesson, c);
      if (why) at(verdict.problems, i, c.line, why);
    }
  });

  // Rules 1 and 2, along the lesson's own path.
  const failedOnPath = new Set<number>();
  /** Steps with a prediction whose run is playing as the student is handed it (rule 5 reads them). */
  const predictWhilePlaying: number[] = [];
  const walkable = (step: LessonStep) => step.checks.length === 0 || step.actions.length > 0;
  const lab = new HeadlessLab();
  try {
    lab.loadScenario(lesson.scenario, lesson.seed);
    for (const [i, step] of lesson.steps.entries()) {
      const start = new StepStart(lab);
      const autoFailed = await perform(lab, step.auto);
      if (autoFailed) at(verdict.problems, i, step.line, `entering the step: ${autoFailed}`);
      if (step.predict && step.checks.length && lab.playing) predictWhilePlaying.push(i);
      if (step.checks.length && start.allHold(step, lab))
        at(verdict.problems, i, step.checks[0].line, `the checks already hold when the step begins, before the student acts: ${texts(step.checks)}`);
      if (!walkable(step)) {
        at(verdict.skipped, i, step.line, `not walked: no Do it for me, so ${texts(step.checks)} wait for the student alone; later steps run on without it`);
        continue;
      }
      const failed = await perform(lab, step.actions);
      if (failed) at(verdict.problems, i, step.line, `Do it for me: ${failed}`);
      const unmet = await settle(lab, step, start);
      if (unmet.length) {
        failedOnPath.add(i);
        at(verdict.problems, i, unmet[0].line, `after Do it for me the checks do not hold: ${texts(unmet)}`);
      }
    }
  } finally {
    lab.dispose();
  }

  // Rule 5: the student reads the step and answers, before acting, on a run that plays meanwhile.
  for (const i of predictWhilePlaying) {
    const step = lesson.steps[i];
    const lab = new HeadlessLab();
    try {
      lab.loadScenario(lesson.scenario, lesson.seed);
      if (!(await replaySteps(lab, lesson, i).then(() => true, () => false))) continue;
      const start = new StepStart(lab);
      await perform(lab, step.auto);
      const gate = new PredictionGate(lab, start.held(step, lab));
      await lab.wait(READING_MS);
      const held = start.held(step, lab);
      if (gate.observe(lab, held) || !gate.answer(step.predict!.answer)) {
        const seen = step.checks.filter((_, k) => held[k]);
        at(verdict.problems, i, step.line, `the prediction locks before the student can answer it: the run plays on by itself, and within ${READING_MS / 1000} s (at ×${lab.speed}) ${texts(seen)} ${seen.length === 1 ? 'holds' : 'hold'}; leave the run paused as the step begins (end its auto: with pause), so the student answers first`);
      }
    } finally {
      lab.dispose();
    }
  }

  // Rule 4: stray actions on each step, then Restart step and Do it for me, as the app does them; then on
  // through the later steps, where a run the student spoiled would show.
  const rounds = opts.rounds ?? 3;
  const strays = opts.strays ?? 6;
  for (const [i, step] of lesson.steps.entries()) {
    if (!step.checks.length || !step.actions.length) continue;
    for (let round = 0; round < rounds; round++) {
      const rng = mulberry32((opts.seed ?? 1) * 7919 + i * 101 + round);
      const lab = new HeadlessLab();
      try {
        lab.loadScenario(lesson.scenario, lesson.seed);
        // The lesson's own path to the step; where it fails, rules 1 and 2 have said so above.
        if (!(await replaySteps(lab, lesson, i).then(() => true, () => false))) break;
        await perform(lab, step.auto);
        const stray = await strayActions(lab, rng, strays);
        let start: StepStart;
        try {
          start = await restartStep(lab, lesson, i, opts.rewind ?? rewindToStep);
        } catch (e) {
          at(verdict.problems, i, step.line, `Restart step fails after ${stray.join(', ')}: ${(e as Error).message}`);
          continue;
        }
        const locked = await walkFrom(lab, lesson, i, start, failedOnPath);
        if (locked) {
          const [j, unmet] = locked;
          const where = j === i ? '' : ` in step ${i + 1}, and Do it for me through step ${j + 1}`;
          at(verdict.problems, j, unmet[0].line, `a student can be locked out: after ${stray.join(', ')}, then Restart step and Do it for me${where}, the checks do not hold: ${texts(unmet)}`);
        }
      } finally {
        lab.dispose();
      }
    }
  }
  return verdict;
}

/** Restart step, as the app's lesson runner does it (src/ui/lessons.svelte.ts); where the step now begins. */
async function restartStep(lab: HeadlessLab, lesson: Lesson, index: number, rewind: NonNullable<VerifyOptions['rewind']>): Promise<StepStart> {
  await rewind(lab, lesson, index);
  const start = new StepStart(lab);
  await perform(lab, lesson.steps[index].auto);
  return start;
}

/**
 * Do it for me on step `from` (already entered) and each step after it; the first step whose checks
 * are then unmet (and were met on the lesson's own path), or null.
 */
async function walkFrom(lab: HeadlessLab, lesson: Lesson, from: number, entered: StepStart, failedOnPath: Set<number>): Promise<[number, Check[]] | null> {
  for (let j = from; j < lesson.steps.length; j++) {
    const step = lesson.steps[j];
    if (step.checks.length && !step.actions.length) return null;
    const start = j === from ? entered : new StepStart(lab);
    if (j > from) await perform(lab, step.auto);
    await perform(lab, step.actions);
    const unmet = await settle(lab, step, start);
    if (unmet.length && !failedOnPath.has(j)) return [j, unmet];
  }
  return null;
}
