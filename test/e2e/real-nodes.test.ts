// Real-node mode across separate browser processes, as in a lab: one Chromium hosts the room (the
// queue server), two others join it over WebRTC and become worker nodes, signaling through the
// PeerServer that `npm start` serves on the app's own port (here on loopback).
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { hostRoom, joinAs, nodeCard as card, openRoomLab, openRoomPage, SCREENSHOTS, type RoomLab } from './browser.ts';

let lab: RoomLab;
beforeAll(async () => {
  lab = await openRoomLab();
});
afterAll(async () => {
  await lab?.close();
});

async function piEstimate(page: Page, timeout = 90_000): Promise<number> {
  const status = page.getByRole('status', { name: 'π estimate' });
  await status.filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout });
  return Number(/π ≈ (\d\.\d+)/.exec((await status.textContent()) ?? '')![1]);
}

test('a host and two joiners in separate browsers compute π; remote cards show their round trip', async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  expect(host.link).toMatch(/\?join=[a-z2-7]{12}#[a-z2-7]{12}$/);
  const a = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  const b = await joinAs(lab.browsers[2], host.link, 'remote 2.1');
  await card(host.page, 'remote 1.1').filter({ hasText: /RTT \d+\.\d ms/ }).waitFor({ timeout: 10_000 });
  // Its network is real: its card offers the failure controls, but no simulated latency.
  await card(host.page, 'remote 1.1').getByRole('button', { name: 'Kill remote 1.1' }).waitFor();
  expect(await card(host.page, 'remote 1.1').getByRole('spinbutton').count()).toBe(0);
  // The room panel is still open from hosting: it lists both joiners.
  const panel = host.page.getByRole('dialog', { name: 'Room' });
  await panel.filter({ hasText: /Joiner 1 \(.*\): joined, 1 node, RTT \d+\.\d ms/ }).waitFor({ timeout: 5000 });
  await panel.filter({ hasText: /Joiner 2 \(.*\): joined, 1 node/ }).waitFor();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'real-nodes-room-panel.png') });
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  const pi = await piEstimate(host.page);
  expect(Math.abs(pi - Math.PI)).toBeLessThan(0.01);
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'real-nodes-host-done.png') });
  await a.page.screenshot({ path: path.join(SCREENSHOTS, 'real-nodes-joiner.png') });
  // Both joiners did part of the work, and each page says how much.
  const jobsDone = async (p: Page) => Number(/(\d+) jobs? done/.exec((await p.getByRole('list', { name: "This browser's nodes" }).textContent()) ?? '')?.[1] ?? -1);
  const [ja, jb] = [await jobsDone(a.page), await jobsDone(b.page)];
  expect(ja).toBeGreaterThan(0);
  expect(jb).toBeGreaterThan(0);
  expect(ja + jb).toBe(8);
  // The host resets and runs again: each joiner's slots take their Web Workers back (a fresh one loads
  // its module and WebAssembly anew), and π comes out again.
  const started = [a.page, b.page].map((p) => {
    let n = 0;
    p.on('worker', () => n++);
    return () => n;
  });
  await host.page.getByRole('button', { name: 'Reset' }).click();
  await host.page.getByRole('status', { name: 'π estimate' }).filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ state: 'detached' });
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  expect(Math.abs((await piEstimate(host.page)) - Math.PI)).toBeLessThan(0.01);
  expect(started.map((n) => n())).toEqual([0, 0]);
  await a.page.getByRole('button', { name: 'Leave' }).click();
  await a.page.getByRole('status', { name: 'Membership' }).filter({ hasText: 'Not in the room: you left the room.' }).waitFor();
  await card(host.page, 'remote 1.1').filter({ hasText: 'left the room' }).waitFor({ timeout: 10_000 });
  expect([...host.errors, ...a.errors, ...b.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), a.page.context().close(), b.page.context().close()]);
});

test('a joiner whose tab closes mid-job: its job comes back and the run still gives π', async () => {
  // Jobs of 2e8 darts (about 0.2 s each): long enough that the joiner is seen working, and closed mid-job.
  const host = await hostRoom(lab, { darts: 2_400_000_000, jobs: 12 });
  const a = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  const b = await joinAs(lab.browsers[2], host.link, 'remote 2.1');
  // The room panel, still open from hosting, covers part of the top bar.
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  await b.page.getByRole('list', { name: "This browser's nodes" }).filter({ hasText: 'working on job' }).waitFor({ timeout: 20_000 });
  await b.page.context().close();
  await card(host.page, 'remote 2.1').filter({ hasText: 'left the room' }).waitFor({ timeout: 10_000 });
  const returned = await host.page.evaluate(() => {
    const lab = (window as unknown as { __beanlab: { cluster: { model: { reservations: { outcome: string | null }[] } } } }).__beanlab;
    return lab.cluster.model.reservations.filter((r) => r.outcome === 'returned').length;
  });
  expect(returned).toBe(1);
  const pi = await piEstimate(host.page, 110_000);
  expect(Math.abs(pi - Math.PI)).toBeLessThan(0.01);
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'real-nodes-joiner-closed.png') });
  expect([...host.errors, ...a.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), a.page.context().close()]);
});

test('a joiner that sends garbage is dropped and told why; the run completes on the other', async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  const good = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  const rogue = await joinAs(lab.browsers[2], host.link, 'remote 2.1');
  await rogue.page.evaluate(() => {
    type Conn = { send(d: string): void };
    const joined = (window as unknown as { __beanlabJoin: { peer: { connections: Record<string, Conn[]> } } }).__beanlabJoin;
    for (const conns of Object.values(joined.peer.connections)) for (const c of conns) c.send('{"t":"node","s":0,"g":0,"m":{"t":"report","vt":0,"report":{"kind":"producer-done","job":1}}}');
  });
  await rogue.page
    .getByRole('status', { name: 'Membership' })
    .filter({ hasText: 'The host let this browser go: sent a malformed message (a worker reports only task-done and task-failed).' })
    .waitFor({ timeout: 10_000 });
  await card(host.page, 'remote 2.1').filter({ hasText: 'left the room' }).waitFor({ timeout: 10_000 });
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  const pi = await piEstimate(host.page);
  expect(Math.abs(pi - Math.PI)).toBeLessThan(0.01);
  await rogue.page.screenshot({ path: path.join(SCREENSHOTS, 'real-nodes-rogue-dropped.png') });
  expect([...host.errors, ...good.errors, ...rogue.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), good.page.context().close(), rogue.page.context().close()]);
});

test('joining a room that does not exist says so within seconds', async () => {
  const { page, errors } = await openRoomPage(lab.browsers[1], `${lab.url}?join=aaaaaaaaaaaa#bbbbbbbbbbbb`);
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: 15_000 });
  expect(await alert.textContent()).toContain('Room aaaaaaaaaaaa does not exist or has been closed.');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'real-nodes-no-such-room.png') });
  // PeerJS logs the unknown peer to the console as an error of its own; nothing else may.
  expect(errors.filter((e) => !e.includes('Could not connect to peer beanlab-aaaaaaaaaaaa'))).toEqual([]);
  await page.context().close();
});
