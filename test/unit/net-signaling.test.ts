// The PeerJS signaling server lives on the app's own port, under /peerjs, beside the app itself and
// beside Vite's hot-reload socket (`npm start` serves through Vite; no build is needed for this test).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../../src/server/serve.ts';
import { MAX_SIGNALING_FRAME, MAX_TO_ABSENT } from '../../src/server/signaling.ts';

let server: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', staticSite: false });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

test('the PeerServer hands out peer ids over HTTP under /peerjs', async () => {
  const res = await fetch(`${server.url}peerjs/peerjs/id`);
  expect(res.status).toBe(200);
  expect((await res.text()).length).toBeGreaterThan(8);
});

test('a peer opens its signaling socket on the same port and gets OPEN', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/peerjs/peerjs?key=peerjs&id=beanlab-test&token=t1`);
  const first = await new Promise<string>((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.once('error', reject);
  });
  ws.close();
  expect(JSON.parse(first)).toEqual({ type: 'OPEN' });
});

test('the app itself is still served', async () => {
  const res = await fetch(server.url);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('<div id="app">');
});

test("Vite's hot-reload socket still opens on the same port", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, 'vite-hmr');
  const first = await new Promise<string>((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.once('error', reject);
  });
  ws.close();
  expect(JSON.parse(first)).toMatchObject({ type: 'connected' });
});

// Any classmate can reach the signaling socket: nothing one sends may stop `npm start` (it exited on
// the first frame that was not a JSON object) or disturb the others. The server runs as `npm start
// -- --static` does, in a child process, so an exit is seen as one.
describe('a client that sends garbage', () => {
  let child: ChildProcess;
  let port: number;
  let stderr = '';
  let dist: string;
  const sockets: WebSocket[] = [];
  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), 'beanlab-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<div id="app"></div>');
    child = spawn(process.execPath, ['--import', 'tsx', 'src/server/start.ts', '--static', '--port', '0'], {
      env: { ...process.env, BEANLAB_DIST: dist },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d) => (stderr += String(d)));
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += String(d);
        const m = /running at http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
    });
  }, 30_000);
  afterAll(() => {
    for (const ws of sockets) ws.terminate();
    child?.kill('SIGKILL');
    rmSync(dist, { recursive: true, force: true });
  });

  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  /** A PeerJS client's signaling socket; its messages queue up in `received`. */
  function socket(id: string, token = 't') {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/peerjs/peerjs?key=peerjs&id=${id}&token=${token}`);
    sockets.push(ws);
    ws.on('error', () => {});
    const received: unknown[] = [];
    ws.on('message', (data) => received.push(JSON.parse(String(data))));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    return { ws, received, closed };
  }

  /** A new peer, once the server said OPEN. */
  async function peer(id: string) {
    const p = socket(id);
    await until(() => p.received.length > 0 || p.ws.readyState === WebSocket.CLOSED);
    expect(p.received.shift()).toEqual({ type: 'OPEN' });
    return p;
  }

  async function expectServerAlive() {
    await new Promise((r) => setTimeout(r, 100));
    expect(child.exitCode, stderr).toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
  }

  test.each([
    ['x', 'not JSON'],
    ['null', 'not a JSON object'],
    ['3', 'not a JSON object'],
    ['"OFFER"', 'not a JSON object'],
    ['[]', 'not a JSON object'],
    ['{"type":"OFFER","dst":"host"}', 'OFFER without an object payload'],
    ['{"type":"ANSWER","dst":"host","payload":null}', 'ANSWER without an object payload'],
    ['{"type":"CANDIDATE","payload":{"connectionId":"c"}}', 'CANDIDATE without a dst peer id'],
    ['{"type":"LEAVE","dst":{}}', 'LEAVE with a dst that is not a peer id'],
    ['{"type":"SHUTDOWN"}', 'unknown message type "SHUTDOWN"'],
    // A close reason holds at most 123 bytes: 40 × € (3 bytes each) would be more, and ws would throw.
    [`{"type":"${'€'.repeat(50)}"}`, `unknown message type "${'?'.repeat(39)}`],
  ])('a frame %s closes only its sender (1008: %s); the others are still served', async (frame, problem) => {
    const round = sockets.length;
    const honest = await peer(`honest-${round}`);
    const bad = await peer(`bad-${round}`);
    bad.ws.send(frame);
    expect(await bad.closed).toEqual({ code: 1008, reason: `bad signaling message: ${problem}` });
    await expectServerAlive();
    // The honest client still gets what is relayed to it, and a newcomer still gets OPEN.
    const newcomer = await peer(`newcomer-${round}`);
    const offer = { type: 'OFFER', dst: `honest-${round}`, payload: { connectionId: 'dc_1' } };
    newcomer.ws.send(JSON.stringify(offer));
    await until(() => honest.received.length > 0);
    expect(honest.received).toEqual([{ ...offer, src: `newcomer-${round}` }]);
  });

  test(`a frame over ${MAX_SIGNALING_FRAME} bytes closes only its socket with 1009 (message too big)`, async () => {
    const honest = await peer('honest-big');
    const bad = await peer('bad-big');
    const heartbeat = JSON.stringify({ type: 'HEARTBEAT', padding: 'x'.repeat(MAX_SIGNALING_FRAME) });
    bad.ws.send(heartbeat);
    expect((await bad.closed).code).toBe(1009);
    await expectServerAlive();
    expect(honest.ws.readyState).toBe(WebSocket.OPEN);
    const newcomer = await peer('newcomer-big');
    // A frame just under the bound is still a message.
    newcomer.ws.send(JSON.stringify({ type: 'CANDIDATE', dst: 'honest-big', payload: { connectionId: 'dc_1', pad: 'x'.repeat(MAX_SIGNALING_FRAME - 200) } }));
    await until(() => honest.received.length > 0);
    expect(honest.received).toHaveLength(1);
  });

  test('many sockets with one peer id: each newer one closes the older, only the newest relays', async () => {
    // `peer` says OPEN to the first socket only; a reconnection (same token) is taken silently.
    const first = await peer('same-id');
    const second = socket('same-id');
    expect((await first.closed).code).toBe(1000);
    const third = socket('same-id');
    expect((await second.closed).code).toBe(1000);
    const other = await peer('other');
    other.ws.send(JSON.stringify({ type: 'ANSWER', dst: 'same-id', payload: { connectionId: 'dc_2' } }));
    await until(() => third.received.length > 0);
    expect(third.received).toEqual([{ type: 'ANSWER', src: 'other', dst: 'same-id', payload: { connectionId: 'dc_2' } }]);
    // A repeated id parameter names the id `peer` registers (the last), not another peer's socket.
    const sly = new WebSocket(`ws://127.0.0.1:${port}/peerjs/peerjs?key=peerjs&id=same-id&id=sly&token=t`);
    sockets.push(sly);
    await new Promise((resolve) => sly.once('message', resolve));
    await new Promise((r) => setTimeout(r, 100));
    expect(third.ws.readyState).toBe(WebSocket.OPEN);
    // Another token for a taken id is refused, as `peer` does.
    const thief = socket('same-id', 'other');
    await thief.closed;
    expect(thief.received).toMatchObject([{ type: 'ID-TAKEN' }]);
    expect(third.ws.readyState).toBe(WebSocket.OPEN);
  });

  test(`messages to peers that are not connected wait in the server's memory: after ${MAX_TO_ABSENT} in 10 s their sender is closed; one still gets EXPIRE`, async () => {
    // A join to a room that does not exist: the offer waits, then EXPIRE tells the joiner (after 5 s).
    const joiner = await peer('joiner-of-nothing');
    joiner.ws.send(JSON.stringify({ type: 'OFFER', dst: 'no-such-room', payload: { connectionId: 'dc_1' } }));
    for (let i = 0; i < 100 && joiner.received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(joiner.received).toEqual([{ type: 'EXPIRE', src: 'no-such-room', dst: 'joiner-of-nothing' }]);
    const flood = await peer('flood');
    const candidate = JSON.stringify({ type: 'CANDIDATE', dst: 'absent', payload: { connectionId: 'dc_1', pad: 'x'.repeat(60_000) } });
    for (let i = 0; i < MAX_TO_ABSENT; i++) flood.ws.send(candidate);
    flood.ws.send(JSON.stringify({ type: 'HEARTBEAT' }));
    await new Promise((r) => setTimeout(r, 200));
    expect(flood.ws.readyState).toBe(WebSocket.OPEN);
    flood.ws.send(candidate);
    expect(await flood.closed).toEqual({ code: 1008, reason: `more than ${MAX_TO_ABSENT} messages in 10 s to peers that are not connected` });
    await expectServerAlive();
  });

  test('the HTTP routes under /peerjs answer bad requests without throwing', async () => {
    const base = `http://127.0.0.1:${port}/peerjs`;
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/peerjs/peers`)).status).toBe(401);
    expect((await fetch(`${base}/%E0%A4%A/id`)).status).toBe(400);
    expect((await fetch(`${base}/peerjs/id`, { method: 'POST', body: 'x'.repeat(100_000) })).status).toBe(404);
    await expectServerAlive();
  });
});
