// The job history as a student uses it, in headless Chromium: a batch submitted with rq from the
// console, feeders running it while a failing job dies and a feeder is killed, rq status checked
// against the run, one job's record opened in the Jobs tab, export and a refused import, a big import
// read in slices with its progress shown.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse } from 'yaml';
import type { Page } from 'playwright-core';
import { openLab, SCREENSHOTS, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

interface Row {
  key: number;
  id: number;
  state: string;
  runner: string | null;
  returns: number;
  reserves: number;
  exitStatus: number | null;
  result: string | null;
}

const records = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __beanlab: { cluster: { history: { records: Row[] } } } };
    return w.__beanlab.cluster.history.records.map((r) => ({ key: r.key, id: r.id, state: r.state, runner: r.runner, returns: r.returns, reserves: r.reserves, exitStatus: r.exitStatus, result: r.result }));
  });

async function type(page: Page, line: string) {
  const field = page.getByLabel('Console command');
  await field.fill(line);
  await field.press('Enter');
}

/** The console's output after the last time `command` was typed. */
async function outputAfter(page: Page, command: string): Promise<string> {
  const text = (await page.getByRole('log', { name: 'Console output' }).textContent()) ?? '';
  const at = text.lastIndexOf(`› ${command}\n`);
  return text.slice(at + command.length + 3);
}

test('a batch from the console, a failing job and a killed feeder: rq status matches the run, the record tells the story', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Workers', { exact: true }).fill('0');
  await page.getByRole('button', { name: 'Reset' }).click();

  await page.getByRole('tab', { name: 'Console' }).click();
  await type(page, 'rq feed 3');
  await type(page, 'rq submit');
  await expect.poll(() => page.getByLabel('Console command').getAttribute('placeholder')).toMatch(/a job line/);
  await type(page, 'pi darts=3000000 count=6 tag=batch');
  await type(page, 'fail tag=broken');
  await type(page, '.');
  const submitted = parse(await outputAfter(page, '.'));
  expect(submitted.map((j: { jid: number; state: string; tag: string }) => `${j.jid} ${j.state} ${j.tag}`)).toEqual([
    ...[1, 2, 3, 4, 5, 6].map((jid) => `${jid} pending batch`),
    '7 pending broken',
  ]);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'history-console-submit.png') });

  // Run until feeder 2 holds a job, then kill it.
  await page.getByRole('button', { name: 'Play' }).click();
  await expect.poll(async () => (await page.getByRole('region', { name: 'feeder 2', exact: true }).textContent()) ?? '', { timeout: 30_000 }).toMatch(/working on job/i);
  await page.getByRole('button', { name: 'Kill feeder 2' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await expect
    .poll(async () => (await records(page)).every((r) => (r.state === 'finished' || r.state === 'dead') && r.exitStatus !== null), { timeout: 90_000 })
    .toBe(true);
  await page.getByRole('button', { name: 'Pause' }).click();

  const run = await records(page);
  const killed = run.filter((r) => r.returns === 1);
  expect(killed).toHaveLength(1); // the killed feeder's job came back once…
  expect(killed[0]).toMatchObject({ state: 'finished', reserves: 2, exitStatus: 0 }); // …and another feeder finished it
  expect(killed[0].runner).not.toBe('feeder 2');
  const dead = run.filter((r) => r.state === 'dead');
  expect(dead).toHaveLength(1);
  expect(dead[0].result).toMatch(/the task "fail" fails on purpose/);

  await type(page, 'rq status');
  const status = parse(await outputAfter(page, 'rq status'));
  expect(status.jobs).toEqual({ pending: 0, holding: 0, running: 0, finished: 6, dead: 1, total: 7 });
  expect(status.exit_status).toEqual({ successes: 6, failures: 1 });
  expect(status.temporal.dead.earliest.jid).toBe(dead[0].key);
  expect(status.performance.avg_time_per_job).toBeGreaterThan(1.4); // 3·10^6 darts take 1.5 s on a reference node
  await page.screenshot({ path: path.join(SCREENSHOTS, 'history-console-status.png') });

  // The Jobs tab: counts by state, and the killed job's record.
  await page.getByRole('tab', { name: 'Jobs' }).click();
  const states = page.getByRole('group', { name: 'Show jobs in state' });
  await expect.poll(() => states.getByRole('button', { name: /finished/ }).textContent()).toMatch(/finished\s*6/);
  expect(await states.getByRole('button', { name: /dead/ }).textContent()).toMatch(/dead\s*1/);
  await page.getByRole('button', { name: `Open the record of job ${killed[0].key}`, exact: true }).click();
  const lifecycle = page.getByRole('list', { name: `Lifecycle of job ${killed[0].key}` });
  const steps = (await lifecycle.getByRole('listitem').allTextContents()).map((s) => s.replace(/^\s*[\d.]+ s\s*/, ''));
  expect(steps.filter((s) => !s.startsWith('task done'))).toEqual([
    'put by rq',
    'reserved by feeder 2',
    'returned (connection closed) by feeder 2',
    `reserved by ${killed[0].runner}`,
    `deleted by ${killed[0].runner}`,
  ]);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'history-jobs-record.png') });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'history-jobs-record-1080p.png') });
  await page.setViewportSize({ width: 1280, height: 720 });

  // Only the dead job, then its record with its error.
  await states.getByRole('button', { name: /dead/ }).click();
  await expect.poll(() => page.getByRole('table', { name: 'Jobs' }).getByRole('row').count()).toBe(2);
  await page.getByRole('button', { name: `Open the record of job ${dead[0].key}`, exact: true }).click();
  expect(await page.getByRole('region', { name: `Record of job ${dead[0].key}` }).textContent()).toMatch(/error.*the task "fail" fails on purpose/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'history-jobs-dead.png') });

  // Kick brings a dead job back: it runs again (and, failing again, dies again after a second attempt).
  await page.getByRole('button', { name: `Kick job ${dead[0].key}` }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await expect.poll(async () => (await records(page)).find((r) => r.key === dead[0].key), { timeout: 30_000 }).toMatchObject({ state: 'dead', reserves: 2 });
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect.poll(() => page.getByRole('list', { name: `Lifecycle of job ${dead[0].key}` }).textContent()).toMatch(/buried by feeder \d.*kicked by console.*reserved by feeder \d/);

  // Export CSV (all seven jobs), and a bad YAML file is refused without changing anything.
  await states.getByRole('button', { name: /all/ }).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const csv = readFileSync((await download.path()) as string, 'utf8').trim().split('\r\n');
  expect(csv[0]).toMatch(/^jid,id,priority,state,/);
  expect(csv).toHaveLength(8);
  const bad = path.join(tmpdir(), 'beanlab-bad-jobs.yaml');
  writeFileSync(bad, '- jid: 1\n  state: [oops\n');
  await page.getByLabel('Import jobs from a YAML or CSV file').setInputFiles(bad);
  expect(await page.getByRole('alert').textContent()).toMatch(/Nothing imported from beanlab-bad-jobs\.yaml: job 1: not valid YAML: .* at line 3, column 1$/);
  expect(await records(page)).toHaveLength(7);
  expect(errors).toEqual([]);
});

test('100,000 jobs: the table draws only the rows in sight, sorts and scrolls', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByRole('tab', { name: 'Console' }).click();
  // One submit puts at most 10,000 jobs.
  for (let part = 0; part < 10; part++) {
    await type(page, 'rq submit sleep ms=10 count=10000 tag=many');
    await expect.poll(() => outputAfter(page, 'rq submit sleep ms=10 count=10000 tag=many')).toMatch(new RegExp(`^submitted: 10000\njids: ${part * 10_000 + 1}-`));
  }
  await page.getByRole('tab', { name: 'Jobs' }).click();
  const table = page.getByRole('table', { name: 'Jobs' });
  await expect.poll(() => table.getAttribute('aria-rowcount')).toBe('100001');
  expect(await table.getByRole('row').count()).toBeLessThan(60);
  await page.getByRole('button', { name: 'jid', exact: true }).click();
  await expect.poll(() => table.getByRole('row').nth(1).textContent()).toMatch(/^100000/);
  await page.getByRole('region', { name: 'Job table, scrollable' }).evaluate((el) => (el.scrollTop = 24 * 50_000));
  await expect.poll(() => table.getByRole('row').nth(1).textContent()).toMatch(/^500\d\d/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'history-jobs-100k.png') });
  expect(errors).toEqual([]);
});

test("the Jobs tab follows the run while open: its 'all' count grows with the jobs, and a tag picked in the last run does not hide the next run's jobs", async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByRole('tab', { name: 'Console' }).click();
  await type(page, 'rq submit sleep ms=10 count=3 tag=a');
  await page.getByRole('tab', { name: 'Jobs' }).click();
  const tag = page.locator('.toolbar label', { hasText: 'Tag' }).locator('select');
  await tag.selectOption('a');
  const table = page.getByRole('table', { name: 'Jobs' });
  await expect.poll(() => table.getAttribute('aria-rowcount')).toBe('4');
  // A new run, whose jobs the producer puts while the Jobs tab is open.
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  const all = page.getByRole('group', { name: 'Show jobs in state' }).getByRole('button').first();
  const total = () => page.evaluate(() => (window as unknown as { __beanlab: { cluster: { history: { records: unknown[] } } } }).__beanlab.cluster.history.records.length);
  await expect.poll(total).toBeGreaterThan(0);
  await expect.poll(async () => Number(/all (\d+)/.exec((await all.textContent()) ?? '')?.[1]) === (await total())).toBe(true);
  expect(await tag.inputValue()).toBe('');
  expect(await tag.locator('option:checked').textContent()).toBe('any');
  await expect.poll(async () => Number(await table.getAttribute('aria-rowcount'))).toBeGreaterThan(1);
  expect(errors).toEqual([]);
});

/** An export of n finished jobs, each with two lifecycle steps, as Export YAML lays it out. */
const bigExport = (n: number) =>
  `status:\n  jobs:\n    total: ${n}\njobs:\n` +
  Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return `  - jid: ${i}\n    id: ${i}\n    priority: 0\n    state: finished\n    beanstalkd: deleted\n    tube: rq\n    submitted: ${i / 1000}\n    started: ${i / 1000 + 0.001}\n    finished: ${i / 1000 + 0.011}\n    runner: feeder 1\n    exit_status: 0\n    tag: big\n    ttr: 60\n    result: done\n    command: sleep 10\n    lifecycle:\n      - at: ${i / 1000}\n        what: put\n        node: rq\n      - at: ${i / 1000 + 0.001}\n        what: reserved\n        node: feeder 1\n`;
  }).join('');

test('a big YAML import and export show their progress and the page keeps drawing; every job is read and written', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByRole('tab', { name: 'Jobs' }).click();
  const file = path.join(tmpdir(), 'beanlab-big-jobs.yaml');
  writeFileSync(file, bigExport(10_000));
  // The longest time between two frames while the file is read: the page must not freeze.
  await page.evaluate(() => {
    const w = window as unknown as { longestFrameGap: number };
    w.longestFrameGap = 0;
    let last = performance.now();
    const frame = (now: number) => {
      w.longestFrameGap = Math.max(w.longestFrameGap, now - last);
      last = now;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  await page.getByLabel('Import jobs from a YAML or CSV file').setInputFiles(file);
  const progress = page.getByRole('progressbar', { name: 'Import progress' });
  await expect.poll(() => progress.count()).toBe(1);
  await expect.poll(async () => Number(await progress.getAttribute('value'))).toBeGreaterThan(0);
  expect(await progress.getAttribute('max')).toBe('10000');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'history-import-progress.png') });
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Imported' }).textContent(), { timeout: 120_000 }).toBe('Imported 10,000 jobs from beanlab-big-jobs.yaml.');
  expect(await progress.count()).toBe(0);
  expect(await page.getByRole('table', { name: 'Jobs' }).getAttribute('aria-rowcount')).toBe('10001');
  const longestGap = () => page.evaluate(() => (window as unknown as { longestFrameGap: number }).longestFrameGap);
  expect(await longestGap()).toBeLessThan(1000);

  // Export YAML writes them back the same way, with its own progress bar.
  await page.evaluate(() => ((window as unknown as { longestFrameGap: number }).longestFrameGap = 0));
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByRole('button', { name: 'Export YAML' }).click()]);
  const written = readFileSync((await download.path()) as string, 'utf8');
  expect(written.match(/^ {2}- jid: /gm)).toHaveLength(10_000);
  expect(await longestGap()).toBeLessThan(1000);
  expect(await page.getByRole('progressbar', { name: 'Export progress' }).count()).toBe(0);
  expect(errors).toEqual([]);
}, 240_000);
