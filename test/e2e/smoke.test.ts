import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import { openLab, SCREENSHOTS, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

test('the page loads with its title and no console errors', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByRole('heading', { name: 'beanlab' }).waitFor();
  expect(await page.title()).toContain('beanlab');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'smoke.png') });
  expect(errors).toEqual([]);
});
