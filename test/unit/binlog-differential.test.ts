// Differential tests of the binlog (-b) against Debian's beanstalkd 1.12, both run as processes on
// their own directories: which files exist, the stats that show them (binlog-oldest-index,
// binlog-current-index, binlog-records-written, binlog-records-migrated, binlog-max-size), stats-job
// `file`, the next id after kill -9 and restart, and the size files take on disk.
import { afterAll, describe, expect, test } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { closeAllPairs, DualConn, startBinlogPair as startBoth, withBinlogDirs as withDirs, type Reply } from '../support/servers.ts';
import { mulberry32 } from '../../src/sim/rng.ts';

const L = (s: string) => `${s}\r\n`;
const put = (body: string, pri = 0, delay = 0, ttr = 60) => `put ${pri} ${delay} ${ttr} ${body.length}\r\n${body}\r\n`;
const BINLOG_STATS = ['binlog-oldest-index', 'binlog-current-index', 'binlog-records-migrated', 'binlog-records-written', 'binlog-max-size'];

afterAll(closeAllPairs);

function fields(r: Reply, keys: string[]): Record<string, string | undefined> {
  const body = r.body?.toString('latin1') ?? '';
  return Object.fromEntries(keys.map((k) => [k, new RegExp(`^${k}: (.*)$`, 'm').exec(body)?.[1]]));
}

/** Each binlog file's name and size on disk. */
function binlogSizes(dir: string): [string, number][] {
  return binlogFiles(dir).map((f) => [f, statSync(path.join(dir, f)).size]);
}

function binlogFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('binlog.'))
    .sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)));
}

/** Sends a command to both, asserts equal replies, returns both raw replies. */
async function both(c: DualConn, data: string, n = 1): Promise<{ real: Reply[]; ours: Reply[] }> {
  c.send(data);
  const r = await c.collect(n, { timeoutMs: 10000 });
  expect(r.ours, `replies differ after ${JSON.stringify(data).slice(0, 80)}`).toEqual(r.real);
  return r.raw;
}

/** The binlog stats of both servers, asserted equal. */
async function sameBinlogStats(c: DualConn, when: string): Promise<Record<string, string | undefined>> {
  const r = await both(c, L('stats'));
  const real = fields(r.real[0], BINLOG_STATS);
  expect(fields(r.ours[0], BINLOG_STATS), `binlog stats ${when}`).toEqual(real);
  return real;
}

/** stats-job `file` (and state) of each job on both servers, asserted equal. */
async function sameJobFiles(c: DualConn, ids: number[], when: string): Promise<void> {
  for (const id of ids) {
    const r = await both(c, L(`stats-job ${id}`));
    expect(fields(r.ours[0], ['state', 'file']), `stats-job ${id} ${when}`).toEqual(fields(r.real[0], ['state', 'file']));
  }
}

describe('binlog files, counters and ids match beanstalkd (walg.c accounting)', () => {
  // Seeded random sessions: puts of varied sizes into two tubes, deletes, buries, releases with a
  // delay, kicks; compared after every command, then after kill -9 and restart.
  const cases = [
    { seed: 1, size: 601, steps: 260 },
    { seed: 2, size: 1000, steps: 260 },
    { seed: 3, size: 4096, steps: 300 },
    { seed: 4, size: 4096, steps: 300 },
    { seed: 5, size: 2500, steps: 260 },
    { seed: 6, size: 200, steps: 160 },
  ];
  test.each(cases)('session $seed with -s $size: the same files, counters, stats-job file and next id, before and after kill -9', async ({ seed, size, steps }) => {
    await withDirs(async (dirs) => {
      const rng = { next: mulberry32(seed) };
      let s = await startBoth(dirs, ['-s', String(size)]);
      try {
        const a = await s.connect('a');
        const live: number[] = [];
        let highest = 0;
        for (let step = 0; step < steps; step++) {
          const x = rng.next();
          if (x < 0.45 || !live.length) {
            const tube = rng.next() < 0.7 ? 'default' : 'other';
            const body = 'b'.repeat(Math.floor(rng.next() * 300));
            const r = await both(a, L(`use ${tube}`) + put(body, Math.floor(rng.next() * 5)), 2);
            const id = Number(/^INSERTED (\d+)$/.exec(r.real[1].line)?.[1]);
            live.push(id);
            highest = Math.max(highest, id);
          } else {
            const id = live[Math.floor(rng.next() * live.length)];
            if (x < 0.72) {
              await both(a, L(`delete ${id}`));
              live.splice(live.indexOf(id), 1);
            } else if (x < 0.84) {
              const r = await both(a, L(`reserve-job ${id}`));
              if (r.real[0].line.startsWith('RESERVED')) await both(a, L(`bury ${id} 3`));
            } else if (x < 0.94) {
              const r = await both(a, L(`reserve-job ${id}`));
              if (r.real[0].line.startsWith('RESERVED')) await both(a, L(`release ${id} 2 ${rng.next() < 0.6 ? 1000 : 0}`));
            } else {
              await both(a, L(`use ${rng.next() < 0.5 ? 'default' : 'other'}`) + L('kick 4'), 2);
            }
          }
          await sameBinlogStats(a, `after step ${step}`);
        }
        const before = await sameBinlogStats(a, 'at the end');
        await sameJobFiles(a, live, 'before the crash');
        expect(binlogSizes(dirs.ours)).toEqual(binlogSizes(dirs.real));
        await s.crash();
        s = await startBoth(dirs, ['-s', String(size)]);
        const b = await s.connect('b');
        const after = await sameBinlogStats(b, 'after the restart');
        await sameJobFiles(b, live, 'after the restart');
        expect(binlogSizes(dirs.ours)).toEqual(binlogSizes(dirs.real));
        // Rollover happened, and the id continues after every id handed out (never reused).
        expect(Number(before['binlog-current-index'])).toBeGreaterThan(1);
        expect(Number(after['binlog-current-index'])).toBeGreaterThan(Number(before['binlog-current-index']));
        const r = await both(b, put('after'));
        expect(Number(/^INSERTED (\d+)$/.exec(r.ours[0].line)?.[1])).toBe(highest + 1);
        await sameBinlogStats(b, 'after the first put');
      } finally {
        await s.close();
      }
    });
  });

  test('-s is shown as given, and files take the size beanstalkd preallocates (-s rounded up to 4096)', async () => {
    for (const size of [1, 601, 4096, 5000, 10485760]) {
      await withDirs(async (dirs) => {
        const s = await startBoth(dirs, ['-s', String(size)]);
        try {
          const c = await s.connect('c');
          await both(c, put('x'));
          expect((await sameBinlogStats(c, `with -s ${size}`))['binlog-max-size']).toBe(String(size));
          expect(binlogSizes(dirs.ours), `file sizes with -s ${size}`).toEqual(binlogSizes(dirs.real));
        } finally {
          await s.close();
        }
      });
    }
  });
});
