// Byte-level helpers shared by the server session and the client: reply encoding and latin1 text.

/** Bytes -> string, one char per byte (protocol lines are bytes, not UTF-8). */
export function latin1(buf: Uint8Array, from = 0, to = buf.length): string {
  let s = '';
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(to, i + 4096)) as unknown as number[]);
  }
  return s;
}

/** String -> bytes, one byte per char (chars above 0xff are not valid protocol text). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** `line\r\n` or `line\r\n<body>\r\n`. */
export function encodeReply(line: string, body?: Uint8Array): Uint8Array {
  const n = line.length;
  const out = new Uint8Array(n + 2 + (body ? body.length + 2 : 0));
  for (let i = 0; i < n; i++) out[i] = line.charCodeAt(i);
  out[n] = 13;
  out[n + 1] = 10;
  if (body) {
    out.set(body, n + 2);
    out[out.length - 2] = 13;
    out[out.length - 1] = 10;
  }
  return out;
}
