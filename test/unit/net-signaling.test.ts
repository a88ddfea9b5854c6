// The PeerJS signaling server lives on the app's own port, under /peerjs, beside the app itself and
// beside Vite's hot-reload socket (`npm start` serves through Vite; no build is needed for this test).
import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { startServer } from '../../src/server/serve.ts';

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
