// Time travel in Chromium: Step back shows the run as it was at each earlier event (the events counter,
// the queue server's stats, a job card), a click on the timeline seeks to the instant under it, a new
// action after stepping back forks the run into a second branch, and an exported run keeps its branches.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { nodeCard, openLab, SCREENSHOTS, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

const events = async (page: Page) => Number(((await page.locator('.readout .value').nth(1).textContent()) ?? '').replace(/[^\d]/g, ''));

/** What the student sees at the current event: the counter, the queue server's stats, job 1's card, whether worker 1 is hung. */
async function seen(page: Page) {
  const server = page.getByRole('region', { name: 'Queue server' });
  const job = page.getByRole('button', { name: 'Job 1', exact: true });
  return {
    events: await events(page),
    stats: (await server.locator('.stats').textContent())?.replace(/\s+/g, ' ').trim(),
    job: (await job.count()) ? await job.getAttribute('title') : null,
    hung: /hung/i.test((await nodeCard(page, 'worker 1').textContent()) ?? ''),
  };
}

/** The events counter shows `n` and no seek is replaying (the console then reconnects to the new queue server). */
async function settled(page: Page, n: number) {
  await expect.poll(() => events(page), { timeout: 30_000 }).toBe(n);
  await expect.poll(() => page.getByText('Rewinding…').count(), { timeout: 30_000 }).toBe(0);
}

/** Events stepped through before stepping back: enough for the producer to have put its first job. */
const N = 50;
const branchList = (page: Page) => page.getByRole('list', { name: 'Branches of this run' });

test('step back, seek on the timeline, fork a branch, switch back, export and reopen with branches', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Darts', { exact: true }).fill('400000');
  await page.getByLabel('Seed', { exact: true }).fill('4');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  expect(await page.getByRole('button', { name: 'Step back' }).isDisabled()).toBe(true);

  const shown = [await seen(page)];
  for (let i = 1; i <= N; i++) {
    await page.getByRole('button', { name: 'Step', exact: true }).click();
    await settled(page, i);
    shown.push(await seen(page));
  }
  expect(shown[N].job, 'job 1 was put within N events').not.toBeNull();

  // Each step back starts the nodes again from their resume points, in the Web Workers the last run's
  // nodes ended in: after the first, no new worker is started.
  let workersStarted = 0;
  page.on('worker', () => workersStarted++);
  const startedBy: number[] = [];
  for (let k = 1; k <= 5; k++) {
    await page.getByRole('button', { name: 'Step back' }).click();
    await settled(page, N - k);
    await expect.poll(() => seen(page), { message: `after ${k} steps back` }).toEqual(shown[N - k]);
    startedBy.push(workersStarted);
  }
  expect(startedBy[0]).toBeGreaterThan(0);
  expect(startedBy[4]).toBe(startedBy[0]);
  expect(await page.getByRole('status').filter({ hasText: /^\s*Showing event/ }).textContent()).toMatch(new RegExp(`Showing event ${N - 5} of ${N}: Step and Play go on along this run`));
  await page.screenshot({ path: path.join(SCREENSHOTS, 'time-travel-stepped-back.png') });
  // The console says what happened to its connection.
  const consoleText = await page.evaluate(() => JSON.stringify((window as unknown as { __beanlab: { console: { lines: unknown[] } } }).__beanlab.console.lines));
  expect(consoleText).toContain(`The run as it was at event ${N - 5} (replayed)`);
  // The key steps back too; Step goes forward along the same run.
  await page.keyboard.press('b');
  await settled(page, N - 6);
  await expect.poll(() => seen(page)).toEqual(shown[N - 6]);
  // Keys pressed quickly queue up: back, back, forward is one event back, even while the seeks replay.
  for (const key of ['b', 'b', 's', 's']) await page.keyboard.press(key);
  await settled(page, N - 6);
  await expect.poll(() => seen(page)).toEqual(shown[N - 6]);
  await page.keyboard.press('s');
  await settled(page, N - 5);
  await expect.poll(() => seen(page)).toEqual(shown[N - 5]);

  // A new action here forks the run.
  expect(await branchList(page).count()).toBe(0);
  await page.getByRole('button', { name: 'Hang worker 1' }).click();
  await expect.poll(() => branchList(page).locator('li').allTextContents()).toEqual([expect.stringMatching(/^first run\s*Switch\s*compare$/), expect.stringMatching(/^hang worker 1 at [\d.]+ s\s*\(shown\)\s*compare$/)]);
  for (let i = 0; i < 5; i++) await page.keyboard.press('s');
  await settled(page, N);
  const forked = await seen(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'time-travel-branches.png') });

  await page.getByRole('button', { name: 'Switch to first run' }).click();
  await settled(page, N);
  await expect.poll(() => seen(page)).toEqual(shown[N]);
  expect(forked.hung).toBe(true);
  expect(shown[N].hung).toBe(false);

  // A click on the timeline seeks to the last event at or before the instant under the pointer.
  const ticks = page.locator('figure.timeline text.tick');
  const [a, b] = [ticks.first(), ticks.nth(1)];
  const [ax, bx] = [await a.boundingBox(), await b.boundingBox()];
  const [av, bv] = [Number(await a.textContent()), Number(await b.textContent())];
  const times = await page.evaluate(() => (window as unknown as { __beanlab: { travel: { eventTimes: { toArray(): number[] } } } }).__beanlab.travel.eventTimes.toArray());
  const [a0, b0] = [ax!.x + ax!.width / 2, bx!.x + bx!.width / 2];
  const secondsAt = (x: number) => av + ((x - a0) * (bv - av)) / (b0 - a0);
  const xAt = (seconds: number) => a0 + ((seconds - av) * (b0 - a0)) / (bv - av);
  const plot = (await page.locator('figure.timeline svg[role="img"]').boundingBox())!;
  // Between the events half-way through the run (a pixel either side changes nothing if they are apart).
  const clickX = Math.round(xAt((times[N / 2 - 1] + times[N / 2]) / 2000));
  const t = secondsAt(clickX) * 1000;
  const expected = times.filter((x) => x <= t).length;
  expect(expected).toBeGreaterThan(0);
  expect(expected).toBeLessThan(N);
  await page.mouse.click(clickX, plot.y + plot.height / 2);
  await settled(page, expected);
  await expect.poll(() => seen(page)).toEqual(shown[expected]);

  // Export (the branch on screen, with the other one) and reopen.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export run' }).click()]);
  const saved = await download.path();
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect.poll(() => branchList(page).count()).toBe(0);
  await page.getByLabel('Run file to replay').setInputFiles(saved);
  await page.getByRole('status').filter({ hasText: /^Replayed/ }).waitFor({ timeout: 60_000 });
  expect(await page.getByRole('status').filter({ hasText: /^Replayed/ }).textContent()).toBe(`Replayed ${N} events: the trace is identical to the recorded one.`);
  await expect.poll(() => branchList(page).locator('li').count()).toBe(2);
  await expect.poll(() => seen(page)).toEqual(shown[N]);
  await page.getByRole('button', { name: /^Switch to hang worker 1/ }).click();
  await settled(page, N);
  await expect.poll(() => seen(page)).toEqual(forked);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'time-travel-reopened.png') });
  expect(errors).toEqual([]);
});

/** The lab's event times on the current branch (ms). */
const eventTimes = (page: Page) => page.evaluate(() => (window as unknown as { __beanlab: { travel: { eventTimes: { toArray(): number[] } } } }).__beanlab.travel.eventTimes.toArray());

/** The page x of an instant (s) on the timeline's axis, from two of its tick labels. */
async function axisX(page: Page): Promise<(seconds: number) => number> {
  const ticks = page.locator('figure.timeline text.tick');
  const [a, b] = [ticks.first(), ticks.nth(1)];
  const [ax, bx] = [(await a.boundingBox())!, (await b.boundingBox())!];
  const [av, bv] = [Number(await a.textContent()), Number(await b.textContent())];
  const [a0, b0] = [ax.x + ax.width / 2, bx.x + bx.width / 2];
  return (seconds) => a0 + ((seconds - av) * (b0 - a0)) / (bv - av);
}

/** Steps `n` events from a fresh π run (seed 4), recording what is seen at each. */
async function steppedRun(page: Page, n: number) {
  await page.goto(lab.url);
  await page.getByLabel('Darts', { exact: true }).fill('400000');
  await page.getByLabel('Seed', { exact: true }).fill('4');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  const shown = [await seen(page)];
  for (let i = 1; i <= n; i++) {
    await page.getByRole('button', { name: 'Step', exact: true }).click();
    await settled(page, i);
    shown.push(await seen(page));
  }
  return shown;
}

test('scrub: a drag across the timeline seeks as it goes, the Page keys stride, Home and End go to the run’s ends', async () => {
  const { page, errors } = await lab.newPage();
  const M = 60;
  const shown = await steppedRun(page, M);
  const times = await eventTimes(page);
  expect(times).toHaveLength(M);
  const xAt = await axisX(page);
  const plot = (await page.locator('figure.timeline svg[role="img"]').boundingBox())!;
  const y = plot.y + plot.height / 3;
  // Half-way between two events, so a pixel of rounding lands on the same event.
  const between = (k: number) => Math.round(xAt((times[k - 1] + times[k]) / 2000));
  const lastAt = async (x: number) => {
    const t = ((x - xAt(0)) / (xAt(1) - xAt(0))) * 1000;
    return times.filter((v) => v <= t).length;
  };

  // Press near the start: the run is shown there at once; the instant under the pointer is named.
  const from = between(10);
  await page.mouse.move(from, y);
  await page.mouse.down();
  const first = await lastAt(from);
  await settled(page, first);
  await expect.poll(() => seen(page)).toEqual(shown[first]);
  expect(await page.locator('figure.timeline .pointer-instant text').textContent()).toMatch(new RegExp(`s · event ${first}$`));
  // Drag on: the view follows the pointer while the button is held.
  const mid = between(30);
  await page.mouse.move(mid, y, { steps: 8 });
  const middle = await lastAt(mid);
  await settled(page, middle);
  await expect.poll(() => seen(page)).toEqual(shown[middle]);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'time-travel-scrub.png') });
  const to = between(M - 5);
  await page.mouse.move(to, y, { steps: 12 });
  await page.mouse.up();
  const last = await lastAt(to);
  expect(last).toBeGreaterThan(middle);
  await settled(page, last);
  await expect.poll(() => seen(page)).toEqual(shown[last]);

  // The whole run of M events is shown: a Page key moves a tenth of it, at least 10 events.
  await page.keyboard.press('PageUp');
  await settled(page, last - 10);
  await expect.poll(() => seen(page)).toEqual(shown[last - 10]);
  // Pressed quickly, each stride counts from where the last one is headed.
  await page.keyboard.press('PageUp');
  await page.keyboard.press('PageUp');
  await settled(page, last - 30);
  await expect.poll(() => seen(page)).toEqual(shown[last - 30]);
  await page.keyboard.press('PageDown');
  await settled(page, last - 20);
  await expect.poll(() => seen(page)).toEqual(shown[last - 20]);
  await page.keyboard.press('Home');
  await settled(page, 0);
  await expect.poll(() => seen(page)).toEqual(shown[0]);
  await page.keyboard.press('End');
  await settled(page, M);
  await expect.poll(() => seen(page)).toEqual(shown[M]);
  // With the timeline focused, too.
  await page.getByRole('group', { name: 'Worker timeline plot' }).focus();
  await page.keyboard.press('PageUp');
  await settled(page, M - 10);
  await expect.poll(() => seen(page)).toEqual(shown[M - 10]);
  // Help lists the keys.
  await page.getByRole('button', { name: 'Help' }).click();
  expect(await page.locator('#help').textContent()).toMatch(/PgDn\s*PgUp.*Home\s*End/s);
  expect(errors).toEqual([]);
});

/** The producer's π estimate on its card. */
async function piShown(page: Page): Promise<number> {
  const status = page.getByRole('status', { name: 'π estimate' }).filter({ hasText: /π ≈ \d\.\d+ in/ });
  await status.waitFor({ timeout: 90_000 });
  return Number(/π ≈ (\d\.\d+)/.exec((await status.textContent()) ?? '')![1]);
}

test('compare two branches: a hang forked after stepping back, each branch’s figures beside the other’s', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Darts', { exact: true }).fill('400000');
  await page.getByLabel('Jobs', { exact: true }).fill('4');
  await page.getByLabel('Workers', { exact: true }).fill('2');
  await page.getByLabel('TTR (s)').fill('2');
  await page.getByLabel('Seed', { exact: true }).fill('4');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  const firstPi = await piShown(page);
  await page.getByRole('button', { name: 'Pause' }).click();

  // Back to the event after worker 1 took its first job, and hang it there.
  const reserved = await page.evaluate(() => {
    const lab = (window as unknown as { __beanlab: { cluster: { trace: { toArray(): { n: number; kind: string; node?: number; job?: number }[] } } } }).__beanlab;
    const trace = lab.cluster.trace.toArray();
    const at = trace.find((e) => e.kind === 'to-node' && e.node === 1 && e.job !== undefined)!.n;
    return trace.filter((e) => e.n <= at && e.kind !== 'action').length;
  });
  await page.keyboard.press('Home');
  await settled(page, 0);
  for (let i = 0; i < reserved; i++) await page.keyboard.press('s');
  await settled(page, reserved);
  await page.getByRole('button', { name: 'Hang worker 1' }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  const secondPi = await piShown(page);
  await page.getByRole('button', { name: 'Pause' }).click();

  await page.getByRole('checkbox', { name: 'Compare first run' }).check();
  await page.getByRole('checkbox', { name: /^Compare hang worker 1 at/ }).check();
  const table = page.getByRole('table', { name: 'Branches compared' });
  await table.waitFor();
  const rows = async () =>
    Object.fromEntries(
      await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th')!.textContent!.trim(), [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())])),
    ) as Record<string, string[]>;
  const shownRows = await rows();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'time-travel-compare.png') });

  // Against each branch's exported run: its events, its failures, the π its producer showed.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export run' }).click()]);
  const run = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { events: number; trace: { kind: string; node?: number; job?: number; at: number; text: string }[]; branches: { label: string; run?: { events: number } }[] };
  const first = run.branches[0].run!;
  expect(shownRows['events']).toEqual([first.events.toLocaleString('en-US'), run.events.toLocaleString('en-US'), `+${(run.events - first.events).toLocaleString('en-US')}`]);
  expect(Number(shownRows['π estimate'][0])).toBeCloseTo(firstPi, 6);
  expect(Number(shownRows['π estimate'][1])).toBeCloseTo(secondPi, 6);
  expect(shownRows['jobs run more than once']).toEqual(['0', '1', '+1']);
  expect(shownRows['results received']).toEqual(['4', '4', 'same']);
  expect(shownRows['failures injected']).toEqual(['none', '1: hang worker 1', '+1']);
  // The hung job came back only at its TTR: the hang branch finished at least 2 s later, when its producer deleted the last result.
  const [a, b] = shownRows['producer done at'].slice(0, 2).map((t) => Number(t.replace(' s', '')));
  expect(b - a).toBeGreaterThan(1.5);
  const lastDelete = run.trace.filter((e) => e.kind === 'to-node' && e.node === 3 && e.text === 'DELETED').at(-1)!;
  expect(b).toBeCloseTo(lastDelete.at / 1000, 3);

  // Unticking one closes the panel.
  await page.getByRole('checkbox', { name: 'Compare first run' }).uncheck();
  expect(await table.count()).toBe(0);
  expect(errors).toEqual([]);
});

test('the console after a seek shows its output as it was at that event; stepping on brings the later lines back', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Darts', { exact: true }).fill('400000');
  await page.getByLabel('Seed', { exact: true }).fill('4');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  const blur = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const steps = async (k: number, to: number) => {
    await blur();
    for (let i = 0; i < k; i++) await page.keyboard.press('s');
    await settled(page, to);
  };
  const output = page.getByRole('log', { name: 'Console output' });
  const type = async (command: string, reply: string) => {
    await page.getByLabel('Console command').fill(command);
    await page.getByLabel('Console command').press('Enter');
    await output.getByText(reply).first().waitFor();
  };
  await steps(20, 20);
  await page.getByRole('tab', { name: 'Console' }).click();
  await type('list-tubes', '- msg_for_worker');
  await steps(20, 40);
  await type('stats-tube msg_for_worker', 'name: msg_for_worker');

  await blur();
  await page.keyboard.press('PageUp');
  await settled(page, 30);
  await expect.poll(() => output.textContent()).toContain('The run as it was at event 30');
  const at30 = (await output.textContent())!;
  expect(at30).toContain('› list-tubes');
  expect(at30).not.toContain('stats-tube');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'time-travel-console.png') });
  // Along the same branch, the later command and its reply come back at the event they were typed at.
  await steps(10, 40);
  await expect.poll(() => output.textContent()).toContain('› stats-tube msg_for_worker');
  await blur();
  await page.keyboard.press('Home');
  await settled(page, 0);
  await expect.poll(() => output.textContent()).not.toContain('list-tubes');
  // The console's output, focused and long enough to scroll, keeps the Page keys for scrolling.
  await page.keyboard.press('End');
  await settled(page, 40);
  await type('stats', 'current-connections:');
  await output.focus();
  const scrolled = () => output.evaluate((el) => el.scrollTop);
  await expect.poll(scrolled).toBeGreaterThan(0);
  const bottom = await scrolled();
  await page.keyboard.press('PageUp');
  await expect.poll(scrolled).toBeLessThan(bottom);
  expect(await events(page)).toBe(40);
  expect(errors).toEqual([]);
});

test('lesson 4: the Hang step’s rewind button puts the cluster back as the step began to try Kill instead, and Restart step seeks there too', async () => {
  const { page, errors } = await lab.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(lab.url);
  await page.getByRole('button', { name: 'Lessons', exact: true }).click();
  await page.getByRole('button', { name: /^Worker failure and TTR/ }).click();
  const next = () => page.getByRole('navigation', { name: 'Lesson steps' }).getByRole('button', { name: 'Next' }).click();
  const predict = async (choice: string) => {
    await page.getByRole('button', { name: choice, exact: true }).click();
    await page.getByRole('status').filter({ hasText: /^(Right\.|Not quite)/ }).waitFor();
  };
  await page.getByRole('button', { name: 'Do it for me' }).click();
  await expect.poll(() => page.getByRole('list', { name: 'Checks' }).textContent()).not.toMatch(/not yet/);
  await next();
  await predict('At once');
  await page.getByRole('button', { name: 'Kill worker 1' }).click();
  await next();
  await expect.poll(() => page.locator('#step-title').textContent()).toMatch(/Hang worker 2/);
  const start = await events(page);
  const worker2 = () => nodeCard(page, 'worker 2').textContent();

  await predict('When its TTR runs out, 10 seconds after the reserve');
  await page.getByRole('button', { name: 'Hang worker 2' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  await expect.poll(() => page.getByRole('list', { name: 'Checks' }).textContent(), { timeout: 60_000 }).not.toMatch(/not yet/);
  expect(await worker2()).toMatch(/hung/);

  // Rewind: the run as the step began (worker 2 working, not hung), the prediction still answered, Next still free.
  await page.getByRole('button', { name: 'Rewind and kill worker 2 instead' }).click();
  await settled(page, start);
  expect(await worker2()).not.toMatch(/hung/);
  expect(await page.getByRole('status').filter({ hasText: /^Right\./ }).count()).toBe(1);
  expect(await page.getByRole('navigation', { name: 'Lesson steps' }).getByRole('button', { name: 'Next' }).isEnabled()).toBe(true);
  // The hang was taken right at the step's start: the rewound run is a branch of its own, ending there, and the other choice goes on along it.
  await page.getByRole('button', { name: 'Kill worker 2', exact: true }).click();
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await expect.poll(() => branchList(page).locator('li').allTextContents()).toEqual([expect.stringMatching(/^first run/), expect.stringMatching(/^back to step 3, “Hang worker 2”\s*\(shown\)/)]);
  await page.getByRole('checkbox', { name: 'Compare first run' }).check();
  await page.getByRole('checkbox', { name: /^Compare back to step 3/ }).check();
  expect(await page.getByRole('table', { name: 'Branches compared' }).locator('tbody tr').filter({ hasText: 'failures injected' }).textContent()).toMatch(/hang worker 2.*kill worker 2/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'time-travel-lesson-rewind.png') });

  // Restart step seeks back to the step's start on this run (its branches stay), rather than rebuilding a new run.
  await page.getByRole('button', { name: 'Play' }).click();
  await expect.poll(() => events(page)).toBeGreaterThan(start + 20);
  await page.getByRole('button', { name: 'Restart step' }).click();
  await settled(page, start);
  expect(await worker2()).not.toMatch(/dead|hung/);
  expect(await branchList(page).locator('li').count()).toBe(3);
  await predict('When its TTR runs out, 10 seconds after the reserve');
  await page.getByRole('button', { name: 'Do it for me' }).click();
  await expect.poll(() => page.getByRole('list', { name: 'Checks' }).textContent(), { timeout: 60_000 }).not.toMatch(/not yet/);
  expect(errors).toEqual([]);
});

test('live time cannot be rewound: Step back is disabled and says why', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await page.getByLabel('Mode', { exact: true }).selectOption('live');
  const back = page.getByRole('button', { name: 'Step back' });
  expect(await back.isDisabled()).toBe(true);
  expect(await back.getAttribute('title')).toMatch(/cannot be rewound/);
  expect(await page.getByText('live: no rewind').isVisible()).toBe(true);
  expect(errors).toEqual([]);
});
