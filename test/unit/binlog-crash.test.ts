// Crash safety of the real server: SIGKILL under load, restart on the same -b DIR, and every job whose
// INSERTED reply reached a client is there with its body.
import { afterEach, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReplyReader, type Reply } from '../../src/protocol/client.ts';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startServer(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'src/server/cli.ts', '-l', '127.0.0.1', '-p', String(port), '-b', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start listening');
}

function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const replies: Reply[] = [];
  const reader = new ReplyReader((r) => replies.push(r));
  socket.on('data', (d) => reader.push(new Uint8Array(d)));
  socket.on('error', () => {});
  return { socket, replies };
}

test('kill -9 under load loses no acknowledged job', async () => {
  for (let round = 0; round < 3; round++) {
    const dir = mkdtempSync(path.join(tmpdir(), 'beanlab-binlog-'));
    dirs.push(dir);
    const port = await freePort();
    const server = await startServer(dir, port);
    const producers = Array.from({ length: 3 }, () => connect(port));
    const sent = new Map<number, string>(); // job body by its position in each producer's stream
    let stop = false;
    const pump = async (p: ReturnType<typeof connect>, who: number) => {
      let n = 0;
      while (!stop && !p.socket.destroyed) {
        let batch = '';
        for (let i = 0; i < 50; i++, n++) {
          const body = `p${who}-job${n}`;
          batch += `put 0 0 60 ${body.length}\r\n${body}\r\n`;
        }
        p.socket.write(batch);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const pumps = producers.map((p, i) => pump(p, i));
    await new Promise((r) => setTimeout(r, 150 + round * 100));
    server.kill('SIGKILL');
    stop = true;
    await Promise.all(pumps);
    await new Promise((r) => server.once('exit', r));

    // What each producer was told: the i-th INSERTED answers its i-th put.
    producers.forEach((p, who) => {
      p.replies.forEach((r, i) => {
        const m = /^INSERTED (\d+)$/.exec(r.line);
        expect(m, `reply ${r.line}`).not.toBeNull();
        sent.set(Number(m![1]), `p${who}-job${i}`);
      });
    });
    expect(sent.size).toBeGreaterThan(100);

    await startServer(dir, port);
    const checker = connect(port);
    const ids = [...sent.keys()];
    checker.socket.write(ids.map((id) => `peek ${id}\r\n`).join(''));
    const deadline = Date.now() + 10_000;
    while (checker.replies.length < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(checker.replies.length).toBe(ids.length);
    checker.replies.forEach((r, i) => {
      expect(r.line).toBe(`FOUND ${ids[i]} ${sent.get(ids[i])!.length}`);
      expect(new TextDecoder().decode(r.body)).toBe(sent.get(ids[i]));
    });
    for (const p of [...producers, checker]) p.socket.destroy();
    for (const c of children.splice(0)) c.kill('SIGKILL');
  }
}, 60_000);
