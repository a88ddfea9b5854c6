// The binlog as a student reads it: each file's records named by what wrote them (a put, a delete, a
// bury…), and the queue a restart has rebuilt after reading the first k of them (the Binlog view's
// stepper). Pure functions over the files' bytes; the same reading and the same rules as readBinlog,
// which the engine's recovery uses, so the state after the last record is what a restart recovers.
import { fileRecords, type BinlogRecord } from './binlog.ts';
import type { JobState } from './types.ts';

/**
 * What wrote a record. `put`: the first full record of a job on disk (the whole job: tube, fields,
 * body); `moved`: a later full record of the same job, written by compaction into the current file;
 * the short ones, by job id: `delete`, `bury`, `kick` (back to ready) and `release` (with a delay).
 */
export const RECORD_KINDS = ['put', 'moved', 'delete', 'bury', 'kick', 'release'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export interface LoggedRecord extends BinlogRecord {
  kind: RecordKind;
  /** A short record of a job whose full record is no longer on disk: a restart skips it. */
  orphan: boolean;
}

export interface LoggedFile {
  seq: number;
  /** Bytes of the file as stored (a preallocated file in Node counts its zeros too). */
  bytes: number;
  records: LoggedRecord[];
}

export interface DecodedBinlog {
  files: LoggedFile[];
  /** Every record of every file, in the order a restart reads them. */
  records: LoggedRecord[];
  /** What the reader said: files not in the format, damaged or torn records skipped. */
  warnings: string[];
}

const SHORT_KINDS: Record<JobState | 'deleted', RecordKind> = { deleted: 'delete', buried: 'bury', ready: 'kick', delayed: 'release', reserved: 'kick' };

/** The files' records in reading order, each named by what wrote it. */
export function decodeBinlog(files: Map<number, Uint8Array>): DecodedBinlog {
  const warnings: string[] = [];
  const out: LoggedFile[] = [];
  const records: LoggedRecord[] = [];
  /** Jobs with a full record read and not deleted since. */
  const live = new Set<number>();
  for (const seq of [...files.keys()].sort((a, b) => a - b)) {
    const bytes = files.get(seq) as Uint8Array;
    const raw = fileRecords(seq, bytes, (m) => warnings.push(m));
    if (!raw) continue;
    const file: LoggedFile = { seq, bytes: bytes.length, records: [] };
    for (const r of raw) {
      const full = r.tube !== null;
      const kind: RecordKind = full ? (live.has(r.id) ? 'moved' : 'put') : SHORT_KINDS[r.state];
      const rec: LoggedRecord = { ...r, kind, orphan: !full && !live.has(r.id) };
      if (full) live.add(r.id);
      if (r.state === 'deleted') live.delete(r.id);
      file.records.push(rec);
      records.push(rec);
    }
    out.push(file);
  }
  return { files: out, records, warnings };
}

export interface RebuiltJob {
  id: number;
  tube: string;
  /** The state the restart gives it. */
  state: 'ready' | 'delayed' | 'buried';
  /** Its last record said reserved (compaction moved it while a worker held it): it comes back ready. */
  wasReserved: boolean;
  pri: number;
  /** When a delayed job becomes ready (ms on the server's clock). */
  deadlineAt: number;
  body: Uint8Array;
  /** Index (in the records) of the last record that described it. */
  last: number;
}

export interface RebuiltTube {
  name: string;
  /** Ready jobs in the order reserve takes them (priority, then id). */
  ready: RebuiltJob[];
  delayed: RebuiltJob[];
  buried: RebuiltJob[];
}

export interface RebuiltQueue {
  /** Records read so far. */
  read: number;
  /** Live jobs in the order the log first mentions them (the order the restart re-inserts them). */
  jobs: RebuiltJob[];
  /** Tubes holding jobs, in the order the restart makes them (`default`, which every server has, first). */
  tubes: RebuiltTube[];
  /** The id the next put would get: 1 + the highest id of a full record read. */
  nextId: number;
  /** Short records skipped so far because their job's full record was gone. */
  skipped: number;
}

/**
 * The queue a restart has rebuilt after reading the first `k` records (readBinlog's rules): a put
 * makes the job, a delete removes it, every other record sets its fields; a job reserved at the crash
 * is ready, since a reserve is never logged. `now`: the restart's clock, for delayed jobs whose time has
 * come (they come back ready); by default they stay delayed.
 */
export function rebuildAfter(records: readonly LoggedRecord[], k: number, now = -Infinity): RebuiltQueue {
  const jobs = new Map<number, RebuiltJob>();
  let nextId = 1;
  let skipped = 0;
  const n = Math.max(0, Math.min(k, records.length));
  for (let i = 0; i < n; i++) {
    const r = records[i];
    let job = jobs.get(r.id);
    if (!job && r.tube === null) {
      skipped++;
      continue;
    }
    if (r.state === 'deleted') {
      jobs.delete(r.id);
      continue;
    }
    if (r.tube !== null && r.body) {
      if (!job) {
        nextId = Math.max(nextId, r.id + 1);
        job = { id: r.id, tube: r.tube, state: 'ready', wasReserved: false, pri: 0, deadlineAt: 0, body: r.body, last: i };
        jobs.set(r.id, job);
      }
      job.tube = r.tube;
      job.body = r.body;
    }
    const j = job as RebuiltJob;
    j.pri = r.pri;
    j.deadlineAt = r.deadlineAt;
    j.wasReserved = r.state === 'reserved';
    j.state = r.state === 'buried' ? 'buried' : r.state === 'delayed' && r.deadlineAt > now ? 'delayed' : 'ready';
    j.last = i;
  }
  const tubes = new Map<string, RebuiltTube>();
  const byTube = [...jobs.values()].sort((a, b) => Number(b.tube === 'default') - Number(a.tube === 'default'));
  for (const j of byTube) {
    let t = tubes.get(j.tube);
    if (!t) tubes.set(j.tube, (t = { name: j.tube, ready: [], delayed: [], buried: [] }));
    t[j.state].push(j);
  }
  for (const t of tubes.values()) {
    t.ready.sort((a, b) => a.pri - b.pri || a.id - b.id);
    t.delayed.sort((a, b) => a.deadlineAt - b.deadlineAt || a.id - b.id);
  }
  return { read: n, jobs: [...jobs.values()], tubes: [...tubes.values()], nextId, skipped };
}
