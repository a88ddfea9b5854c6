// The client side of the store's protocol, what the seed report's programs get from `memcache.Client`:
// get (several keys in one round trip) and set, over any pipe, one request at a time in order.
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import { validKey } from './protocol.ts';

export interface KvPipe {
  write(bytes: Uint8Array): void;
}

/** A store reply: its lines, and the values of a get by key. */
export interface KvReply {
  lines: string[];
  values: Map<string, string>;
}

/** Replies that end a request, besides END after a get's values or a stats listing. */
const SINGLE = /^(STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|OK|VERSION .*|ERROR|CLIENT_ERROR .*|SERVER_ERROR .*)$/;

export class KvClient {
  private buf = new Uint8Array(0);
  private current: KvReply = { lines: [], values: new Map() };
  /** A VALUE line read, its data block not yet. */
  private pendingValue: { key: string; bytes: number } | null = null;
  private readonly waiting: { resolve: (r: KvReply) => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly pipe: KvPipe) {}

  /** Sends a command line and an optional data block; resolves with the whole reply. */
  request(line: string, data?: string): Promise<KvReply> {
    const p = new Promise<KvReply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.pipe.write(latin1Bytes(data === undefined ? `${line}\r\n` : `${line}\r\n${data}\r\n`));
    return p;
  }

  /** The values of `keys` that the store holds (a multi-get: one request, one reply). */
  async get(keys: string[]): Promise<Map<string, string>> {
    for (const k of keys) if (!validKey(k)) throw new Error(`store: invalid key ${JSON.stringify(k)}`);
    const r = await this.request(`get ${keys.join(' ')}`);
    const last = r.lines.at(-1);
    if (last !== 'END') throw new Error(`store: get failed: ${last}`);
    return r.values;
  }

  /** Stores `value` (text of one byte per character) under `key`; throws unless the store says STORED. */
  async set(key: string, value: string): Promise<void> {
    if (!validKey(key)) throw new Error(`store: invalid key ${JSON.stringify(key)}`);
    const r = await this.request(`set ${key} 0 0 ${value.length}`, value);
    if (r.lines[0] !== 'STORED') throw new Error(`store: set ${key} failed: ${r.lines[0]}`);
  }

  /** Bytes from the store. */
  receive(chunk: Uint8Array): void {
    const all = new Uint8Array(this.buf.length + chunk.length);
    all.set(this.buf);
    all.set(chunk, this.buf.length);
    let pos = 0;
    for (;;) {
      if (this.pendingValue) {
        const { key, bytes } = this.pendingValue;
        if (all.length - pos < bytes + 2) break;
        this.current.values.set(key, latin1(all, pos, pos + bytes));
        this.pendingValue = null;
        pos += bytes + 2;
        continue;
      }
      const nl = all.indexOf(10, pos);
      if (nl < 0) break;
      const line = latin1(all, pos, nl > pos && all[nl - 1] === 13 ? nl - 1 : nl);
      pos = nl + 1;
      const value = /^VALUE (\S+) \d+ (\d+)$/.exec(line);
      if (value) {
        this.pendingValue = { key: value[1], bytes: Number(value[2]) };
        continue;
      }
      this.current.lines.push(line);
      if (line === 'END' || SINGLE.test(line)) this.finish();
    }
    this.buf = all.slice(pos);
  }

  private finish(): void {
    const reply = this.current;
    this.current = { lines: [], values: new Map() };
    const w = this.waiting.shift();
    if (!w) throw new Error(`store client: unexpected reply "${reply.lines.join(' / ')}"`);
    w.resolve(reply);
  }

  /** The connection is gone: every request still waiting fails with `err`. */
  fail(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}
