// Lab machines without a browser: headless Chromium hosts the room, `npm run join` joins it from a
// terminal as worker-thread nodes over WebRTC (@roamhq/wrtc), as a child process here. They compute π
// for the host; Ctrl-C mid-job leaves at once and the host has the job back in its queue (not at TTR).
// With --bridge, a real beanstalkd client library on the joiner's machine (node-beanstalk) does the
// report's worker flow against the host's engine, as the joiner's bridge node.
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { Client } from 'node-beanstalk';
import { decodeTask, encodeResult, runTask } from '../../src/tasks/index.ts';
import { freePort } from '../unit/server-harness.ts';
import { hostRoom, nodeCard, openRoomLab, SCREENSHOTS, type RoomLab } from './browser.ts';

let lab: RoomLab;
beforeAll(async () => {
  // One Chromium, the host's: the joiners are terminals.
  lab = await openRoomLab(1);
});
afterAll(async () => {
  await lab?.close();
});

interface Terminal {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
  /** Ctrl-C: SIGINT, as a terminal sends it. */
  ctrlC(): void;
}

const terminals = new Set<Terminal>();
afterEach(() => {
  for (const t of terminals) if (t.proc.exitCode === null) t.proc.kill('SIGKILL');
});

/** `npm run join -- ARGS`, as the command npm runs for it (npm itself would stand between the signal and the exit status). */
function npmRunJoin(...args: string[]): Terminal {
  const proc = spawn(process.execPath, ['scripts/run-ts.mjs', 'src/cli/join.ts', ...args]);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const t: Terminal = { proc, out: () => out, err: () => err, exit, ctrlC: () => proc.kill('SIGINT') };
  terminals.add(t);
  return t;
}

/** Each node's latest count of jobs done, from the terminal's status lines. */
function doneCounts(t: Terminal): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of t.out().matchAll(/^(remote \d+\.\d+) .* (\d+) done$/gm)) counts.set(m[1], Number(m[2]));
  return counts;
}

async function piEstimate(page: Page, timeout = 90_000): Promise<number> {
  const status = page.getByRole('status', { name: 'π estimate' });
  await status.filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout });
  return Number(/π ≈ (\d\.\d+)/.exec((await status.textContent()) ?? '')![1]);
}

/** The host's reservations: those its remote nodes' connections still hold, and those returned when a connection closed. */
const reservations = (page: Page) =>
  page.evaluate(() => {
    type Reservation = { outcome: string | null };
    const rs = (window as unknown as { __beanlab: { cluster: { model: { reservations: Reservation[] } } } }).__beanlab.cluster.model.reservations;
    return { held: rs.filter((r) => r.outcome === null).length, returned: rs.filter((r) => r.outcome === 'returned').length };
  });

test('a browser host and a headless joiner (--cores 2 --name lab-01, approved by name) compute π; the terminal counts each node\'s jobs', async () => {
  const host = await hostRoom(lab, { darts: 400_000_000, jobs: 8 });
  const panel = host.page.getByRole('dialog', { name: 'Room' });
  await panel.getByRole('checkbox', { name: 'Ask me before a browser joins' }).check();
  const term = npmRunJoin(host.link, '--cores', '2', '--name', 'lab-01');
  await panel.filter({ hasText: 'Joiner 1 (lab-01): waiting for approval' }).waitFor({ timeout: 30_000 });
  expect(term.out()).toContain('waiting for the host to let "lab-01" in');
  await panel.getByRole('button', { name: 'Approve joiner 1' }).click();
  await panel.filter({ hasText: /Joiner 1 \(lab-01\): joined, 2 nodes/ }).waitFor({ timeout: 15_000 });
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-terminal-panel.png') });
  await host.page.keyboard.press('Escape');
  await nodeCard(host.page, 'remote 1.1').waitFor({ timeout: 10_000 });
  await nodeCard(host.page, 'remote 1.2').waitFor();
  await nodeCard(host.page, 'remote 1.1').filter({ hasText: /RTT \d+\.\d ms/ }).waitFor({ timeout: 10_000 });

  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  expect(Math.abs((await piEstimate(host.page)) - Math.PI)).toBeLessThan(0.01);
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-terminal-host-done.png') });
  // Both terminal nodes did part of the work, and the terminal's lines say how much (drawn at most 100 ms late).
  await expect.poll(() => [...doneCounts(term).values()].reduce((a, b) => a + b, 0), { timeout: 5000 }).toBe(8);
  const counts = doneCounts(term);
  expect([...counts.keys()]).toEqual(['remote 1.1', 'remote 1.2']);
  for (const n of counts.values()) expect(n).toBeGreaterThan(0);

  term.ctrlC();
  expect(await term.exit).toBe(0);
  await nodeCard(host.page, 'remote 1.1').filter({ hasText: 'left the room' }).waitFor({ timeout: 10_000 });
  expect(term.err()).toBe('');
  expect(host.errors).toEqual([]);
  await host.page.context().close();
});

test('a headless joiner leaving mid-job (Ctrl-C): it exits 0 and its jobs are back in the queue at once; a second joiner finishes the run', async () => {
  // Jobs of 1e9 darts (a second or more each on this machine); the TTR is 40 s.
  const host = await hostRoom(lab, { darts: 8_000_000_000, jobs: 8 });
  await host.page.keyboard.press('Escape');
  const term = npmRunJoin(host.link, '--cores', '2', '--name', 'lab-01');
  await nodeCard(host.page, 'remote 1.2').waitFor({ timeout: 30_000 });
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  await expect.poll(async () => (await reservations(host.page)).held, { timeout: 30_000 }).toBe(2);
  const left = Date.now();
  term.ctrlC();
  expect(await term.exit).toBe(0);
  expect(Date.now() - left).toBeLessThan(3000);
  // Both reservations came back when the joiner left, long before their TTR.
  await expect.poll(() => reservations(host.page), { timeout: 3000 }).toEqual({ held: 0, returned: 2 });
  expect(Date.now() - left).toBeLessThan(10_000);
  await nodeCard(host.page, 'remote 1.1').filter({ hasText: 'left the room' }).waitFor({ timeout: 5000 });
  expect(term.out()).toContain('not in the room: you left the room');
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-terminal-left.png') });

  const second = npmRunJoin(host.link, '--cores', '2', '--name', 'lab-02');
  expect(Math.abs((await piEstimate(host.page, 110_000)) - Math.PI)).toBeLessThan(0.01);
  expect([...doneCounts(second).keys()]).toEqual(['remote 2.1', 'remote 2.2']);
  second.ctrlC();
  expect(await second.exit).toBe(0);
  expect([...term.err(), ...second.err()].join('')).toBe('');
  expect(host.errors).toEqual([]);
  await host.page.context().close();
});

test("--cores 0 --bridge PORT: a node-beanstalk worker on the joiner's machine does the report's flow against the host's engine; the host shows the bridge node's card with its jobs done", async () => {
  const host = await hostRoom(lab, { darts: 40_000_000, jobs: 8 });
  await host.page.keyboard.press('Escape');
  const port = await freePort();
  const term = npmRunJoin(host.link, '--cores', '0', '--bridge', String(port), '--name', 'lab-03');
  const card = nodeCard(host.page, 'remote 1.1');
  await card.filter({ hasText: `bridge 127.0.0.1:${port}, 0 clients` }).waitFor({ timeout: 30_000 });

  // The report's worker.py, unchanged but for host and port: watch msg_for_worker, ignore default, reserve, put the result into msg_for_client, delete.
  const worker = new Client({ host: '127.0.0.1', port, serializer: { serialize: (d: unknown) => Buffer.from(String(d)), deserialize: (b: Buffer) => b.toString() } });
  await worker.connect();
  await worker.watch('msg_for_worker');
  await worker.ignore('default');
  await worker.use('msg_for_client');
  await card.filter({ hasText: `bridge 127.0.0.1:${port}, 1 client` }).waitFor({ timeout: 5000 });
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  for (let i = 0; i < 8; i++) {
    const job = await worker.reserve();
    await worker.put(encodeResult(runTask(decodeTask(String(job!.payload)))), 60, 0);
    expect(await worker.delete(job!.id)).toBe(true);
  }
  expect(Math.abs((await piEstimate(host.page)) - Math.PI)).toBeLessThan(0.01);
  await card.locator('[title$="(8 done in all)"]').waitFor({ timeout: 5000 });
  await card.filter({ hasText: 'idle' }).waitFor({ timeout: 5000 });
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-terminal-bridge.png') });
  await expect.poll(() => /remote 1\.1 .* 8 done \(bridge\)$/m.test(term.out()), { timeout: 5000 }).toBe(true);

  term.ctrlC();
  expect(await term.exit).toBe(0);
  // Leaving closed the bridged client's connection: its next command fails.
  await expect(worker.watch('msg_for_worker')).rejects.toThrow();
  expect(term.err()).toBe('');
  expect(host.errors).toEqual([]);
  await host.page.context().close();
});
