// Binlog files on disk for the Node server (`-b DIR`): binlog.N files, plus `lock` and `last-id` links.
// Every record reaches the OS (writeSync) before the command's reply is sent, so a SIGKILL loses no
// acknowledged job; fsync follows beanstalkd's -f MS (at most every MS ms; 0 = every write) / -F (never).
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { restoreFromBinlog, type Binlog, type BinlogStorage } from '../engine/binlog.ts';

export interface FileBinlogOptions {
  fileSize: number;
  /** -1 = never fsync. */
  fsyncMs: number;
  warn: (msg: string) => void;
}

/**
 * The lock is a symbolic link `lock` -> our pid: made atomically, and it takes no disk block (a
 * short link lives in its inode), so on a nearly full disk we run out of space exactly where
 * beanstalkd, whose lock file is empty, does. A lock whose pid is gone (kill -9) is taken over.
 */
function lockDir(dir: string): string {
  const lock = path.join(dir, 'lock');
  try {
    symlinkSync(String(process.pid), lock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A regular file is beanstalkd's lock or an older beanlab's (which held the pid).
    const pid = Number((lstatSync(lock).isSymbolicLink() ? readlinkSync(lock) : readFileSync(lock, 'utf8')).trim());
    let alive = false;
    try {
      if (pid > 0 && pid !== process.pid) {
        process.kill(pid, 0);
        alive = true;
      }
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`binlog directory ${dir} is locked by another server (pid ${pid})`);
    unlinkSync(lock);
    symlinkSync(String(process.pid), lock);
  }
  return lock;
}

/** Writes all of bytes at position `at` of the file. */
function writeAll(fd: number, bytes: Uint8Array, at: number): void {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, at + off);
}

class FileStorage implements BinlogStorage {
  private readonly fds = new Map<number, number>();
  /** Where the next write goes in each open file. */
  private readonly ends = new Map<number, number>();
  private lastSync = 0;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private dirty = new Set<number>();

  constructor(
    private readonly dir: string,
    private readonly fsyncMs: number,
    private readonly warn: (msg: string) => void,
  ) {}

  private file(seq: number): string {
    return path.join(this.dir, `binlog.${seq}`);
  }

  /** Like beanstalkd's filewopen + rawfalloc: zeros written in 4096-byte blocks, so later records never need new disk space. */
  create(seq: number, size: number, header: Uint8Array): void {
    const name = this.file(seq);
    const fd = openSync(name, 'wx', 0o600);
    try {
      const zeros = new Uint8Array(4096);
      for (let n = 0; n < size; n += 4096) writeAll(fd, zeros, n);
      writeAll(fd, header, 0);
    } catch (err) {
      closeSync(fd);
      unlinkSync(name);
      throw err;
    }
    this.fds.set(seq, fd);
    this.ends.set(seq, header.length);
    this.dirty.add(seq);
  }

  append(seq: number, bytes: Uint8Array): void {
    const fd = this.fds.get(seq);
    const end = this.ends.get(seq);
    if (fd === undefined || end === undefined) throw new Error(`binlog.${seq} is not open`);
    writeAll(fd, bytes, end);
    this.ends.set(seq, end + bytes.length);
    this.dirty.add(seq);
  }

  close(seq: number, truncate: boolean): void {
    const fd = this.fds.get(seq);
    if (fd === undefined) return;
    this.fds.delete(seq);
    this.dirty.delete(seq);
    try {
      if (truncate) ftruncateSync(fd, this.ends.get(seq));
    } finally {
      this.ends.delete(seq);
      closeSync(fd);
    }
  }

  remove(seq: number): void {
    const fd = this.fds.get(seq);
    if (fd !== undefined) closeSync(fd);
    this.fds.delete(seq);
    this.ends.delete(seq);
    this.dirty.delete(seq);
    try {
      unlinkSync(this.file(seq));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /**
   * The highest id handed out is kept as a symbolic link `last-id` -> the id, like the lock: it takes
   * no disk block, and a new link renamed over the old one replaces it atomically.
   */
  keptLastId(): number {
    try {
      const id = Number(readlinkSync(path.join(this.dir, 'last-id')));
      return Number.isSafeInteger(id) && id > 0 ? id : 0;
    } catch {
      return 0;
    }
  }

  keepLastId(id: number): void {
    const next = path.join(this.dir, 'last-id.new');
    try {
      rmSync(next, { force: true });
      symlinkSync(String(id), next);
      renameSync(next, path.join(this.dir, 'last-id'));
    } catch (err) {
      this.warn(`cannot keep the last job id in ${this.dir}: ${(err as Error).message}; ids may be handed out again if every job is deleted`);
    }
  }

  flush(): void {
    if (this.fsyncMs < 0 || !this.dirty.size) return;
    const wait = this.lastSync + this.fsyncMs - Date.now();
    if (wait <= 0) return this.sync();
    if (!this.syncTimer) {
      this.syncTimer = setTimeout(() => this.sync(), wait);
      this.syncTimer.unref();
    }
  }

  sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    for (const seq of this.dirty) {
      const fd = this.fds.get(seq);
      try {
        if (fd !== undefined) fsyncSync(fd);
      } catch (err) {
        // Like beanstalkd: say so and go on serving (the records are with the OS already).
        this.warn(`binlog.${seq}: fsync: ${(err as Error).message}`);
      }
    }
    this.dirty.clear();
    this.lastSync = Date.now();
  }

  closeAll(): void {
    if (this.fsyncMs >= 0) this.sync();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Recovers the engine's jobs from DIR and logs from now on into a new file there. */
export async function openFileBinlog(engine: Engine, dir: string, opts: FileBinlogOptions): Promise<{ binlog: Binlog; close(): void }> {
  // Like beanstalkd, the directory must exist: a typo in -b should not silently log somewhere new.
  if (!existsSync(dir)) throw new Error(`failed to lock wal dir ${dir}: no such directory`);
  const lock = lockDir(dir);
  const files = new Map<number, Uint8Array>();
  for (const name of readdirSync(dir)) {
    const m = /^binlog\.(\d+)$/.exec(name);
    if (m) files.set(Number(m[1]), readFileSync(path.join(dir, name)));
  }
  const storage = new FileStorage(dir, opts.fsyncMs, opts.warn);
  const binlog = restoreFromBinlog(engine, files, storage, opts);
  return {
    binlog,
    close() {
      storage.closeAll();
      try {
        unlinkSync(lock);
      } catch {
        // already gone
      }
    },
  };
}
