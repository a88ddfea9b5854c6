// One command line -> one Command, exactly as beanstalkd 1.12 reads it (prot.c which_cmd,
// read_u64/read_u32/read_duration/read_tube_name, strtol/strtoul for the lenient commands).
// The line is given as a latin1 string (one char per byte) without its CRLF.
import type { Command } from '../engine/command.ts';
import { MAX_TUBE_NAME_LEN, U32_MAX } from '../engine/types.ts';

const U64_MAX = 18446744073709551615n;
const LONG_MAX = 9223372036854775807n;
const NAME_CHARS = /^[A-Za-z0-9\-+/;.$_()]*$/;
const NAME_CHAR = /[A-Za-z0-9\-+/;.$_()]/;

/** isspace() in the C locale. */
function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

interface Read {
  value: bigint;
  end: number;
}

/**
 * read_u64/read_u32: spaces skipped, then a digit is required, base 10; `atEnd` demands that the
 * number ends the line. Returns null for anything beanstalkd answers BAD_FORMAT to.
 */
function readUnsigned(s: string, pos: number, max: bigint, atEnd: boolean): Read | null {
  while (s[pos] === ' ') pos++;
  if (!isDigit(s[pos])) return null;
  let end = pos;
  while (isDigit(s[end])) end++;
  const value = BigInt(s.slice(pos, end));
  if (value > max) return null;
  if (atEnd && end !== s.length) return null;
  return { value, end };
}

/** A job id as a JS number; ids beyond 2^53 cannot exist in the engine, so precision there is moot. */
const toId = (v: bigint) => Number(v);

/** strtol/strtoul: optional whitespace and sign, then digits; no digits = 0 with nothing consumed. */
function readCLong(s: string, pos: number): { value: bigint; digits: boolean; negative: boolean } {
  while (pos < s.length && isSpace(s[pos])) pos++;
  let negative = false;
  if (s[pos] === '+' || s[pos] === '-') {
    negative = s[pos] === '-';
    pos++;
  }
  let end = pos;
  while (isDigit(s[end])) end++;
  if (end === pos) return { value: 0n, digits: false, negative: false };
  return { value: BigInt(s.slice(pos, end)), digits: true, negative };
}

export function isValidTubeName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_TUBE_NAME_LEN && NAME_CHARS.test(name) && name[0] !== '-';
}

const BAD: Command = { op: 'bad-format' };

function exact(line: string, word: string, cmd: Command): Command {
  return line.length === word.length ? cmd : BAD;
}

function idCommand<K extends 'peek' | 'reserve-job' | 'delete' | 'touch' | 'stats-job' | 'kick-job'>(
  op: K,
  line: string,
  prefix: number,
): Command {
  const r = readUnsigned(line, prefix, U64_MAX, true);
  return r ? ({ op, id: toId(r.value) } as Command) : BAD;
}

function tubeCommand<K extends 'use' | 'watch' | 'ignore' | 'stats-tube'>(op: K, line: string, prefix: number): Command {
  const name = line.slice(prefix);
  return isValidTubeName(name) ? ({ op, tube: name } as Command) : BAD;
}

function parsePut(line: string): Command {
  const pri = readUnsigned(line, 4, BigInt(U32_MAX), false);
  const delay = pri && readUnsigned(line, pri.end, BigInt(U32_MAX), false);
  const ttr = delay && readUnsigned(line, delay.end, BigInt(U32_MAX), false);
  const bytes = ttr && readUnsigned(line, ttr.end, BigInt(U32_MAX), false);
  if (!pri || !delay || !ttr || !bytes) return BAD;
  return {
    op: 'put',
    pri: Number(pri.value),
    delay: Number(delay.value) * 1000,
    ttr: Number(ttr.value) * 1000,
    bytes: Number(bytes.value),
    trailingGarbage: bytes.end !== line.length,
  };
}

function parseReserveWithTimeout(line: string): Command {
  // 1.12: (int) strtol(...). Only overflow of `long` is an error; no digits means 0; the int cast
  // keeps the low 32 bits, so 4294967296 -> 0 and 4294967295 -> -1 (wait for ever).
  const r = readCLong(line, 21);
  const signed = r.negative ? -r.value : r.value;
  if (signed > LONG_MAX || signed < -LONG_MAX - 1n) return BAD;
  return { op: 'reserve-with-timeout', timeout: Number(BigInt.asIntN(32, signed)) };
}

function parseKick(line: string): Command {
  // (uint) strtoul(...): no digits or overflow of 64 bits is an error; a sign wraps; trailing text ignored.
  const r = readCLong(line, 5);
  if (!r.digits || r.value > U64_MAX) return BAD;
  const v = r.negative ? BigInt.asUintN(64, -r.value) : r.value;
  return { op: 'kick', bound: Number(BigInt.asUintN(32, v)) };
}

function parsePauseTube(line: string): Command {
  let pos = 10;
  while (line[pos] === ' ') pos++;
  let end = pos;
  while (end < line.length && NAME_CHAR.test(line[end])) end++;
  if (end === pos) return BAD;
  const delay = readUnsigned(line, end, BigInt(U32_MAX), true);
  if (!delay) return BAD;
  const tube = line.slice(pos, end);
  return { op: 'pause-tube', tube, delay: Number(delay.value) * 1000, validName: isValidTubeName(tube) };
}

/** Parses one command line (without CRLF). Never throws: malformed input becomes bad-format/unknown-command. */
export function parseCommand(line: string): Command {
  if (line.includes('\0')) return BAD;
  const has = (p: string) => line.startsWith(p);
  if (has('put ')) return parsePut(line);
  if (has('peek ')) return idCommand('peek', line, 5);
  if (has('peek-ready')) return exact(line, 'peek-ready', { op: 'peek-ready' });
  if (has('peek-delayed')) return exact(line, 'peek-delayed', { op: 'peek-delayed' });
  if (has('peek-buried')) return exact(line, 'peek-buried', { op: 'peek-buried' });
  if (has('reserve-with-timeout ')) return parseReserveWithTimeout(line);
  if (has('reserve-job ')) return idCommand('reserve-job', line, 12);
  if (has('reserve')) return exact(line, 'reserve', { op: 'reserve' });
  if (has('delete ')) return idCommand('delete', line, 7);
  if (has('release ')) {
    const id = readUnsigned(line, 8, U64_MAX, false);
    const pri = id && readUnsigned(line, id.end, BigInt(U32_MAX), false);
    const delay = pri && readUnsigned(line, pri.end, BigInt(U32_MAX), true);
    if (!id || !pri || !delay) return BAD;
    return { op: 'release', id: toId(id.value), pri: Number(pri.value), delay: Number(delay.value) * 1000 };
  }
  if (has('bury ')) {
    const id = readUnsigned(line, 5, U64_MAX, false);
    const pri = id && readUnsigned(line, id.end, BigInt(U32_MAX), true);
    if (!id || !pri) return BAD;
    return { op: 'bury', id: toId(id.value), pri: Number(pri.value) };
  }
  if (has('kick ')) return parseKick(line);
  if (has('kick-job ')) return idCommand('kick-job', line, 9);
  if (has('touch ')) return idCommand('touch', line, 6);
  if (has('stats-job ')) return idCommand('stats-job', line, 10);
  if (has('stats-tube ')) return tubeCommand('stats-tube', line, 11);
  if (has('stats')) return exact(line, 'stats', { op: 'stats' });
  if (has('use ')) return tubeCommand('use', line, 4);
  if (has('watch ')) return tubeCommand('watch', line, 6);
  if (has('ignore ')) return tubeCommand('ignore', line, 7);
  if (has('list-tubes-watched')) return exact(line, 'list-tubes-watched', { op: 'list-tubes-watched' });
  if (has('list-tube-used')) return exact(line, 'list-tube-used', { op: 'list-tube-used' });
  if (has('list-tubes')) return exact(line, 'list-tubes', { op: 'list-tubes' });
  if (has('quit')) return { op: 'quit' };
  if (has('pause-tube')) return parsePauseTube(line);
  return { op: 'unknown-command' };
}
