// The cluster simulator as a student uses it, in headless Chromium: real Web Worker nodes, the real
// controls (found by their accessible names), screenshots to look at.
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

async function setScenario(page: Page, s: { darts?: number; jobs?: number; workers?: number; ttr?: number; seed?: number }) {
  if (s.darts !== undefined) await page.getByLabel('Darts', { exact: true }).fill(String(s.darts));
  if (s.jobs !== undefined) await page.getByLabel('Jobs', { exact: true }).fill(String(s.jobs));
  if (s.workers !== undefined) await page.getByLabel('Workers', { exact: true }).fill(String(s.workers));
  if (s.ttr !== undefined) await page.getByLabel('TTR (s)', { exact: true }).fill(String(s.ttr));
  if (s.seed !== undefined) await page.getByLabel('Seed', { exact: true }).fill(String(s.seed));
  await page.getByRole('button', { name: 'Reset' }).click();
}

async function fastest(page: Page) {
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
}

/** The π estimate the producer shows once it is done. */
async function piEstimate(page: Page, timeout = 90_000): Promise<number> {
  const status = page.getByRole('status', { name: 'π estimate' });
  await status.filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout });
  const text = await status.textContent();
  return Number(/π ≈ (\d\.\d+)/.exec(text ?? '')![1]);
}

async function nodeState(page: Page, name: string): Promise<string> {
  return (await page.getByRole('region', { name, exact: true }).textContent()) ?? '';
}

test('π with 4 workers and 10^7 darts comes out within 0.01', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await setScenario(page, { darts: 10_000_000, jobs: 8, workers: 4 });
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await fastest(page);
  await page.getByRole('button', { name: 'Play' }).click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'cluster-running.png') });
  const pi = await piEstimate(page);
  expect(Math.abs(pi - Math.PI)).toBeLessThan(0.01);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'cluster-pi-done.png') });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'cluster-pi-done-1080p.png') });

  // The worker's control API (comlink, beside the protocol traffic) measures its real dart rate.
  await page.getByRole('button', { name: 'worker 2', exact: true }).click();
  await page.getByRole('button', { name: 'Measure real speed of worker 2' }).click();
  const speed = await page.getByRole('status', { name: 'Measured speed of worker 2' }).textContent({ timeout: 30_000 });
  const times = Number(/darts\/s, (\d+)× the/.exec(speed ?? '')?.[1]);
  expect(times).toBeGreaterThan(1);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'cluster-node-machine.png') });
  expect(errors).toEqual([]);
});

test('a killed worker and a hung worker: the run still finishes right; the hung job returns only after its TTR', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await setScenario(page, { darts: 8_000_000, jobs: 8, workers: 3, ttr: 10 });
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  // Step until worker 1 and worker 2 both hold a job.
  for (let i = 0; i < 400; i++) {
    const [a, b] = [await nodeState(page, 'worker 1'), await nodeState(page, 'worker 2')];
    if (/working on job/i.test(a) && /working on job/i.test(b)) break;
    await page.getByRole('button', { name: 'Step', exact: true }).click();
  }
  await page.getByRole('button', { name: 'Kill worker 1' }).click();
  await page.getByRole('button', { name: 'Hang worker 2' }).click();
  const reservations = () =>
    page.evaluate(() => {
      const w = window as unknown as { __beanlab: { cluster: { model: { reservations: { outcome: string | null; start: number; end: number | null }[] } } } };
      return w.__beanlab.cluster.model.reservations.map((r) => ({ outcome: r.outcome, start: r.start, end: r.end }));
    });
  const returned = (await reservations()).filter((r) => r.outcome === 'returned');
  expect(returned).toHaveLength(1); // the killed worker's job came back at once
  await fastest(page);
  await page.getByRole('button', { name: 'Play' }).click();
  const pi = await piEstimate(page);
  expect(Math.abs(pi - Math.PI)).toBeLessThan(0.01);
  const expired = (await reservations()).filter((r) => r.outcome === 'timed-out');
  expect(expired).toHaveLength(1);
  expect(expired[0].end! - expired[0].start).toBeGreaterThanOrEqual(10_000);
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'cluster-kill-hang-timeline.png') });
  expect(errors).toEqual([]);
});

test('server crash: with the binlog no queued job is lost; without it the producer puts the jobs again', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await setScenario(page, { darts: 6_000_000, jobs: 6, workers: 0 });
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  const ready = () =>
    page.evaluate(() => {
      const w = window as unknown as { __beanlab: { cluster: { model: { tubes: Map<string, { counts: { ready: number } }> } } } };
      return w.__beanlab.cluster.model.tubes.get('msg_for_worker')?.counts.ready ?? 0;
    });
  for (let i = 0; i < 200 && (await ready()) < 6; i++) await page.getByRole('button', { name: 'Step', exact: true }).click();
  expect(await ready()).toBe(6);
  await page.getByRole('button', { name: 'Crash server' }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'cluster-server-crashed.png') });
  // The binlog lives in IndexedDB (its records land in groups, a few ms after the engine writes them):
  // the file header and the six jobs' full records, each with its body.
  const storedBodies = () =>
    page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('beanlab-binlog-'));
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open(names.sort().at(-1)!);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const values = await new Promise<Uint8Array[]>((resolve) => {
        const r = db.transaction('records').objectStore('records').getAll();
        r.onsuccess = () => resolve(r.result as Uint8Array[]);
      });
      db.close();
      const text = values.map((v) => String.fromCharCode(...v)).join('');
      return text.match(/pi \d+ \d+/g)?.length ?? 0;
    });
  await expect.poll(storedBodies).toBe(6);
  await page.getByRole('button', { name: 'Restart server with binlog' }).click();
  await expect.poll(ready).toBe(6);
  await page.getByRole('button', { name: 'Crash server' }).click();
  await page.getByRole('button', { name: 'Restart server without binlog' }).click();
  await expect.poll(ready).toBe(0);
  await page.getByRole('button', { name: 'Restart producer' }).click();
  await page.getByRole('button', { name: 'Add worker' }).click();
  await fastest(page);
  await page.getByRole('button', { name: 'Play' }).click();
  const pi = await piEstimate(page);
  expect(Math.abs(pi - Math.PI)).toBeLessThan(0.02);
  expect(errors).toEqual([]);
});

test('step mode: the same seed gives the same trace', async () => {
  const traces: string[] = [];
  for (let run = 0; run < 2; run++) {
    const { page, errors } = await lab.newPage();
    await page.goto(lab.url);
    await setScenario(page, { darts: 2_000_000, jobs: 4, workers: 2, seed: 42 });
    await page.getByRole('button', { name: 'Start producer (π)' }).click();
    for (let i = 0; i < 150; i++) await page.keyboard.press('s');
    // Steps queue up behind each other: one more, awaited, means all the key presses have been stepped.
    const trace = await page.evaluate(async () => {
      const lab = (window as unknown as { __beanlab: { step(): Promise<void>; cluster: { trace: unknown; eventCount: number } } }).__beanlab;
      await lab.step();
      return { events: lab.cluster.eventCount, trace: JSON.stringify(lab.cluster.trace) };
    });
    traces.push(`${trace.events} events\n${trace.trace}`);
    expect(errors).toEqual([]);
    await page.close();
  }
  expect(JSON.parse(traces[0].split('\n')[1]).length).toBeGreaterThan(60);
  expect(traces[1]).toBe(traces[0]);
});

test('a run exported as JSON replays, with a kill in it, to the identical trace', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await setScenario(page, { darts: 2_000_000, jobs: 4, workers: 2, seed: 7 });
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  for (let i = 0; i < 40; i++) await page.keyboard.press('s');
  await page.getByRole('button', { name: 'Kill worker 1' }).click();
  for (let i = 0; i < 40; i++) await page.keyboard.press('s');
  const recorded = await page.evaluate(async () => {
    const lab = (window as unknown as { __beanlab: { step(): Promise<void>; cluster: { eventCount: number; actions: unknown[] } } }).__beanlab;
    await lab.step();
    return { events: lab.cluster.eventCount, actions: lab.cluster.actions.length };
  });
  expect(recorded.actions).toBeGreaterThanOrEqual(2);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export run' }).click()]);
  const saved = await download.path();
  await setScenario(page, { seed: 8 });
  await page.getByLabel('Run file to replay').setInputFiles(saved);
  const status = page.getByRole('status').filter({ hasText: /^Replayed/ });
  await status.waitFor({ timeout: 60_000 });
  expect(await status.textContent()).toBe(`Replayed ${recorded.events} events: the trace is identical to the recorded one.`);
  expect(await page.evaluate(() => (window as unknown as { __beanlab: { seed: number } }).__beanlab.seed)).toBe(7);
  expect(await nodeState(page, 'worker 1')).toMatch(/dead/i);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'cluster-replayed.png') });

  await page.getByLabel('Run file to replay').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format":"x"}') });
  await expect.poll(() => page.getByRole('status').filter({ hasText: /^Cannot replay/ }).textContent()).toMatch(/broken\.json: not a beanlab run/);
  expect(errors).toEqual([]);
});

test('the divider above the tabs resizes the panel by drag and by keys, within limits, and double-click restores it', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  const panel = page.getByRole('tabpanel');
  const cluster = page.getByRole('main', { name: 'Cluster' });
  const divider = page.getByRole('separator', { name: /Resize the tab panel/ });
  const height = async (l: typeof panel) => (await l.boundingBox())!.height;
  const start = { panel: await height(panel), cluster: await height(cluster) };

  const grip = (await divider.boundingBox())!;
  await page.mouse.move(grip.x + 200, grip.y + grip.height / 2);
  await page.mouse.down();
  await page.mouse.move(grip.x + 200, grip.y + grip.height / 2 - 150, { steps: 5 });
  await page.mouse.up();
  const dragged = await height(panel);
  expect(dragged).toBeGreaterThan(start.panel + 140);
  expect(dragged).toBeLessThan(start.panel + 160);
  expect(await height(cluster)).toBeLessThan(start.cluster - 140);
  await page.getByRole('tab', { name: 'Speedup' }).click();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'divider-dragged-speedup.png') });

  // Keys: a step down, then the limits (the cluster keeps room to be read).
  await divider.focus();
  await page.keyboard.press('ArrowDown');
  expect(await height(panel)).toBeLessThan(dragged - 20);
  await page.keyboard.press('Home');
  const tallest = await height(panel);
  expect(await height(cluster)).toBeGreaterThan(170);
  await page.keyboard.press('ArrowUp');
  expect(await height(panel)).toBe(tallest);
  await page.keyboard.press('End');
  expect(await height(panel)).toBeLessThan(start.panel);

  await divider.dblclick();
  expect(Math.abs((await height(panel)) - start.panel)).toBeLessThan(1);
  expect(errors).toEqual([]);
});

test("a live speedup experiment says how many cores this browser reports, and what that means for the speedup", async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await setScenario(page, { darts: 40_000_000, jobs: 8 });
  await page.getByRole('tab', { name: 'Speedup' }).click();
  await page.getByLabel('live (real cores)').check();
  for (const k of ['1', '2', '4']) await page.getByRole('group', { name: 'Worker counts' }).getByLabel(k, { exact: true }).check();
  await page.getByRole('button', { name: 'Run speedup experiment' }).click();
  await page.getByRole('button', { name: 'Run speedup experiment' }).and(page.locator(':enabled')).waitFor({ timeout: 90_000 });
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const note = page.locator('.cores-note');
  await expect.poll(() => note.textContent()).toMatch(new RegExp(`^This browser reports ${cores} cores?, and the page itself needs part of one while it runs\\.`));
  // At least 4 workers ran (1, 2 and 4 were ticked): on fewer cores the note says the speedup cannot pass the core count.
  if (cores < 4) expect(await note.textContent()).toMatch(new RegExp(`\\d+ workers share ${cores} cores?: the speedup cannot pass about ${cores}\\.`));
  await page.screenshot({ path: path.join(SCREENSHOTS, 'speedup-live-cores.png') });
  expect(errors).toEqual([]);
});

test('before it runs, the speedup experiment says when a worker count has more workers than the scenario has jobs', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await setScenario(page, { darts: 40_000_000, jobs: 8 });
  await page.getByRole('tab', { name: 'Speedup' }).click();
  const note = page.getByRole('note', { name: 'Jobs for the node counts' });
  const counts = page.getByRole('group', { name: 'Worker counts' });
  for (const k of ['1', '2', '4', '8']) await counts.getByLabel(k, { exact: true }).check();
  expect(await note.count()).toBe(0);
  // The empty plot's hint, centred, fits the plot's drawing area (on one line, a narrow panel cut it at both ends).
  const hint = (await page.locator('figure text.empty').boundingBox())!;
  const area = Number(await page.locator('figure clipPath rect').first().getAttribute('width'));
  expect(hint.width).toBeLessThanOrEqual(area);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'speedup-empty-plot.png') });
  await counts.getByLabel('16', { exact: true }).check();
  await expect.poll(() => note.textContent()).toBe(
    "The scenario has 8 jobs: on 16 workers, some get no job and wait, so that run's speedup cannot pass 8. Give it at least 16 jobs for every one of them to work; a few jobs each evens out the end of a run.",
  );
  await note.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'speedup-idle-workers-note.png') });
  // More jobs, and the note goes.
  await setScenario(page, { darts: 40_000_000, jobs: 32 });
  await page.getByRole('tab', { name: 'Speedup' }).click();
  await expect.poll(() => note.count()).toBe(0);
  expect(errors).toEqual([]);
});

test('message labels in slow motion, with several workers busy: each on its own tag, none over another (screenshots to look at)', async () => {
  const { page, errors } = await lab.newPage();
  await page.goto(lab.url);
  await setScenario(page, { darts: 1_000_000, jobs: 12, workers: 6 });
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('0.5');
  await page.getByRole('button', { name: 'Play' }).click();
  await page.waitForTimeout(2500);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'message-labels-pi.png') });
  // The matrix run: every worker talks to the queue server and to the key-value store.
  await page.getByLabel('Kind', { exact: true }).selectOption('matrix');
  await page.getByLabel('Workers', { exact: true }).fill('4');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: /^Start producer/ }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('0.25');
  await page.getByRole('button', { name: 'Play' }).click();
  await page.waitForTimeout(3000);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'message-labels-matrix.png') });
  expect(errors).toEqual([]);
});
