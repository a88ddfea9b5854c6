// The binlog (walg.c, file.c): an append-only log of job records that rebuilds the queue after a
// crash. Which transitions are logged, and what comes back, follow beanstalkd 1.12 (spec §10):
// - logged: put (a full record: tube, fields, body); delete, bury, kick, and release with a delay
//   (short records: fields only). Not logged: reserve, touch, release without delay, TTR expiry,
//   delay expiry, connection close, pause-tube;
// - on start-up every file is read in order and each job's last record decides its fields, so a job
//   reserved at the crash comes back ready, and unlogged changes (a release to a new pri) are lost;
// - replaying a buried job counts one more bury (beanstalkd calls bury_job again);
// - next id = 1 + the highest id of any full record still on disk (deleted jobs included);
// - each start writes to a new file binlog.<max+1>; files holding no live job are deleted.
// The byte layout is beanlab's own, with a length and checksum per record so that a torn final record
// (a crash in the middle of a write) is detected and skipped instead of being fatal.
import type { Engine, JobLog } from './engine.ts';
import type { Job } from './job.ts';
import type { JobState } from './types.ts';

/** Where binlog files live: files on disk in Node, IndexedDB in the browser. Writes must not be lost once append returns (for Node: written to the OS). */
export interface BinlogStorage {
  append(seq: number, bytes: Uint8Array): void;
  remove(seq: number): void;
  /** Called after each logged command; the storage applies its sync policy (beanstalkd's -f/-F). */
  flush(): void;
}

const MAGIC = 0x42414c42; // "BLAB"
const FORMAT_VERSION = 1;
const HEADER_SIZE = 8;
const FULL = 1;
const SHORT = 2;
const STATE_CODES: Record<JobState | 'deleted', number> = { deleted: 0, ready: 1, reserved: 2, buried: 3, delayed: 4 };
const CODE_STATES: (JobState | 'deleted')[] = ['deleted', 'ready', 'reserved', 'buried', 'delayed'];
// kind u8, id f64, pri u32, delay f64, ttr f64, createdAt f64, deadlineAt f64, 5 counters u32, state u8
const FIELDS_SIZE = 1 + 8 + 4 + 8 * 4 + 4 * 5 + 1;

function checksum(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fileHeader(): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, FORMAT_VERSION, true);
  return b;
}

export function encodeRecord(j: Job, full: boolean, deleted: boolean): Uint8Array {
  const name = full ? j.tube.name : '';
  const payload = FIELDS_SIZE + (full ? 2 + name.length + 4 + j.body.length : 0);
  const b = new Uint8Array(8 + payload);
  const v = new DataView(b.buffer);
  let o = 8;
  v.setUint8(o, full ? FULL : SHORT);
  v.setFloat64(o + 1, j.id, true);
  v.setUint32(o + 9, j.pri, true);
  v.setFloat64(o + 13, j.delay, true);
  v.setFloat64(o + 21, j.ttr, true);
  v.setFloat64(o + 29, j.createdAt, true);
  v.setFloat64(o + 37, j.deadlineAt, true);
  v.setUint32(o + 45, j.reserveCount, true);
  v.setUint32(o + 49, j.timeoutCount, true);
  v.setUint32(o + 53, j.releaseCount, true);
  v.setUint32(o + 57, j.buryCount, true);
  v.setUint32(o + 61, j.kickCount, true);
  v.setUint8(o + 65, STATE_CODES[deleted ? 'deleted' : j.state]);
  o += FIELDS_SIZE;
  if (full) {
    v.setUint16(o, name.length, true);
    for (let i = 0; i < name.length; i++) b[o + 2 + i] = name.charCodeAt(i);
    o += 2 + name.length;
    v.setUint32(o, j.body.length, true);
    b.set(j.body, o + 4);
  }
  v.setUint32(0, payload, true);
  v.setUint32(4, checksum(b, 8, b.length), true);
  return b;
}

/** A job as the log last described it. */
export interface RecoveredJob {
  id: number;
  pri: number;
  delay: number;
  ttr: number;
  createdAt: number;
  deadlineAt: number;
  reserveCount: number;
  timeoutCount: number;
  releaseCount: number;
  buryCount: number;
  kickCount: number;
  state: JobState;
  tube: string;
  body: Uint8Array;
  /** File holding its last full record. */
  file: number;
  /** Bytes of its records still on disk. */
  bytes: number;
}

export interface Recovery {
  /** Live jobs, in the order the log first mentions them. */
  jobs: RecoveredJob[];
  /** Highest id of any full record read (0 if none). */
  maxId: number;
  maxSeq: number;
}

/** Reads every file in sequence order. A damaged or torn record ends the reading of its file, with a warning. */
export function readBinlog(files: Map<number, Uint8Array>, warn: (msg: string) => void, maxJobSize = Infinity): Recovery {
  const jobs = new Map<number, RecoveredJob>();
  let maxId = 0;
  const seqs = [...files.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const b = files.get(seq) as Uint8Array;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (b.length < HEADER_SIZE || v.getUint32(0, true) !== MAGIC) {
      if (b.length) warn(`binlog.${seq}: not a beanlab binlog file; ignored`);
      continue;
    }
    if (v.getUint32(4, true) !== FORMAT_VERSION) {
      warn(`binlog.${seq}: format version ${v.getUint32(4, true)} is not ${FORMAT_VERSION}; ignored`);
      continue;
    }
    let o = HEADER_SIZE;
    while (o < b.length) {
      if (o + 8 > b.length) {
        warn(`binlog.${seq}: torn record at byte ${o} skipped (${b.length - o} bytes)`);
        break;
      }
      const len = v.getUint32(o, true);
      if (len < FIELDS_SIZE || o + 8 + len > b.length || checksum(b, o + 8, o + 8 + len) !== v.getUint32(o + 4, true)) {
        warn(`binlog.${seq}: torn or damaged record at byte ${o} skipped; the rest of this file is ignored`);
        break;
      }
      const p = o + 8;
      const kind = v.getUint8(p);
      const id = v.getFloat64(p + 1, true);
      const state = CODE_STATES[v.getUint8(p + 65)] ?? 'deleted';
      let rec = jobs.get(id);
      if (kind === FULL) {
        const nameLen = v.getUint16(p + FIELDS_SIZE, true);
        const bodyAt = p + FIELDS_SIZE + 2 + nameLen;
        const bodyLen = v.getUint32(bodyAt, true);
        if (bodyLen > maxJobSize) {
          warn(`binlog.${seq}: job ${id} is bigger than the maximum job size; the rest of this file is ignored, data may be missing`);
          break;
        }
        let tube = '';
        for (let i = 0; i < nameLen; i++) tube += String.fromCharCode(b[p + FIELDS_SIZE + 2 + i]);
        if (id > maxId) maxId = id;
        const body = b.slice(bodyAt + 4, bodyAt + 4 + bodyLen);
        if (rec) {
          rec.tube = tube;
          rec.body = body;
          rec.file = seq;
        } else if (state !== 'deleted') {
          rec = { id, tube, body, file: seq, bytes: 0 } as RecoveredJob;
          jobs.set(id, rec);
        }
      }
      if (rec) {
        if (state === 'deleted') {
          jobs.delete(id);
        } else {
          rec.pri = v.getUint32(p + 9, true);
          rec.delay = v.getFloat64(p + 13, true);
          rec.ttr = v.getFloat64(p + 21, true);
          rec.createdAt = v.getFloat64(p + 29, true);
          rec.deadlineAt = v.getFloat64(p + 37, true);
          rec.reserveCount = v.getUint32(p + 45, true);
          rec.timeoutCount = v.getUint32(p + 49, true);
          rec.releaseCount = v.getUint32(p + 53, true);
          rec.buryCount = v.getUint32(p + 57, true);
          rec.kickCount = v.getUint32(p + 61, true);
          rec.state = state;
          rec.bytes += 8 + len;
        }
      }
      o += 8 + len;
    }
  }
  return { jobs: [...jobs.values()], maxId, maxSeq: seqs.length ? seqs[seqs.length - 1] : 0 };
}

interface LogFile {
  seq: number;
  size: number;
  /** Live jobs whose full record is in this file: the file must stay while any remains. */
  jobs: Set<Job>;
}

export class Binlog implements JobLog {
  private readonly files: LogFile[] = [];
  private cur: LogFile;
  /** Bytes of records that still describe live jobs. */
  private alive = 0;
  private written = 0;
  private migrated = 0;

  constructor(
    private readonly storage: BinlogStorage,
    private readonly fileSize: number,
    existing: { seq: number; size: number }[],
    nextSeq: number,
  ) {
    for (const f of existing) this.files.push({ seq: f.seq, size: f.size, jobs: new Set() });
    this.cur = this.openFile(nextSeq);
  }

  get stats() {
    return {
      oldestIndex: this.files[0].seq,
      currentIndex: this.cur.seq,
      recordsMigrated: this.migrated,
      recordsWritten: this.written,
      maxSize: this.fileSize,
    };
  }

  /** Binds a recovered job to the file holding its full record. */
  adopt(j: Job, seq: number, bytes: number): void {
    const f = this.files.find((x) => x.seq === seq);
    if (!f) return;
    f.jobs.add(j);
    j.file = seq;
    j.walUsed = bytes;
    this.alive += bytes;
  }

  write(j: Job, deleted = false): void {
    const full = j.file === 0;
    const rec = encodeRecord(j, full, deleted);
    if (this.cur.size + rec.length > this.fileSize && this.cur.size > HEADER_SIZE) this.cur = this.openFile(this.cur.seq + 1);
    this.storage.append(this.cur.seq, rec);
    this.cur.size += rec.length;
    this.written++;
    j.walUsed += rec.length;
    this.alive += rec.length;
    if (full) {
      j.file = this.cur.seq;
      this.cur.jobs.add(j);
    }
    if (deleted) this.forget(j);
  }

  maintain(): void {
    this.compact();
    this.deleteDeadFiles();
    this.storage.flush();
  }

  private forget(j: Job): void {
    this.files.find((f) => f.seq === j.file)?.jobs.delete(j);
    this.alive -= j.walUsed;
    j.walUsed = 0;
    j.file = 0;
  }

  private openFile(seq: number): LogFile {
    const f: LogFile = { seq, size: HEADER_SIZE, jobs: new Set() };
    this.files.push(f);
    this.storage.append(seq, fileHeader());
    return f;
  }

  /**
   * Moves live jobs out of the oldest file into the current one (a full record each), so old files can
   * go. Like walcompact, it moves more the more the log outweighs its live records.
   */
  private compact(): void {
    const head = this.files[0];
    if (head === this.cur || this.files[1] === this.cur || !this.alive) return;
    const wasted = this.files.length * this.fileSize - this.alive;
    let n = Math.min(Math.floor(wasted / this.alive), head.jobs.size);
    for (const j of head.jobs) {
      if (n-- <= 0) break;
      this.forget(j);
      this.write(j);
      this.migrated++;
    }
  }

  private deleteDeadFiles(): void {
    while (this.files.length > 1 && this.files[0] !== this.cur && this.files[0].jobs.size === 0) {
      const f = this.files.shift() as LogFile;
      this.storage.remove(f.seq);
    }
  }
}

/**
 * Rebuilds an engine's queue from binlog files (read from storage at start-up) and attaches a binlog
 * that continues in a new file. Call on a fresh engine, before any connection.
 */
export function restoreFromBinlog(
  engine: Engine,
  files: Map<number, Uint8Array>,
  storage: BinlogStorage,
  opts: { fileSize: number; warn: (msg: string) => void },
): Binlog {
  const rec = readBinlog(files, opts.warn, engine.maxJobSize);
  const log = new Binlog(
    storage,
    opts.fileSize,
    [...files.entries()].sort((a, b) => a[0] - b[0]).map(([seq, b]) => ({ seq, size: b.length })),
    rec.maxSeq + 1,
  );
  const jobs: Job[] = [];
  for (const r of rec.jobs) {
    const j = engine.makeJob(r.id, r.pri, r.delay, r.ttr, r.body, engine.findOrMakeTube(r.tube), r.createdAt);
    j.deadlineAt = r.deadlineAt;
    j.reserveCount = r.reserveCount;
    j.timeoutCount = r.timeoutCount;
    j.releaseCount = r.releaseCount;
    j.buryCount = r.buryCount;
    j.kickCount = r.kickCount;
    j.state = r.state;
    log.adopt(j, r.file, r.bytes);
    jobs.push(j);
  }
  if (rec.maxId >= engine.nextId) engine.nextId = rec.maxId + 1;
  engine.replay(jobs);
  engine.log = log;
  log.maintain();
  return log;
}

/** Binlog files kept in memory: tests, and the browser's copy that it mirrors into IndexedDB. */
export class MemoryBinlogStorage implements BinlogStorage {
  private readonly files = new Map<number, Uint8Array[]>();
  flushes = 0;

  append(seq: number, bytes: Uint8Array): void {
    const parts = this.files.get(seq) ?? [];
    parts.push(bytes.slice());
    this.files.set(seq, parts);
  }

  remove(seq: number): void {
    this.files.delete(seq);
  }

  flush(): void {
    this.flushes++;
  }

  /** The files as they would be read back after a crash. */
  snapshot(): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const [seq, parts] of this.files) out.set(seq, joinBytes(parts));
    return out;
  }

  /** Replaces the stored files (a restart reads what the previous run left). */
  load(files: Map<number, Uint8Array>): void {
    this.files.clear();
    for (const [seq, b] of files) this.files.set(seq, [b.slice()]);
  }
}

/** One file's bytes from the writes that made it, in order. */
export function joinBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const all = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    all.set(p, n);
    n += p.length;
  }
  return all;
}
