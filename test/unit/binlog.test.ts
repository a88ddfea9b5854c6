// Binlog persistence and recovery (spec §10), on in-memory files and a manual clock.
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { ManualClock, advanceTo } from '../../src/engine/clock.ts';
import { MemoryBinlogStorage, readBinlog, restoreFromBinlog } from '../../src/engine/binlog.ts';
import { connectLocal } from '../../src/protocol/local.ts';
import { bodyText } from '../../src/protocol/client.ts';

/** A server whose binlog survives "crashes": each boot reads what the previous one left. */
function persistentServer() {
  const clock = new ManualClock(5_000_000);
  const storage = new MemoryBinlogStorage();
  const warnings: string[] = [];
  let engine!: Engine;
  const boot = (fileSize = 10485760) => {
    const files = storage.snapshot();
    storage.load(files);
    engine = new Engine({ clock, instanceId: 'fedcba9876543210' });
    restoreFromBinlog(engine, files, storage, { fileSize, warn: (m) => warnings.push(m) });
    return engine;
  };
  boot();
  const connect = () => {
    const { client } = connectLocal(engine, 'test');
    return async (line: string, body?: string) => {
      const r = await client.command(line, body);
      return r.body ? `${r.line}\n${bodyText(r)}` : r.line;
    };
  };
  const field = async (send: (l: string) => Promise<string>, id: number, key: string) => {
    const s = await send(`stats-job ${id}`);
    return s.match(new RegExp(`^${key}: (.*)$`, 'm'))?.[1];
  };
  return {
    clock,
    storage,
    warnings,
    boot,
    connect,
    field,
    get engine() {
      return engine;
    },
    advance(ms: number) {
      advanceTo(engine, clock, clock.now() + ms);
    },
  };
}

describe('binlog recovery (spec §10)', () => {
  test('a job reserved at the crash comes back ready, with the counters of its last record', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('put 4 0 60 3', 'abc');
    expect(await send('reserve')).toBe('RESERVED 1 3\nabc');
    s.boot();
    const again = s.connect();
    expect(await s.field(again, 1, 'state')).toBe('ready');
    expect(await s.field(again, 1, 'reserves')).toBe('0');
    expect(await again('reserve')).toBe('RESERVED 1 3\nabc');
  });

  test('a release without delay is not logged: pri and releases revert', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('put 8 0 60 1', 'x');
    await send('reserve');
    expect(await send('release 1 99 0')).toBe('RELEASED');
    expect(await s.field(send, 1, 'pri')).toBe('99');
    s.boot();
    const again = s.connect();
    expect(await s.field(again, 1, 'pri')).toBe('8');
    expect(await s.field(again, 1, 'releases')).toBe('0');
  });

  test('a release with delay is logged and the delay keeps counting down across the restart', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('put 8 0 60 1', 'x');
    await send('reserve');
    expect(await send('release 1 99 30')).toBe('RELEASED');
    s.advance(10_000);
    s.boot();
    const again = s.connect();
    expect(await s.field(again, 1, 'state')).toBe('delayed');
    expect(await s.field(again, 1, 'pri')).toBe('99');
    expect(await s.field(again, 1, 'releases')).toBe('1');
    expect(await s.field(again, 1, 'time-left')).toBe('19'); // 20 s left shows as 19, as on the real server
    expect(await s.field(again, 1, 'age')).toBe('10');
  });

  test('a delay that ran out while the server was down makes the job ready', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('put 0 2 60 1', 'd');
    s.clock.set(s.clock.now() + 5000); // the server is "down": no ticks
    s.boot();
    expect(await s.field(s.connect(), 1, 'state')).toBe('ready');
  });

  test('buried jobs come back buried with one more bury, in the order the log first saw them', async () => {
    const s = persistentServer();
    const send = s.connect();
    for (const b of ['a', 'b', 'c']) await send('put 0 0 60 1', b);
    for (const id of [3, 1, 2]) {
      await send(`reserve-job ${id}`);
      expect(await send(`bury ${id} 0`)).toBe('BURIED');
    }
    expect(await send('peek-buried')).toBe('FOUND 3 1\nc');
    s.boot();
    const again = s.connect();
    expect(await s.field(again, 3, 'buries')).toBe('2');
    expect(await again('peek-buried')).toBe('FOUND 1 1\na');
    expect(await again('kick 10')).toBe('KICKED 3');
  });

  test('pause state and cumulative counters are not persisted', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('use pt');
    await send('put 0 0 60 1', 'p');
    expect(await send('pause-tube pt 100')).toBe('PAUSED');
    s.boot();
    const again = s.connect();
    expect(await again('stats-tube pt')).toMatch(/\npause: 0\n/);
    const stats = await again('stats');
    expect(stats).toMatch(/\ntotal-jobs: 0\n/);
    expect(stats).toMatch(/\ncmd-put: 0\n/);
    expect(stats).toMatch(/\nbinlog-records-written: 0\n/);
  });

  test('ids continue after the highest full record, deleted jobs included, and after an empty run that left no record (never reused)', async () => {
    const s = persistentServer();
    const send = s.connect();
    for (let i = 0; i < 12; i++) await send('put 0 0 60 1', 'i');
    for (let i = 1; i <= 12; i++) expect(await send(`delete ${i}`)).toBe('DELETED');
    s.boot();
    // Files from the first run are still read at this boot (then deleted: no live jobs in them).
    expect(await s.connect()('put 0 0 60 1', 'n')).toBe('INSERTED 13');
    expect(await s.connect()('delete 13')).toBe('DELETED');
    s.boot(); // an empty run: its start deletes the dead files
    expect(s.storage.snapshot().size).toBe(1);
    s.boot();
    expect(await s.connect()('put 0 0 60 1', 'n')).toBe('INSERTED 14');
  });

  test('each start writes a new file; stats report the file indexes and records written', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('put 0 0 60 1', 'x');
    expect(await send('stats')).toMatch(/binlog-oldest-index: 1\nbinlog-current-index: 1\nbinlog-records-migrated: 0\nbinlog-records-written: 1\n/);
    expect(await s.field(send, 1, 'file')).toBe('1');
    s.boot();
    const again = s.connect();
    expect(await again('stats')).toMatch(/binlog-oldest-index: 1\nbinlog-current-index: 2\n/);
    expect([...s.storage.snapshot().keys()]).toEqual([1, 2]);
  });

  test('files full of dead jobs are compacted away as the log grows', async () => {
    const s = persistentServer();
    s.boot(4096);
    const send = s.connect();
    await send('put 0 0 60 5', 'keep!');
    for (let i = 0; i < 300; i++) {
      const r = await send('put 0 0 60 20', 'x'.repeat(20));
      await send(`delete ${r.split(' ')[1]}`);
    }
    const seqs = [...s.storage.snapshot().keys()];
    expect(seqs.length).toBeLessThanOrEqual(3);
    expect(await send('stats')).toMatch(/binlog-records-migrated: [1-9]/);
    s.boot(4096);
    expect(await s.connect()('peek 1')).toBe('FOUND 1 5\nkeep!');
  });

  test('a torn final record is skipped with a warning; everything before it is recovered', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('put 0 0 60 5', 'first');
    await send('put 0 0 60 6', 'second');
    const files = s.storage.snapshot();
    const [seq, bytes] = [...files.entries()].at(-1) as [number, Uint8Array];
    for (const cut of [1, 10, 40]) {
      const torn = new Map(files);
      torn.set(seq, bytes.subarray(0, bytes.length - cut));
      const warnings: string[] = [];
      const r = readBinlog(torn, (m) => warnings.push(m));
      expect(r.jobs.map((j) => j.id)).toEqual([1]);
      expect(warnings.join()).toMatch(/torn/);
    }
    const garbled = new Map(files);
    const g = bytes.slice();
    g[g.length - 3] ^= 0xff;
    garbled.set(seq, g);
    expect(readBinlog(garbled, () => {}).jobs.map((j) => new TextDecoder().decode(j.body))).toEqual(['first']);
  });
});

/** The records of a binlog file, walked by their length fields (layout: see src/engine/binlog.ts). */
function records(b: Uint8Array) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: { at: number; len: number; id: number; full: boolean; state: number }[] = [];
  for (let o = 4; o + 84 <= b.length && v.getUint32(o, true) !== 0; o += v.getUint32(o + 8, true)) {
    out.push({ at: o, len: v.getUint32(o + 8, true), id: v.getFloat64(o + 14, true), full: b[o + 12] > 0, state: b[o + 13] });
  }
  return out;
}

describe('damaged binlog records: skipped one by one, the rest recovered', () => {
  test('999 jobs with 7 damaged records: every job whose records are intact comes back, and the skip count is reported', async () => {
    const s = persistentServer();
    const send = s.connect();
    for (let i = 1; i <= 999; i++) expect(await send('put 0 0 60 8', `job-${String(i).padStart(4, '0')}`)).toBe(`INSERTED ${i}`);
    for (let id = 500; id < 510; id++) {
      await send(`reserve-job ${id}`);
      expect(await send(`bury ${id} 0`)).toBe('BURIED');
    }
    for (let id = 900; id < 910; id++) expect(await send(`delete ${id}`)).toBe('DELETED');
    const files = s.storage.snapshot();
    expect([...files.keys()]).toEqual([1]);
    const b = files.get(1) as Uint8Array;
    const recs = records(b);
    const find = (id: number, full: boolean) => recs.find((r) => r.id === id && r.full === full) as (typeof recs)[number];
    b[find(10, true).at + find(10, true).len - 5] ^= 0x20; // a body byte
    b[find(200, true).at + 9] ^= 0x01; // the length field: resynchronise on the next marker
    b[find(300, true).at] ^= 0xff; // the marker
    b[find(505, false).at + 30] ^= 0x04; // its bury record
    b[find(905, false).at + 40] ^= 0x10; // its delete record
    b[find(700, true).at + 90] ^= 0x01; // two records in a row
    b[find(701, true).at + 20] ^= 0x01;
    s.storage.load(files);
    s.boot();
    expect(s.warnings).toEqual(['binlog.1: 7 damaged records skipped; every intact record was read']);
    const again = s.connect();
    const lost = [10, 200, 300, 700, 701];
    for (let id = 1; id <= 999; id++) {
      const deleted = id >= 900 && id < 910 && id !== 905;
      const want = lost.includes(id) || deleted ? 'NOT_FOUND' : `FOUND ${id} 8\njob-${String(id).padStart(4, '0')}`;
      expect(await again(`peek ${id}`), `job ${id}`).toBe(want);
    }
    // A damaged bury leaves the job as its put said; a damaged delete brings the job back.
    expect(await s.field(again, 505, 'state')).toBe('ready');
    expect(await s.field(again, 504, 'state')).toBe('buried');
    expect(await s.field(again, 905, 'state')).toBe('ready');
    const stats = await again('stats');
    expect(stats).toMatch(/\ncurrent-jobs-ready: 976\n/);
    expect(stats).toMatch(/\ncurrent-jobs-buried: 9\n/);
    expect(await again('put 0 0 60 1', 'n')).toBe('INSERTED 1000');
  });

  test('a record copied into a job body is not taken for a record when resynchronising', async () => {
    const s = persistentServer();
    const send = s.connect();
    await send('put 0 0 60 5', 'first');
    const first = records(s.storage.snapshot().get(1) as Uint8Array)[0];
    const copy = (s.storage.snapshot().get(1) as Uint8Array).slice(first.at, first.at + first.len);
    await send('delete 1');
    const { client } = connectLocal(s.engine, 'raw');
    expect((await client.command(`put 0 0 60 ${copy.length}`, copy)).line).toBe('INSERTED 2');
    await send('put 0 0 60 4', 'last');
    const files = s.storage.snapshot();
    const b = files.get(1) as Uint8Array;
    b[records(b)[2].at + 9] ^= 0x01; // the length of job 2's record: the scan goes through its body
    s.storage.load(files);
    s.boot();
    expect(s.warnings).toEqual(['binlog.1: 1 damaged record skipped; every intact record was read']);
    const again = s.connect();
    expect(await again('peek 1')).toBe('NOT_FOUND');
    expect(await again('peek 2')).toBe('NOT_FOUND');
    expect(await again('peek 3')).toBe('FOUND 3 4\nlast');
  });

  test('the zeros after the last record of a preallocated file end it quietly; a torn record before them is a short note', () => {
    const s = persistentServer();
    return (async () => {
      const send = s.connect();
      await send('put 0 0 60 5', 'first');
      await send('put 0 0 60 6', 'second');
      const b = s.storage.snapshot().get(1) as Uint8Array;
      const padded = new Uint8Array(8192);
      padded.set(b);
      const warnings: string[] = [];
      expect(readBinlog(new Map([[1, padded]]), (m) => warnings.push(m)).jobs.map((j) => j.id)).toEqual([1, 2]);
      expect(warnings).toEqual([]);
      const last = records(b)[1];
      const torn = new Uint8Array(8192);
      torn.set(b.subarray(0, last.at + 50));
      expect(readBinlog(new Map([[1, torn]]), (m) => warnings.push(m)).jobs.map((j) => j.id)).toEqual([1]);
      expect(warnings).toEqual([`binlog.1: torn last record at byte ${last.at} skipped`]);
    })();
  });
});

/** Memory files on a "disk" that can be made full: no new file can then be created. */
class FillableStorage extends MemoryBinlogStorage {
  full = false;
  override create(seq: number, size: number, header: Uint8Array): void {
    if (this.full) throw new Error('ENOSPC: no space left on device');
    super.create(seq, size, header);
  }
}

describe('no binlog space (walresvput, walresvupdate)', () => {
  test('what needs new space is refused with OUT_OF_MEMORY and undone; deletes and unlogged commands go on', async () => {
    const storage = new FillableStorage();
    const warnings: string[] = [];
    const engine = new Engine({ clock: new ManualClock(5_000_000) });
    restoreFromBinlog(engine, new Map(), storage, { fileSize: 4096, warn: (m) => warnings.push(m) });
    const { client } = connectLocal(engine, 'test');
    const send = async (line: string, body?: string) => (await client.command(line, body)).line;
    for (let i = 1; i <= 6; i++) expect(await send('put 0 0 60 500', 'b'.repeat(500))).toBe(`INSERTED ${i}`);
    storage.full = true;
    // Fill what is left of the current file, then nothing fits.
    let id = 7;
    while ((await send('put 0 0 60 500', 'b'.repeat(500))) === `INSERTED ${id}`) expect(id++).toBeLessThan(20);
    while ((await send('put 0 0 60 0', '')) === `INSERTED ${id + 1}`) expect(id++).toBeLessThan(40);
    for (const j of [1, 2, 3]) expect(await send(`reserve-job ${j}`)).toBe(`RESERVED ${j} 500`);
    for (let n = 0; (await send('bury 1 0')) === 'BURIED'; n++) {
      expect(n).toBeLessThan(40);
      await send('reserve-job 1');
    }
    // Now not even a short record fits: every logged change is refused and leaves the job as it was.
    expect(await send('bury 2 0')).toBe('OUT_OF_MEMORY');
    expect(await send('release 2 0 10')).toBe('OUT_OF_MEMORY');
    expect(engine.jobs.get(2)?.state).toBe('reserved');
    expect(await send('release 2 7 0')).toBe('RELEASED'); // not logged: no space needed
    expect(await send('put 0 0 60 0', '')).toBe('OUT_OF_MEMORY');
    expect(engine.jobs.get(id + 2)).toBeUndefined();
    expect(await send('delete 3')).toBe('DELETED');
    expect(await send('delete 4')).toBe('DELETED');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((w) => /cannot create: ENOSPC/.test(w))).toBe(true);
  });

  test('kick stops at the first job it has no space for; kick-job says OUT_OF_MEMORY and the job stays buried', async () => {
    const storage = new FillableStorage();
    const engine = new Engine({ clock: new ManualClock(5_000_000) });
    restoreFromBinlog(engine, new Map(), storage, { fileSize: 1000, warn: () => {} });
    const { client } = connectLocal(engine, 'test');
    const send = async (line: string, body?: string) => (await client.command(line, body)).line;
    for (let i = 1; i <= 20; i++) {
      expect(await send('put 0 0 60 5', 'abcde')).toBe(`INSERTED ${i}`);
      await send(`reserve-job ${i}`);
      expect(await send(`bury ${i} 0`)).toBe('BURIED');
    }
    storage.full = true;
    const kicked = Number((await send('kick 100')).split(' ')[1]);
    expect(kicked).toBeGreaterThan(0);
    expect(kicked).toBeLessThan(20);
    expect(engine.buriedCount).toBe(20 - kicked);
    expect(await send('kick 100')).toBe('KICKED 0');
    expect(await send('kick-job 20')).toBe('OUT_OF_MEMORY');
    expect(engine.jobs.get(20)?.state).toBe('buried');
    expect(await send('delete 2')).toBe('DELETED');
  });

  test('ids are not reused after a restart even when the file holding the highest put is gone (beanstalkd would say INSERTED 1)', async () => {
    const s = persistentServer();
    s.boot(4096);
    const send = s.connect();
    for (let i = 1; i <= 200; i++) await send('put 0 0 60 20', 'x'.repeat(20));
    for (let i = 1; i <= 200; i++) expect(await send(`delete ${i}`)).toBe('DELETED');
    // The puts' files are gone; what is left holds only delete records.
    const left = s.storage.snapshot();
    expect([...left.keys()].length).toBe(1);
    s.boot(4096);
    expect(await s.connect()('put 0 0 60 1', 'n')).toBe('INSERTED 201');
  });
});
