// The room policy in real browsers: a joiner whose student types a few lines into the console sends
// hostile messages over its real data channel, beside an honest joiner that computes π; then a
// student's 64 KiB job of control bytes (393 KB of JSON, over Chromium's 256 KiB data channel message)
// goes to the honest joiner's node, which says it cannot run it and stays in the room.
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

/** What a hostile student runs in the joiner's console: room messages of slot 0's worker, sent raw; the host's answers to connection 900 are kept. */
async function sendAsSlot0(page: Page, messages: object[]): Promise<void> {
  await page.evaluate((messages) => {
    type Conn = { send(d: string): void; on(e: string, f: (d: unknown) => void): void };
    type Joined = { peer: { connections: Record<string, Conn[]> }; member: { workers: ({ g: number } | null)[] } };
    const w = window as unknown as { __beanlabJoin: Joined; __heard?: string[] };
    const joined = w.__beanlabJoin;
    const g = joined.member.workers[0]!.g;
    for (const conns of Object.values(joined.peer.connections))
      for (const c of conns) {
        if (!w.__heard) {
          w.__heard = [];
          c.on('data', (d) => {
            const m = JSON.parse(String(d)) as { t: string; m?: { t: string; conn: number; bytes: string } };
            if (m.t === 'node' && m.m?.t === 'data' && m.m.conn === 900) w.__heard!.push(m.m.bytes);
          });
        }
        for (const m of messages) c.send(JSON.stringify({ t: 'node', s: 0, g, m }));
      }
  }, messages);
}

const heard = (page: Page) => page.evaluate(() => ((window as unknown as { __heard?: string[] }).__heard ?? []).join(''));

async function piEstimate(page: Page): Promise<number> {
  const status = page.getByRole('status', { name: 'π estimate' });
  await status.filter({ hasText: /π ≈ \d\.\d+ in/ }).waitFor({ timeout: 90_000 });
  return Number(/π ≈ (\d\.\d+)/.exec((await status.textContent()) ?? '')![1]);
}

test("a joiner deleting others' jobs and forging a report is refused, then dropped; π comes out right; a 64 KiB job does not cost the honest node its seat", async () => {
  // Jobs of 2·10^8 darts (a second or so each): the honest node is still working on its first when the hostile one acts.
  const host = await hostRoom(lab, { darts: 1_600_000_000, jobs: 8 });
  const honest = await joinAs(lab.browsers[1], host.link, 'remote 1.1');
  const hostile = await joinAs(lab.browsers[2], host.link, 'remote 2.1');
  await host.page.keyboard.press('Escape');
  await host.page.getByRole('button', { name: 'Start producer (π)' }).click();
  await honest.page.getByRole('list', { name: "This browser's nodes" }).filter({ hasText: 'working on job' }).waitFor({ timeout: 20_000 });

  // Guess the ids of the jobs, delete them, and take the results waiting for the producer.
  const guesses = Array.from({ length: 8 }, (_, i) => `delete ${i + 1}\r\n`).join('');
  await sendAsSlot0(hostile.page, [
    { t: 'connect', vt: 0, conn: 900 },
    { t: 'data', vt: 0, conn: 900, bytes: `${guesses}watch msg_for_client\r\nreserve-with-timeout 0\r\n` },
  ]);
  await expect.poll(() => heard(hostile.page), { timeout: 10_000 }).toBe(`${'NOT_FOUND\r\n'.repeat(8)}UNKNOWN_COMMAND\r\nTIMED_OUT\r\n`);
  // Forge the outcome of a job the honest node has finished.
  type Records = { __beanlab: { cluster: { history: { records: { id: number; tube: string; exitStatus: number | null; runner: string | null; reserves: number }[] } } } };
  const doneByHonest = () =>
    host.page.evaluate(() => (window as unknown as Records).__beanlab.cluster.history.records.find((r) => r.runner === 'remote 1.1' && r.exitStatus === 0 && r.reserves === 1 && r.tube === 'msg_for_worker')?.id ?? null);
  await expect.poll(doneByHonest, { timeout: 30_000 }).not.toBeNull();
  const victim = (await doneByHonest())!;
  await sendAsSlot0(hostile.page, [{ t: 'report', vt: 0, report: { kind: 'task-failed', job: victim, error: 'injected' } }]);
  await hostile.page
    .getByRole('status', { name: 'Membership' })
    .filter({ hasText: `The host let this browser go: reported job ${victim}, which its node did not reserve.` })
    .waitFor({ timeout: 10_000 });
  await card(host.page, 'remote 2.1').filter({ hasText: 'left the room' }).waitFor({ timeout: 10_000 });

  const pi = await piEstimate(host.page);
  expect(Math.abs(pi - Math.PI)).toBeLessThan(0.01);
  const readRecords = () =>
    host.page.evaluate(() =>
      (window as unknown as Records).__beanlab.cluster.history.records.map((r) => ({ id: r.id, tube: r.tube, exit: r.exitStatus, runner: r.runner })),
    );
  // A worker reports its task after deleting the job, so the last report may still be on its way when π shows.
  await expect
    .poll(async () => (await readRecords()).filter((r) => r.tube === 'msg_for_worker' && r.exit === null && r.runner !== 'remote 2.1').length, { timeout: 5000 })
    .toBe(0);
  const records = await readRecords();
  // The work jobs (results go to msg_for_client, and may take ids among them when a worker is quick).
  const jobs = records.filter((r) => r.tube === 'msg_for_worker');
  expect(jobs.length).toBe(8);
  // No injected outcome: the forged job kept its exit 0. The hostile joiner was a worker too: a job it
  // finished just before it was dropped may have no outcome (its report was still on its way), never a wrong one.
  expect(jobs.find((r) => r.id === victim)?.exit).toBe(0);
  for (const r of jobs) expect(r.exit === 0 || (r.exit === null && r.runner === 'remote 2.1'), JSON.stringify(r)).toBe(true);

  // A student's 64 KiB job of control bytes, put from the host's page straight into the work tube.
  const job = await host.page.evaluate(() => {
    type Engine = {
      connect(name: string, sink: () => void): object;
      execute(c: object, cmd: object): void;
      putHeader(c: object, cmd: object): { kind: string; id: number };
      putBody(c: object, id: number, cmd: object, data: Uint8Array): void;
    };
    const engine = (window as unknown as { __beanlab: { cluster: { engine: Engine } } }).__beanlab.cluster.engine;
    const c = engine.connect('student', () => {});
    engine.execute(c, { op: 'use', tube: 'msg_for_worker' });
    const body = new Uint8Array(65535 + 2).map((_, i) => i % 8);
    body.set([13, 10], 65535);
    const put = { op: 'put', pri: 0, delay: 0, ttr: 60_000, bytes: 65535, trailingGarbage: false };
    const header = engine.putHeader(c, put);
    engine.putBody(c, header.id, put, body);
    return header.id;
  });
  await expect
    .poll(
      () =>
        host.page.evaluate((id) => {
          const lab = (window as unknown as { __beanlab: { cluster: { history: { byJobId(id: number): { exitStatus: number | null; result: string | null } | undefined } } } }).__beanlab;
          const r = lab.cluster.history.byJobId(id);
          return r ? [r.exitStatus, r.result?.slice(0, 14)] : null;
        }, job),
      { timeout: 20_000 },
    )
    .toEqual([1, 'bad task body ']);
  await honest.page.getByRole('status', { name: 'Membership' }).filter({ hasText: 'node remote 1.1' }).waitFor();
  expect(await card(host.page, 'remote 1.1').textContent()).not.toContain('left the room');
  await host.page.screenshot({ path: path.join(SCREENSHOTS, 'room-hostile-host.png') });
  await hostile.page.screenshot({ path: path.join(SCREENSHOTS, 'room-hostile-dropped.png') });
  expect([...host.errors, ...honest.errors]).toEqual([]);
  await Promise.all([host.page.context().close(), honest.page.context().close(), hostile.page.context().close()]);
});
