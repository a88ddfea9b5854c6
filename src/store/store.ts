// The key-value store node (the memcached of the seed report's matrix program): items in memory and the
// counters its card shows, and a session that turns one connection's byte stream into commands and
// replies, memcached's way. Items never expire and are never evicted: a lesson's data is small.
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import { BAD_CHUNK, LINE_MAX_LENGTH, LINE_TOO_LONG, parseKvCommand, VERSION, type KvCommand } from './protocol.ts';

export interface KvItem {
  flags: number;
  value: Uint8Array;
}

/** The store's state: items and memcached's own statistics names. */
export class KvStore {
  readonly items = new Map<string, KvItem>();
  /** Bytes of all values held. */
  bytes = 0;
  /** Keys asked for by get (memcached counts each key of a multi-get). */
  cmdGet = 0;
  cmdSet = 0;
  getHits = 0;
  getMisses = 0;
  currConnections = 0;
  totalConnections = 0;
  /** Bytes received from and sent to clients. */
  bytesRead = 0;
  bytesWritten = 0;

  private put(key: string, item: KvItem): void {
    this.bytes += item.value.length - (this.items.get(key)?.value.length ?? 0);
    this.items.set(key, item);
  }

  /** Runs one command; `value` is the data block of a storage command. Returns the reply lines. */
  execute(cmd: Exclude<KvCommand, { op: 'quit' }>, value?: Uint8Array): string[] {
    switch (cmd.op) {
      case 'get': {
        const out: string[] = [];
        for (const key of cmd.keys) {
          this.cmdGet++;
          const item = this.items.get(key);
          if (!item) {
            this.getMisses++;
            continue;
          }
          this.getHits++;
          out.push(`VALUE ${key} ${item.flags} ${item.value.length}`, latin1(item.value));
        }
        out.push('END');
        return out;
      }
      case 'set':
      case 'add':
      case 'replace': {
        this.cmdSet++;
        const exists = this.items.has(cmd.key);
        if ((cmd.op === 'add' && exists) || (cmd.op === 'replace' && !exists)) return ['NOT_STORED'];
        this.put(cmd.key, { flags: cmd.flags, value: value ?? new Uint8Array(0) });
        return ['STORED'];
      }
      case 'delete': {
        const item = this.items.get(cmd.key);
        if (!item) return ['NOT_FOUND'];
        this.bytes -= item.value.length;
        this.items.delete(cmd.key);
        return ['DELETED'];
      }
      case 'flush_all':
        this.items.clear();
        this.bytes = 0;
        return ['OK'];
      case 'version':
        return [`VERSION ${VERSION}`];
      case 'stats':
        return [...Object.entries(this.stats()).map(([k, v]) => `STAT ${k} ${v}`), 'END'];
    }
  }

  stats(): Record<string, number> {
    return {
      curr_connections: this.currConnections,
      total_connections: this.totalConnections,
      cmd_get: this.cmdGet,
      cmd_set: this.cmdSet,
      get_hits: this.getHits,
      get_misses: this.getMisses,
      bytes_read: this.bytesRead,
      bytes_written: this.bytesWritten,
      curr_items: this.items.size,
      bytes: this.bytes,
    };
  }
}

export interface KvTransport {
  write(bytes: Uint8Array): void;
  /** The store ends the connection (quit, or a line too long). */
  close(): void;
}

type Mode =
  | { kind: 'command' }
  | { kind: 'data'; cmd: Extract<KvCommand, { op: 'set' | 'add' | 'replace' }> }
  | { kind: 'swallow'; left: number };

/** One client connection to the store. */
export class KvSession {
  private input = new Uint8Array(0);
  private mode: Mode = { kind: 'command' };
  private closed = false;

  constructor(
    private readonly store: KvStore,
    private readonly transport: KvTransport,
  ) {
    store.currConnections++;
    store.totalConnections++;
  }

  /** Bytes from the client. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    this.store.bytesRead += chunk.length;
    const all = new Uint8Array(this.input.length + chunk.length);
    all.set(this.input);
    all.set(chunk, this.input.length);
    this.input = all;
    const out: string[] = [];
    let pos = 0;
    while (!this.closed) {
      const used = this.step(pos, out);
      if (used === 0) break;
      pos += used;
    }
    this.input = this.input.slice(pos);
    if (out.length) {
      const bytes = latin1Bytes(out.map((l) => l + '\r\n').join(''));
      this.store.bytesWritten += bytes.length;
      this.transport.write(bytes);
    }
    if (this.closed) this.transport.close();
  }

  /** The client closed its end. */
  end(): void {
    this.destroy();
  }

  /** The connection is gone: forget it. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.currConnections--;
  }

  /** Handles what starts at `pos`; returns the bytes it used (0: wait for more input). */
  private step(pos: number, out: string[]): number {
    const buf = this.input;
    const m = this.mode;
    if (m.kind === 'swallow') {
      const take = Math.min(m.left, buf.length - pos);
      m.left -= take;
      if (m.left === 0) this.mode = { kind: 'command' };
      return take;
    }
    if (m.kind === 'data') {
      const need = m.cmd.bytes + 2;
      if (buf.length - pos < need) return 0;
      this.mode = { kind: 'command' };
      if (buf[pos + need - 2] !== 13 || buf[pos + need - 1] !== 10) {
        out.push(BAD_CHUNK);
        return need;
      }
      const reply = this.store.execute(m.cmd, buf.slice(pos, pos + m.cmd.bytes));
      if (!m.cmd.noreply) out.push(...reply);
      return need;
    }
    const nl = buf.indexOf(10, pos);
    if (nl < 0) {
      if (buf.length - pos > LINE_MAX_LENGTH) {
        out.push(LINE_TOO_LONG);
        this.destroy();
      }
      return 0;
    }
    // memcached takes "\n" as well as "\r\n" at the end of a command line.
    const line = latin1(buf, pos, nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl);
    const cmd = parseKvCommand(line);
    if (cmd.op === 'refused') {
      out.push(cmd.reply);
      if (cmd.swallow) this.mode = { kind: 'swallow', left: cmd.swallow };
    } else if (cmd.op === 'quit') {
      this.destroy();
    } else if (cmd.op === 'set' || cmd.op === 'add' || cmd.op === 'replace') {
      this.mode = { kind: 'data', cmd };
    } else {
      const reply = this.store.execute(cmd);
      if (!(cmd.op === 'delete' && cmd.noreply)) out.push(...reply);
    }
    return nl + 1 - pos;
  }
}

/**
 * How long the store takes to answer, in virtual time: a fixed cost per reply and its bytes at the
 * speed of the report's 100 Mbit/s lab network, so fetching all of B costs more than one number.
 */
export const STORE_COST = { replyMs: 0.05, bytesPerMs: 12_500 } as const;

export function storeReplyMs(bytes: number): number {
  return STORE_COST.replyMs + bytes / STORE_COST.bytesPerMs;
}
