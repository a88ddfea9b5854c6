// The binlog (walg.c, file.c): an append-only log of job records that rebuilds the queue after a
// crash. Which transitions are logged, and what comes back, follow beanstalkd 1.12 (spec §10):
// - logged: put (a full record: tube, fields, body); delete, bury, kick, and release with a delay
//   (short records: fields only). Not logged: reserve, touch, release without delay, TTR expiry,
//   delay expiry, connection close, pause-tube;
// - on start-up every file is read in order and each job's last record decides its fields, so a job
//   reserved at the crash comes back ready, and unlogged changes (a release to a new pri) are lost;
// - replaying a buried job counts one more bury (beanstalkd calls bury_job again);
// - next id = 1 + the highest id of any full record still on disk (deleted jobs included), and never
//   less than 1 + the highest id handed out before any record still on disk was written (each record
//   carries it): beanstalkd can hand out an id again once the file holding its put is gone, we do not.
//   When no record is left (every job deleted, then a run that wrote nothing), beanstalkd starts ids
//   again at 1; we do not: each start keeps the highest id handed out beside the files
//   (BinlogStorage.keepLastId), so an id is never handed out twice;
// - each start writes to a new file binlog.<max+1>.
//
// Space, files and counters are beanstalkd's decisions, made the way walg.c makes them: a put
// reserves the space of its full record plus a later delete record (walresvput), a bury, a kick and
// a release with delay reserve one more short record (walresvupdate), a new file is preallocated to
// -s bytes (rounded up to 4096, like falloc) when the reservation does not fit, and a command whose
// reservation cannot be had (disk full, directory not writable) is refused with OUT_OF_MEMORY and
// undone: the job stays as it was (beanstalkd drops a job whose bury or delayed release fails, and
// counts kicks it could not do). Deletes never need new space, so they work on a full disk. A write
// that fails all the same (an I/O error) turns the binlog off, as in beanstalkd. Compaction
// (walcompact) moves the oldest file's live jobs to the current file, one per step of the ratio of
// free to used (live and reserved) bytes above 1, and a file goes as soon as it and every older
// file hold no live job (walgc). For these decisions to be beanstalkd's, every record takes exactly
// beanstalkd's size on disk: a short record is 84 bytes (4 + sizeof(Jobrec) on x86_64), a full one
// 84 + tube name + body + CRLF, the file header 4 bytes; so the accounting is both beanstalkd's and
// the real bytes on disk, and space reserved for a delete is really preallocated.
//
// The byte layout is beanlab's own. A record: marker u32, checksum u32 (FNV-1a of the rest, seeded
// with the record's offset in its file, so a record copied elsewhere, e.g. inside a job body, does not
// check out), length u32, tube name length u8 (0 = short), state u8, id, pri, delay, ttr, created,
// deadline, the five counters, the highest id handed out (u48), then for a full record the tube name
// and the body with its CRLF. The rest of a preallocated file is zeros.
//
// Reading: a record whose marker, length or checksum do not hold is damaged; the reader skips it,
// finds the next record that checks out (resynchronises on the marker) and goes on, then says on
// stderr how many records of the file it skipped. Damage at the very end of a file with nothing
// intact after it is a torn last write (a crash mid-write): skipped with a short note, not counted.
// What a skipped record means: a damaged put loses that job unless an older full record of it is
// still on disk (its later short records are ignored, as beanstalkd ignores short records whose full
// record is gone); a damaged delete brings its job back (the job may run twice: at-least-once, the
// same promise as for a job reserved at the crash); a damaged bury, kick or release leaves the job as
// its previous record said.
import type { Engine, JobLog } from './engine.ts';
import type { Job } from './job.ts';
import type { JobState } from './types.ts';
import type { BinlogSnapshot, MemoryBinlogSnapshot } from './snapshot.ts';

/**
 * Where binlog files live: files on disk in Node, IndexedDB in the browser. Writes must not be lost
 * once append returns (for Node: written to the OS). create and append throw when the storage cannot
 * do it (no space, no permission); create then leaves no file behind.
 */
export interface BinlogStorage {
  /** Makes file seq with `header` at its start, preallocated to `size` bytes rounded up to 4096. */
  create(seq: number, size: number, header: Uint8Array): void;
  /** Writes bytes after the file's last write. */
  append(seq: number, bytes: Uint8Array): void;
  /** No more writes to the file; `truncate`: cut the preallocated space after the last write. */
  close(seq: number, truncate: boolean): void;
  remove(seq: number): void;
  /** Called after each logged command; the storage applies its sync policy (beanstalkd's -f/-F). */
  flush(): void;
  /**
   * The highest job id handed out, kept beside the files at each start (see restoreFromBinlog): once
   * the files holding its records are gone, it alone stops ids being handed out again. 0 if none.
   */
  keptLastId(): number;
  /** Keeps it; a storage that cannot (a full disk) warns and goes on, as the files still carry it. */
  keepLastId(id: number): void;
}

const FILE_MAGIC = 0x32424c42; // "BLB2"
const HEADER_SIZE = 4; // beanstalkd's header: its format version, an int
const RECORD_MARK = 0xb1e55ed5;
/** A short record; beanstalkd's delete record (walresvupdate's unit). */
const SHORT_SIZE = 84;
const STATE_CODES: Record<JobState | 'deleted', number> = { deleted: 0, ready: 1, reserved: 2, buried: 3, delayed: 4 };
const CODE_STATES: (JobState | 'deleted')[] = ['deleted', 'ready', 'reserved', 'buried', 'delayed'];

/** Bytes of a job's full record (and of beanstalkd's: 4 + name + Jobrec + body with CRLF). */
function fullSize(j: Job): number {
  return SHORT_SIZE + j.tube.name.length + j.body.length + 2;
}

function checksum(b: Uint8Array, from: number, to: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  h = Math.imul(h, 0x01000193);
  for (let i = from; i < to; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fileHeader(): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  new DataView(b.buffer).setUint32(0, FILE_MAGIC, true);
  return b;
}

/** The record for the job's current state, to be written at byte `offset` of its file. */
export function encodeRecord(j: Job, full: boolean, deleted: boolean, lastId: number, offset: number): Uint8Array {
  const name = full ? j.tube.name : '';
  const b = new Uint8Array(full ? fullSize(j) : SHORT_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, RECORD_MARK, true);
  v.setUint32(8, b.length, true);
  v.setUint8(12, name.length);
  v.setUint8(13, STATE_CODES[deleted ? 'deleted' : j.state]);
  v.setFloat64(14, j.id, true);
  v.setUint32(22, j.pri, true);
  v.setFloat64(26, j.delay, true);
  v.setFloat64(34, j.ttr, true);
  v.setFloat64(42, j.createdAt, true);
  v.setFloat64(50, j.deadlineAt, true);
  v.setUint32(58, j.reserveCount, true);
  v.setUint32(62, j.timeoutCount, true);
  v.setUint32(66, j.releaseCount, true);
  v.setUint32(70, j.buryCount, true);
  v.setUint32(74, j.kickCount, true);
  v.setUint32(78, lastId % 2 ** 32, true);
  v.setUint16(82, Math.floor(lastId / 2 ** 32), true);
  if (full) {
    for (let i = 0; i < name.length; i++) b[SHORT_SIZE + i] = name.charCodeAt(i);
    b.set(j.body, SHORT_SIZE + name.length);
    b[b.length - 2] = 13;
    b[b.length - 1] = 10;
  }
  v.setUint32(4, checksum(b, 8, b.length, offset), true);
  return b;
}

/** Length of the intact record at byte o of b, or 0 if there is none. */
function recordAt(b: Uint8Array, v: DataView, o: number): number {
  if (o + SHORT_SIZE > b.length || v.getUint32(o, true) !== RECORD_MARK) return 0;
  const len = v.getUint32(o + 8, true);
  const nameLen = b[o + 12];
  if (nameLen === 0 ? len !== SHORT_SIZE : len < SHORT_SIZE + nameLen + 2 || b[o + len - 2] !== 13 || b[o + len - 1] !== 10) return 0;
  if (o + len > b.length || b[o + 13] >= CODE_STATES.length) return 0;
  return checksum(b, o + 8, o + len, o) === v.getUint32(o + 4, true) ? len : 0;
}

/** The first offset at or after `from` holding an intact record, or -1. */
function nextRecord(b: Uint8Array, v: DataView, from: number): number {
  const first = RECORD_MARK & 0xff;
  for (let o = b.indexOf(first, from); o >= 0; o = b.indexOf(first, o + 1)) if (recordAt(b, v, o)) return o;
  return -1;
}

/**
 * Records in a damaged stretch [from, to) of a file: the first, plus each later marker whose length
 * field leads to another such marker or to exactly `to` (so a record copied inside a body, which
 * ends before its body does, is not counted).
 */
function damagedRecords(b: Uint8Array, v: DataView, from: number, to: number): number {
  const starts = new Set<number>();
  for (let o = from + 1; o + 12 <= to; o++) if (v.getUint32(o, true) === RECORD_MARK) starts.add(o);
  let n = 1;
  for (const o of starts) {
    const end = o + v.getUint32(o + 8, true);
    if (end === to || starts.has(end)) n++;
  }
  return n;
}

function allZero(b: Uint8Array, from: number): boolean {
  for (let i = from; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** An intact record as it lies in its file. */
export interface BinlogRecord {
  /** Its file's number and where it starts there (bytes). */
  file: number;
  offset: number;
  /** Bytes it takes on disk. */
  length: number;
  /** The job's state when it was written ('deleted' for a delete; 'reserved' only in a record compaction moved). */
  state: JobState | 'deleted';
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
  /** The highest id handed out when it was written. */
  lastId: number;
  /** A full record's tube and body; null in a short record. */
  tube: string | null;
  body: Uint8Array | null;
}

/**
 * The intact records of file `seq`, in order, skipping damaged ones (see the header comment); null if
 * it is not a beanlab binlog file.
 */
export function fileRecords(seq: number, b: Uint8Array, warn: (msg: string) => void): BinlogRecord[] | null {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < HEADER_SIZE || v.getUint32(0, true) !== FILE_MAGIC) {
    warn(`binlog.${seq}: not a beanlab binlog file (format 2); left alone`);
    return null;
  }
  const out: BinlogRecord[] = [];
  let damaged = 0;
  let o = HEADER_SIZE;
  while (o < b.length) {
    const len = recordAt(b, v, o);
    if (!len) {
      if (allZero(b, o)) break; // the preallocated rest of the file
      const p = nextRecord(b, v, o + 1);
      if (p < 0) {
        warn(`binlog.${seq}: torn last record at byte ${o} skipped`);
        break;
      }
      damaged += damagedRecords(b, v, o, p);
      o = p;
      continue;
    }
    const nameLen = b[o + 12];
    let tube: string | null = null;
    if (nameLen) {
      tube = '';
      for (let i = 0; i < nameLen; i++) tube += String.fromCharCode(b[o + SHORT_SIZE + i]);
    }
    out.push({
      file: seq,
      offset: o,
      length: len,
      state: CODE_STATES[b[o + 13]],
      id: v.getFloat64(o + 14, true),
      pri: v.getUint32(o + 22, true),
      delay: v.getFloat64(o + 26, true),
      ttr: v.getFloat64(o + 34, true),
      createdAt: v.getFloat64(o + 42, true),
      deadlineAt: v.getFloat64(o + 50, true),
      reserveCount: v.getUint32(o + 58, true),
      timeoutCount: v.getUint32(o + 62, true),
      releaseCount: v.getUint32(o + 66, true),
      buryCount: v.getUint32(o + 70, true),
      kickCount: v.getUint32(o + 74, true),
      lastId: v.getUint32(o + 78, true) + v.getUint16(o + 82, true) * 2 ** 32,
      tube,
      body: nameLen ? b.slice(o + SHORT_SIZE + nameLen, o + len - 2) : null,
    });
    o += len;
  }
  if (damaged) warn(`binlog.${seq}: ${damaged} damaged record${damaged === 1 ? '' : 's'} skipped; every intact record was read`);
  return out;
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
  /** Bytes of its records from that full record on (beanstalkd's walused). */
  walUsed: number;
  /** Where its last full record stands among all full records read: its place in its file's job list. */
  fullOrder: number;
}

export interface Recovery {
  /** Live jobs, in the order the log first mentions them. */
  jobs: RecoveredJob[];
  /** 1 + the highest id of a full record read (beanstalkd's next id); 1 if none. */
  nextId: number;
  /** The highest id handed out that any record read remembers (0 if none). */
  lastId: number;
  /** Files read, in order (files that are not beanlab binlogs are left out, and left alone). */
  files: number[];
  /** Highest file number present, read or not (0 if none). */
  maxSeq: number;
}

/** Reads every file in sequence order, skipping damaged records (see the header comment). */
export function readBinlog(files: Map<number, Uint8Array>, warn: (msg: string) => void, maxJobSize = Infinity): Recovery {
  const jobs = new Map<number, RecoveredJob>();
  let nextId = 1;
  let lastId = 0;
  let fullOrder = 0;
  const read: number[] = [];
  const seqs = [...files.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const records = fileRecords(seq, files.get(seq) as Uint8Array, warn);
    if (!records) continue;
    read.push(seq);
    for (const r of records) {
      const { id, state } = r;
      if (r.lastId > lastId) lastId = r.lastId;
      let rec = jobs.get(id);
      // A short record of a job with no full record read: that record was in a file since deleted,
      // so the job was deleted or moved on (readrec).
      if (!rec && r.tube === null) continue;
      if (state === 'deleted') {
        jobs.delete(id);
        continue;
      }
      if (r.tube !== null && r.body) {
        if (!rec && r.body.length > maxJobSize) {
          warn(`binlog.${seq}: job ${id} is bigger than the maximum job size (${r.body.length} > ${maxJobSize}); skipped`);
          continue;
        }
        if (!rec) {
          if (id >= nextId) nextId = id + 1;
          rec = { id } as RecoveredJob;
          jobs.set(id, rec);
        }
        rec.tube = r.tube;
        rec.body = r.body;
        rec.file = seq;
        rec.walUsed = 0;
        rec.fullOrder = fullOrder++;
      }
      rec = rec as RecoveredJob;
      rec.pri = r.pri;
      rec.delay = r.delay;
      rec.ttr = r.ttr;
      rec.createdAt = r.createdAt;
      rec.deadlineAt = r.deadlineAt;
      rec.reserveCount = r.reserveCount;
      rec.timeoutCount = r.timeoutCount;
      rec.releaseCount = r.releaseCount;
      rec.buryCount = r.buryCount;
      rec.kickCount = r.kickCount;
      rec.state = state === 'reserved' ? 'ready' : state;
      rec.walUsed += r.length;
    }
  }
  return { jobs: [...jobs.values()], nextId, lastId, files: read, maxSeq: seqs.length ? seqs[seqs.length - 1] : 0 };
}

/** One binlog file as walg.c keeps it. */
interface LogFile {
  seq: number;
  /** Bytes neither written nor reserved (may go negative, as in beanstalkd). */
  free: number;
  /** Bytes reserved for records to come. */
  resv: number;
  /** Bytes written, header included: where the next record goes. */
  size: number;
  /** Open for writing: holds a reference, like a job. */
  open: boolean;
  /** Live jobs whose full record is in this file, in the order they were added (jlist). */
  jobs: Set<Job>;
}

export interface BinlogOptions {
  /** -s: the size of each file. */
  fileSize: number;
  warn: (msg: string) => void;
  /** The highest id handed out so far; every record carries it. */
  lastId: () => number;
}

export class Binlog implements JobLog {
  /** head .. tail. */
  private readonly files: LogFile[] = [];
  private cur!: LogFile;
  private next: number;
  private resv = 0;
  /** Bytes of records that still describe live jobs. */
  private alive = 0;
  private written = 0;
  private migrated = 0;
  /** False once a write failed: like beanstalkd, nothing more is logged. */
  private use = true;

  constructor(
    private readonly storage: BinlogStorage,
    private readonly opts: BinlogOptions,
    existing: number[],
    nextSeq: number,
  ) {
    for (const seq of existing) this.files.push({ seq, free: 0, resv: 0, size: 0, open: false, jobs: new Set() });
    this.next = nextSeq;
  }

  snapshot(): BinlogSnapshot {
    return {
      fileSize: this.opts.fileSize,
      files: this.files.map((f) => ({ seq: f.seq, free: f.free, resv: f.resv, size: f.size, open: f.open, jobs: Array.from(f.jobs, (j) => j.id) })),
      current: this.cur.seq,
      nextSeq: this.next,
      reserved: this.resv,
      alive: this.alive,
      written: this.written,
      migrated: this.migrated,
      on: this.use,
      storage: this.storage instanceof MemoryBinlogStorage ? this.storage.state() : null,
    };
  }

  /**
   * The writer of a snapshot, going on in `storage`, or else in a MemoryBinlogStorage holding the
   * snapshot's files. `job` finds a restored job by id.
   */
  static restore(
    s: BinlogSnapshot,
    job: (id: number) => Job,
    opts: { storage?: BinlogStorage; warn: (msg: string) => void; lastId: () => number },
  ): Binlog {
    const storage = opts.storage ?? (s.storage ? MemoryBinlogStorage.fromState(s.storage) : null);
    if (!storage) throw new Error('Binlog.restore: the snapshot does not hold its binlog files; pass the storage they are in');
    const log = new Binlog(storage, { fileSize: s.fileSize, warn: opts.warn, lastId: opts.lastId }, [], s.nextSeq);
    for (const f of s.files) log.files.push({ seq: f.seq, free: f.free, resv: f.resv, size: f.size, open: f.open, jobs: new Set(f.jobs.map(job)) });
    const cur = log.files.find((f) => f.seq === s.current);
    if (!cur) throw new Error(`Binlog.restore: the current file binlog.${s.current} is not among the snapshot's files`);
    log.cur = cur;
    log.resv = s.reserved;
    log.alive = s.alive;
    log.written = s.written;
    log.migrated = s.migrated;
    log.use = s.on;
    return log;
  }

  get stats() {
    return {
      oldestIndex: this.files.length ? this.files[0].seq : 0,
      currentIndex: this.cur ? this.cur.seq : 0,
      recordsMigrated: this.migrated,
      recordsWritten: this.written,
      maxSize: this.opts.fileSize,
    };
  }

  private get tail(): LogFile {
    return this.files[this.files.length - 1];
  }

  private fileOf(j: Job): LogFile | undefined {
    return j.file ? this.files.find((f) => f.seq === j.file) : undefined;
  }

  /** Binds a recovered job to the file holding its full record (read order: fileaddjob). */
  adopt(j: Job, seq: number, walUsed: number): void {
    const f = this.files.find((x) => x.seq === seq);
    if (!f) return;
    f.jobs.add(j);
    j.file = seq;
    j.walUsed = walUsed;
    this.alive += walUsed;
  }

  /** After recovery: drops dead files, opens the first file to write (walinit). */
  start(): void {
    this.collect();
    if (!this.makeNextFile()) throw new Error(`cannot create binlog.${this.next}`);
    this.cur = this.tail;
  }

  reservePut(j: Job): boolean {
    return this.reserve(fullSize(j) + SHORT_SIZE) > 0;
  }

  reserveUpdate(): boolean {
    return this.reserve(SHORT_SIZE) > 0;
  }

  /** Appends a record for the job (walwrite); false if it could not be written (the log is then off). */
  write(j: Job, deleted = false): boolean {
    if (!this.use) return true;
    let ok = false;
    if (this.cur.resv > 0 || this.useNext()) {
      const f = this.cur;
      const full = j.file === 0;
      if (full) {
        f.jobs.add(j);
        j.file = f.seq;
      }
      const rec = encodeRecord(j, full, deleted, this.opts.lastId(), f.size);
      try {
        this.storage.append(f.seq, rec);
        ok = true;
      } catch (err) {
        this.opts.warn(`binlog.${f.seq}: write failed: ${(err as Error).message}; the binlog is off from now on`);
      }
      if (ok) {
        f.size += rec.length;
        this.resv -= rec.length;
        f.resv -= rec.length;
        j.walUsed += rec.length;
        this.alive += rec.length;
        if (deleted) this.removeJob(this.fileOf(j), j);
      }
    }
    if (!ok) {
      this.closeFile(this.cur);
      this.use = false;
    }
    this.written++;
    return ok;
  }

  maintain(): void {
    if (!this.use) return;
    this.compact();
    this.storage.flush();
  }

  // ---- walg.c -------------------------------------------------------------------------------

  /** filermjob */
  private removeJob(f: LogFile | undefined, j: Job): void {
    if (!f || f.seq !== j.file) return;
    f.jobs.delete(j);
    j.file = 0;
    this.alive -= j.walUsed;
    j.walUsed = 0;
    if (!this.refs(f)) this.collect();
  }

  private refs(f: LogFile): number {
    return f.jobs.size + (f.open ? 1 : 0);
  }

  /** walgc: deletes files from the oldest on while they hold nothing. */
  private collect(): void {
    while (this.files.length && !this.refs(this.files[0])) {
      const f = this.files.shift() as LogFile;
      try {
        this.storage.remove(f.seq);
      } catch (err) {
        this.opts.warn(`binlog.${f.seq}: cannot delete: ${(err as Error).message}`);
      }
    }
  }

  /** filewclose */
  private closeFile(f: LogFile): void {
    if (!f.open) return;
    try {
      this.storage.close(f.seq, f.free !== 0);
    } catch (err) {
      this.opts.warn(`binlog.${f.seq}: ${(err as Error).message}`);
    }
    f.open = false;
    if (!this.refs(f)) this.collect();
  }

  /** usenext */
  private useNext(): boolean {
    const f = this.cur;
    const next = this.files[this.files.indexOf(f) + 1];
    if (!next) {
      this.opts.warn('there is no next binlog file');
      return false;
    }
    this.cur = next;
    this.closeFile(f);
    return true;
  }

  /** makenextfile + filewopen: a preallocated file; false if the storage refuses (full, not writable). */
  private makeNextFile(): boolean {
    try {
      this.storage.create(this.next, this.opts.fileSize, fileHeader());
    } catch (err) {
      this.opts.warn(`binlog.${this.next}: cannot create: ${(err as Error).message}`);
      return false;
    }
    this.files.push({ seq: this.next, free: this.opts.fileSize - HEADER_SIZE, resv: 0, size: HEADER_SIZE, open: true, jobs: new Set() });
    this.next++;
    return true;
  }

  private needFree(n: number): number {
    if (this.tail.free >= n) return n;
    if (this.makeNextFile()) return n;
    return 0;
  }

  private moveResv(to: LogFile, from: LogFile, n: number): void {
    from.resv -= n;
    from.free += n;
    to.resv += n;
    to.free -= n;
  }

  /**
   * balancerest: keeps each file's reservation a whole number of short records (after cur's first n
   * bytes), so records never straddle files; may need a new file.
   */
  private balanceRest(from: number, n: number): boolean {
    for (let i = from; i < this.files.length; i++, n = 0) {
      const b = this.files[i];
      const r = (b.resv - n) % SHORT_SIZE;
      if (r === 0) continue;
      const c = SHORT_SIZE - r;
      if (this.tail.resv >= c && b.free >= c) {
        this.moveResv(b, this.tail, c);
        continue;
      }
      if (this.needFree(r) !== r) return false;
      this.moveResv(this.tail, b, r);
    }
    return true;
  }

  /** balance: cur holds at least n reserved bytes, and the rest is in whole short records. */
  private balance(n: number): boolean {
    while (this.cur.resv < n) {
      const m = this.cur.resv;
      if (this.needFree(m) !== m) return false;
      this.moveResv(this.tail, this.cur, m);
      if (!this.useNext()) return false;
    }
    return this.balanceRest(this.files.indexOf(this.cur), n);
  }

  /** reserve: n bytes or 0. */
  private reserve(n: number): number {
    if (!this.use) return 1;
    if (this.cur.free >= n) {
      this.cur.free -= n;
      this.cur.resv += n;
      this.resv += n;
      return n;
    }
    if (this.needFree(n) !== n) return 0;
    const tail = this.tail;
    tail.free -= n;
    tail.resv += n;
    this.resv += n;
    if (!this.balance(n)) {
      this.resv -= n;
      tail.resv -= n;
      tail.free += n;
      return 0;
    }
    return n;
  }

  private ratio(): number {
    const d = this.alive + this.resv;
    if (!d) return 0;
    return Math.trunc((this.files.length * this.opts.fileSize - d) / d);
  }

  /** moveone: the oldest file's first live job gets a full record in the current file. */
  private moveOne(): void {
    const head = this.files[0];
    if (head === this.cur || this.files[1] === this.cur) return;
    const j = head.jobs.values().next().value;
    if (!j) return;
    if (!this.reserve(fullSize(j))) return;
    this.removeJob(head, j);
    this.migrated++;
    this.write(j);
  }

  /** walcompact: moves more the more the log outweighs its live and reserved bytes. */
  private compact(): void {
    for (let r = this.ratio(); r >= 2; r--) this.moveOne();
  }
}

/**
 * Rebuilds an engine's queue from binlog files (read from storage at start-up) and attaches a binlog
 * that continues in a new file. Call on a fresh engine, before any connection. Throws if the new file
 * cannot be made or the recovered jobs' space cannot be reserved (beanstalkd exits then too).
 */
export function restoreFromBinlog(
  engine: Engine,
  files: Map<number, Uint8Array>,
  storage: BinlogStorage,
  opts: { fileSize: number; warn: (msg: string) => void },
): Binlog {
  const rec = readBinlog(files, opts.warn, engine.maxJobSize);
  const log = new Binlog(storage, { ...opts, lastId: () => engine.nextId - 1 }, rec.files, rec.maxSeq + 1);
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
    jobs.push(j);
  }
  const byFull = jobs.map((j, i) => ({ j, r: rec.jobs[i] })).sort((a, b) => a.r.fullOrder - b.r.fullOrder);
  for (const { j, r } of byFull) log.adopt(j, r.file, r.walUsed);
  engine.nextId = Math.max(engine.nextId, rec.nextId, rec.lastId + 1, storage.keptLastId() + 1);
  // The start deletes the files whose jobs are all gone, and with them the records saying which ids were used.
  if (engine.nextId - 1 > storage.keptLastId()) storage.keepLastId(engine.nextId - 1);
  log.start();
  // prot_replay: each recovered job gets the space of one more record (its delete, say).
  for (let i = 0; i < jobs.length; i++) if (!log.reserveUpdate()) throw new Error('failed to replay log: no space for the recovered jobs');
  engine.replay(jobs);
  engine.log = log;
  return log;
}

/** Binlog files kept in memory: tests, and the browser's copy that it mirrors into IndexedDB. */
export class MemoryBinlogStorage implements BinlogStorage {
  private readonly files = new Map<number, Uint8Array[]>();
  private lastId = 0;
  flushes = 0;

  create(seq: number, _size: number, header: Uint8Array): void {
    this.files.set(seq, [header.slice()]);
  }

  append(seq: number, bytes: Uint8Array): void {
    const parts = this.files.get(seq);
    if (!parts) throw new Error(`binlog.${seq} does not exist`);
    parts.push(bytes.slice());
  }

  close(): void {}

  remove(seq: number): void {
    this.files.delete(seq);
  }

  flush(): void {
    this.flushes++;
  }

  keptLastId(): number {
    return this.lastId;
  }

  keepLastId(id: number): void {
    this.lastId = id;
  }

  /** Its whole state as plain data (for an engine snapshot): nothing shared with the storage. */
  state(): MemoryBinlogSnapshot {
    return {
      files: Array.from(this.files, ([seq, parts]) => ({ seq, bytes: joinBytes(parts) })),
      lastId: this.lastId,
      flushes: this.flushes,
    };
  }

  static fromState(s: MemoryBinlogSnapshot): MemoryBinlogStorage {
    return MemoryBinlogStorage.fromParts(
      s.files.map((f) => ({ seq: f.seq, parts: [f.bytes.slice()] })),
      s.lastId,
      s.flushes,
    );
  }

  /**
   * A storage whose files start as `parts` (a checkpoint's), taken as they are: written bytes never
   * change, so they are shared rather than copied (a restore copied megabytes twice).
   */
  static fromParts(files: readonly { seq: number; parts: readonly Uint8Array[] }[], lastId: number, flushes: number): MemoryBinlogStorage {
    const m = new MemoryBinlogStorage();
    for (const f of files) m.files.set(f.seq, f.parts.slice());
    m.lastId = lastId;
    m.flushes = flushes;
    return m;
  }

  /** Each file as the writes that made it, in order (not copied: for a caller that copies what it keeps). */
  writes(): ReadonlyMap<number, readonly Uint8Array[]> {
    return this.files;
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
