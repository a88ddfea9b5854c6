// Lesson 12 (queueing theory) walked as a student would, in headless Chromium at 1280×720: predict, then
// start the Poisson producer, play at ×10 and read the Charts tab; Reset with other arrival rates through
// the top bar's fields, one step by Do it for me; the wait-against-ρ chart gathers the runs as points.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { openLab, SCREENSHOTS, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

// The walk's helpers, as test/e2e/lessons.test.ts has them.
const stepTitle = async (page: Page) => ((await page.locator('#step-title').textContent()) ?? '').replace(/\s+/g, ' ').trim();

async function next(page: Page) {
  const before = await stepTitle(page);
  await page.getByRole('navigation', { name: 'Lesson steps' }).getByRole('button', { name: /^(Next|Finish)$/ }).click();
  await expect.poll(() => stepTitle(page)).not.toBe(before);
}

async function predict(page: Page, choice: string) {
  await page.getByRole('button', { name: choice, exact: true }).click();
  await page.getByRole('status').filter({ hasText: /^(Right\.|Not quite)/ }).waitFor();
}

async function checksDone(page: Page, timeout?: number) {
  await expect.poll(() => page.getByRole('list', { name: 'Checks' }).textContent(), { timeout }).not.toMatch(/not yet/);
}

async function scenario(page: Page, fields: Record<string, number>) {
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(String(value));
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
}

/** Start producer, ×10, Play: a run of 200 arrivals then takes 10 to 20 s. */
async function runAtTen(page: Page) {
  await page.getByRole('button', { name: 'Start producer (Poisson)' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
}

const caption = (page: Page, name: string) => page.locator('figcaption').filter({ hasText: name }).locator('.value').textContent();

test('lesson 12, queueing theory: arrivals at random, the wait at ρ = 0.5, 0.8 and 0.95 against Erlang C, Little\'s law, a third worker', async () => {
  const { page, errors } = await lab.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(lab.url);
  await page.getByRole('button', { name: 'Lessons', exact: true }).click();
  await page.getByRole('button', { name: /^Queueing theory you can watch/ }).click();
  await expect.poll(() => stepTitle(page)).toMatch(/^Step 1 of 6/);
  // The lesson's scenario is in the top bar's fields.
  expect(await page.getByLabel('Kind', { exact: true }).inputValue()).toBe('queueing');
  expect(await page.getByLabel('λ /min', { exact: true }).inputValue()).toBe('60');

  await predict(page, 'Sometimes — arrivals come in bunches');
  await next(page);

  await predict(page, 'about a third of a second');
  await page.getByRole('tab', { name: 'Charts' }).click();
  await runAtTen(page);
  await checksDone(page, 60_000);
  await expect.poll(() => caption(page, 'Mean wait against ρ')).toBe('this run: ρ = 0.50, M/M/2 predicts W = 0.33 s, measured 0.35 s');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-12-rho-0.5.png') });
  await next(page);

  await predict(page, '1.12 × 0.35 ≈ 0.39');
  expect(await caption(page, 'Jobs waiting in msg_for_worker')).toBe('L = 0.39 waiting on average · λ·W = 1.12/s × 0.35 s = 0.39');
  await next(page);

  await predict(page, 'It goes up about 5 times (to about 1.8 s)');
  await scenario(page, { 'λ /min': 96 });
  await runAtTen(page);
  await checksDone(page, 60_000);
  await expect.poll(() => caption(page, 'Mean wait against ρ')).toBe('this run: ρ = 0.80, M/M/2 predicts W = 1.78 s, measured 1.97 s');
  await next(page);

  await predict(page, 'About 9 s');
  await page.getByRole('button', { name: 'Do it for me' }).click();
  await checksDone(page, 60_000);
  await expect.poll(() => caption(page, 'Mean wait against ρ')).toBe('this run: ρ = 0.95, M/M/2 predicts W = 9.26 s, measured 7.82 s');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-12-rho-0.95.png') });
  await next(page);

  await predict(page, 'Under half a second');
  await scenario(page, { 'λ /min': 114, Workers: 3 });
  await runAtTen(page);
  await checksDone(page, 60_000);
  await expect.poll(() => caption(page, 'Mean wait against ρ')).toBe('this run: ρ = 0.63, M/M/3 predicts W = 0.36 s, measured 0.41 s');
  // The four runs are the chart's points, with a curve for two workers and one for three.
  const chart = page.getByRole('img', { name: /^Measured mean wait of 4 finished runs/ });
  await expect.poll(() => chart.locator('circle').count()).toBe(4);
  expect(await chart.getAttribute('aria-label')).toMatch(/drawn for 2 workers of 1 s and 3 workers of 1 s/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-12-curve.png') });
  await next(page);
  expect(await stepTitle(page)).toBe('Lesson complete');
  expect(errors).toEqual([]);
  await page.close();
}, 300_000);
