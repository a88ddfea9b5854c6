// The screen at the lab's three sizes (an 800 px window, a 1280×720 lab monitor, a 1920×1080 screen) in
// headless Chromium: nothing cut off, a newcomer pointed at lesson 1, a lesson step's checks and Next in
// view, and full worker cards with their controls where there is room. Screenshots are to be looked at.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { nodeCard, openLab, SCREENSHOTS, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

const SIZES = [
  { width: 800, height: 600 },
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
];

/** Every control of the top bar, as a student finds it by its name. */
const TOP_BAR = (page: Page): [string, Locator][] => [
  ['Mode', page.getByLabel('Mode', { exact: true })],
  ['Play', page.getByRole('button', { name: 'Play', exact: true })],
  ['Step back', page.getByRole('button', { name: 'Step back', exact: true })],
  ['Step', page.getByRole('button', { name: 'Step', exact: true })],
  ['Speed', page.getByLabel('Speed', { exact: true })],
  ['Start producer', page.getByRole('button', { name: 'Start producer (π)' })],
  ['Add worker', page.getByRole('button', { name: 'Add worker' })],
  ['Room', page.getByRole('button', { name: 'Room', exact: true })],
  ['?', page.getByRole('button', { name: 'Help', exact: true })],
  ['Seed', page.getByLabel('Seed', { exact: true })],
  ['Kind', page.getByLabel('Kind', { exact: true })],
  ['Darts', page.getByLabel('Darts', { exact: true })],
  ['Jobs', page.getByLabel('Jobs', { exact: true })],
  ['Workers', page.getByLabel('Workers', { exact: true })],
  ['TTR', page.getByLabel('TTR (s)', { exact: true })],
  ['Reset', page.getByRole('button', { name: 'Reset', exact: true })],
];

/** Where `el` is on screen, and whether it is what the page shows at its centre (inside the window, not covered, not scrolled away). */
async function onScreen(el: Locator) {
  return el.evaluate((e) => {
    const r = e.getBoundingClientRect();
    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return {
      left: Math.round(r.left),
      right: Math.round(r.right),
      top: Math.round(r.top),
      bottom: Math.round(r.bottom),
      shown: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight && hit !== null && (hit === e || e.contains(hit)),
    };
  });
}

const pageWidth = (page: Page) => page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, inner: innerWidth }));

for (const size of SIZES) {
  test(`${size.width}×${size.height}: no horizontal overflow, every top-bar control on screen`, async () => {
    const { page, errors } = await lab.newPage({ viewport: size });
    await page.goto(lab.url);
    await page.getByRole('heading', { name: 'beanlab' }).waitFor();
    const width = await pageWidth(page);
    expect(width.scroll, `the page is ${width.scroll} px wide in a ${width.inner} px window`).toBeLessThanOrEqual(width.inner);
    for (const [name, control] of TOP_BAR(page)) expect(await onScreen(control), name).toMatchObject({ shown: true });

    // A run under way, as a student sees it.
    await page.getByRole('button', { name: 'Start producer (π)' }).click();
    for (let i = 0; i < 40; i++) await page.keyboard.press('s');
    await expect.poll(() => nodeCard(page, 'worker 1').textContent()).toMatch(/job \d/);
    // The tube the jobs are in and every worker are in view, not under the server's stats or off to the side.
    const tube = page.getByRole('region', { name: 'Tube msg_for_worker' });
    expect(await onScreen(tube.getByRole('group', { name: /^reserved: 1/ })), 'the reserved job in msg_for_worker').toMatchObject({ shown: true });
    for (const name of ['worker 1', 'worker 4']) expect(await onScreen(nodeCard(page, name)), name).toMatchObject({ shown: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `layout-${size.width}-run.png`) });
    expect((await pageWidth(page)).scroll).toBeLessThanOrEqual(size.width);
    expect(errors).toEqual([]);
  });

  test(`${size.width}×${size.height}: a first visit opens lesson 1 without a click`, async () => {
    const { page, errors } = await lab.newPage({ viewport: size, firstVisit: true });
    await page.goto(lab.url);
    const pane = page.getByRole('complementary', { name: 'Lessons' });
    await expect.poll(() => pane.locator('h2').textContent()).toBe('1. First contact');
    await expect.poll(async () => (await page.locator('#step-title').textContent())?.replace(/\s+/g, ' ').trim()).toMatch(/^Step 1 of 6/);
    const width = await pageWidth(page);
    expect(width.scroll, `the page is ${width.scroll} px wide in a ${width.inner} px window`).toBeLessThanOrEqual(width.inner);
    for (const [name, control] of TOP_BAR(page)) expect(await onScreen(control), name).toMatchObject({ shown: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `layout-${size.width}-first-visit.png`) });
    expect(errors).toEqual([]);
  });

  test(`${size.width}×${size.height}: on every step of lesson 1 the checks and Next are in view without scrolling`, async () => {
    const { page, errors } = await lab.newPage({ viewport: size });
    await page.goto(`${lab.url}?lesson=01-first-contact`);
    const pane = page.getByRole('complementary', { name: 'Lessons' });
    const next = pane.getByRole('button', { name: /^(Next|Finish)$/ });
    for (let step = 1; step <= 6; step++) {
      await expect.poll(async () => (await page.locator('#step-title').textContent())?.replace(/\s+/g, ' ').trim()).toMatch(new RegExp(`^Step ${step} of 6`));
      const checks = pane.getByRole('list', { name: 'Checks' });
      if (await checks.count()) {
        expect(await onScreen(checks), `step ${step}'s checks`).toMatchObject({ shown: true });
        const choice = pane.locator('.choice').first();
        if (await choice.count()) await choice.click();
        if (step === 2) await page.screenshot({ path: path.join(SCREENSHOTS, `layout-${size.width}-lesson-step.png`) });
        await pane.getByRole('button', { name: 'Do it for me' }).click();
        await expect.poll(() => checks.textContent(), { timeout: 20_000 }).not.toMatch(/not yet/);
      }
      expect(await onScreen(next), `step ${step}'s ${await next.textContent()}`).toMatchObject({ shown: true });
      await next.click();
    }
    await expect.poll(() => page.locator('#step-title').textContent()).toBe('Lesson complete');
    expect(errors).toEqual([]);
  });
}

test('1920×1080: worker cards show their whole state and carry Kill and Hang', async () => {
  const { page, errors } = await lab.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(lab.url);
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  for (let i = 0; i < 40; i++) await page.keyboard.press('s');
  await expect.poll(() => nodeCard(page, 'worker 1').textContent()).toMatch(/job \d/);
  for (const name of ['worker 1', 'worker 2', 'worker 3', 'worker 4']) {
    const card = nodeCard(page, name);
    const state = card.locator('.state');
    const fits = await state.evaluate((e) => ({ text: e.textContent, scroll: e.scrollWidth, client: e.clientWidth }));
    expect(fits.scroll, `${name}'s state "${fits.text}"`).toBeLessThanOrEqual(fits.client);
    for (const control of ['Kill', 'Hang']) expect(await onScreen(card.getByRole('button', { name: `${control} ${name}` })), `${control} on ${name}'s card`).toMatchObject({ shown: true });
  }
  await page.screenshot({ path: path.join(SCREENSHOTS, 'layout-1920-cards.png') });
  expect(errors).toEqual([]);
});

test("a returning student's page is not sent to lesson 1", async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByRole('heading', { name: 'beanlab' }).waitFor();
  // The cluster of the default scenario (four workers), not lesson 1's (none).
  await nodeCard(page, 'worker 4').waitFor();
  expect(await page.locator('#step-title').count()).toBe(0);
  expect(errors).toEqual([]);
});

test('the help (?) says where to start and starts lesson 1', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByRole('button', { name: 'Help', exact: true }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'layout-help.png') });
  await page.getByRole('button', { name: /^Start lesson 1: First contact/ }).click();
  await expect.poll(() => page.getByRole('complementary', { name: 'Lessons' }).locator('h2').textContent()).toBe('1. First contact');
  expect(errors).toEqual([]);
});
