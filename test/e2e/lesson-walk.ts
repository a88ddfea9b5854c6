// Walking a lesson as a student does, shared by the lesson e2e files (the same steps as the helpers of
// lessons.test.ts): open it from the Lessons pane, answer a prediction, Do it for me, wait for the checks, Next.
import path from 'node:path';
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { SCREENSHOTS, type Lab } from './browser.ts';

export const stepTitle = async (page: Page) => ((await page.locator('#step-title').textContent()) ?? '').replace(/\s+/g, ' ').trim();

/** A returning student's page with the lesson `title` open at step 1. */
export async function startLesson(lab: Lab, title: string): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await lab.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(lab.url);
  // At 1280 px the pane starts folded: the student opens it and picks the lesson from the list.
  await page.getByRole('button', { name: 'Lessons', exact: true }).click();
  await page.getByRole('button', { name: new RegExp(`^${title}`) }).click();
  await expect.poll(() => stepTitle(page)).toMatch(/^Step 1 of/);
  return { page, errors };
}

/** Next (or Finish): waits until the step's checks have held, then checks we moved on. */
export async function next(page: Page) {
  const before = await stepTitle(page);
  const button = page.getByRole('navigation', { name: 'Lesson steps' }).getByRole('button', { name: /^(Next|Finish)$/ });
  await button.click();
  await expect.poll(() => stepTitle(page)).not.toBe(before);
}

export async function predict(page: Page, choice: string) {
  await page.getByRole('button', { name: choice, exact: true }).click();
  await page.getByRole('status').filter({ hasText: /^(Right\.|Not quite)/ }).waitFor();
}

export async function doIt(page: Page) {
  await page.getByRole('button', { name: 'Do it for me' }).click();
}

/** Waits (30 s by default: a run at ×10 takes seconds) until every check of the step holds. */
export async function checksDone(page: Page, timeout = 30_000) {
  await expect.poll(() => page.getByRole('list', { name: 'Checks' }).textContent(), { timeout }).not.toMatch(/not yet/);
}

/** Types each line at the console, as a student does. */
export async function type(page: Page, ...lines: string[]) {
  await page.getByRole('tab', { name: 'Console' }).click();
  const field = page.getByLabel('Console command');
  for (const line of lines) {
    await field.fill(line);
    await field.press('Enter');
  }
}

/** The last Next, a screenshot of the "Lesson complete" pane, and no errors on the page. */
export async function finish(page: Page, errors: string[], shot: string) {
  await next(page);
  expect(await stepTitle(page)).toBe('Lesson complete');
  await page.screenshot({ path: path.join(SCREENSHOTS, shot) });
  expect(errors).toEqual([]);
  await page.close();
}

export async function scenario(page: Page, fields: Record<string, number>) {
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(String(value));
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
}

export async function runSpeedup(page: Page) {
  await page.getByRole('tab', { name: 'Speedup' }).click();
  await page.getByRole('button', { name: 'Run speedup experiment' }).click();
  await page.getByRole('button', { name: 'Run speedup experiment' }).and(page.locator(':enabled')).waitFor({ timeout: 90_000 });
}
