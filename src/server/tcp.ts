// A beanstalkd-compatible TCP (or Unix socket) server on the engine: one Session per socket,
// one real-time driver for the engine's timers. Node only.
import net from 'node:net';
import { statSync, unlinkSync } from 'node:fs';
import type { Engine } from '../engine/engine.ts';
import { RealTimeDriver } from '../engine/clock.ts';
import { Session } from '../protocol/session.ts';

/** Framing steps (a command line, a put's body) one connection runs before the others get a turn. */
const STEPS_PER_TURN = 1000;

export type ListenAddress = { host: string; port: number } | { path: string };

export interface TcpServer {
  server: net.Server;
  /** Where it listens, e.g. "127.0.0.1:11300" or "unix:/tmp/b.sock". */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** The server will not listen where asked; the message says why. */
export class ListenRefused extends Error {}

/** sizeof(sockaddr_un.sun_path) - 1: beanstalkd refuses a longer path (Node would cut it short). */
const UNIX_PATH_MAX = 107;

/**
 * make_unix_socket (net.c): a socket already at the path, live or stale, is replaced (with a
 * warning); any other file is kept, and the server refuses to start.
 */
function clearUnixPath(path: string, warn: (msg: string) => void): void {
  const length = Buffer.byteLength(path);
  if (length > UNIX_PATH_MAX) throw new ListenRefused(`socket path ${path} is too long (${length} characters), where maximum allowed is ${UNIX_PATH_MAX}`);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isSocket()) throw new ListenRefused(`another file already exists in the given path (unix:${path})`);
  warn('removing existing local socket to replace it');
  unlinkSync(path);
}

/** log: verbose messages (-V); warn: warnings, such as a Unix socket replaced. */
export async function startTcpServer(
  engine: Engine,
  listen: ListenAddress,
  log: (msg: string) => void = () => {},
  warn: (msg: string) => void = () => {},
): Promise<TcpServer> {
  const driver = new RealTimeDriver(engine);
  const sockets = new Set<net.Socket>();
  // allowHalfOpen: a client that shuts its write side still gets TIMED_OUT for a blocked reserve.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    const name = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    log(`accept ${name}`);
    // Backpressure, as beanstalkd reads no next command while a reply is unsent: once Node queues
    // output in memory (a client that does not read), stop reading the socket and running commands
    // already read; carry on when the queue drains. And fairness, as beanstalkd runs one command per
    // connection per wakeup (then writes its reply): after STEPS_PER_TURN framing steps (a chunk can
    // hold thousands of pipelined commands) the other connections get their turn first.
    let steps = 0;
    let yielded = false;
    const carryOn = () => {
      if (socket.destroyed) return;
      steps = 0;
      yielded = false;
      session.resume();
      if (!socket.writableNeedDrain && !yielded) socket.resume();
      driver.poke();
    };
    const session: Session = new Session(
      engine,
      {
        write: (bytes) => {
          if (!socket.destroyed && !socket.write(bytes)) socket.pause();
        },
        close: () => socket.end(),
        backedUp: () => {
          if (socket.writableNeedDrain || yielded) return true;
          if (++steps <= STEPS_PER_TURN) return false;
          yielded = true;
          socket.pause();
          setImmediate(carryOn);
          return true;
        },
      },
      name,
    );
    socket.on('drain', carryOn);
    socket.on('data', (chunk: Buffer) => {
      steps = 0;
      session.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      driver.poke();
    });
    socket.on('end', () => {
      session.end();
      driver.poke();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      session.destroy();
      driver.poke();
      log(`close ${name}`);
    });
  });
  if ('path' in listen) clearUnixPath(listen.path, warn);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in listen) server.listen(listen.path, () => resolve());
    else server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    server,
    port,
    address: 'path' in listen ? `unix:${listen.path}` : `${listen.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        driver.stop();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
