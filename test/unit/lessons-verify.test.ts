// The lesson verifier (npm run lessons:check): each of its rules catches a small bad lesson and passes
// the good one beside it; every problem of a file is reported; and the two lesson defects of issue 13
// (lesson 5's lock-out, lesson 3's check on the previous experiment) stay fixed. That every shipped
// lesson passes is `npm run lessons:check` itself, a part of `npm test`.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseLesson, type Lesson } from '../../src/lessons/loader.ts';
import { formatFinding, verifyLesson } from '../../src/lessons/verify.ts';
import { HeadlessLab } from '../../src/lessons/headless.ts';
import { replaySteps, rewindToStep, StepStart } from '../../src/lessons/step-runner.ts';
import { runAction } from '../../src/lessons/actions.ts';
import type { SpeedupPoint } from '../../src/sim/experiment.ts';

const FILE = 'lessons/99-test/index.md';

/** A lesson file of the given steps (each a title and its ```step block's YAML lines) on a π scenario. */
function lesson(scenario: string, ...steps: [string, string[]][]): Lesson {
  const text = ['---', 'title: Test', `scenario: ${scenario}`, '---', ''];
  for (const [title, block] of steps) text.push(`## ${title}`, '', 'Text.', '', '```step', ...block, '```', '');
  return parseLesson(FILE, text.join('\n'));
}

const problems = async (l: Lesson) => (await verifyLesson(l)).problems.map(formatFinding);

const PUT = ['check:', '  - console-reply: INSERTED', 'do:', '  - console: [put 0 0 60 1, x]'];

describe('rule 1: a check that already holds when its step begins', () => {
  test('a step whose checks the previous step already met is reported, with its line', async () => {
    const bad = lesson('{ workers: 0 }', ['Put', PUT], ['Again', ['check:', '  - tube-jobs: { state: ready, count: 1 }', 'do:', '  - console: [put 0 0 60 1, y]']]);
    // Line 23 is the second step's check.
    expect(await problems(bad)).toEqual([
      `${FILE}:23: step 2 "Again": the checks already hold when the step begins, before the student acts: "the server has 1 ready job" (line 23)`,
      `${FILE}:23: step 2 "Again": after Do it for me the checks do not hold: "the server has 1 ready job" (line 23)`,
    ]);
  });

  test('a step whose check waits for something new passes', async () => {
    const good = lesson('{ workers: 0 }', ['Put', PUT], ['Again', ['check:', '  - tube-jobs: { state: ready, count: 2 }', 'do:', '  - console: [put 0 0 60 1, y]']]);
    expect(await problems(good)).toEqual([]);
  });

  test('console checks read only the step’s own console lines, so a reply of the last step does not count', async () => {
    const good = lesson('{ workers: 0 }', ['Put', PUT], ['Put again', PUT]);
    expect(await problems(good)).toEqual([]);
  });
});

describe('rule 2: Do it for me must meet the checks', () => {
  test('a Do it for me that does not do what the checks want is reported', async () => {
    const bad = lesson('{ workers: 0 }', ['Put', ['check:', '  - tube-jobs: { state: ready, count: 2 }', 'do:', '  - console: [put 0 0 60 1, x]']]);
    expect(await problems(bad)).toEqual([`${FILE}:12: step 1 "Put": after Do it for me the checks do not hold: "the server has 2 ready jobs" (line 12)`]);
  });

  test('a Do it for me that cannot be done is reported with why', async () => {
    const bad = lesson('{ workers: 1 }', ['Kill', ['check:', '  - workers: { count: 0 }', 'do:', '  - kill: worker 7']]);
    expect(await problems(bad)).toEqual([
      `${FILE}:6: step 1 "Kill": Do it for me: kill worker 7 fails: there is no node called worker 7`,
      `${FILE}:12: step 1 "Kill": after Do it for me the checks do not hold: "the cluster has 0 running workers" (line 12)`,
    ]);
  });

  test('with Play pressed, the run goes on until the checks hold', async () => {
    const good = lesson('{ workers: 2, jobs: 4, darts: 400000 }', ['Run', ['check:', '  - pi-within: 0.05', 'do:', '  - start-producer', '  - play']]);
    expect(await problems(good)).toEqual([]);
  });

  test('reset sets scenario values and starts a fresh, paused run, as the top bar\'s Reset', async () => {
    const good = lesson('{ workers: 1, jobs: 4 }', ['Fewer jobs', ['check:', '  - scenario: { jobs: 2, workers: 0 }', '  - workers: { count: 0 }', 'do:', '  - play', '  - reset: { jobs: 2, workers: 0 }']]);
    expect(await problems(good)).toEqual([]);
    const lab = new HeadlessLab();
    try {
      lab.loadScenario(good.scenario, good.seed);
      const before = lab.cluster;
      lab.play();
      for (const a of good.steps[0].actions) await runAction(lab, a);
      expect(lab.cluster).not.toBe(before);
      expect(lab.playing).toBe(false);
      expect(lab.scenario).toMatchObject({ kind: 'pi', jobs: 2, workers: 0 });
    } finally {
      lab.dispose();
    }
  });

  test('speedup-experiment runs the Speedup tab\'s experiment on the current run, in virtual time', async () => {
    const good = lesson('{ workers: 2, jobs: 4, darts: 400000 }', ['Measure', ['check:', '  - speedup: { workers: 4, min: 2.5 }', 'do:', '  - speedup-experiment: [1, 4]']]);
    expect(await problems(good)).toEqual([]);
    const bad = lesson('{ workers: 2, jobs: 4, darts: 400000 }', ['Measure', ['check:', '  - speedup: { workers: 4, min: 2.5 }', 'do:', '  - speedup-experiment: [1, 2]']]);
    expect(await problems(bad)).toEqual([`${FILE}:12: step 1 "Measure": after Do it for me the checks do not hold: "the speedup experiment measured a speedup ≥ 2.5 with 4 workers" (line 12)`]);
  });

  test('a step the verifier cannot walk (no Do it for me) is named as skipped, not passed', async () => {
    const l = lesson('{ workers: 2 }', ['Measure', ['check:', '  - speedup: { workers: 2, min: 1.5 }']]);
    const verdict = await verifyLesson(l);
    expect(verdict.problems).toEqual([]);
    expect(verdict.skipped.map(formatFinding)).toEqual([
      `${FILE}:6: step 1 "Measure": not walked: no Do it for me, so "the speedup experiment measured a speedup ≥ 1.5 with 2 workers" (line 12) wait for the student alone; later steps run on without it`,
    ]);
  });
});

describe('rule 3: a check that can never hold in the scenario', () => {
  test('workers: { min: 3 } in a 2-worker scenario where no step adds one', async () => {
    const bad = lesson('{ workers: 2 }', ['Three', ['check:', '  - workers: { min: 3 }', 'do:', '  - play']]);
    expect((await problems(bad))[0]).toBe(`${FILE}:12: step 1 "Three": "the cluster has at least 3 running workers" can never hold: the scenario has 2 workers and the lesson's actions add 0`);
  });

  test('the same check passes when a step adds the third worker', async () => {
    const good = lesson('{ workers: 2 }', ['Three', ['check:', '  - workers: { min: 3 }', 'do:', '  - add-worker']]);
    expect(await problems(good)).toEqual([]);
  });

  test('a scenario field of another kind, and π in a matrix run', async () => {
    const bad = lesson('{ kind: matrix, n: 4 }', ['Wrong', ['check:', '  - scenario: { darts: 100 }', '  - pi-within: 0.1', 'do:', '  - play']]);
    const found = await problems(bad);
    expect(found).toContain(`${FILE}:12: step 1 "Wrong": "the run was started (Reset) with darts = 100" can never hold: a matrix scenario has no darts`);
    expect(found).toContain(`${FILE}:13: step 1 "Wrong": "the producer's π is within 0.1 of π" can never hold: the scenario is matrix, not π`);
  });
});

describe('rule 4: stray actions, then Restart step and Do it for me', () => {
  test('Restart step puts the run back: a student who ran every job while playing still passes a step that counts ready jobs', async () => {
    const l = lesson(
      '{ workers: 0, jobs: 4, darts: 400000 }',
      ['Put', ['check:', '  - tube-jobs: { tube: msg_for_worker, state: ready, count: 4 }', 'do:', '  - start-producer', '  - play']],
      ['Count', ['check:', '  - tube-jobs: { tube: msg_for_worker, state: reserved, count: 1 }', 'do:', '  - pause', '  - add-worker', '  - step-until: { tube-jobs: { tube: msg_for_worker, state: reserved, count: 1 } }', '  - hang: worker 1']],
    );
    const lab = new HeadlessLab();
    try {
      lab.loadScenario(l.scenario, l.seed);
      await replaySteps(lab, l, 1);
      // The student adds two workers with the run playing: every job is done.
      lab.addWorker();
      lab.addWorker();
      await lab.cluster.runUntil(() => lab.cluster.model.totals().ready + lab.cluster.model.totals().reserved === 0, 60_000);
      expect(lab.cluster.model.totals().ready).toBe(0);
      await rewindToStep(lab, l, 1);
      const start = new StepStart(lab);
      for (const a of l.steps[1].actions) await runAction(lab, a);
      expect(start.held(l.steps[1], lab)).toEqual([true]);
    } finally {
      lab.dispose();
    }
    expect(await problems(l)).toEqual([]);
  });

  test('with a Restart step that only clears the checks (as before issue 13), the same lesson locks a student out, and the verifier says how', async () => {
    const l = lesson(
      '{ workers: 0, jobs: 4, darts: 400000 }',
      ['Put', ['check:', '  - tube-jobs: { tube: msg_for_worker, state: ready, count: 4 }', 'do:', '  - start-producer', '  - play']],
      ['Count', ['check:', '  - tube-jobs: { tube: msg_for_worker, state: reserved, count: 1 }', 'do:', '  - pause', '  - add-worker', '  - step-until: { tube-jobs: { tube: msg_for_worker, state: reserved, count: 1 } }', '  - hang: worker 1']],
    );
    const found = (await verifyLesson(l, { rewind: async () => {}, rounds: 4 })).problems.map(formatFinding);
    expect(found.length).toBeGreaterThan(0);
    for (const p of found) expect(p).toMatch(/^lessons\/99-test\/index\.md:\d+: step \d "\w+": a student can be locked out: after .+, then Restart step and Do it for me.*, the checks do not hold: /);
  });
});

test('every problem of a file is reported, not only the first', async () => {
  const bad = lesson(
    '{ workers: 0 }',
    ['One', ['check:', '  - tube-jobs: { state: ready, count: 2 }', 'do:', '  - console: [put 0 0 60 1, x]']],
    ['Two', ['check:', '  - workers: { count: 5 }', 'do:', '  - add-worker']],
  );
  const found = await problems(bad);
  expect(found.some((p) => p.includes('step 1 "One"'))).toBe(true);
  expect(found.some((p) => p.includes('step 2 "Two"') && p.includes('can never hold'))).toBe(true);
});

describe('rule 5: a prediction is answered before the run shows its outcome', () => {
  const PREDICT = ['predict:', '  question: Will the run reach π?', '  choices: [Yes, No]', '  answer: 1', '  explain: It will.'];
  const RUN = ['check:', '  - pi-within: 0.1', 'do:', '  - play'];

  test('a step that leaves the run playing into its checks is reported: the prediction locks before the student can answer', async () => {
    const bad = lesson('{ workers: 2, jobs: 2, darts: 200000 }', ['Run', ['auto:', '  - start-producer', '  - play', ...PREDICT, ...RUN]]);
    expect(await problems(bad)).toEqual([
      `${FILE}:6: step 1 "Run": the prediction locks before the student can answer it: the run plays on by itself, and within 30 s (at ×1) "the producer's π is within 0.1 of π" (line 20) holds; leave the run paused as the step begins (end its auto: with pause), so the student answers first`,
    ]);
  });

  test('the same step with the run left paused passes: the student answers, then presses Play', async () => {
    const good = lesson('{ workers: 2, jobs: 2, darts: 200000 }', ['Run', ['auto:', '  - start-producer', ...PREDICT, ...RUN]]);
    expect(await problems(good)).toEqual([]);
  });
});

describe('the shipped lessons (issue 13)', () => {
  const shipped = (id: string) => parseLesson(`lessons/${id}/index.md`, readFileSync(`lessons/${id}/index.md`, 'utf8'));

  test('lesson 5: a student who adds the worker of step 3 while the run plays gets six ready jobs in step 4 by Restart step and Do it for me', async () => {
    const l = shipped('05-server-failure');
    const lab = new HeadlessLab();
    try {
      lab.loadScenario(l.scenario, l.seed);
      await replaySteps(lab, l, 2);
      for (const a of l.steps[2].auto) await runAction(lab, a);
      // Step 3, as the student of the issue did it: Play at ×10 still on, a worker added, time passing.
      lab.speed = 10;
      lab.play();
      lab.addWorker();
      await lab.wait(500);
      // Do it for me, then on to step 4 (the lesson pane shows an action that fails, and the student goes on).
      for (const a of l.steps[2].actions) await runAction(lab, a).catch(() => {});
      // Step 4: Restart step, then Do it for me.
      await rewindToStep(lab, l, 3);
      const start = new StepStart(lab);
      for (const a of [...l.steps[3].auto, ...l.steps[3].actions]) await runAction(lab, a);
      expect(lab.cluster.model.totals().ready).toBe(6);
      expect(start.held(l.steps[3], lab)).toEqual([true, true]);
    } finally {
      lab.dispose();
    }
  });

  test('lesson 5 step 3 pauses the run as it begins: its Step needs the run paused', async () => {
    const l = shipped('05-server-failure');
    expect(l.steps[2].auto).toEqual([{ op: 'pause' }]);
  });

  test('lesson 3 step 4: the speedup check reads an experiment run during the step, not the previous step’s', () => {
    const l = shipped('03-speedup');
    const step4 = l.steps[3];
    const lab = new HeadlessLab();
    try {
      lab.loadScenario(l.scenario, l.seed);
      // Step 3's experiment, with K = 2: a speedup of about 2 with 8 workers.
      const point = (speedup: number): SpeedupPoint => ({ workers: 8, speedup }) as SpeedupPoint;
      /** The Speedup tab's experiment on the current run. */
      const experiment = (speedup: number) => {
        lab.speedupPoints = [point(1), point(speedup)];
        lab.speedupRun = lab.cluster;
      };
      lab.loadScenario({ ...l.scenario, jobs: 2 } as typeof l.scenario, l.seed);
      experiment(2);
      const start = new StepStart(lab);
      // Step 4: the student sets darts and jobs and presses Reset, but runs no experiment.
      lab.loadScenario({ ...l.scenario, darts: 80000, jobs: 64 } as typeof l.scenario, l.seed);
      expect(start.held(step4, lab)).toEqual([true, false]);
      experiment(2.6);
      expect(start.held(step4, lab)).toEqual([true, true]);
    } finally {
      lab.dispose();
    }
  });

  test('lesson 3 step 4: an experiment run during the step but before the Reset measured the old scenario, and does not count', () => {
    const l = shipped('03-speedup');
    const lab = new HeadlessLab();
    try {
      lab.loadScenario({ ...l.scenario, jobs: 2 } as typeof l.scenario, l.seed);
      const start = new StepStart(lab);
      lab.speedupPoints = [{ workers: 8, speedup: 2 } as SpeedupPoint];
      lab.speedupRun = lab.cluster;
      lab.loadScenario({ ...l.scenario, darts: 80000, jobs: 64 } as typeof l.scenario, l.seed);
      expect(start.held(l.steps[3], lab)).toEqual([true, false]);
    } finally {
      lab.dispose();
    }
  });

  test('a step\'s checks are read in order up to the first that does not hold: lesson 12 reads no job history before its producer is done', () => {
    const l = shipped('12-queueing');
    const step = l.steps.find((x) => x.checks.map((c) => c.name).join() === 'producer-done,mean-wait')!;
    const lab = new HeadlessLab();
    try {
      lab.loadScenario(l.scenario, l.seed);
      const history = lab.cluster.history;
      const records = history.records;
      let reads = 0;
      Object.defineProperty(history, 'records', { get: () => (reads++, records) });
      const start = new StepStart(lab);
      expect(start.allHold(step, lab)).toBe(false);
      expect(reads).toBe(0);
      expect(start.held(step, lab)).toEqual([false, false]);
      expect(reads).toBeGreaterThan(0);
    } finally {
      lab.dispose();
    }
  });
});
