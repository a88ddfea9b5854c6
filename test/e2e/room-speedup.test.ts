// The speedup experiment on a room's remote nodes, as in a lab: one Chromium hosts the room, two others join over WebRTC;
// the host runs the Speedup tab's experiment on 1 local worker, then 1 and 2 remote nodes, and exports it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { hostRoom, joinAs, openRoomLab, SCREENSHOTS, type RoomLab } from './browser.ts';

let lab: RoomLab;
beforeAll(async () => {
  lab = await openRoomLab();
});
afterAll(async () => {
  await lab?.close();
});

const DARTS = 800_000_000;
const JOBS = 8;

test('the host measures 1 local worker against 1 and 2 remote nodes, with shares, overhead and a CSV', async () => {
  const host = await hostRoom(lab, { darts: DARTS, jobs: JOBS });
  await host.page.keyboard.press('Escape');

  await host.page.getByRole('tab', { name: 'Speedup' }).click();
  // Before anyone joins, the room's nodes are offered but cannot be chosen.
  await expect.poll(() => host.page.getByRole('radio', { name: "this room's remote nodes (nobody has joined yet)" }).isDisabled()).toBe(true);

  const joiners = [await joinAs(lab.browsers[1], host.link, 'remote 1.1'), await joinAs(lab.browsers[2], host.link, 'remote 2.1')];
  const card = (name: string) => host.page.getByRole('region', { name, exact: true });
  await card('remote 2.1').waitFor({ timeout: 10_000 });

  await host.page.getByRole('radio', { name: "this room's remote nodes (1 local baseline, then k remote)" }).check();
  const counts = host.page.getByRole('group', { name: 'Remote node counts' });
  expect(await counts.getByRole('checkbox').count()).toBe(2);
  expect(await counts.getByRole('checkbox', { name: '1' }).isChecked()).toBe(true);
  expect(await counts.getByRole('checkbox', { name: '2' }).isChecked()).toBe(true);
  const run = host.page.getByRole('button', { name: 'Run speedup experiment' });
  await run.click();
  // While lent to the experiment, the joiners' slots are off the lab's own cluster.
  await card('remote 1.1').waitFor({ state: 'detached', timeout: 10_000 });
  await run.and(host.page.locator(':enabled')).waitFor({ timeout: 110_000 });
  expect(await host.page.getByRole('status').filter({ hasText: /failed|Stopped/ }).count()).toBe(0);

  // One row per run: the local baseline, then each remote count; each with its π and speedup.
  const times = host.page.getByRole('table', { name: /Measured times \(live time, the room's remote nodes\)/ });
  const cells = (await times.locator('tbody tr').allInnerTexts()).map((r) => r.split('\t').map((c) => c.trim()));
  expect(cells.map((c) => c[0])).toEqual(['1 local', '1 remote', '2 remote']);
  const headers = (await times.locator('thead th').allInnerTexts()).map((h) => h.trim());
  expect(headers).toEqual(['nodes', 'time (s)', 'producer (s)', 'speedup', 'efficiency', 'π estimate']);
  expect(cells[0][3]).toBe('1.00');
  for (const c of cells) {
    expect(Number(c[3])).toBeGreaterThan(0);
    expect(Math.abs(Number(c[5]) - Math.PI)).toBeLessThan(0.01);
  }

  // Each run's jobs, node by node: all of them, and only that run's nodes; its dispatch overhead and round trip.
  const shares = host.page.getByRole('table', { name: 'Share of the jobs, per node, and dispatch overhead' });
  expect((await shares.locator('thead th').allInnerTexts()).map((h) => h.trim())).toEqual(['nodes', 'jobs done by each node', 'dispatch overhead', 'RTT']);
  const shareRows = (await shares.locator('tbody tr').allInnerTexts()).map((r) => r.split('\t').map((c) => c.trim()));
  expect(shareRows.map((r) => r[0])).toEqual(['1 local', '1 remote', '2 remote']);
  const perNode = shareRows.map((r) => [...r[1].matchAll(/(worker \d+|remote \d+\.\d+): (\d+) \((\d+)%\)/g)].map((m) => ({ name: m[1], jobs: Number(m[2]) })));
  expect(perNode.map((run) => run.map((n) => n.name))).toEqual([['worker 1'], ['remote 1.1'], ['remote 1.1', 'remote 2.1']]);
  for (const run of perNode) expect(run.reduce((t, n) => t + n.jobs, 0)).toBe(JOBS);
  for (const r of shareRows) expect(r[2]).toMatch(/^[-−]?[\d,]+\.\d ms per job$/);
  expect(shareRows.map((r) => r[3].replace(/^[\d,]+\.\d ms$/, 'measured'))).toEqual(['—', 'measured', 'measured']);
  await host.page.getByText('Dispatch overhead: the time the nodes spent outside their jobs').waitFor();

  await host.page.getByRole('heading', { name: 'Speedup experiment' }).scrollIntoViewIfNeeded();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-speedup-plot.png') });
  await times.scrollIntoViewIfNeeded();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-speedup-times.png') });
  await shares.scrollIntoViewIfNeeded();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-speedup.png') });
  // The divider above the tabs at its highest: the whole table shows with the panel scrolled to the top.
  await host.page.getByRole('separator', { name: /Resize the tab panel/ }).focus();
  await host.page.keyboard.press('Home');
  const panel = host.page.getByRole('tabpanel');
  await panel.evaluate((p) => (p.scrollTop = 0));
  const [panelBox, sharesBox] = [(await panel.boundingBox())!, (await shares.boundingBox())!];
  expect(sharesBox.y).toBeGreaterThanOrEqual(panelBox.y);
  expect(sharesBox.y + sharesBox.height).toBeLessThanOrEqual(panelBox.y + panelBox.height);
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-speedup-tall-panel.png') });

  // The CSV: the first columns as before, then kind, jobs, overhead, round trip and each node's jobs and share.
  const [download] = await Promise.all([host.page.waitForEvent('download'), host.page.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^beanlab-speedup-room-seed\d+\.csv$/);
  const csv = readFileSync((await download.path())!, 'utf8').trimEnd().split('\n');
  expect(csv[0]).toBe('workers,seconds,producerSeconds,speedup,efficiency,estimate,kind,jobs,jobSeconds,overheadMsPerJob,rttMs,nodeJobs,nodeShares');
  const records = csv.slice(1).map((line) => Object.fromEntries(csv[0].split(',').map((name, i) => [name, line.split(',')[i]])));
  expect(records.map((r) => `${r.workers} ${r.kind}`)).toEqual(['1 local', '1 remote', '2 remote']);
  expect(records.map((r) => r.jobs)).toEqual([String(JOBS), String(JOBS), String(JOBS)]);
  expect(records.map((r) => r.nodeJobs.replace(/=\d+/g, ''))).toEqual(['worker 1', 'remote 1.1', 'remote 1.1;remote 2.1']);
  for (const r of records) {
    expect(r.nodeJobs.split(';').reduce((t, n) => t + Number(n.split('=')[1]), 0)).toBe(JOBS);
    expect(r.nodeShares.split(';').reduce((t, n) => t + Number(n.split('=')[1]), 0)).toBeCloseTo(1, 9);
    expect(Math.abs(Number(r.estimate) - Math.PI)).toBeLessThan(0.01);
    expect(Number(r.overheadMsPerJob)).toBeCloseTo(((Number(r.seconds) * Number(r.workers) - Number(r.jobSeconds)) * 1000) / JOBS, 6);
  }
  expect(records[0].rttMs).toBe('');
  expect(records[2].rttMs).toMatch(/^\d+(\.\d+)?$/);
  // The JSON says which setup the points came from, and keeps every node's kind and share.
  const [json] = await Promise.all([host.page.waitForEvent('download'), host.page.getByRole('button', { name: 'Export JSON' }).click()]);
  const exported = JSON.parse(readFileSync((await json.path())!, 'utf8'));
  expect(exported.setup).toMatchObject({ seed: 1, mode: 'live', nodes: 'room', scenario: { kind: 'pi', darts: DARTS, jobs: JOBS } });
  expect(exported.points.map((p: { nodes: { kind: string }[] }) => p.nodes.map((n) => n.kind))).toEqual([['local'], ['remote'], ['remote', 'remote']]);

  // The slots are back on the lab's cluster, and the joiners' own counts hold every job of the two remote runs.
  await card('remote 1.1').waitFor({ timeout: 10_000 });
  await card('remote 2.1').waitFor();
  const jobsDone = async (p: Page) => Number(/(\d+) jobs? done/.exec((await p.getByRole('list', { name: "This browser's nodes" }).textContent()) ?? '')?.[1] ?? -1);
  expect((await jobsDone(joiners[0].page)) + (await jobsDone(joiners[1].page))).toBe(2 * JOBS);
  expect([...host.errors, ...joiners.flatMap((j) => j.errors)]).toEqual([]);
  await Promise.all([host.page.context().close(), ...joiners.map((j) => j.page.context().close())]);
});

test('a joiner leaving mid-experiment: the set-up stays the room one while it runs, and the run ends saying what went wrong', async () => {
  const host = await hostRoom(lab, { darts: DARTS, jobs: JOBS });
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('tab', { name: 'Speedup' }).click();
  const joiner = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  await host.page.getByRole('region', { name: 'remote 1.1', exact: true }).waitFor({ timeout: 10_000 });
  await host.page.getByRole('radio', { name: "this room's remote nodes (1 local baseline, then k remote)" }).check();
  const run = host.page.getByRole('button', { name: 'Run speedup experiment' });
  await run.click();
  // The only joiner leaves while the local baseline runs.
  await joiner.page.context().close();
  await expect.poll(() => host.page.getByRole('radio', { name: "this room's remote nodes (nobody has joined yet)" }).count(), { timeout: 15_000 }).toBe(1);
  expect(await run.isDisabled()).toBe(true);
  expect(await host.page.getByRole('group', { name: 'Remote node counts' }).count()).toBe(1);
  expect(await host.page.getByRole('group', { name: 'Worker counts' }).count()).toBe(0);
  await run.and(host.page.locator(':enabled')).waitFor({ timeout: 110_000 });
  const failed = host.page.getByRole('status').filter({ hasText: /The experiment failed: .+/ });
  expect(await failed.count()).toBe(1);
  await failed.scrollIntoViewIfNeeded();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-speedup-joiner-left.png') });
  // Now the set-up offers what there is: local workers.
  expect(await host.page.getByRole('group', { name: 'Worker counts' }).count()).toBe(1);
  await host.page.context().close();
});
