// Lesson 13 walked the way a student would, in headless Chromium at 1280×720: the Binlog tab opened from
// the queue server's card, its records growing with puts but not with a reserve, the Restart replay
// stepped forward and back over the log of a crashed server, the restart, and bury/kick at the console.
import { afterAll, beforeAll, expect, test } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { openLab, SCREENSHOTS, type Lab } from './browser.ts';
import { checksDone, doIt, finish, next, predict, startLesson as start, type } from './lesson-walk.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => {
  await lab?.close();
});

const records = (page: Page) => page.getByRole('region', { name: 'Binlog records' }).locator('tbody tr');
const replay = (page: Page) => page.getByRole('region', { name: 'Restart replay' });
const position = async (page: Page) => (await replay(page).locator('.pos').textContent())?.trim();
/** Each rebuilt tube as its name and its job chips, e.g. "msg_for_worker ● 1 ● 2". */
const rebuilt = (page: Page) => replay(page).locator('.tube').evaluateAll((tubes) => tubes.map((t) => Array.from(t.children, (c) => (c.textContent ?? '').trim()).join(' ')));

test('lesson 13, the binlog made visible: records, a reserve that writes nothing, a restart replayed by hand', async () => {
  const { page, errors } = await start(lab, 'The binlog made visible');
  // The queue server card's binlog button opens the tab.
  await page.getByRole('button', { name: 'binlog on' }).click();
  await expect.poll(() => page.getByRole('tab', { name: 'Binlog' }).getAttribute('aria-selected')).toBe('true');
  await predict(page, '4');
  await page.getByRole('button', { name: 'Start producer (π)' }).click();
  await page.getByLabel('Speed', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Play' }).click();
  await checksDone(page);
  await expect.poll(() => records(page).allTextContents()).toHaveLength(4);
  expect((await records(page).first().textContent())?.replace(/\s+/g, ' ')).toContain('put: the whole job');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-13-puts.png') });
  await next(page);

  // A reserve writes nothing; the held job is drawn ready in the replay.
  await predict(page, 'Nothing');
  await page.getByRole('button', { name: 'Add worker' }).click();
  const nextButton = page.getByRole('button', { name: 'Next' });
  for (let i = 0; i < 80; i++) {
    const reserved = await page.evaluate(() => (window as unknown as { __beanlab: { cluster: { model: { tubes: Map<string, { counts: { reserved: number } }> } } } }).__beanlab.cluster.model.tubes.get('msg_for_worker')?.counts.reserved ?? 0);
    if (reserved === 1) break;
    await page.getByRole('button', { name: 'Step', exact: true }).click();
  }
  await page.getByRole('button', { name: 'Hang worker 1' }).click();
  await checksDone(page);
  expect(await records(page).count()).toBe(4);
  await expect.poll(() => rebuilt(page)).toEqual(['msg_for_worker ● 1 (reserved now) ● 2 ● 3 ● 4']);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-13-reserved.png') });
  expect(await nextButton.isDisabled()).toBe(false);
  await next(page);

  // Crash, then step the replay forward and back.
  await predict(page, 'Ready');
  await page.getByRole('button', { name: 'Crash server' }).click();
  await checksDone(page);
  await page.getByRole('button', { name: '◀◀ Start' }).click();
  expect(await position(page)).toBe('0 of 4 records read');
  expect(await rebuilt(page)).toEqual([]);
  for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Read record ▶' }).click();
  expect(await position(page)).toBe('3 of 4 records read');
  expect(await rebuilt(page)).toEqual(['msg_for_worker ● 1 ● 2 ● 3']);
  await page.getByRole('button', { name: '◀ Record back' }).click();
  expect(await rebuilt(page)).toEqual(['msg_for_worker ● 1 ● 2']);
  await page.getByRole('button', { name: 'Read record ▶' }).click();
  await page.getByRole('button', { name: 'Read record ▶' }).click();
  expect(await position(page)).toBe('4 of 4 records read');
  expect(await rebuilt(page)).toEqual(['msg_for_worker ● 1 ● 2 ● 3 ● 4']);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-13-replay.png') });
  await next(page);

  await page.getByRole('button', { name: 'Restart server with binlog' }).click();
  await checksDone(page);
  await next(page);

  // Later changes: results put whole, deletes as 84-byte records; binlog.1 goes once its jobs are deleted.
  await predict(page, 'A put record for the result, and an 84-byte delete record for the job');
  await page.getByRole('button', { name: 'Restart worker 1' }).click();
  await page.getByRole('button', { name: 'Restart producer' }).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await checksDone(page, 90_000);
  const files = (await page.getByRole('region', { name: 'Binlog files' }).locator('.file').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/^binlog\.2 1,144 bytes · 12 records/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-13-deletes.png') });
  await next(page);

  // Bury and kick by hand: short records by id.
  await type(page, 'use test', 'put 0 0 60 5', 'hello', 'watch test', 'ignore default', 'reserve', 'bury 9 0', 'kick 1');
  await checksDone(page);
  await page.getByRole('tab', { name: 'Binlog' }).click();
  const kinds = (await records(page).allTextContents()).slice(-3).map((t) => t.replace(/\s+/g, ' '));
  expect(kinds[0]).toContain('put: the whole job');
  expect(kinds[1]).toContain('bury');
  expect(kinds[2]).toContain('kick: back to ready');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'lesson-13-bury-kick.png') });
  await next(page);

  await predict(page, 'Every file since the start');
  await finish(page, errors, 'lesson-13-done.png');
}, 300_000);

test('lesson 13 by Do it for me, every step', async () => {
  const { page, errors } = await start(lab, 'The binlog made visible');
  // Each step's answer, and whether it has checks (the last, on compaction, has none).
  const steps: [string | null, boolean][] = [
    ['4', true],
    ['Nothing', true],
    ['Ready', true],
    [null, true],
    ['A put record for the result, and an 84-byte delete record for the job', true],
    [null, true],
    ['Every file since the start', false],
  ];
  for (const [i, [answer, checks]] of steps.entries()) {
    if (answer) await predict(page, answer);
    if (checks) {
      await doIt(page);
      await checksDone(page, 90_000);
    }
    if (i < steps.length - 1) await next(page);
  }
  await finish(page, errors, 'lesson-13-doit-done.png');
}, 300_000);
