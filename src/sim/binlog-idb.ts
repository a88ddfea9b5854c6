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

/** A write not yet in a transaction: bytes for the end of a file (a header or records), or a file removed. */
type QueuedWrite = { seq: number; bytes: Uint8Array } | { seq: number; remove: true };

/**
 * How long writes gather before they go to IndexedDB together, ms. A transaction costs the page about
 * 1 ms of main thread, and a busy server writes a few records per job: beanstalkd's own `-f` likewise
 * syncs its binlog at most every so often, not on every record.
 */
const GATHER_MS = 10;

export class IdbBinlogStorage implements BinlogStorage {
  private readonly memory = new MemoryBinlogStorage();
  /** Every write, in order, behind the opening of the database: the engine never waits for IndexedDB. */
  private chain: Promise<unknown>;
  private readonly db: Promise<IDBDatabase>;
  private counter = 0;
  /** Writes not yet in a transaction, in order: the next transaction takes them all. */
  private queued: QueuedWrite[] = [];

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
   * Queues a write. The first one queued schedules a transaction, GATHER_MS later and after the one before
   * it has completed, which takes every write queued by then: they land in order, a file's records joined
   * into one value.
   */
  private write(w: QueuedWrite): void {
    this.queued.push(w);
    if (this.queued.length > 1) return;
    this.chain = this.chain
      .then(() => new Promise((resolve) => setTimeout(resolve, GATHER_MS)))
      .then(() => this.db)
      .then(
        (db) =>
          new Promise<void>((resolve, reject) => {
            const batch = this.queued;
            this.queued = [];
            const tx = db.transaction(STORE, 'readwrite');
            const store = tx.objectStore(STORE);
            let parts: Uint8Array[] = [];
            let seq = -1;
            const put = () => {
              if (parts.length) store.put(joinBytes(parts), [seq, this.counter++]);
              parts = [];
            };
            for (const w of batch) {
              if (w.seq !== seq) put();
              seq = w.seq;
              if ('remove' in w) store.delete(IDBKeyRange.bound([w.seq, -Infinity], [w.seq, Infinity]));
              else parts.push(w.bytes);
            }
            put();
            tx.oncomplete = () => resolve();
            tx.onerror = () => reject(tx.error);
          }),
      );
  }

  create(seq: number, size: number, header: Uint8Array): void {
    this.memory.create(seq, size, header);
    this.write({ seq, bytes: header.slice() });
  }

  append(seq: number, bytes: Uint8Array): void {
    this.memory.append(seq, bytes);
    this.write({ seq, bytes: bytes.slice() });
  }

  close(): void {}

  remove(seq: number): void {
    this.memory.remove(seq);
    this.write({ seq, remove: true });
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
