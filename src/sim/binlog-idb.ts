// The simulated queue server's binlog in the browser: kept in memory for the engine (which writes
// synchronously) and mirrored to IndexedDB in order. After a crash of the server, its restart reads the
// files back from IndexedDB, not from memory: what survives is what reached browser storage.
import { MemoryBinlogStorage, joinBytes, type BinlogStorage } from '../engine/binlog.ts';

const STORE = 'records';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export class IdbBinlogStorage implements BinlogStorage {
  private readonly memory = new MemoryBinlogStorage();
  /** Every write, in order, behind the opening of the database: the engine never waits for IndexedDB. */
  private chain: Promise<unknown>;
  private readonly db: Promise<IDBDatabase>;
  private counter = 0;
  /** Writes not yet in a transaction: they go in the next one, together (a transaction costs the page about 1 ms). */
  private queued: ((store: IDBObjectStore) => void)[] = [];

  /** A binlog in the IndexedDB database `name`, emptied first: each run of the lab gets a fresh one. */
  constructor(readonly name: string) {
    this.db = request(indexedDB.deleteDatabase(name)).then(() => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      return request(req);
    });
    this.chain = this.db;
  }

  /**
   * Queues a write. The first write after a transaction has started schedules the next one, which takes
   * every write queued by the time the one before it has completed: writes land in order, as a group
   * commit, and a busy server writes in a few transactions a frame instead of one per record.
   */
  private write(fn: (store: IDBObjectStore) => void): void {
    this.queued.push(fn);
    if (this.queued.length > 1) return;
    this.chain = this.chain.then(
      () =>
        this.db.then(
          (db) =>
            new Promise<void>((resolve, reject) => {
              const batch = this.queued;
              this.queued = [];
              const tx = db.transaction(STORE, 'readwrite');
              const store = tx.objectStore(STORE);
              for (const op of batch) op(store);
              tx.oncomplete = () => resolve();
              tx.onerror = () => reject(tx.error);
            }),
        ),
    );
  }

  create(seq: number, size: number, header: Uint8Array): void {
    this.memory.create(seq, size, header);
    const copy = header.slice();
    const key = [seq, this.counter++];
    this.write((s) => s.put(copy, key));
  }

  append(seq: number, bytes: Uint8Array): void {
    this.memory.append(seq, bytes);
    const copy = bytes.slice();
    const key = [seq, this.counter++];
    this.write((s) => s.put(copy, key));
  }

  close(): void {}

  remove(seq: number): void {
    this.memory.remove(seq);
    this.write((s) => s.delete(IDBKeyRange.bound([seq, -Infinity], [seq, Infinity])));
  }

  flush(): void {
    this.memory.flush();
  }

  // Kept with the in-memory copy only: the browser's server restarts within the page that holds it.
  keptLastId(): number {
    return this.memory.keptLastId();
  }

  keepLastId(id: number): void {
    this.memory.keepLastId(id);
  }

  snapshot(): Map<number, Uint8Array> {
    return this.memory.snapshot();
  }

  /** What IndexedDB holds once every queued write has landed: the files a restarted server reads. */
  async load(): Promise<Map<number, Uint8Array>> {
    await this.chain;
    const db = await this.db;
    const store = db.transaction(STORE, 'readonly').objectStore(STORE);
    const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
    const parts = new Map<number, Uint8Array[]>();
    keys.forEach((k, i) => {
      const seq = (k as number[])[0];
      const list = parts.get(seq) ?? [];
      list.push(values[i] as Uint8Array);
      parts.set(seq, list);
    });
    const files = new Map<number, Uint8Array>();
    for (const [seq, list] of parts) files.set(seq, joinBytes(list));
    return files;
  }

  /** Deletes the database (the run is over). */
  async dispose(): Promise<void> {
    await this.chain.catch(() => {});
    (await this.db).close();
    await request(indexedDB.deleteDatabase(this.name));
  }
}
