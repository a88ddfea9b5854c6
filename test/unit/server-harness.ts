// Shared by client-library, fuzz and cli tests: talking to a beanstalkd-compatible server over a
// real socket, and starting the reference server (Debian's /usr/bin/beanstalkd 1.12) next to ours.
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const REAL_BEANSTALKD = '/usr/bin/beanstalkd';
export const hasRealBeanstalkd = existsSync(REAL_BEANSTALKD);

export type Endpoint = number | { path: string };

function connectTo(ep: Endpoint): net.Socket {
  return typeof ep === 'number' ? net.connect(ep, '127.0.0.1') : net.connect(ep.path);
}

/** A port that was free a moment ago (bind 0, read it, close). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Resolves once something accepts connections at ep, or rejects after timeoutMs. */
export async function waitForListen(ep: Endpoint, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connectTo(ep);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens at ${JSON.stringify(ep)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True if a connection attempt is refused right now. */
export function connectRefused(ep: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connectTo(ep);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

export interface RealServer {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the reference beanstalkd on 127.0.0.1 and a free port, with extra flags. */
export async function startRealBeanstalkd(extra: string[] = []): Promise<RealServer> {
  const port = await freePort();
  const proc = spawn(REAL_BEANSTALKD, ['-l', '127.0.0.1', '-p', String(port), ...extra], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitForListen(port);
  return {
    port,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Sends bytes (in the given chunks), shuts the write side, and returns everything the server sent before it closed. */
export function exchange(ep: Endpoint, chunks: Uint8Array[], timeoutMs = 8000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connectTo(ep);
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`server did not close the connection within ${timeoutMs} ms; got ${Buffer.concat(got).length} bytes`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
      s.end();
    });
  });
}

export interface Reply {
  line: string;
  body?: Buffer;
}

/**
 * Splits a server's output into replies: a line up to CRLF, plus `<bytes>`+CRLF of body for
 * RESERVED/FOUND/OK. Throws on anything that is not well framed.
 */
export function splitReplies(buf: Buffer): Reply[] {
  const out: Reply[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) throw new Error(`unterminated reply at byte ${pos}: ${JSON.stringify(buf.subarray(pos, pos + 80).toString('latin1'))}`);
    const line = buf.subarray(pos, eol).toString('latin1');
    pos = eol + 2;
    const m = /^(?:RESERVED \d+|FOUND \d+|OK) (\d+)$/.exec(line);
    if (m) {
      const n = Number(m[1]);
      if (pos + n + 2 > buf.length) throw new Error(`body of "${line}" is cut short`);
      const body = buf.subarray(pos, pos + n);
      if (buf[pos + n] !== 13 || buf[pos + n + 1] !== 10) throw new Error(`body of "${line}" is not followed by CRLF`);
      pos += n + 2;
      out.push({ line, body });
    } else {
      out.push({ line });
    }
  }
  return out;
}

/** A line-at-a-time client for a raw socket: send(line[, body]) -> the next reply ("LINE" or "LINE\nBODY"). */
export async function rawClient(ep: Endpoint) {
  const s = connectTo(ep);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake();
  });
  s.on('close', () => {
    closed = true;
    wake();
  });
  s.on('error', () => {});
  const next = async (timeoutMs: number): Promise<string> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const eol = buf.indexOf('\r\n');
      if (eol >= 0) {
        const line = buf.subarray(0, eol).toString('latin1');
        const m = /^(?:RESERVED \d+|FOUND \d+|OK) (\d+)$/.exec(line);
        const need = m ? eol + 2 + Number(m[1]) + 2 : eol + 2;
        if (buf.length >= need) {
          const body = m ? buf.subarray(eol + 2, need - 2).toString('latin1') : undefined;
          buf = buf.subarray(need);
          return body === undefined ? line : `${line}\n${body}`;
        }
      }
      if (closed) throw new Error('connection closed');
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return {
    socket: s,
    get closed() {
      return closed;
    },
    send(line: string, body?: string | Buffer, timeoutMs = 3000): Promise<string> {
      s.write(Buffer.from(`${line}\r\n`, 'latin1'));
      if (body !== undefined) s.write(Buffer.concat([typeof body === 'string' ? Buffer.from(body, 'latin1') : body, Buffer.from('\r\n')]));
      return next(timeoutMs);
    },
    next,
    close() {
      s.destroy();
    },
  };
}

/** The value of `key: value` in a YAML reply body. */
export function field(yaml: string, key: string): string | undefined {
  return new RegExp(`^${key}: (.*)$`, 'm').exec(yaml)?.[1];
}
