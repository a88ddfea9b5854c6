// Predictions come before the action they predict (issue 13): while a step's prediction is unanswered,
// acting on the run locks it until Restart step; an answer given first works as before. Walked on the
// shipped lesson 4's "Hang worker 2" step, headless, through the same step code as the app.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { parseLesson } from '../../src/lessons/loader.ts';
import { HeadlessLab } from '../../src/lessons/headless.ts';
import { PredictionGate, replaySteps, rewindToStep, StepStart } from '../../src/lessons/step-runner.ts';
import { runAction } from '../../src/lessons/actions.ts';

const FILE = 'lessons/04-worker-failure/index.md';
const lesson = parseLesson(FILE, readFileSync(FILE, 'utf8'));
const HANG = lesson.steps.findIndex((s) => s.title === 'Hang worker 2');
const step = lesson.steps[HANG];

const labs: HeadlessLab[] = [];
afterEach(() => {
  for (const lab of labs.splice(0)) lab.dispose();
});

/** Lesson 4 at the start of its Hang step, as the student is handed the run: the lab, where the step began, its prediction's gate. */
async function atHangStep() {
  const lab = new HeadlessLab();
  labs.push(lab);
  lab.loadScenario(lesson.scenario, lesson.seed);
  await replaySteps(lab, lesson, HANG);
  return enter(lab);
}

async function enter(lab: HeadlessLab) {
  const start = new StepStart(lab);
  for (const a of step.auto) await runAction(lab, a);
  const gate = new PredictionGate(lab, start.held(step, lab));
  const observe = () => gate.observe(lab, start.held(step, lab));
  return { lab, gate, observe };
}

const worker = (lab: HeadlessLab, name: string) => [...lab.cluster.nodes.values()].find((n) => n.name === name)!;

describe('a prediction is answered before the action it predicts', () => {
  test('the Hang step has a prediction and starts paused (the rule applies to it)', async () => {
    const { lab, observe } = await atHangStep();
    expect(step.predict).not.toBeNull();
    expect(lab.playing).toBe(false);
    expect(observe()).toBe(false);
  });

  test('pressing Hang before answering locks the prediction, and the answer is refused', async () => {
    const { lab, gate, observe } = await atHangStep();
    lab.cluster.hangNode(worker(lab, 'worker 2').id);
    expect(observe()).toBe(true);
    expect(gate.answer(step.predict!.answer)).toBe(false);
    expect(gate.chosen).toBeNull();
  });

  test('pressing Step on the paused run before answering locks it too (time moved)', async () => {
    const { lab, observe } = await atHangStep();
    await lab.step();
    expect(observe()).toBe(true);
  });

  test('a command typed into the console before answering locks it', async () => {
    const { lab, observe } = await atHangStep();
    lab.console.send('stats');
    expect(observe()).toBe(true);
  });

  test('on a run the step leaves playing, time moving is no action, but a check coming to hold locks it', async () => {
    const { lab } = await atHangStep();
    // As if the step's automatic actions had hung worker 2 and pressed Play.
    lab.cluster.hangNode(worker(lab, 'worker 2').id);
    lab.play();
    const start = new StepStart(lab);
    const gate = new PredictionGate(lab, start.held(step, lab));
    await lab.wait(3000);
    expect(gate.observe(lab, start.held(step, lab))).toBe(false);
    await lab.cluster.runUntil(() => start.held(step, lab)[0], 600_000);
    expect(gate.observe(lab, start.held(step, lab))).toBe(true);
  });

  test('an answer given first works as before: acting afterwards does not lock it, and the step can be done', async () => {
    const { lab, gate, observe } = await atHangStep();
    expect(gate.answer(1)).toBe(true);
    expect(gate.answer(2)).toBe(false);
    expect(gate.chosen).toBe(1);
    for (const a of step.actions) await runAction(lab, a);
    expect(observe()).toBe(false);
  });

  test('Restart step puts the run back and opens a fresh prediction', async () => {
    const { lab, observe } = await atHangStep();
    lab.cluster.hangNode(worker(lab, 'worker 2').id);
    expect(observe()).toBe(true);
    await rewindToStep(lab, lesson, HANG);
    const again = await enter(lab);
    expect(worker(lab, 'worker 2').life).toBe('running');
    expect(again.observe()).toBe(false);
    expect(again.gate.answer(step.predict!.answer)).toBe(true);
  });
});
