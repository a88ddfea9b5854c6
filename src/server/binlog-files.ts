// Binlog files on disk for the Node server (`-b DIR`): binlog.N files plus a lock file.
// Every record reaches the OS (writeSync) before the command's reply is sent, so a SIGKILL loses no
// acknowledged job; fsync follows beanstalkd's -f MS (at most every MS ms; 0 = every write) / -F (never).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { restoreFromBinlog, type Binlog, type BinlogStorage } from '../engine/binlog.ts';

export interface FileBinlogOptions {
  fileSize: number;
  /** -1 = never fsync. */
  fsyncMs: number;
  warn: (msg: string) => void;
}

function lockDir(dir: string): string {
  const lock = path.join(dir, 'lock');
  try {
    writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = Number(readFileSync(lock, 'utf8').trim());
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
    writeFileSync(lock, `${process.pid}\n`);
  }
  return lock;
}

class FileStorage implements BinlogStorage {
  private readonly fds = new Map<number, number>();
  private lastSync = 0;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private dirty = new Set<number>();

  constructor(
    private readonly dir: string,
    private readonly fsyncMs: number,
  ) {}

  private file(seq: number): string {
    return path.join(this.dir, `binlog.${seq}`);
  }

  append(seq: number, bytes: Uint8Array): void {
    let fd = this.fds.get(seq);
    if (fd === undefined) {
      fd = openSync(this.file(seq), 'a');
      this.fds.set(seq, fd);
    }
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    this.dirty.add(seq);
  }

  remove(seq: number): void {
    const fd = this.fds.get(seq);
    if (fd !== undefined) closeSync(fd);
    this.fds.delete(seq);
    this.dirty.delete(seq);
    try {
      unlinkSync(this.file(seq));
    } catch {
      // already gone
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
      if (fd !== undefined) fsyncSync(fd);
    }
    this.dirty.clear();
    this.lastSync = Date.now();
  }

  close(): void {
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
  const storage = new FileStorage(dir, opts.fsyncMs);
  const binlog = restoreFromBinlog(engine, files, storage, opts);
  return {
    binlog,
    close() {
      storage.close();
      try {
        unlinkSync(lock);
      } catch {
        // already gone
      }
    },
  };
}
