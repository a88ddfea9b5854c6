// A binlog that cannot grow, against Debian's beanstalkd 1.12 on the same tiny disk: a put that gets
// no binlog space is answered OUT_OF_MEMORY and undone, the server keeps serving, deletes (whose space
// every put reserved) and buries (while the current file has room) go on, and every acknowledged job
// survives kill -9. Each server gets its own 256 KiB tmpfs (root, Linux: the test environment and CI).
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllPairs, DualConn, RawConn, startBinlogPair, type Reply } from '../support/servers.ts';

const L = (s: string) => `${s}\r\n`;
const put = (body: string, pri = 0, delay = 0, ttr = 60) => `put ${pri} ${delay} ${ttr} ${body.length}\r\n${body}\r\n`;
const BINLOG_STATS = ['binlog-oldest-index', 'binlog-current-index', 'binlog-records-migrated', 'binlog-records-written', 'binlog-max-size'];
const BODY = 'j'.repeat(1000);

const mounted: string[] = [];
const immutable: string[] = [];
const bases: string[] = [];
afterEach(() => {
  for (const d of immutable.splice(0)) execFileSync('chattr', ['-i', d]);
  for (const d of mounted.splice(0)) execFileSync('umount', [d]);
  for (const b of bases.splice(0)) rmSync(b, { recursive: true, force: true });
});
afterAll(closeAllPairs);

/** Two directories, each its own tmpfs of `size`. */
function tinyDisks(size: string): { real: string; ours: string } {
  const base = mkdtempSync(path.join(os.tmpdir(), 'beanlab-binlog-full-'));
  bases.push(base);
  const dirs = { real: path.join(base, 'real'), ours: path.join(base, 'ours') };
  for (const d of [dirs.real, dirs.ours]) {
    mkdirSync(d);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', d]);
    mounted.push(d);
  }
  return dirs;
}

const startBoth = (dirs: { real: string; ours: string }) => startBinlogPair(dirs, ['-s', '4096']);

function fields(r: Reply, keys: string[]): Record<string, string | undefined> {
  const body = r.body?.toString('latin1') ?? '';
  return Object.fromEntries(keys.map((k) => [k, new RegExp(`^${k}: (.*)$`, 'm').exec(body)?.[1]]));
}

/** Sends to both; asserts equal replies; returns our reply lines. */
async function both(c: DualConn, data: string, n = 1): Promise<string[]> {
  c.send(data);
  const r = await c.collect(n, { timeoutMs: 10000 });
  expect(r.ours, `replies differ after ${JSON.stringify(data).slice(0, 60)}`).toEqual(r.real);
  return r.raw.ours.map((x) => x.line);
}

/** Sends to one server only and returns its reply lines. */
async function one(conn: RawConn, data: string, n: number): Promise<string[]> {
  conn.send(data);
  expect(await conn.waitReplies(n, 10000)).toBe(true);
  return conn.take(n).map((r) => r.line);
}

async function sameBinlogStats(c: DualConn, when: string): Promise<void> {
  c.send(L('stats'));
  const r = await c.collect(1, { timeoutMs: 10000 });
  expect(fields(r.raw.ours[0], BINLOG_STATS), `binlog stats ${when}`).toEqual(fields(r.raw.real[0], BINLOG_STATS));
}

describe('a binlog that cannot grow (issue 11)', () => {
  test('full disk: puts answer OUT_OF_MEMORY and are undone, buries and deletes go on, acknowledged jobs survive kill -9', async () => {
    const dirs = tinyDisks('256k');
    let s = await startBoth(dirs);
    try {
      const a = await s.connect('a');
      const acked: number[] = [];
      for (;;) {
        const [line] = await both(a, put(BODY));
        if (line === 'OUT_OF_MEMORY') break;
        expect(line).toBe(`INSERTED ${acked.length + 1}`);
        acked.push(acked.length + 1);
        expect(acked.length, 'the disk never filled').toBeLessThan(1000);
      }
      expect(acked.length).toBeGreaterThan(50);
      // Still full for this size, still serving; a smaller job may still fit (the same on both).
      expect(await both(a, put(BODY))).toEqual(['OUT_OF_MEMORY']);
      const [small] = await both(a, put('small'));
      if (small.startsWith('INSERTED')) acked.push(Number(small.split(' ')[1]));
      await both(a, L('stats-tube default'));
      await sameBinlogStats(a, 'on the full disk');

      // Buries go on while the current file has room for their record; then there is none. (The
      // newest jobs: the older files can then empty and go.)
      const buried: number[] = [];
      let refused = 0;
      for (const id of [...acked].reverse()) {
        const real = await one(a.real, L(`reserve-job ${id}`) + L(`bury ${id} 5`), 2);
        const ours = await one(a.ours, L(`reserve-job ${id}`) + L(`bury ${id} 5`), 2);
        if (real[1] === 'BURIED') {
          expect(ours).toEqual(real);
          buried.push(id);
          continue;
        }
        // beanstalkd answers INTERNAL_ERROR and drops the job from every queue (until its restart);
        // we answer OUT_OF_MEMORY and the job stays reserved.
        expect(real[1]).toBe('INTERNAL_ERROR');
        expect(ours[1]).toBe('OUT_OF_MEMORY');
        a.ours.send(L(`stats-job ${id}`));
        await a.ours.waitReplies(1, 10000);
        expect(fields(a.ours.take(1)[0], ['state'])).toEqual({ state: 'reserved' });
        expect(await one(a.ours, L(`release ${id} 0 0`), 1)).toEqual(['RELEASED']);
        refused = id;
        break;
      }
      expect(buried.length).toBeGreaterThan(0);
      expect(refused, 'a bury was refused for want of space').toBeGreaterThan(0);
      // Our kick is refused too, and says so (beanstalkd's says KICKED 100 but kicks none).
      expect(await one(a.ours, L('kick 100'), 1)).toEqual(['KICKED 0']);
      await sameBinlogStats(a, 'after the buries');

      // Deletes never need new space: all of them work on the full disk.
      const kept = new Set([...buried, refused, acked[acked.length - 1]]);
      for (const id of acked) if (!kept.has(id)) expect(await both(a, L(`delete ${id}`))).toEqual(['DELETED']);
      await sameBinlogStats(a, 'after the deletes');
      // The deletes emptied old files, which went: there is room again.
      const later: number[] = [];
      for (let i = 0; i < 3; i++) {
        const [line] = await both(a, put(`later ${i}`));
        expect(line).toMatch(/^INSERTED \d+$/);
        later.push(Number(line.split(' ')[1]));
      }
      await sameBinlogStats(a, 'after the later puts');
      expect(s.ours.stderr()).toMatch(/binlog\.\d+: cannot create: ENOSPC/);

      await s.crash();
      s = await startBoth(dirs);
      const b = await s.connect('b');
      await both(b, L('stats'));
      for (const id of [...kept, ...later].sort((x, y) => x - y)) {
        const [line] = await both(b, L(`peek ${id}`));
        expect(line, `job ${id} after kill -9`).toMatch(/^FOUND /);
        await both(b, L(`stats-job ${id}`));
      }
      await both(b, put('after restart'));
    } finally {
      await s.close();
    }
  });

  test('a directory that refuses new files (chattr +i; chmod does not stop root): OUT_OF_MEMORY, then deletes and buries go on', async () => {
    const dirs = tinyDisks('4m');
    let s = await startBoth(dirs);
    try {
      const a = await s.connect('a');
      for (let i = 1; i <= 3; i++) expect(await both(a, put(BODY))).toEqual([`INSERTED ${i}`]);
      for (const d of [dirs.real, dirs.ours]) {
        execFileSync('chattr', ['+i', d]);
        immutable.push(d);
      }
      // A fourth put needs binlog.2, which cannot be created.
      expect(await both(a, put(BODY))).toEqual(['OUT_OF_MEMORY']);
      expect(await both(a, L('reserve-job 2') + L('bury 2 7'), 2)).toEqual(['RESERVED 2 1000', 'BURIED']);
      expect(await both(a, L('delete 1'))).toEqual(['DELETED']);
      await both(a, L('stats'));
      expect(s.ours.stderr()).toMatch(/binlog\.2: cannot create: EPERM/);
      for (const d of immutable.splice(0)) execFileSync('chattr', ['-i', d]);
      expect(await both(a, put(BODY))).toEqual(['INSERTED 5']);
      await s.crash();
      s = await startBoth(dirs);
      const b = await s.connect('b');
      for (const id of [1, 2, 3, 4, 5]) await both(b, L(`stats-job ${id}`));
      await both(b, L('stats'));
    } finally {
      await s.close();
    }
  });
});
