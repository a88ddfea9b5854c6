// The instructor's class view, as in a lab: one Chromium hosts the room, two classmates join (one with a
// lesson open in another tab, which it shares); after a run the Class tab lists both with their jobs done,
// the Speedup tab's room experiment shows Amdahl's law fitted, and the class results file holds it all.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { hostRoom, nodeCard, openRoomLab, openRoomPage, SCREENSHOTS, type RoomLab } from './browser.ts';

let lab: RoomLab;
beforeAll(async () => {
  lab = await openRoomLab();
});
afterAll(async () => {
  await lab?.close();
});

const JOBS = 8;

/** beanlab open in one tab (where the student's lessons are) and the join link in another, under `name`. */
async function classmate(browser: Browser, link: string, name: string, lesson: { id: string; step: number } | null) {
  const app = await openRoomPage(browser, lab.url);
  const progress = (step: number) => JSON.stringify({ current: lesson?.id ?? null, lessons: lesson ? { [lesson.id]: { step, completed: [] } } : {}, finished: [] });
  await app.page.evaluate(([n, p]) => {
    localStorage.setItem('beanlab-joiner-name', n);
    localStorage.setItem('beanlab-lessons', p);
  }, [name, progress(lesson?.step ?? 0)] as const);
  const join = await app.page.context().newPage();
  const errors: string[] = [];
  join.on('pageerror', (e) => errors.push(String(e)));
  await join.goto(link);
  await join.getByRole('status', { name: 'Membership' }).filter({ hasText: /You are joiner/ }).waitFor({ timeout: 20_000 });
  /** The lesson pane (in the other tab) moves to another step. */
  const moveTo = (step: number) => app.page.evaluate((p) => localStorage.setItem('beanlab-lessons', p), progress(step));
  return { app: app.page, join, errors: [...app.errors, ...errors], moveTo };
}

async function rosterRows(page: Page): Promise<string[][]> {
  const rows = await page.getByRole('table', { name: 'Roster of the room' }).locator('tbody tr').allInnerTexts();
  return rows.map((r) => r.split('\t').map((c) => c.trim()));
}

test('the roster lists both joiners with their jobs done and lessons; the room experiment shows the Amdahl fit; one file exports it all', async () => {
  const host = await hostRoom(lab, { darts: 400_000_000, jobs: JOBS });
  const ada = await classmate(lab.browsers[1], host.link, 'Ada', { id: '03-speedup', step: 1 });
  const bob = await classmate(lab.browsers[2], host.link, 'Bob', null);
  await nodeCard(host.page, 'remote 2.1').waitFor({ timeout: 10_000 });
  await host.page.keyboard.press('Escape');

  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  await host.page.getByRole('status', { name: 'π estimate' }).filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout: 90_000 });

  await host.page.getByRole('tab', { name: 'Class' }).click();
  // Jobs done reach the host with each node's report: both rows hold all the run's jobs between them.
  await expect.poll(async () => (await rosterRows(host.page)).reduce((t, r) => t + Number(r[5]), 0), { timeout: 10_000 }).toBe(JOBS);
  let rows = await rosterRows(host.page);
  expect(rows.map((r) => [r[0], r[1], r[4]])).toEqual([
    ['1', 'Ada', 'in the room'],
    ['2', 'Bob', 'in the room'],
  ]);
  for (const r of rows) {
    expect(r[2]).toBe('Linux x86_64');
    expect(r[3]).toMatch(/^\d+ \/ 1$/);
    expect(Number(r[5])).toBeGreaterThan(0);
    expect(r[6]).toMatch(/^\d+ ms$/);
  }
  // Ada shares the lesson open in her other tab; Bob has none open.
  expect(rows[0][7]).toMatch(/^Speedup — step 2 of \d+$/);
  expect(rows[1][7]).toBe('—');
  await ada.moveTo(3);
  await expect.poll(async () => (await rosterRows(host.page))[0][7], { timeout: 10_000 }).toMatch(/^Speedup — step 4 of \d+$/);
  // Sharing is the joiner's choice: unticked, the host sees no lesson; ticked again, it does.
  const share = ada.join.getByRole('checkbox', { name: /Share my current lesson and step with the host/ });
  expect(await share.isChecked()).toBe(true);
  await ada.join.screenshot({ path: path.join(SCREENSHOTS, 'room-class-joiner.png') });
  await share.uncheck();
  await expect.poll(async () => (await rosterRows(host.page))[0][7], { timeout: 10_000 }).toBe('—');
  await share.check();
  await expect.poll(async () => (await rosterRows(host.page))[0][7], { timeout: 10_000 }).toMatch(/^Speedup — step 4 of \d+$/);
  // Sorted by jobs done, most first; again, fewest first.
  const jobsHeader = host.page.getByRole('columnheader', { name: /Jobs done/ });
  await jobsHeader.getByRole('button').click();
  expect(await jobsHeader.getAttribute('aria-sort')).toBe('descending');
  rows = await rosterRows(host.page);
  expect(Number(rows[0][5])).toBeGreaterThanOrEqual(Number(rows[1][5]));
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-class-roster.png') });

  // The class speedup experiment over the room: 1 local worker, then 1 and 2 remote nodes, with Amdahl's law fitted.
  await host.page.getByRole('tab', { name: 'Speedup' }).click();
  await host.page.getByRole('radio', { name: "this room's remote nodes (1 local baseline, then k remote)" }).check();
  const run = host.page.getByRole('button', { name: 'Run speedup experiment' });
  await run.click();
  await nodeCard(host.page, 'remote 1.1').waitFor({ state: 'detached', timeout: 10_000 });
  await run.and(host.page.locator(':enabled')).waitFor({ timeout: 110_000 });
  expect(await host.page.getByRole('status').filter({ hasText: /failed|Stopped/ }).count()).toBe(0);
  const fitted = host.page.getByRole('listitem').filter({ hasText: /Amdahl's law fitted: serial fraction/ });
  await fitted.waitFor();
  const fitText = (await fitted.textContent())!.trim();
  expect(fitText).toMatch(/serial fraction [\d.]+%: (no more than [\d.]+× however many nodes|no limit)/);
  expect(await host.page.locator('path.amdahl').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){50,}$/);
  // One node per machine here: the per-node shares say it all, with no sum by machine under them.
  const shares = (await host.page.locator('.share-list li').allTextContents()).map((t) => t.trim());
  expect(shares.filter((t) => /^remote \d\.1: \d+ \(\d+%\)$/.test(t))).toHaveLength(3);
  expect(await host.page.getByText(/^by machine: /).count()).toBe(0);
  await host.page.getByRole('heading', { name: 'Speedup experiment' }).scrollIntoViewIfNeeded();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-class-speedup-amdahl.png') });
  await host.page.getByRole('table', { name: 'Share of the jobs, per node, and dispatch overhead' }).scrollIntoViewIfNeeded();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-class-speedup-shares.png') });

  // Back in the Class tab: the experiment in one line, and the class results file.
  await host.page.getByRole('tab', { name: 'Class' }).click();
  await host.page.getByText(/Class speedup \(Speedup tab\): [\d.]+× on \d remote nodes? over \d machines?; Amdahl's law fitted: serial fraction/).waitFor();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-class-after-experiment.png') });
  const [download] = await Promise.all([host.page.waitForEvent('download'), host.page.getByRole('button', { name: 'Download class results (JSON)' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^beanlab-class-[a-z2-7]{12}\.json$/);
  const results = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  expect(results.format).toBe('beanlab-class-results');
  expect(results.joiners.map((j: { name: string }) => j.name)).toEqual(['Ada', 'Bob']);
  // Each joiner's jobs: the lab's run and both remote runs of the experiment.
  expect(results.joiners.reduce((t: number, j: { jobsDone: number }) => t + j.jobsDone, 0)).toBe(3 * JOBS);
  expect(results.joiners[0].lesson).toMatchObject({ id: '03-speedup', step: 4 });
  expect(results.experiment.runs.map((r: { workers: number; kind: string }) => `${r.workers} ${r.kind}`)).toEqual(['1 local', '1 remote', '2 remote']);
  expect(results.experiment.runs[2].machines.map((m: { machine: string }) => m.machine)).toEqual(['Ada', 'Bob']);
  expect(results.experiment.amdahl.f).toBeGreaterThanOrEqual(0);
  expect(results.experiment.amdahlText).toMatch(/^serial fraction/);
  const [page] = await Promise.all([host.page.waitForEvent('download'), host.page.getByRole('button', { name: '… as a page (HTML)' }).click()]);
  const html = readFileSync((await page.path())!, 'utf8');
  expect(html).toContain('<h2>Roster</h2>');
  expect(html).toContain('class="amdahl"');
  expect(html).not.toContain('<script');

  expect([...host.errors, ...ada.errors, ...bob.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), ada.app.context().close(), bob.app.context().close()]);
});
