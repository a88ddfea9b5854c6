// Lesson 11, workers you cannot trust, walked as a student would in headless Chromium at 1280×720: the
// Cheat in a node's inspector, the top bar's Verify setting, Reset, Start producer, Play; the estimate goes wrong
// unnoticed, then verification catches and excludes the cheater and gives the honest π back.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { openLab, SCREENSHOTS, type Lab } from './browser.ts';
import { checksDone, finish, next, predict, startLesson } from './lesson-walk.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

/** Start producer, speed ×10, Play. */
async function run(page: Page) {
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
}

/** Cheat in worker 2's inspector (a click on its name opens it, unless it is open). */
async function cheat(page: Page) {
  const button = page.getByRole('button', { name: 'Wrong results from worker 2' });
  if (!(await button.count())) await page.getByRole('region', { name: 'worker 2', exact: true }).getByRole('button', { name: 'worker 2', exact: true }).click();
  await button.click();
}

const piEstimate = (page: Page) => page.getByRole('status', { name: 'π estimate' }).textContent();

test('lesson 11: a cheater pulls π to 3.36 unnoticed; verifying 25% excludes it and π is right again; the price of verifying 50%', async () => {
  const { page, errors } = await startLesson(lab, 'Workers you cannot trust');
  const card = page.getByRole('region', { name: 'worker 2', exact: true });

  await predict(page, 'At about 3.36');
  // The card has no room for a sixth button: Cheat is in the node's inspector.
  expect(await card.getByRole('button', { name: 'Wrong results from worker 2' }).count()).toBe(0);
  await cheat(page);
  // Pressed again it would make worker 2 a rare cheater.
  await expect.poll(() => page.getByRole('button', { name: 'Wrong results from worker 2' }).getAttribute('title')).toContain('20% of its results wrong');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-11-cheat.png') });
  await run(page);
  await checksDone(page, 60_000);
  expect(await piEstimate(page)).toContain('3.356');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-11-cheated.png') });
  await next(page);
  await next(page);

  await predict(page, '4');
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await cheat(page);
  await page.getByLabel('Verify results').selectOption('0.25');
  await expect.poll(() => page.getByRole('status', { name: 'Price of verifying' }).textContent()).toContain('caught after ≈ 4 bad results');
  await run(page);
  await checksDone(page, 60_000);
  await expect.poll(() => card.textContent()).toMatch(/excluded/i);
  expect(await piEstimate(page)).toContain('3.141301');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-11-excluded.png') });
  await next(page);
  await next(page);

  await predict(page, 'Every re-run agrees, and the work grows by about half');
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await page.getByLabel('Verify results').selectOption('0.5');
  await run(page);
  await checksDone(page, 60_000);
  await expect.poll(() => page.getByRole('status', { name: 'Price of verifying' }).textContent()).toContain('9 re-runs: 4.5 s of node time');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-11-price.png') });
  await next(page);

  await predict(page, '20');
  await next(page);
  await finish(page, errors, 'lesson-11-done.png');
});
