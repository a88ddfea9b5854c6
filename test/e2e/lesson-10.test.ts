// Lesson 10 walked as a student would, in Chromium at 1280×720: the even run, worker 1 slowed ×10 with
// its card's Slow button (the long tail), a click on the timeline back to just after the slow-down and
// the producer's Backup tasks switch there (a second branch), the late result thrown away, and backups
// on with no straggler. Each figure is read off the producer's card, as the student reads it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { nodeCard, openLab, SCREENSHOTS, type Lab } from './browser.ts';
import { checksDone, doIt, finish, next, predict, startLesson, stepTitle } from './lesson-walk.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

const cardText = async (page: Page, name: string) => ((await nodeCard(page, name).textContent()) ?? '').replace(/\s+/g, ' ');
const branchList = (page: Page) => page.getByRole('list', { name: 'Branches of this run' });

async function play(page: Page) {
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
}

/** Reset, Start producer, then Step until worker 1 works on its first job. */
async function freshRunToFirstJob(page: Page) {
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  for (let i = 0; i < 100 && !/working/.test(await cardText(page, 'worker 1')); i++) await page.getByRole('button', { name: 'Step', exact: true }).click();
  expect(await cardText(page, 'worker 1')).toMatch(/working/);
}

/** Clicks the timeline at `seconds` (read off its tick labels) and waits for the replay to finish. */
async function seekTimeline(page: Page, seconds: number) {
  const ticks = page.locator('figure.timeline text.tick');
  const [a, b] = [ticks.first(), ticks.nth(1)];
  const [ax, bx] = [(await a.boundingBox())!, (await b.boundingBox())!];
  const [av, bv] = [Number(await a.textContent()), Number(await b.textContent())];
  const [a0, b0] = [ax.x + ax.width / 2, bx.x + bx.width / 2];
  const plot = (await page.locator('figure.timeline svg[role="img"]').boundingBox())!;
  await page.mouse.click(a0 + ((seconds - av) * (b0 - a0)) / (bv - av), plot.y + plot.height / 2);
  await expect.poll(() => page.getByText('Rewinding…').count(), { timeout: 30_000 }).toBe(0);
  await page.getByRole('status').filter({ hasText: /^\s*Showing event/ }).waitFor();
}

test('lesson 10, stragglers and backup tasks: the long tail, a backup copy forked from the slowed run, the late result, no copies without a straggler', async () => {
  const { page, errors } = await startLesson(lab, 'Stragglers and backup tasks');
  const producer = () => cardText(page, 'producer');

  // The even run: about 8 s.
  await predict(page, 'about 8 s');
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await play(page);
  await checksDone(page);
  await expect.poll(producer).toMatch(/in 8\.\d\d s/);
  await next(page);

  // Worker 1 ×10 with its Slow button: ×2, ×4, ×10.
  await predict(page, 'about 22 s — the run waits for worker 1\'s slow job');
  await freshRunToFirstJob(page);
  for (const factor of [2, 4, 10]) {
    await page.getByRole('button', { name: 'Slow down worker 1' }).click();
    await expect.poll(() => cardText(page, 'worker 1')).toMatch(new RegExp(`×${factor} slower`));
  }
  await play(page);
  await checksDone(page);
  await expect.poll(producer).toMatch(/in 22\.\d\d s/);
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-10-long-tail.png') });
  await next(page);

  // Back to 4 s on the slowed run, backup tasks on there: a second branch.
  await predict(page, 'about 10 s — a copy of the slow job runs on a free worker');
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await seekTimeline(page, 4);
  expect(await cardText(page, 'worker 1')).toMatch(/×10 slower/);
  const backups = page.getByRole('button', { name: 'Backup tasks of producer' });
  expect(await backups.getAttribute('aria-pressed')).toBe('false');
  await backups.click();
  await expect.poll(() => backups.getAttribute('aria-pressed')).toBe('true');
  await expect.poll(() => branchList(page).locator('li').allTextContents()).toEqual([expect.stringMatching(/^first run\s*Switch\s*compare$/), expect.stringMatching(/^backup tasks on in producer at [\d.]+ s\s*\(shown\)\s*compare$/)]);
  await play(page);
  await checksDone(page);
  await expect.poll(producer).toMatch(/in 10\.\d\d s/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-10-backup-copy.png') });
  await next(page);

  // The late result: the step pauses the run; Play brings worker 1's result, which is thrown away.
  await predict(page, 'The producer throws it away — its task already has a result — and counts it');
  await page.getByRole('button', { name: 'Play' }).click();
  await checksDone(page);
  await expect.poll(producer).toMatch(/1 backup copy, 1 late result thrown away \(20\.0 s of work\)/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-10-late-result.png') });
  await next(page);

  // No straggler, backups on: no copy.
  await predict(page, 'none');
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByRole('button', { name: 'Backup tasks of producer' }).click();
  await play(page);
  await checksDone(page);
  expect(await producer()).not.toMatch(/backup cop/);
  await next(page);
  expect(await stepTitle(page)).toMatch(/Comparing the runs/);
  await finish(page, errors, 'lesson-10-done.png');
  // Five runs at ×10 and a replay: on a loaded machine this takes minutes.
}, 300_000);

test('lesson 10 by Do it for me: every step\'s checks hold', async () => {
  const { page, errors } = await startLesson(lab, 'Stragglers and backup tasks');
  const answers = ['about 8 s', 'about 22 s — the run waits for worker 1\'s slow job', 'about 10 s — a copy of the slow job runs on a free worker', 'The producer throws it away — its task already has a result — and counts it', 'none'];
  for (const answer of answers) {
    await predict(page, answer);
    await doIt(page);
    await checksDone(page);
    await next(page);
  }
  await finish(page, errors, 'lesson-10-do-it.png');
}, 300_000);
