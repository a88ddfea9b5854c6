// Result checking in a room, as in a lab: one Chromium hosts, two others join over WebRTC, and one of the
// joiners cheats — everything its worker sends over the data channel claims that every dart hit (π ≈ 4).
// Nothing notices until the host turns on 'verify results': then every job is re-run on the other joiner,
// the cheater's card and its jobs' records say its results disagreed, and the host excludes it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { hostRoom, joinAs, nodeCard as card, openRoomLab, SCREENSHOTS, type RoomLab } from './browser.ts';

let lab: RoomLab;
beforeAll(async () => {
  lab = await openRoomLab();
});
afterAll(async () => {
  await lab?.close();
});

/** In the joiner's page: what it sends the host claims hits = darts, in the results it puts and in the ones it reports. */
async function cheat(page: Page): Promise<void> {
  await page.evaluate(() => {
    type Conn = { dataChannel: { send(d: unknown): void } };
    const joined = (window as unknown as { __beanlabJoin: { peer: { connections: Record<string, Conn[]> } } }).__beanlabJoin;
    const lie = (text: string): string => {
      const msg = JSON.parse(text);
      const m = msg.t === 'node' ? msg.m : null;
      if (m?.t === 'report' && m.report.kind === 'task-done' && m.report.result) m.report.result = m.report.result.replace(/^pi (\d+) \d+$/, 'pi $1 $1');
      if (m?.t === 'data')
        m.bytes = m.bytes.replace(/put (\d+) (\d+) (\d+) \d+\r\npi (\d+) \d+\r\n/, (_: string, pri: string, delay: string, ttr: string, darts: string) => {
          const body = `pi ${darts} ${darts}`;
          return `put ${pri} ${delay} ${ttr} ${body.length}\r\n${body}\r\n`;
        });
      return JSON.stringify(msg);
    };
    for (const conns of Object.values(joined.peer.connections)) {
      for (const c of conns) {
        // The room sends straight to the data channel. PeerJS's own control messages (a close) go
        // through it too: those go as they are.
        const channel = c.dataChannel;
        const send = channel.send.bind(channel);
        channel.send = (d: unknown) => send(typeof d === 'string' ? lie(d) : d);
      }
    }
  });
}

test('verify 100%: the cheating joiner is flagged on its card and in its jobs, and the host excludes it', async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  const honest = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  const cheater = await joinAs(lab.browsers[2], host.link, 'remote 2.1');
  await cheat(cheater.page);

  // The room panel is still open from hosting: re-run every job on a second node.
  const panel = host.page.getByRole('dialog', { name: 'Room' });
  await panel.getByRole('combobox', { name: 'Verify results' }).selectOption({ label: '100% of the jobs' });
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();

  // The estimate still goes wrong — each of the cheater's results claims every dart hit (one of the 8 alone
  // gives π ≈ 3.25) — but now it does not go unnoticed.
  const status = host.page.getByRole('status', { name: 'π estimate' });
  await status.filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout: 90_000 });
  expect(Number(/π ≈ (\d\.\d+)/.exec((await status.textContent()) ?? '')![1])).toBeGreaterThan(3.2);
  const flag = card(host.page, 'remote 2.1').getByRole('status', { name: 'Result check of remote 2.1' });
  await flag.filter({ hasText: /✗ \d+ results? disagreed/ }).waitFor({ timeout: 30_000 });
  // Every job was picked: the cheater's all disagreed; the honest joiner's agreed, until the cheater was caught —
  // then no other machine was left to trust with a re-run.
  const checks = () =>
    host.page.evaluate(() => {
      const lab = (window as unknown as { __beanlab: { cluster: { checker: { checks: { job: number; node: string; checker: string | null; verdict: string; why?: string }[] }; history: { byJobId(id: number): { key: number } | undefined } } } }).__beanlab;
      return lab.cluster.checker.checks.map((c) => ({ ...c, key: lab.cluster.history.byJobId(c.job)?.key }));
    });
  await expect.poll(async () => (await checks()).filter((c) => c.verdict !== 'pending').length, { timeout: 30_000 }).toBe(8);
  const all = await checks();
  for (const c of all) {
    if (c.node === 'remote 2.1') expect(c).toMatchObject({ verdict: 'disagreed', checker: 'remote 1.1' });
    else expect(c).toMatchObject(c.verdict === 'agreed' ? { node: 'remote 1.1', checker: 'remote 2.1' } : { node: 'remote 1.1', verdict: 'unchecked', why: 'no other node to re-run it on' });
  }
  const caught = all.filter((c) => c.verdict === 'disagreed');
  const agreed = all.filter((c) => c.verdict === 'agreed').length;
  const unchecked = 8 - caught.length - agreed;
  expect(caught.length).toBeGreaterThan(0);
  // The cards show it at the next redraw of the run's state (at most 100 ms on).
  await expect.poll(() => flag.textContent()).toContain(`✗ ${caught.length} result${caught.length === 1 ? '' : 's'} disagreed`);
  if (agreed) await expect.poll(() => card(host.page, 'remote 1.1').textContent()).toContain(`✓ ${agreed} verified`);
  await card(host.page, 'remote 2.1').screenshot({ path: path.join(SCREENSHOTS, 'room-verify-cheater-card.png') });
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-verify-host.png') });

  // The Jobs tab marks the job, and its record says with whom it disagreed, and what each gave.
  await host.page.getByRole('tab', { name: 'Jobs' }).click();
  await host.page.getByRole('button', { name: `Open the record of job ${caught[0].key}`, exact: true }).click();
  const record = host.page.getByRole('region', { name: `Record of job ${caught[0].key}` });
  expect((await record.getByRole('note', { name: 'Result check' }).textContent())?.replace(/\s+/g, ' ').trim()).toMatch(
    /^✗ Disagreed with a re-run on remote 1\.1: remote 2\.1 gave pi 5000000 5000000, remote 1\.1 gave pi 5000000 \d+\.$/,
  );
  const steps = await record.getByRole('list', { name: `Lifecycle of job ${caught[0].key}` }).getByRole('listitem').allTextContents();
  expect(steps.some((s) => /result disagreed: pi 5000000 5000000 given, pi 5000000 \d+ from a re-run by remote 1\.1/.test(s))).toBe(true);
  expect(await host.page.getByRole('table', { name: 'Jobs' }).textContent()).toContain('✗ disagreed');
  await host.page.setViewportSize({ width: 1920, height: 1080 });
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-verify-jobs.png') });
  await host.page.setViewportSize({ width: 1280, height: 720 });

  // The room panel counts the disagreements and the price; one click excludes the cheater.
  await host.page.getByRole('button', { name: /^Room / }).click();
  const summary = `8 jobs picked: ${agreed} agreed, ${caught.length} disagreed${unchecked ? `, ${unchecked} not checked` : ''}. Price: ${agreed + caught.length} re-runs for 8 jobs (+${Math.round(((agreed + caught.length) / 8) * 100)}% work), `;
  expect((await panel.getByRole('status', { name: 'Result check' }).textContent())?.replace(/\s+/g, ' ')).toContain(summary);
  expect(await panel.textContent()).toContain(`${caught.length} result${caught.length === 1 ? '' : 's'} disagreed`);
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-verify-panel.png') });
  await host.page.keyboard.press('Escape');
  await card(host.page, 'remote 2.1').getByRole('button', { name: 'Exclude remote 2.1' }).click();
  await card(host.page, 'remote 2.1').waitFor({ state: 'detached', timeout: 10_000 });
  await cheater.page
    .getByRole('status', { name: 'Membership' })
    .filter({ hasText: 'excluded by the host: its results disagreed with re-runs' })
    .waitFor({ timeout: 10_000 });
  expect(await card(host.page, 'remote 1.1').isVisible()).toBe(true);
  expect([...host.errors, ...honest.errors, ...cheater.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), honest.page.context().close(), cheater.page.context().close()]);
});
