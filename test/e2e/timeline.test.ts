// The worker timeline as a zoomable view of the run, in headless Chromium: it stops at the run's end
// while the clock runs on, zooms with its buttons and the wheel, and "Fit the run" shows it whole.
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

const timeline = (page: Page) => page.locator('figure.timeline');

/** The time axis's tick values (s), left to right. */
async function axis(page: Page): Promise<number[]> {
  const labels = await timeline(page).locator('text.tick').allTextContents();
  return labels.map((l) => Number(l.replace(/,/g, '')));
}

/** The top bar's virtual clock (s). */
async function clock(page: Page): Promise<number> {
  const text = (await page.locator('.readout .value').first().textContent()) ?? '';
  const [, mm, ss] = /(\d+):([\d.]+)/.exec(text)!;
  return Number(mm) * 60 + Number(ss);
}

/** The zoomed window the heading shows (s), as [from, to]. */
async function zoomWindow(page: Page): Promise<[number, number]> {
  const text = (await timeline(page).locator('.zoom .window').textContent()) ?? '';
  const [, from, to] = /([\d.,]+)–([\d.,]+) s/.exec(text)!;
  return [Number(from.replace(/,/g, '')), Number(to.replace(/,/g, ''))];
}

/** The widest drawn bar (px). */
async function widestBar(page: Page): Promise<number> {
  const widths = await timeline(page)
    .locator('g[clip-path] rect')
    .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('width'))));
  return Math.max(...widths);
}

test('the timeline stops at the run’s end, zooms in with the button and the wheel, and Fit shows the whole run', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Darts', { exact: true }).fill('3000000');
  await page.getByLabel('Jobs', { exact: true }).fill('12');
  await page.getByLabel('Workers', { exact: true }).fill('3');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  await page.getByRole('status', { name: 'π estimate' }).filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout: 90_000 });
  await page.getByRole('tab', { name: 'Timeline' }).click();

  // The clock runs on (at 10×) after the run has ended; the axis does not.
  const whole = await axis(page);
  const wholeBar = await widestBar(page);
  const clockBefore = await clock(page);
  await page.waitForTimeout(2500);
  expect(await clock(page)).toBeGreaterThan(clockBefore + 10);
  expect(await axis(page)).toEqual(whole);
  expect(await widestBar(page)).toBe(wholeBar);
  expect(await page.getByRole('img', { name: /Worker timeline/ }).getAttribute('aria-label')).toContain('the run has ended');
  // The "now" line has run off the end of the run.
  expect(await timeline(page).locator('text.now-label').count()).toBe(0);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'timeline-run-ended.png') });

  const spanOf = (ticks: number[]) => ticks[ticks.length - 1] - ticks[0];
  expect(whole[0]).toBe(0);

  // The + button zooms around the centre: fewer seconds on the axis, wider bars.
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await page.getByRole('button', { name: 'Zoom in' }).click();
  const byButton = await zoomWindow(page);
  expect(spanOf(byButton)).toBeLessThan(spanOf(whole) / 2);
  expect(byButton[0]).toBeGreaterThan(0);
  expect((await axis(page))[0]).toBeGreaterThan(0);
  expect(await widestBar(page)).toBeGreaterThan(wholeBar * 1.5);

  // The wheel zooms further, around the pointer.
  const box = (await timeline(page).locator('svg[role="img"]').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.mouse.wheel(0, -300);
  await page.waitForTimeout(200);
  const byWheel = await zoomWindow(page);
  expect(spanOf(byWheel)).toBeLessThan(spanOf(byButton) / 1.3);
  // Around the pointer, at 60% of the plot: the window's left part shrank more than its right part.
  expect(byWheel[0] - byButton[0]).toBeGreaterThan(byButton[1] - byWheel[1]);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'timeline-zoomed.png') });

  // A drag on the time axis pans: the axis moves, its span does not (a drag on the rows scrubs the run).
  const axisY = box.y + box.height - 20;
  await page.mouse.move(box.x + box.width * 0.6, axisY);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.3, axisY, { steps: 5 });
  await page.mouse.up();
  const panned = await zoomWindow(page);
  expect(panned[0]).toBeGreaterThan(byWheel[0]);
  expect(spanOf(panned)).toBeCloseTo(spanOf(byWheel), 2);

  // Fit the run: the whole run again, as before.
  await page.getByRole('button', { name: 'Fit the run' }).click();
  expect(await axis(page)).toEqual(whole);
  expect(await widestBar(page)).toBe(wholeBar);
  expect(errors).toEqual([]);
});
