// Shared helpers for the spec-*.test.ts files: byte-level connections on a manual clock, and readers
// for the YAML bodies. Replies are compared as the exact bytes the server sent (latin1 text).
import { expect } from 'vitest';
import { lab } from './helpers.ts';

export type Lab = ReturnType<typeof lab>;
export type Raw = ReturnType<Lab['raw']>;

/**
 * Sends one command line (CRLF added) and, if given, a body (CRLF added). Returns what the server
 * answered synchronously, without the final CRLF: "INSERTED 1", "RESERVED 1 1\r\nx", "" if nothing.
 */
export function say(r: Raw, line: string, body?: string): string {
  return strip(r.write(line + '\r\n' + (body === undefined ? '' : body + '\r\n')));
}

/** What arrived since the last read, without the final CRLF. */
export function heard(r: Raw): string {
  return strip(r.take());
}

function strip(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s;
}

/** Parses an `OK <n>\r\n<yaml>` reply (as returned by say) into its key/value pairs, checking <n>. */
export function yaml(reply: string): Record<string, string> {
  const m = /^OK (\d+)\r\n([\s\S]*)$/.exec(reply);
  if (!m) throw new Error(`not an OK reply: ${JSON.stringify(reply)}`);
  expect(Buffer.byteLength(m[2], 'latin1')).toBe(Number(m[1]));
  const out: Record<string, string> = {};
  const lines = m[2].split('\n');
  expect(lines[0]).toBe('---');
  expect(lines[lines.length - 1]).toBe('');
  for (const line of lines.slice(1, -1)) {
    const i = line.indexOf(': ');
    out[line.slice(0, i)] = line.slice(i + 2);
  }
  return out;
}

export const stats = (r: Raw) => yaml(say(r, 'stats'));
export const jobStats = (r: Raw, id: number) => yaml(say(r, `stats-job ${id}`));
export const tubeStats = (r: Raw, tube: string) => yaml(say(r, `stats-tube ${tube}`));

/** The names in a list-tubes / list-tubes-watched reply. */
export function tubeList(reply: string): string[] {
  const m = /^OK \d+\r\n---\n((?:- [^\n]*\n)*)$/.exec(reply);
  if (!m) throw new Error(`not a tube list: ${JSON.stringify(reply)}`);
  return m[1]
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(2));
}

/** A lab and n raw connections named c1..cn. */
export function setup(n: number, opts: { maxJobSize?: number } = {}) {
  const l = lab(opts);
  const cs = Array.from({ length: n }, (_, i) => l.raw(`c${i + 1}`));
  return { l, cs };
}
