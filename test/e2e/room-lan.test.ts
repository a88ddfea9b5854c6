// A room on a lab's network, in real Chromium processes: on a server listening on 0.0.0.0 the room
// panel's join links carry this machine's LAN addresses (as os.networkInterfaces() reports them) and a
// classmate joins by one; a reload of the classmate's tab rejoins as the same joiner; on a server
// listening on loopback only the panel says that only this machine can join and how to change it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../../src/server/serve.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.ts';
import { nodeCard, openRoomPage, SCREENSHOTS } from './browser.ts';

const machineIPv4 = () =>
  Object.values(os.networkInterfaces())
    .flatMap((l) => l ?? [])
    .filter((i) => !i.internal && i.family === 'IPv4')
    .map((i) => i.address);

const panelOf = (page: Page) => page.getByRole('dialog', { name: 'Room' });
const membership = (page: Page) => page.getByRole('status', { name: 'Membership' });

let browsers: Browser[] = [];
beforeAll(async () => {
  browsers = await Promise.all([0, 1].map(() => chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })));
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
});

/** The host's page (no local workers) at `url`, with a room open and its panel showing. */
async function hostAt(url: string): Promise<{ page: Page; errors: string[] }> {
  const host = await openRoomPage(browsers[0], url);
  await host.page.getByLabel('Workers', { exact: true }).fill('0');
  await host.page.getByRole('button', { name: 'Reset' }).click();
  await host.page.getByRole('button', { name: 'Room', exact: true }).click();
  await host.page.getByRole('button', { name: 'Host a room' }).click();
  await host.page.getByRole('textbox', { name: 'Join link' }).waitFor({ timeout: 10_000 });
  return host;
}

describe('a server listening on 0.0.0.0', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer({ port: 0, host: '0.0.0.0', staticSite: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('the join links carry the LAN addresses; a classmate joins by one and, after a reload, is the same joiner', async () => {
    const addresses = machineIPv4();
    const host = await hostAt(`http://127.0.0.1:${server.port}/`);
    const panel = panelOf(host.page);
    const links = await panel.locator('input[readonly]').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value).filter((v) => v.includes('?join=')));
    await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-lan-links.png') });
    if (addresses.length === 0) {
      // A machine with loopback only: nothing else to offer, and the panel says so.
      await expect(panel.getByRole('note', { name: 'Who can join' }).textContent()).resolves.toContain('no network address besides loopback');
      return;
    }
    expect(links.map((l) => new URL(l).host)).toEqual(addresses.map((a) => `${a}:${server.port}`));
    expect(await panel.getByRole('note', { name: 'Who can join' }).count()).toBe(0);
    // The QR code carries the first.
    expect(await panel.getByRole('textbox', { name: 'Join link' }).inputValue()).toBe(links[0]);

    // A classmate opens the LAN link: its page and signaling come from the LAN address.
    const joiner = await openRoomPage(browsers[1], links[0]);
    await membership(joiner.page).filter({ hasText: 'You are joiner 1 of room' }).waitFor({ timeout: 20_000 });
    expect(await membership(joiner.page).textContent()).toContain('node remote 1.1');
    await nodeCard(host.page, 'remote 1.1').waitFor();

    // A reload rejoins as joiner 1, node remote 1.1 again; the room lists it once.
    await joiner.page.reload();
    await membership(joiner.page).filter({ hasText: 'You are joiner 1 of room' }).waitFor({ timeout: 20_000 });
    expect(await membership(joiner.page).textContent()).toContain('node remote 1.1');
    const roster = () => panel.locator('.peers li').allTextContents();
    await expect.poll(async () => (await roster()).map((t) => /^Joiner (\d+) .*?: (\w+)/.exec(t.trim())?.slice(1, 3).join(' ')), { timeout: 10_000 }).toEqual(['1 joined']);
    expect(await nodeCard(host.page, 'remote 1.1').count()).toBe(1);
    // The old tab's node let go of its connection: only the new node's is left.
    // (The new node opens its connection once its program starts: wait for it, then there must be one.)
    const remoteConnections = () =>
      host.page.evaluate(() => {
        type Lab = { cluster: { engine: { allConnections(): Iterable<{ name: string }> } } };
        return [...(window as unknown as { __beanlab: Lab }).__beanlab.cluster.engine.allConnections()].map((c) => c.name).filter((n) => n.startsWith('remote '));
      });
    await expect.poll(async () => (await remoteConnections()).length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await remoteConnections()).toHaveLength(1);
    await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-lan-rejoined.png') });
    expect(host.errors).toEqual([]);
    expect(joiner.errors).toEqual([]);
  });
});

describe('a server listening on loopback only (the default)', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', staticSite: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('the panel says only this machine can join, and how to let classmates in', async () => {
    const host = await hostAt(server.url);
    const note = panelOf(host.page).getByRole('note', { name: 'Who can join' });
    expect(await note.textContent()).toMatch(/Only this machine can join:.*127\.0\.0\.1.*npm start -- --host 0\.0\.0\.0/s);
    expect(new URL(await panelOf(host.page).getByRole('textbox', { name: 'Join link' }).inputValue()).host).toBe(`127.0.0.1:${server.port}`);
    await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-loopback-note.png') });
    expect(host.errors).toEqual([]);
  });
});
