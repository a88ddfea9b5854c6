// The Binlog view's model (src/engine/binlog-records.ts): records named by what wrote them, and the
// queue rebuilt after k records, checked against the engine's own recovery (restoreFromBinlog).
import { describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { ManualClock, advanceTo } from '../../src/engine/clock.ts';
import { MemoryBinlogStorage, restoreFromBinlog } from '../../src/engine/binlog.ts';
import { decodeBinlog, rebuildAfter, type LoggedRecord, type RebuiltQueue } from '../../src/engine/binlog-records.ts';
import { connectLocal } from '../../src/protocol/local.ts';
import { prng } from '../support/prng.ts';

/** A server whose binlog outlives crashes: boot() reads back what the previous boot left. */
function server(fileSize: number) {
  const clock = new ManualClock(1_000_000);
  const storage = new MemoryBinlogStorage();
  let engine!: Engine;
  const boot = () => {
    const files = storage.snapshot();
    storage.load(files);
    engine = new Engine({ clock, instanceId: '0123456789abcdef' });
    restoreFromBinlog(engine, files, storage, { fileSize, warn: () => {} });
  };
  boot();
  const connect = () => {
    const { client } = connectLocal(engine, 'test');
    return async (line: string, body?: string) => (await client.command(line, body)).line;
  };
  return { clock, storage, boot, connect, advance: (ms: number) => advanceTo(engine, clock, clock.now() + ms) };
}

/** What a fresh engine recovers from these files: each tube's jobs by state, as the view draws them. */
function recovered(files: Map<number, Uint8Array>, clock: ManualClock) {
  const e = new Engine({ clock, instanceId: '0123456789abcdef' });
  restoreFromBinlog(e, files, new MemoryBinlogStorage(), { fileSize: 10485760, warn: () => {} });
  const jobs = e.jobs.all();
  const tubes = e.tubes.items
    .map((t) => ({
      name: t.name,
      ready: jobs.filter((j) => j.tube === t && j.state === 'ready').sort((a, b) => a.pri - b.pri || a.id - b.id).map((j) => `${j.id}:${j.pri}:${new TextDecoder().decode(j.body)}`),
      delayed: jobs.filter((j) => j.tube === t && j.state === 'delayed').map((j) => j.id).sort((a, b) => a - b),
      buried: [...t.buried].map((j) => j.id),
    }))
    .filter((t) => t.ready.length + t.delayed.length + t.buried.length > 0);
  return { tubes, nextId: e.nextId };
}

function drawn(q: RebuiltQueue) {
  return q.tubes.map((t) => ({
    name: t.name,
    ready: t.ready.map((j) => `${j.id}:${j.pri}:${new TextDecoder().decode(j.body)}`),
    delayed: t.delayed.map((j) => j.id).sort((a, b) => a - b),
    buried: t.buried.map((j) => j.id),
  }));
}

/** The files as they were on disk when record k had just been written: later bytes and files cut off. */
function filesUpTo(files: Map<number, Uint8Array>, records: LoggedRecord[], k: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (k === 0) return out;
  const last = records[k - 1];
  for (const [seq, b] of files) {
    if (seq < last.file) out.set(seq, b);
    else if (seq === last.file) out.set(seq, b.slice(0, last.offset + last.length));
  }
  return out;
}

/** A seeded mix of every logged and unlogged command over three tubes, with crashes (restarts from the binlog). */
async function randomRun(seed: number, steps: number, fileSize: number) {
  const r = prng(seed);
  const s = server(fileSize);
  let send = s.connect();
  const tubes = ['default', 'a', 'b'];
  const ids: number[] = [];
  for (let i = 0; i < steps; i++) {
    const id = ids.length ? r.pick(ids) : 1;
    switch (r.int(0, 10)) {
      case 0:
      case 1:
      case 2: {
        await send(`use ${r.pick(tubes)}`);
        const body = `job${i}`;
        const reply = await send(`put ${r.int(0, 3)} ${r.chance(0.2) ? r.int(1, 5) * 1000 : 0} 60 ${body.length}`, body);
        if (reply.startsWith('INSERTED')) ids.push(Number(reply.split(' ')[1]));
        break;
      }
      case 3:
        await send(`watch ${r.pick(tubes)}`);
        {
          // A reserve that finds nothing times out at the engine's next tick.
          const reply = send('reserve-with-timeout 0');
          await Promise.resolve();
          s.advance(0);
          await reply;
        }
        break;
      case 4:
        await send(`release ${id} ${r.int(0, 3)} ${r.chance(0.5) ? r.int(1, 5) * 1000 : 0}`);
        break;
      case 5:
        await send(`bury ${id} ${r.int(0, 3)}`);
        break;
      case 6:
        await send(`kick-job ${id}`);
        break;
      case 7:
        await send(`delete ${id}`);
        break;
      case 8:
        s.advance(r.int(0, 4000));
        break;
      case 9:
        await send(`touch ${id}`);
        break;
      case 10:
        if (r.chance(0.3)) {
          s.boot();
          send = s.connect();
        }
        break;
    }
  }
  return s;
}

describe('binlog records: what each command writes (walg.c, spec §10)', () => {
  test('a put writes the whole job; bury, kick, a delayed release and delete write short records by id; reserve and a plain release write nothing', async () => {
    const s = server(10485760);
    const send = s.connect();
    await send('put 5 0 60 5', 'hello');
    await send('reserve');
    await send('release 1 5 0');
    await send('reserve');
    await send('bury 1 5');
    await send('kick-job 1');
    await send('reserve');
    await send('release 1 5 3000');
    await send('kick-job 1');
    await send('reserve');
    await send('delete 1');
    const { files, records } = decodeBinlog(s.storage.snapshot());
    expect(records.map((r) => r.kind)).toEqual(['put', 'bury', 'kick', 'release', 'kick', 'delete']);
    expect(records.map((r) => r.id)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(records[0]).toMatchObject({ tube: 'default', pri: 5, length: 84 + 'default'.length + 5 + 2 });
    expect(new TextDecoder().decode(records[0].body as Uint8Array)).toBe('hello');
    for (const r of records.slice(1)) expect(r).toMatchObject({ tube: null, body: null, length: 84 });
    expect(files).toHaveLength(1);
    expect(files[0].bytes).toBe(4 + records.reduce((n, r) => n + r.length, 0));
  });

  test('a job reserved at the crash is rebuilt ready: the reserve was never logged', async () => {
    const s = server(10485760);
    const send = s.connect();
    await send('put 0 0 60 1', 'x');
    expect(await send('reserve')).toBe('RESERVED 1 1');
    const { records } = decodeBinlog(s.storage.snapshot());
    expect(records).toHaveLength(1);
    const q = rebuildAfter(records, records.length);
    expect(q.tubes).toEqual([expect.objectContaining({ name: 'default', delayed: [], buried: [] })]);
    expect(q.tubes[0].ready.map((j) => j.id)).toEqual([1]);
  });

  test('the rebuild is rewindable: zero records is an empty queue, and each prefix reads the same again', async () => {
    const s = await randomRun(7, 120, 10485760);
    const { records } = decodeBinlog(s.storage.snapshot());
    expect(records.length).toBeGreaterThan(20);
    expect(rebuildAfter(records, 0)).toEqual({ read: 0, jobs: [], tubes: [], nextId: 1, skipped: 0 });
    const mid = rebuildAfter(records, 10);
    rebuildAfter(records, records.length);
    expect(rebuildAfter(records, 10)).toEqual(mid);
  });
});

describe('the rebuild after k records equals the engine recovering the log as it stood after record k', () => {
  // Small files (-s) make many files: old ones deleted (their jobs' later short records left orphan),
  // and compaction moving jobs into the current file. Each run says what it is there to exercise.
  for (const [seed, fileSize, exercises] of [
    [1, 10485760, ['put', 'delete']],
    [2, 1000, ['orphan']],
    [3, 1000, ['put', 'delete']],
    [4, 2000, ['moved', 'orphan']],
  ] as const) {
    test(`seed ${seed}, -s ${fileSize}: every prefix of a random run with crashes`, async () => {
      const s = await randomRun(seed, 250, fileSize);
      const files = s.storage.snapshot();
      const { records, warnings } = decodeBinlog(files);
      expect(warnings).toEqual([]);
      for (let k = 0; k <= records.length; k++) {
        const q = rebuildAfter(records, k, s.clock.now());
        const e = recovered(filesUpTo(files, records, k), s.clock);
        expect(drawn(q), `after ${k} of ${records.length} records`).toEqual(e.tubes);
      }
      const all = rebuildAfter(records, records.length, s.clock.now());
      expect(all.nextId).toBeLessThanOrEqual(recovered(files, s.clock).nextId);
      for (const kind of exercises) expect(records.some((r) => (kind === 'orphan' ? r.orphan : r.kind === kind))).toBe(true);
    });
  }
});
