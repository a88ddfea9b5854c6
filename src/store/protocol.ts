// The key-value store's wire protocol: the subset of memcached's text protocol that the seed report's
// matrix program uses (get, set) and what a student needs to look inside (add, replace, delete, stats,
// flush_all, version, quit). Pure: a command line in, a command or memcached's own error reply out.

/** memcached's KEY_MAX_LENGTH. */
export const KEY_MAX_LENGTH = 250;
/** memcached's default item size limit (`-I 1m`). */
export const ITEM_MAX_BYTES = 1024 * 1024;
/** A command line longer than this without its newline is refused (memcached's "line too long"). */
export const LINE_MAX_LENGTH = 8192;
export const VERSION = '1.6.21-beanlab';

export type KvCommand =
  | { op: 'get'; keys: string[] }
  | { op: 'set' | 'add' | 'replace'; key: string; flags: number; exptime: number; bytes: number; noreply: boolean }
  | { op: 'delete'; key: string; noreply: boolean }
  | { op: 'stats' }
  | { op: 'flush_all' }
  | { op: 'version' }
  | { op: 'quit' };

/** A line memcached would refuse, with the reply it sends. */
export interface KvRefusal {
  op: 'refused';
  reply: string;
  /** Data bytes (with their CRLF) that follow the line and must be read and dropped. */
  swallow: number;
}

export const ERROR = 'ERROR';
export const BAD_FORMAT = 'CLIENT_ERROR bad command line format';
export const BAD_CHUNK = 'CLIENT_ERROR bad data chunk';
export const LINE_TOO_LONG = 'CLIENT_ERROR line too long';
export const TOO_LARGE = 'SERVER_ERROR object too large for cache';

const refuse = (reply: string, swallow = 0): KvRefusal => ({ op: 'refused', reply, swallow });

/** A key is 1..250 bytes of printable, non-space characters. */
export function validKey(key: string): boolean {
  if (key.length === 0 || key.length > KEY_MAX_LENGTH) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

// memcached's safe_strtoul / safe_strtol: plain decimal digits, nothing after them.
const UNSIGNED = /^\d+$/;
const SIGNED = /^-?\d+$/;

/** Parses one command line (without its line ending). */
export function parseKvCommand(line: string): KvCommand | KvRefusal {
  const tokens = line.split(' ').filter((t) => t !== '');
  const [name, ...args] = tokens;
  switch (name) {
    case 'get':
      if (args.length === 0) return refuse(ERROR);
      if (!args.every(validKey)) return refuse(BAD_FORMAT);
      return { op: 'get', keys: args };
    case 'set':
    case 'add':
    case 'replace': {
      if (args.length !== 4 && !(args.length === 5 && args[4] === 'noreply')) return refuse(ERROR);
      const [key, flags, exptime, bytes] = args;
      if (!validKey(key) || !UNSIGNED.test(flags) || !SIGNED.test(exptime) || !SIGNED.test(bytes)) return refuse(BAD_FORMAT);
      const n = Number(bytes);
      if (n < 0 || Number(flags) > 0xffffffff) return refuse(BAD_FORMAT);
      if (n > ITEM_MAX_BYTES) return refuse(TOO_LARGE, n + 2);
      return { op: name, key, flags: Number(flags), exptime: Number(exptime), bytes: n, noreply: args.length === 5 };
    }
    case 'delete':
      if (args.length === 0 || args.length > 2 || (args.length === 2 && args[1] !== 'noreply')) return refuse(ERROR);
      if (!validKey(args[0])) return refuse(BAD_FORMAT);
      return { op: 'delete', key: args[0], noreply: args.length === 2 };
    case 'stats':
    case 'flush_all':
    case 'version':
    case 'quit':
      return args.length === 0 ? { op: name } : refuse(ERROR);
    default:
      return refuse(ERROR);
  }
}
