// The browser's binlog mirror (IndexedDB, here fake-indexeddb in Node): records land in order, a
// restart reads back exactly what the engine wrote, and a busy server's writes share transactions and
// values (a transaction per record cost the room's host page about 1 ms of its main thread per record).
import 'fake-indexeddb/auto';
import { afterEach, expect, test, vi } from 'vitest';
import { IdbBinlogStorage } from '../../src/sim/binlog-idb.ts';

const bytes = (...b: number[]) => new Uint8Array(b);
let n = 0;
const fresh = () => new IdbBinlogStorage(`binlog-idb-test-${++n}`);

/** How many values the database holds. */
async function storedValues(name: string): Promise<number> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const count = await new Promise<number>((resolve) => {
    const r = db.transaction('records').objectStore('records').count();
    r.onsuccess = () => resolve(r.result);
  });
  db.close();
  return count;
}

afterEach(() => {
  vi.restoreAllMocks();
});

test('load() after a run of writes gives back each file as the engine wrote it, and only the files not removed', async () => {
  const b = fresh();
  b.create(1, 64, bytes(7, 0, 0, 0));
  b.append(1, bytes(1, 2));
  b.append(1, bytes(3));
  b.create(2, 64, bytes(7, 0, 0, 0));
  b.append(2, bytes(9));
  b.remove(1);
  b.append(2, bytes(8, 8));
  const files = await b.load();
  expect([...files.keys()]).toEqual([2]);
  expect([...files.get(2)!]).toEqual([7, 0, 0, 0, 9, 8, 8]);
  expect([...files.get(2)!]).toEqual([...b.snapshot().get(2)!]);
  await b.dispose();
});

test("writes made close together go in one transaction, each file's records joined into one value: a header and 1000 records, in order", async () => {
  const b = fresh();
  const opened = vi.spyOn(IDBDatabase.prototype, 'transaction');
  b.create(1, 1 << 20, bytes(7));
  for (let i = 0; i < 1000; i++) b.append(1, bytes(i & 255));
  const files = await b.load();
  // The load's own read is a transaction too.
  const writes = opened.mock.calls.filter(([, mode]) => mode === 'readwrite').length;
  expect(writes).toBe(1);
  expect([...files.get(1)!]).toEqual([7, ...Array.from({ length: 1000 }, (_, i) => i & 255)]);
  expect(await storedValues(b.name)).toBe(1);
  // Once that has landed, records written in later turns start new transactions, still in order.
  b.append(1, bytes(1));
  await new Promise((r) => setTimeout(r, 0));
  b.append(1, bytes(2));
  b.append(1, bytes(3));
  const after = await b.load();
  expect([...after.get(1)!].slice(-3)).toEqual([1, 2, 3]);
  expect(opened.mock.calls.filter(([, mode]) => mode === 'readwrite').length).toBeLessThanOrEqual(3);
  await b.dispose();
});
