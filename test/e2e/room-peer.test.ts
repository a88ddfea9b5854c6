// How a room is entered, in real Chromium processes over the real PeerServer: what PeerJS lets through
// to the host (only the 'raw' serialization the room speaks), the room's secret and challenge when
// someone else takes the host's id after the signaling server restarts, closing a room, and joiners'
// names.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { hostRoom, joinAs, openRoomLab, openRoomPage, SCREENSHOTS, type RoomLab } from './browser.ts';

let lab: RoomLab;
beforeAll(async () => {
  lab = await openRoomLab();
});
afterAll(async () => {
  await lab?.close();
});

const membership = (page: Page) => page.getByRole('status', { name: 'Membership' });
const panelOf = (page: Page) => page.getByRole('dialog', { name: 'Room' });
const hostIdOf = (link: string) => `beanlab-${new URL(link).searchParams.get('join')}`;

async function piEstimate(page: Page, timeout = 90_000): Promise<number> {
  const status = page.getByRole('status', { name: 'π estimate' });
  await status.filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout });
  return Number(/π ≈ (\d\.\d+)/.exec((await status.textContent()) ?? '')![1]);
}

test("a joined tab's PeerJS connections in 'binary' or an unknown serialization are refused before PeerJS takes them; nothing throws; the room carries on", async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  const honest = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  const hostile = await joinAs(lab.browsers[2], host.link, 'remote 2.1');
  const hostId = hostIdOf(host.link);
  // The hostile tab uses the PeerJS of its own join: 'binary' (chunks the host would reassemble without
  // a limit), and a serialization of its own naming (the host's PeerJS has no class for it).
  const opened = await hostile.page.evaluate(async (hostId) => {
    type Conn = { open: boolean; on(e: string, f: () => void): void; dataChannel?: RTCDataChannel };
    type ConnClass = new (...args: unknown[]) => { serialization: string };
    type PeerJs = { _serializers: Record<string, ConnClass>; connect(id: string, o: object): Conn };
    const peer = (window as unknown as { __beanlabJoin: { peer: PeerJs } }).__beanlabJoin.peer;
    // A raw connection whose offer names a serialization of its own.
    peer._serializers['x-mine'] = class extends peer._serializers.raw {
      constructor(...args: unknown[]) {
        super(...args);
        this.serialization = 'x-mine';
      }
    };
    const tries = ['binary', 'x-mine'].map((serialization) => {
      const conn = peer.connect(hostId, { serialization, reliable: true });
      return new Promise<string | null>((resolve) => {
        conn.on('open', () => {
          // A first chunk of a message that never completes.
          conn.dataChannel?.send(new Uint8Array(16_000));
          resolve(serialization);
        });
        setTimeout(() => resolve(null), 8000);
      });
    });
    return (await Promise.all(tries)).filter((s) => s !== null);
  }, hostId);
  expect(opened).toEqual([]);
  // On the host, PeerJS holds only the hostile tab's room connection: nothing was built for the others.
  const held = await host.page.evaluate(() => {
    type PeerJs = { connections: Record<string, { serialization: string }[]> };
    const room = (window as unknown as { __beanlab: { room: { peer: PeerJs } } }).__beanlab.room;
    return Object.values(room.peer.connections).map((conns) => conns.map((c) => c.serialization));
  });
  expect(held).toEqual([['raw'], ['raw']]);
  await panelOf(host.page).filter({ hasText: /Joiner 2 \(.*\): joined, 1 node/ }).waitFor();
  expect(await panelOf(host.page).getByText('Joiner 3').count()).toBe(0);
  // The room works as before, on both joiners.
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  expect(Math.abs((await piEstimate(host.page)) - Math.PI)).toBeLessThan(0.01);
  expect([...host.errors, ...honest.errors, ...hostile.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), honest.page.context().close(), hostile.page.context().close()]);
});

test("the signaling server restarts and another browser takes the room's id: the host is told at once and reopens; the old link reaches a browser that cannot pass for the host", async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  const before = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  await host.page.keyboard.press('Escape');
  // The attacker's page: beanlab with a room of its own, for its PeerJS.
  const attacker = await openRoomPage(lab.browsers[2], lab.url);
  await attacker.page.getByRole('button', { name: 'Room', exact: true }).click();
  await attacker.page.getByRole('button', { name: 'Host a room' }).click();
  await attacker.page.getByRole('textbox', { name: 'Join link' }).waitFor({ timeout: 10_000 });

  // The host's page goes offline until the attacker holds its id on the restarted server.
  await host.page.context().setOffline(true);
  await lab.restartServer();
  const alert = panelOf(host.page).getByRole('alert');
  await panelOf(host.page).waitFor({ timeout: 5000 });
  await alert.filter({ hasText: 'Lost the signaling server.' }).waitFor({ timeout: 5000 });
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-peer-signaling-lost.png') });

  const hostId = hostIdOf(host.link);
  await attacker.page.evaluate(async (hostId) => {
    type Conn = { on(e: string, f: (d?: unknown) => void): void; send(d: string): void };
    type PeerJs = { on(e: string, f: (x: never) => void): void };
    const room = (window as unknown as { __beanlab: { room: { peer: { constructor: new (id: string, o: object) => PeerJs } } } }).__beanlab.room;
    const evil = { got: [] as string[] };
    (window as unknown as { __evil: typeof evil }).__evil = evil;
    const worker = { watch: 'msg_for_worker', use: 'msg_for_client', onFailure: 'release-then-delete', reconnectEachJob: false };
    await new Promise<void>((resolve, reject) => {
      const peer = new room.peer.constructor(hostId, { host: location.hostname, port: Number(location.port), path: '/peerjs', secure: false, config: { iceServers: [] } });
      peer.on('open', () => resolve());
      peer.on('error', (e: { type: string }) => reject(new Error(e.type)));
      // It does not know the secret: it answers the hello as best it can and sends work.
      peer.on('connection', (conn: Conn) =>
        conn.on('data', (d) => {
          evil.got.push(String(d));
          if (JSON.parse(String(d)).t !== 'hello') return;
          conn.send(JSON.stringify({ t: 'hello', answer: '0'.repeat(64) }));
          conn.send(JSON.stringify({ t: 'welcome', room: hostId.slice(8), joiner: 1, nodes: [{ s: 0, name: 'remote 1.1' }] }));
          conn.send(JSON.stringify({ t: 'node', s: 0, g: 0, m: { t: 'start', vt: 0, name: 'remote 1.1', seed: 1, config: { role: 'worker', worker }, virtual: false } }));
        }),
      );
    });
  }, hostId);

  // Back online, the host's reconnect finds its id taken: it says so at once, in the open panel.
  await host.page.context().setOffline(false);
  await alert.filter({ hasText: "Another browser has taken this room's code on the signaling server." }).waitFor({ timeout: 8000 });
  expect(await host.page.getByRole('button', { name: /^Room [a-z2-7]{12} ⚠$/ }).count()).toBe(1);
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-peer-id-taken.png') });

  // A classmate with the old link reaches the attacker, which cannot answer the challenge.
  const victim = await openRoomPage(lab.browsers[1], host.link);
  await membership(victim.page).filter({ hasText: "this is not the room's host" }).waitFor({ timeout: 20_000 });
  expect(await victim.page.getByRole('list', { name: "This browser's nodes" }).count()).toBe(0);
  await victim.page.screenshot({ path: path.join(SCREENSHOTS, 'room-peer-not-the-host.png') });
  const got = await attacker.page.evaluate(() => (window as unknown as { __evil: { got: string[] } }).__evil.got);
  // Its hello and its goodbye, no node message (PeerJS's closing marker, "[object Object]" in raw, aside).
  expect(got.filter((d) => d.startsWith('{"')).map((d) => JSON.parse(d).t)).toEqual(['hello', 'bye']);

  // The host reopens under a new code: a new link joins; the joiner already in stayed.
  await host.page.getByRole('button', { name: 'Reopen the room under a new code' }).click();
  const newLink = await panelOf(host.page).getByRole('textbox', { name: 'Join link' });
  await expect.poll(() => newLink.inputValue()).not.toBe(host.link);
  expect(await alert.count()).toBe(0);
  const after = await joinAs(lab.browsers[2], await newLink.inputValue(), 'remote 2.1');
  await panelOf(host.page).filter({ hasText: /Joiner 1 \(.*\): joined/ }).waitFor();
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-peer-reopened.png') });
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  expect(Math.abs((await piEstimate(host.page)) - Math.PI)).toBeLessThan(0.01);
  expect([...host.errors, ...before.errors, ...victim.errors, ...after.errors]).toEqual([]);
  await Promise.all([host, before, attacker, victim, after].map((p) => p.page.context().close()));
});

test('closing a room throws nothing, and its joiners are told', async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  const joiner = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  await panelOf(host.page).getByRole('button', { name: 'Close the room' }).click();
  await membership(joiner.page).filter({ hasText: 'The host let this browser go: the host closed the room.' }).waitFor({ timeout: 10_000 });
  // Past the time PeerJS's reconnect was scheduled for (2 s after the peer went away).
  await host.page.waitForTimeout(3500);
  await host.page.getByRole('button', { name: 'Host a room' }).waitFor();
  expect([...host.errors, ...joiner.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), joiner.page.context().close()]);
});

test('joiners are told apart by name: distinct default names, a name of their own that is remembered, and the approval prompt shows it', async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  const a = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  const b = await joinAs(lab.browsers[2], host.link, 'remote 2.1');
  const panel = panelOf(host.page);
  await panel.filter({ hasText: 'Joiner 2 (' }).waitFor();
  const names = (await panel.getByRole('listitem').allTextContents()).map((t) => /Joiner \d \((.*?)\):/.exec(t)![1]);
  expect(names).toHaveLength(2);
  expect(names[0]).not.toBe(names[1]);
  // Each joiner's page says what the host calls it.
  await a.page.getByText(`The host sees this browser as “${names[0]}”`).waitFor();

  // With approval on, a joiner that names itself is shown by that name in the prompt.
  await panel.getByRole('checkbox', { name: 'Ask me before a browser joins' }).check();
  await a.page.getByRole('button', { name: 'Leave' }).click();
  await a.page.getByRole('textbox', { name: 'Your name (the host sees it)' }).fill('Ada (front row)');
  await a.page.getByRole('button', { name: 'Join again' }).click();
  await panel.filter({ hasText: 'Joiner 3 (Ada (front row)): waiting for approval' }).waitFor({ timeout: 10_000 });
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-peer-names-approval.png') });
  await panel.getByRole('button', { name: 'Approve joiner 3' }).click();
  await membership(a.page).filter({ hasText: 'node remote 3.1' }).waitFor({ timeout: 10_000 });
  // A reload keeps the seat: joiner 3 again, under its name, without asking the host again.
  await a.page.reload();
  await membership(a.page).filter({ hasText: 'node remote 3.1' }).waitFor({ timeout: 20_000 });
  await a.page.getByText('The host sees this browser as “Ada (front row)”').waitFor();
  await panel.filter({ hasText: 'Joiner 3 (Ada (front row)): joined' }).waitFor({ timeout: 10_000 });
  // Leaving on purpose gives up the seat: joining again is a new joiner, under the remembered name, approved afresh.
  await a.page.getByRole('button', { name: 'Leave' }).click();
  await a.page.getByRole('button', { name: 'Join again' }).click();
  await panel.filter({ hasText: 'Joiner 4 (Ada (front row)): waiting for approval' }).waitFor({ timeout: 10_000 });
  await a.page.screenshot({ path: path.join(SCREENSHOTS, 'room-peer-joiner-waiting.png') });
  expect([...host.errors, ...a.errors, ...b.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), a.page.context().close(), b.page.context().close()]);
});

test('a link without the secret, or a typed room code alone, says what is missing; a typed join code opens the join link with its secret', async () => {
  const bare = await openRoomPage(lab.browsers[1], `${lab.url}?join=abcdefgh2345`);
  await bare.page.getByRole('alert').filter({ hasText: 'This link has no room secret.' }).waitFor({ timeout: 5000 });
  const { page, errors } = await openRoomPage(lab.browsers[1], lab.url);
  await page.getByRole('button', { name: 'Room', exact: true }).click();
  const typed = page.getByRole('textbox', { name: 'Join code (room code and secret, from the host)' });
  await typed.fill('ABCD EFGH 2345');
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: "That is only the room's code" }).waitFor();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'room-peer-code-alone.png') });
  await typed.fill('abcd-efgh-2345-mnop-qrst-uvwx');
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.waitForURL(/\?join=abcdefgh2345#mnopqrstuvwx$/);
  expect([...bare.errors, ...errors]).toEqual([]);
  await Promise.all([bare.page.context().close(), page.context().close()]);
});
