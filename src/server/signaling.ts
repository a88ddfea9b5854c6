// The PeerJS signaling server for real-node mode, on the app's own port under /peerjs. Only upgrades
// to /peerjs reach its WebSocket server: handed the whole HTTP server, it would answer Vite's hot
// reload socket (same server, other path) with 400.
import type { Express } from 'express';
import type { Server } from 'node:http';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer } from 'ws';

export const SIGNALING_PATH = '/peerjs';

export function mountSignaling(app: Express, httpServer: Server): { close(): void } {
  let wss: WebSocketServer | null = null;
  const peerApp = ExpressPeerServer(httpServer, {
    path: '/',
    // Room codes are the host's peer id: nobody may list the peers to find one.
    allow_discovery: false,
    createWebSocketServer: (options) => (wss = new WebSocketServer({ noServer: true, path: options.path })),
  });
  app.use(SIGNALING_PATH, peerApp);
  httpServer.on('upgrade', (req, socket, head) => {
    if (!wss || !req.url?.startsWith(`${SIGNALING_PATH}/`)) return;
    const server = wss;
    server.handleUpgrade(req, socket, head, (ws) => server.emit('connection', ws, req));
  });
  return {
    close() {
      for (const ws of wss?.clients ?? []) ws.terminate();
      wss?.close();
    },
  };
}
