// A beanstalkd-compatible TCP (or Unix socket) server on the engine: one Session per socket,
// one real-time driver for the engine's timers. Node only.
import net from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import type { Engine } from '../engine/engine.ts';
import { RealTimeDriver } from '../engine/clock.ts';
import { Session } from '../protocol/session.ts';

export type ListenAddress = { host: string; port: number } | { path: string };

export interface TcpServer {
  server: net.Server;
  /** Where it listens, e.g. "127.0.0.1:11300" or "unix:/tmp/b.sock". */
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startTcpServer(engine: Engine, listen: ListenAddress, log: (msg: string) => void = () => {}): Promise<TcpServer> {
  const driver = new RealTimeDriver(engine);
  const sockets = new Set<net.Socket>();
  // allowHalfOpen: a client that shuts its write side still gets TIMED_OUT for a blocked reserve.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    const name = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    log(`accept ${name}`);
    const session = new Session(
      engine,
      {
        write: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        close: () => socket.end(),
      },
      name,
    );
    socket.on('data', (chunk: Buffer) => {
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
  if ('path' in listen && existsSync(listen.path)) unlinkSync(listen.path);
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
