// Every lesson walked the way a student would, in headless Chromium at 1280×720: pick it, read, predict,
// use the real controls (console, Step, Play, Kill, Crash server, the Speedup tab), and Next only once
// the step's checks hold on the live cluster. Plus a broken lesson file and remembered progress.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import { openLab, SCREENSHOTS, type Lab } from './browser.ts';
import { checksDone, doIt, finish, next, predict, runSpeedup, scenario, startLesson, stepTitle, type } from './lesson-walk.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

const start = (title: string) => startLesson(lab, title);

test('lesson 1, first contact: put, reserve and delete at the console; a TTR runs out', async () => {
  const { page, errors } = await start('First contact');
  // Next is disabled while a step's checks have not held.
  await next(page);
  expect(await stepTitle(page)).toBe('Step 2 of 6 Put a job');
  await expect.poll(() => page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
  await type(page, 'put 0 0 60 4', 'Job1');
  await checksDone(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-01-put.png') });
  await next(page);
  await predict(page, 'reserved');
  await type(page, 'reserve');
  await next(page);
  await type(page, 'delete 1');
  await next(page);
  await predict(page, 'ready again');
  await doIt(page);
  await next(page);
  await finish(page, errors, 'lesson-01-done.png');
});

test('lesson 2, producer and consumer: two tubes, a run to π, the console as worker and producer', async () => {
  const { page, errors } = await start('Producer and consumer');
  await next(page);
  await predict(page, 'A waiting worker reserves it at once');
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  const nextButton = page.getByRole('button', { name: 'Next' });
  for (let i = 0; i < 80 && (await nextButton.isDisabled()); i++) await page.getByRole('button', { name: 'Step', exact: true }).click();
  await next(page);
  await page.getByLabel('Speed', { exact: true }).selectOption('0.1');
  await page.getByRole('button', { name: 'Play' }).click();
  await next(page);
  await type(page, 'use msg_for_worker', 'put 0 0 60 9', 'pi 1000 7', 'watch msg_for_client', 'ignore default', 'reserve');
  await checksDone(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-02-console.png') });
  await next(page);
  await next(page);
  // Find the bug: the report's client.py as printed, then fixed.
  await predict(page, 'About 1.05 (π/3)');
  await scenario(page, { Jobs: 3 });
  await page.getByLabel('client.py as printed').check();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  await checksDone(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-02-as-printed.png') });
  await next(page);
  await scenario(page, { Jobs: 3 });
  await page.getByLabel('client.py as printed').uncheck();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await checksDone(page);
  await finish(page, errors, 'lesson-02-done.png');
});

test('lesson 3, speedup: the experiment at three granularities', async () => {
  const { page, errors } = await start('Speedup');
  await next(page);
  await predict(page, 'a little under 8');
  await runSpeedup(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-03-speedup.png') });
  await next(page);
  await predict(page, 'about 2');
  await scenario(page, { Jobs: 2 });
  await runSpeedup(page);
  await next(page);
  await predict(page, 'around 2 or 3');
  await scenario(page, { Darts: 80000, Jobs: 64 });
  await runSpeedup(page);
  await next(page);
  await finish(page, errors, 'lesson-03-done.png');
});

test('lesson 3 by Do it for me: Reset with the step\'s values and the experiment in virtual time; the Speedup tab shows its points', async () => {
  const { page, errors } = await start('Speedup');
  await next(page);
  await predict(page, 'a little under 8');
  await doIt(page);
  // The experiment's runs take real time in the page's Web Workers.
  await checksDone(page, 90_000);
  await next(page);
  await predict(page, 'about 2');
  await doIt(page);
  await checksDone(page, 90_000);
  await expect.poll(() => page.getByLabel('Jobs', { exact: true }).inputValue()).toBe('2');
  await page.getByRole('tab', { name: 'Speedup' }).click();
  await expect.poll(() => page.getByRole('table').first().textContent()).toMatch(/8/);
  await next(page);
  await predict(page, 'around 2 or 3');
  await doIt(page);
  await checksDone(page, 90_000);
  await next(page);
  await finish(page, errors, 'lesson-03-do-it.png');
});

test('lesson 4, worker failure and TTR: kill, hang, duplicate execution, touch, the seed bug', async () => {
  const { page, errors } = await start('Worker failure and TTR');
  await doIt(page);
  await next(page);
  await predict(page, 'At once');
  await page.getByRole('button', { name: 'Kill worker 1' }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-04-kill.png') });
  await next(page);
  await predict(page, 'When its TTR runs out, 10 seconds after the reserve');
  await page.getByRole('button', { name: 'Hang worker 2' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  await next(page);
  await predict(page, 'Two or more workers run it — its work is done more than once');
  await doIt(page);
  await next(page);
  await doIt(page);
  await next(page);
  await predict(page, 'It is deleted — lost — and a bogus result is sent');
  await doIt(page);
  await checksDone(page);
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-04-bug.png') });
  await finish(page, errors, 'lesson-04-done.png');
});

test('lesson 5, server failure and the binlog: what survives, resume logic, the race', async () => {
  const { page, errors } = await start('Server failure and the binlog');
  await doIt(page);
  await next(page);
  await predict(page, '6');
  await page.getByRole('button', { name: 'Crash server' }).click();
  await page.getByRole('button', { name: 'Restart server with binlog' }).click();
  await next(page);
  await doIt(page);
  await checksDone(page);
  // Hung in the middle of its job: no result has been put yet.
  expect(await page.evaluate(() => (window as unknown as { __beanlab: { cluster: { model: { tubes: Map<string, { counts: { ready: number } }> } } } }).__beanlab.cluster.model.tubes.get('msg_for_client')?.counts.ready ?? 0)).toBe(0);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-05-hung.png') });
  await next(page);
  await predict(page, 'It is ready again');
  await page.getByRole('button', { name: 'Crash server' }).click();
  await page.getByRole('button', { name: 'Restart server with binlog' }).click();
  await next(page);
  await page.getByRole('button', { name: 'Restart producer' }).click();
  const nextButton = page.getByRole('button', { name: 'Next' });
  for (let i = 0; i < 40 && (await nextButton.isDisabled()); i++) await page.getByRole('button', { name: 'Step', exact: true }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-05-resume.png') });
  await next(page);
  await doIt(page);
  await next(page);
  await predict(page, 'Nothing');
  await doIt(page);
  await next(page);
  await predict(page, 'It waits for ever for results that never come');
  await finish(page, errors, 'lesson-05-done.png');
});

test('lesson 5, a student who plays on in step 3: Restart step puts the six jobs back, Do it for me and step 4 then pass', async () => {
  const { page, errors } = await start('Server failure and the binlog');
  type Counts = { __beanlab: { paused: boolean; cluster: { model: { tubes: Map<string, { counts: { ready: number; reserved: number } }> } } } };
  const counts = () => page.evaluate(() => ({ ...(window as unknown as Counts).__beanlab.cluster.model.tubes.get('msg_for_worker')?.counts, paused: (window as unknown as Counts).__beanlab.paused }));
  await doIt(page);
  await next(page);
  await predict(page, '6');
  await doIt(page);
  await next(page);
  // Step 3 pauses the run as it begins; the student plays on anyway with a worker, and it runs jobs.
  await expect.poll(async () => (await counts()).paused).toBe(true);
  await page.getByRole('button', { name: 'Add worker' }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await expect.poll(async () => (await counts()).ready ?? 6, { timeout: 30_000 }).toBeLessThan(5);
  await page.getByRole('button', { name: 'Restart step' }).click();
  await expect.poll(counts).toMatchObject({ ready: 6, reserved: 0, paused: true });
  await doIt(page);
  await checksDone(page);
  await next(page);
  await predict(page, 'It is ready again');
  await doIt(page);
  await checksDone(page);
  expect((await counts()).ready).toBe(6);
  expect(errors).toEqual([]);
  await page.close();
});

test('lesson 6, matrix multiplication with a shared store: per cell against row blocks', async () => {
  const { page, errors } = await start('Matrix multiplication with a shared store');
  await next(page);
  await page.getByRole('button', { name: /^Start producer/ }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  await next(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-06-cells.png') });
  await next(page);
  await predict(page, 'About a tenth or fewer');
  await page.getByRole('combobox', { name: 'Jobs', exact: true }).selectOption('row-block');
  await scenario(page, { 'Rows per job': 4 });
  await page.getByRole('button', { name: /^Start producer/ }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await next(page);
  await predict(page, 'Jobs ×4, work per job ×2');
  await finish(page, errors, 'lesson-06-done.png');
});

test('lesson 7, priorities, delays, bury and kick; rq states', async () => {
  const { page, errors } = await start('Priorities, delays, bury and kick');
  await predict(page, 'job 2, "high" (priority 1)');
  await type(page, 'put 10 0 60 3', 'low', 'put 1 0 60 4', 'high', 'reserve');
  await next(page);
  await type(page, 'delete 2', 'put 0 5 60 5', 'later');
  await page.getByRole('button', { name: 'Play' }).click();
  await next(page);
  await type(page, 'reserve', 'bury 3 0');
  await next(page);
  await type(page, 'kick 10');
  await next(page);
  await type(page, 'rq feed 2', 'rq submit sleep ms=500 count=4', 'rq submit fail', 'rq submit sleep delay=60', 'rq status');
  await next(page);
  await type(page, 'rq list dead');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-07-rq.png') });
  await finish(page, errors, 'lesson-07-done.png');
});

test('lesson 8, real nodes: more workers, live time, failures of real machines', async () => {
  const { page, errors } = await start('Real nodes');
  await next(page);
  await page.getByRole('button', { name: 'Add worker' }).click();
  await page.getByRole('button', { name: 'Add worker' }).click();
  await next(page);
  await predict(page, 'The real speed of the machine running the worker');
  await page.getByLabel('Mode', { exact: true }).selectOption('live');
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await next(page);
  await predict(page, 'A hang — the job comes back when its TTR runs out');
  await next(page);
  await finish(page, errors, 'lesson-08-done.png');
});

test('lesson 9, sample sort: buckets, load imbalance, the job size limit', async () => {
  const { page, errors } = await start('A parallel algorithm — sample sort');
  await next(page);
  await doIt(page);
  await next(page);
  await predict(page, 'Uneven — some twice the size of others');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-09-buckets.png') });
  await next(page);
  await predict(page, 'The producer stops: a bucket is too big to be a job');
  await scenario(page, { Buckets: 2 });
  await page.getByRole('button', { name: /^Start producer/ }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await next(page);
  await scenario(page, { Buckets: 16 });
  await page.getByRole('button', { name: /^Start producer/ }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await finish(page, errors, 'lesson-09-done.png');
});

test('Next waits for "Do it for me" to finish: a step whose checks hold halfway through its actions does not hand the rest to the next step', async () => {
  const { page, errors } = await start('Worker failure and TTR');
  // Every frame from the click on: whether Do it for me still acts (disabled) while Next is enabled.
  await page.evaluate(() => {
    const w = window as unknown as { __both: number; __frames: number; __watching: boolean };
    const button = (name: RegExp) => [...document.querySelectorAll('button')].find((b) => name.test(b.textContent ?? '')) as HTMLButtonElement | undefined;
    w.__both = 0;
    w.__frames = 0;
    w.__watching = true;
    const look = () => {
      const doIt = button(/^Do it for me$/);
      const next = button(/^(Next|Finish)$/);
      w.__frames++;
      if (doIt?.disabled && next && !next.disabled) w.__both++;
      if (w.__watching) requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  await doIt(page);
  await checksDone(page);
  const nextButton = page.getByRole('navigation', { name: 'Lesson steps' }).getByRole('button', { name: 'Next' });
  await expect.poll(() => nextButton.isEnabled()).toBe(true);
  const seen = await page.evaluate(() => {
    const w = window as unknown as { __both: number; __frames: number; __watching: boolean };
    w.__watching = false;
    return { both: w.__both, frames: w.__frames };
  });
  expect(seen.frames).toBeGreaterThan(5);
  expect(seen.both).toBe(0);
  await next(page);
  // The next step's prediction is open: nothing of step 1's actions played into it.
  await predict(page, 'At once');
  expect(await page.getByRole('alert').filter({ hasText: 'You acted before predicting' }).count()).toBe(0);
  expect(errors).toEqual([]);
  await page.close();
});

test('a prediction comes before the action it predicts: lesson 4, Hang pressed before answering locks it until Restart step', async () => {
  const { page, errors } = await start('Worker failure and TTR');
  await doIt(page);
  await next(page);
  await predict(page, 'At once');
  await page.getByRole('button', { name: 'Kill worker 1' }).click();
  await next(page);
  expect(await stepTitle(page)).toBe('Step 3 of 6 Hang worker 2');
  const right = page.getByRole('button', { name: 'When its TTR runs out, 10 seconds after the reserve', exact: true });
  const nextButton = page.getByRole('navigation', { name: 'Lesson steps' }).getByRole('button', { name: 'Next' });
  const locked = page.getByRole('alert').filter({ hasText: 'You acted before predicting — press Restart step to put the cluster back and predict first' });
  // The student acts first: the prediction is locked, its choices and Next disabled.
  await page.getByRole('button', { name: 'Hang worker 2' }).click();
  await locked.waitFor();
  expect(await right.isDisabled()).toBe(true);
  expect(await nextButton.isDisabled()).toBe(true);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-04-acted-first.png') });
  // Restart step puts worker 2 back and opens the prediction again.
  await page.getByRole('button', { name: 'Restart step' }).click();
  await expect.poll(() => right.isEnabled()).toBe(true);
  expect(await locked.count()).toBe(0);
  expect(await page.getByRole('button', { name: 'Hang worker 2' }).isEnabled()).toBe(true);
  await predict(page, 'When its TTR runs out, 10 seconds after the reserve');
  await doIt(page);
  await checksDone(page, 60_000);
  await expect.poll(() => nextButton.isEnabled()).toBe(true);
  await next(page);
  expect(await stepTitle(page)).toBe('Step 4 of 6 A TTR shorter than the work');
  expect(errors).toEqual([]);
  await page.close();
});

test('progress is remembered: reload resumes at the step; Reset lesson starts over', async () => {
  const { page, errors } = await start('Producer and consumer');
  await next(page);
  expect(await stepTitle(page)).toMatch(/^Step 2 of 7/);
  await page.reload();
  await expect.poll(() => stepTitle(page)).toMatch(/^Step 2 of 7/);
  await page.getByRole('button', { name: 'Back', exact: true }).click();
  await expect.poll(() => stepTitle(page)).toMatch(/^Step 1 of 7/);
  await next(page);
  await page.getByRole('button', { name: 'Reset lesson' }).click();
  await expect.poll(() => stepTitle(page)).toMatch(/^Step 1 of 7/);
  // A link can open a lesson directly (an instructor's handout).
  await page.goto(`${lab.url}?lesson=03-speedup`);
  await expect.poll(() => page.locator('#lesson-content h2').textContent()).toBe('3. Speedup');
  expect(await page.getByLabel('Jobs', { exact: true }).inputValue()).toBe('8');
  expect(errors).toEqual([]);
  await page.close();
});

test('a broken lesson file shows a clear error naming the file and the line; a good one opens', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByRole('button', { name: 'Lessons', exact: true }).click();
  const broken = ['---', 'title: Broken', '---', '', '## One', '', '```step', 'check:', '  - job-state: { job: 1, state: finished }', '```', ''].join('\n');
  await page.getByLabel('Lesson file to open').setInputFiles({ name: 'broken.md', mimeType: 'text/markdown', buffer: Buffer.from(broken) });
  const alert = page.getByRole('alert');
  await expect.poll(() => alert.textContent()).toMatch(/broken\.md:9\s*check job-state: state must be one of ready, delayed, reserved, buried, deleted, not "finished"/);
  // The bundled lessons are still there.
  expect(await page.getByRole('combobox', { name: 'Lesson' }).locator('option').count()).toBeGreaterThanOrEqual(8);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-broken.png') });

  const good = ['---', 'title: My trial lesson', 'scenario: { workers: 1 }', '---', '', '## Hello', '', 'Type `stats`.', '', '```step', 'check: { console-reply: "OK" }', '```', ''].join('\n');
  await page.getByLabel('Lesson file to open').setInputFiles({ name: 'trial.md', mimeType: 'text/markdown', buffer: Buffer.from(good) });
  await expect.poll(() => page.locator('#lesson-content h2').textContent()).toMatch(/My trial lesson/);
  expect(await alert.textContent()).toMatch(/broken\.md/);
  await type(page, 'stats');
  await checksDone(page);
  expect(errors).toEqual([]);
});
