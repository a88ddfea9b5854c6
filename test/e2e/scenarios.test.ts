// The matrix (with its key-value store node) and sample-sort scenarios as a student runs them, in
// headless Chromium: pick the kind in the scenario form, Reset, start the producer, play, read the verdict.
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

async function play(page: Page, producer: string) {
  await page.getByRole('button', { name: `Start producer (${producer})` }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
}

/** The producer's verdict once it has one. */
async function verdict(page: Page, pattern: RegExp): Promise<string> {
  const status = page.getByRole('status', { name: 'Result check' });
  await status.filter({ hasText: pattern }).waitFor({ timeout: 90_000 });
  return (await status.textContent()) ?? '';
}

const traffic = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __beanlab: { cluster: { traffic: { server: { messages: number }; store: { messages: number } } } } };
    const t = w.__beanlab.cluster.traffic;
    return t.server.messages + t.store.messages;
  });

test('matrix with a key-value store node: per cell, then row blocks; C verified both times, row blocks with far fewer messages', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Kind', { exact: true }).selectOption('matrix');
  await page.getByLabel('Size n', { exact: true }).fill('8');
  await page.getByLabel('Workers', { exact: true }).fill('4');
  await page.getByRole('button', { name: 'Reset' }).click();
  const store = page.getByRole('region', { name: 'key-value store' });
  await expect.poll(() => store.isVisible()).toBe(true);
  await play(page, 'matrix');
  await page.waitForTimeout(700);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'scenario-matrix-running.png') });
  expect(await verdict(page, /C verified/)).toContain('C verified: C = A×B (8×8)');
  const storeText = await store.textContent();
  // The report's program: rows and columns travel in the job bodies, the store holds only C's 64 entries.
  expect(storeText).toMatch(/keys\s*64\b/);
  expect(storeText).toMatch(/C 64/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'scenario-matrix-cells-done.png') });
  const perCell = await traffic(page);

  await page.getByLabel('Jobs', { exact: true }).selectOption('row-block');
  await page.getByLabel('Rows per job', { exact: true }).fill('4');
  await page.getByRole('button', { name: 'Reset' }).click();
  await play(page, 'matrix');
  expect(await verdict(page, /C verified/)).toContain('C verified');
  expect(perCell).toBeGreaterThan(10 * (await traffic(page)));
  await page.getByRole('tab', { name: 'Charts' }).click();
  // Jobs done and throughput only: the π charts belong to π runs.
  await expect.poll(() => page.getByRole('figure').count()).toBe(2);
  expect(await page.getByText('2 of 2 jobs done').count()).toBe(1);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'scenario-matrix-rows-charts.png') });
  expect(errors).toEqual([]);
});

test('sample sort: the output is verified sorted and the bucket sizes are shown', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Kind', { exact: true }).selectOption('sort');
  await page.getByLabel('Values', { exact: true }).fill('20000');
  await page.getByLabel('Buckets', { exact: true }).fill('8');
  await page.getByLabel('Workers', { exact: true }).fill('3');
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect.poll(() => page.getByRole('region', { name: 'key-value store' }).count()).toBe(0);
  await play(page, 'sort');
  expect(await verdict(page, /verified/)).toContain('verified: sorted, and the same 20,000 values');
  const producer = await page.getByRole('region', { name: 'producer', exact: true }).textContent();
  expect(producer).toMatch(/buckets: [\d,]+–[\d,]+ values, largest \d\.\d\d× the mean/);
  expect(producer).toMatch(/8 jobs in \d+\.\d\d s/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'scenario-sort-done.png') });
  expect(errors).toEqual([]);
});
