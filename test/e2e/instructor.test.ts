// The instructor's tools in headless Chromium: a scenario link copied in one browser and opened in a fresh
// one (same fields, same trace once both have run to the end in virtual time); lessons given by link (a
// file served with the site, or the lesson carried in the link) that survive a reload; a resumed lesson
// whose cluster is back in its step's state; the lab report a student downloads, opened and looked at.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { openLab, SCREENSHOTS, type Lab } from './browser.ts';

let lab: Lab;
/** Lesson files served with the built site for these tests (removed afterwards). */
const SERVED = path.resolve('dist/e2e-instructor');
beforeAll(async () => {
  lab = await openLab();
  mkdirSync(SERVED, { recursive: true });
});
afterAll(async () => {
  await lab?.close();
  rmSync(SERVED, { recursive: true, force: true });
});

const TRIAL = `---
title: Trial by link
summary: A lesson an instructor wrote.
seed: 5
scenario:
  kind: pi
  workers: 2
  jobs: 3
  darts: 30000
---

## Look

Nothing to do but look at the two workers.

## Put one

Put a job at the console.

\`\`\`step
check:
  - console-reply: INSERTED
do:
  - console: [put 0 0 60 2, hi]
\`\`\`

## The end

That was all.
`;

const stepTitle = async (page: Page) => ((await page.locator('#step-title').textContent()) ?? '').replace(/\s+/g, ' ').trim();

async function next(page: Page) {
  const before = await stepTitle(page);
  await page.getByRole('navigation', { name: 'Lesson steps' }).getByRole('button', { name: /^(Next|Finish)$/ }).click();
  await expect.poll(() => stepTitle(page)).not.toBe(before);
}

/** The scenario form as shown: every field the top bar has for the kind on screen, and the mode. */
async function fields(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const form = document.querySelector('form[aria-label="Scenario"]') as HTMLFormElement;
    const out: Record<string, string> = { mode: (document.querySelector('select[aria-label="Mode"]') as HTMLSelectElement).value };
    for (const label of form.querySelectorAll('label')) {
      const control = label.querySelector('input, select') as HTMLInputElement | HTMLSelectElement | null;
      if (control) out[label.querySelector('span')?.textContent ?? '?'] = control.value;
    }
    return out;
  });
}

async function shareLink(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  const input = page.getByRole('textbox', { name: 'Scenario link' });
  await expect.poll(() => input.inputValue()).toMatch(/^http/);
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.getByRole('dialog', { name: 'Share' }).getByRole('status').waitFor();
  return input.inputValue();
}

async function closeShare(page: Page) {
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Share' }).waitFor({ state: 'hidden' });
}

/** Plays at ×10 until the producer shows its estimate, then pauses and downloads the run (Timeline: Export run). */
async function runToEndAndExport(page: Page): Promise<{ trace: unknown[]; seed: number; events: number }> {
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  await page.getByRole('status', { name: 'π estimate' }).filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout: 90_000 });
  // The end: every job done, the workers idle; then nothing is left to happen.
  await page.waitForTimeout(500);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('tab', { name: 'Timeline' }).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export run' }).click()]);
  return JSON.parse(readFileSync(await download.path(), 'utf8'));
}

test('a scenario link opened in a fresh browser context shows the same fields and, run to the end, gives the same trace', async () => {
  const first = await lab.newPage();
  const page = first.page;
  await page.goto(lab.url);
  await page.getByLabel('Seed', { exact: true }).fill('11');
  await page.getByLabel('Darts', { exact: true }).fill('240000');
  await page.getByLabel('Jobs', { exact: true }).fill('6');
  await page.getByLabel('Workers', { exact: true }).fill('3');
  await page.getByLabel('TTR (s)', { exact: true }).fill('30');
  await page.getByRole('button', { name: 'Reset' }).click();
  const link = await shareLink(page);
  expect(link).toContain('kind=pi&seed=11&mode=virtual&darts=240000&jobs=6&workers=3&ttr=30');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-share.png') });
  await closeShare(page);
  const shown = await fields(page);

  // A fresh context: no storage, nothing but the link.
  const second = await lab.newPage();
  await second.page.goto(link);
  await expect.poll(() => fields(second.page)).toEqual(shown);
  expect(shown).toMatchObject({ Seed: '11', Kind: 'pi', Darts: '240000', Jobs: '6', Workers: '3', 'TTR (s)': '30', mode: 'virtual' });
  // The address forgets the link once read: a reload is the student's own page.
  expect(second.page.url()).toBe(lab.url);

  const runs = [];
  for (const p of [page, second.page]) {
    await p.getByRole('button', { name: 'Start producer (π)' }).click();
    runs.push(await runToEndAndExport(p));
  }
  expect(runs[1].seed).toBe(11);
  expect(runs[1].events).toBeGreaterThan(50);
  expect(runs[1].trace).toEqual(runs[0].trace);
  expect(first.errors).toEqual([]);
  expect(second.errors).toEqual([]);
  await page.close();
  await second.page.close();
});

test('a link with bad values opens the defaults and says what was wrong', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(`${lab.url}?kind=pi&seed=banana&workers=999&darts=5000`);
  const alert = page.getByRole('alert');
  await expect.poll(() => alert.textContent()).toContain('seed=banana is not a whole number from 0 to 4,294,967,295; 1 is used.');
  expect(await alert.textContent()).toContain('workers=999 is not a whole number from 0 to 64; 4 is used.');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-bad-link.png') });
  expect(await fields(page)).toMatchObject({ Seed: '1', Darts: '5000', Workers: '4' });
  await page.getByRole('button', { name: 'OK' }).click();
  await expect.poll(() => alert.count()).toBe(0);
  // Another kind, in live time.
  await page.goto(`${lab.url}?kind=sort&seed=4&mode=live&values=5000&buckets=4&workers=2&ttr=20`);
  await expect.poll(() => fields(page)).toEqual({ mode: 'live', Seed: '4', Kind: 'sort', Values: '5000', Buckets: '4', Workers: '2', 'TTR (s)': '20' });
  expect(await alert.count()).toBe(0);
  expect(errors).toEqual([]);
  await page.close();
});

test('a lesson by link: a Markdown file served with the site, then carried in the link itself; each survives a reload', async () => {
  writeFileSync(path.join(SERVED, 'trial.md'), TRIAL);
  writeFileSync(path.join(SERVED, 'broken.md'), TRIAL.replace('console-reply: INSERTED', 'console-reply: [1, 2]'));
  const { page, errors } = await lab.newPage();
  await page.goto(`${lab.url}?lesson=e2e-instructor/trial.md`);
  await expect.poll(() => page.locator('#lesson-content h2').textContent()).toMatch(/Trial by link/);
  expect(await stepTitle(page)).toBe('Step 1 of 3 Look');
  await next(page);
  await page.getByRole('button', { name: 'Do it for me' }).click();
  await next(page);
  expect(await stepTitle(page)).toBe('Step 3 of 3 The end');
  await page.reload();
  await expect.poll(() => stepTitle(page)).toBe('Step 3 of 3 The end');
  expect(await page.locator('#lesson-content h2').textContent()).toMatch(/Trial by link/);

  // The link of a lesson from a file carries its text: a fresh context opens it at the same step.
  const link = await shareLink(page);
  expect(link).toMatch(/lesson=e2e-instructor%2Ftrial\.md&step=3/);
  await page.getByLabel('Lesson file to open').setInputFiles({ name: 'mine.md', mimeType: 'text/markdown', buffer: Buffer.from(TRIAL.replace('Trial by link', 'My own lesson')) });
  await expect.poll(() => page.locator('#lesson-content h2').textContent()).toMatch(/My own lesson/);
  await next(page);
  const carried = await shareLink(page);
  expect(carried).toMatch(/[?&]step=2(&|#)/);
  expect(carried).toMatch(/#lesson=[A-Za-z0-9_-]+$/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-share-lesson.png') });
  const fresh = await lab.newPage();
  await fresh.page.goto(carried);
  await expect.poll(() => fresh.page.locator('#lesson-content h2').textContent()).toMatch(/My own lesson/);
  expect(await stepTitle(fresh.page)).toBe('Step 2 of 3 Put one');
  await fresh.page.getByRole('status').filter({ hasText: 'The link opens the lesson at this step' }).waitFor();
  await fresh.page.reload();
  await expect.poll(() => stepTitle(fresh.page)).toBe('Step 2 of 3 Put one');
  await fresh.page.getByText('You left off here.').waitFor();
  await fresh.page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-lesson-in-link.png') });
  // A step the lesson does not have: its last step, and a word on why.
  await fresh.page.goto(carried.replace('step=2', 'step=9'));
  await expect.poll(() => stepTitle(fresh.page)).toBe('Step 3 of 3 The end');
  expect(await fresh.page.getByRole('status').filter({ hasText: 'The link asked for step 9' }).textContent()).toBe('The link asked for step 9, but “My own lesson” has 3 steps: this is the last.');

  // A file with a mistake names its address and line; one that is not there says so.
  const bad = await lab.newPage();
  await bad.page.goto(`${lab.url}?lesson=e2e-instructor/broken.md`);
  await expect.poll(() => bad.page.getByRole('alert').textContent()).toMatch(/e2e-instructor\/broken\.md:22\s*check console-reply/);
  await bad.page.goto(`${lab.url}?lesson=e2e-instructor/missing.md`);
  await expect.poll(() => bad.page.getByRole('alert').textContent()).toMatch(/e2e-instructor\/missing\.md:1\s*could not fetch this lesson file: the server answered 404/);
  await bad.page.goto(`${lab.url}?lesson=99-no-such-lesson`);
  await expect.poll(() => bad.page.getByRole('alert').textContent()).toMatch(/no lesson of this site is called "99-no-such-lesson" \(they are 01-first-contact, /);
  await bad.page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-lesson-link-errors.png') });
  expect([...errors, ...fresh.errors]).toEqual([]);
  // The 404 is the browser's own console line, not the page's error.
  expect(bad.errors.filter((e) => !/404/.test(e))).toEqual([]);
  for (const p of [page, fresh.page, bad.page]) await p.close();
});

test('resuming a lesson puts the cluster back in its step: after a reload at lesson 1 step 3, job 1 is there, ready', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(`${lab.url}?lesson=01-first-contact`);
  await expect.poll(() => stepTitle(page)).toMatch(/^Step 1 of 6/);
  await next(page);
  await page.getByRole('button', { name: 'Do it for me' }).click();
  await next(page);
  expect(await stepTitle(page)).toBe('Step 3 of 6 Reserve it');
  await page.reload();
  await expect.poll(() => stepTitle(page)).toBe('Step 3 of 6 Reserve it');
  const jobState = () => page.evaluate(() => (window as unknown as { __beanlab: { cluster: { engine: { jobs: Map<number, { state: string }> } | null } } }).__beanlab.cluster.engine?.jobs.get(1)?.state ?? 'none');
  await expect.poll(jobState).toBe('ready');
  await page.getByRole('button', { name: 'reserved', exact: true }).click();
  await page.getByRole('tab', { name: 'Console' }).click();
  await page.getByLabel('Console command').fill('reserve');
  await page.getByLabel('Console command').press('Enter');
  await expect.poll(() => page.getByRole('list', { name: 'Checks' }).textContent()).not.toMatch(/not yet/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-resumed.png') });
  expect(errors).toEqual([]);
  await page.close();
});

test('the lab report: lesson 1 begun, a speedup experiment, a job whose body is <script>; one file that shows them all and runs nothing', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(`${lab.url}?lesson=01-first-contact`);
  await expect.poll(() => stepTitle(page)).toMatch(/^Step 1 of 6/);
  await next(page);
  await page.getByRole('tab', { name: 'Console' }).click();
  const field = page.getByLabel('Console command');
  for (const line of ['put 0 0 60 4', 'Job1', 'put 0 0 60 36', '<script>alert("from a job")</script>']) {
    await field.fill(line);
    await field.press('Enter');
  }
  await next(page);
  // A wrong prediction, then the step done.
  await page.getByRole('button', { name: 'ready', exact: true }).click();
  await field.fill('reserve');
  await field.press('Enter');
  await next(page);
  await page.getByRole('tab', { name: 'Speedup' }).click();
  await page.getByRole('button', { name: 'Run speedup experiment' }).click();
  await page.getByRole('button', { name: 'Run speedup experiment' }).and(page.locator(':enabled')).waitFor({ timeout: 90_000 });

  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await page.getByLabel('Your name').fill('Ada <Lovelace>');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download lab report' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^beanlab-report-Ada-Lovelace-\d{4}-\d\d-\d\d\.html$/);
  const html = readFileSync(await download.path(), 'utf8');
  expect(html).toContain('<title>beanlab lab report: Ada &lt;Lovelace&gt;</title>');
  expect(html).toContain('<h3>First contact</h3>');
  expect(html).toContain('Not finished: 3 of 6 steps done; 0 of 1 predictions right');
  expect(html).toMatch(/<td>After you type reserve, what state is job 1 in\?<\/td><td>ready<\/td><td class="wrong">wrong<\/td><td>reserved<\/td>/);
  expect(html).toContain('Measured on 1,000,000 darts in 4 jobs, seed 1, virtual time, local Web Workers.');
  expect(html).toMatch(/<svg class="plot"[\s\S]*<\/svg>/);
  expect(html.match(/<tr><td class="num">\d+<\/td><td>local<\/td>/g)?.length).toBeGreaterThanOrEqual(2);
  expect(html).toContain('current-jobs-reserved: 1');
  expect(html).toContain('&lt;script&gt;alert(&quot;from a job&quot;)&lt;/script&gt;');
  expect(html).not.toMatch(/<script|<link|\ssrc=/i);

  // Opened as the instructor would: nothing runs, nothing is fetched.
  const viewer = await lab.newPage();
  const dialogs: string[] = [];
  const requests: string[] = [];
  viewer.page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  viewer.page.on('request', (r) => requests.push(r.url()));
  const file = path.join(SCREENSHOTS, 'instructor-report.html');
  writeFileSync(file, html);
  await viewer.page.goto(`file://${file}`);
  await viewer.page.setViewportSize({ width: 1000, height: 1400 });
  await viewer.page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-report.png'), fullPage: true });
  await viewer.page.emulateMedia({ media: 'print' });
  await viewer.page.screenshot({ path: path.join(SCREENSHOTS, 'instructor-report-print.png'), fullPage: true });
  expect(dialogs).toEqual([]);
  expect(requests).toEqual([`file://${file}`]);
  expect(await viewer.page.getByRole('heading', { level: 2 }).allTextContents()).toEqual(['Lessons', 'Speedup', 'Run statistics', 'Jobs']);
  expect(errors).toEqual([]);
  expect(viewer.errors).toEqual([]);
  await page.close();
  await viewer.page.close();
});
