// The PeerJS signaling server for real-node mode, on the app's own port under /peerjs. Only upgrades
// to /peerjs reach its WebSocket server: handed the whole HTTP server, it would answer Vite's hot
// reload socket (same server, other path) with 400.
//
// Any classmate can open a socket here, so nothing a client sends may stop the process. `peer` 1.0.2
// turns a frame it cannot parse (`x`, `null`, `3`) and every socket-level error (an oversized or
// malformed frame) into an 'error' event on its express sub-app, and an 'error' event nobody listens
// to is thrown: the process exited. Here the sub-app's errors are listened to, each message is checked
// before `peer` sees it (a client that sends anything else, or floods peers that are not connected, is
// closed with 1008 and the reason), and a frame is capped at MAX_SIGNALING_FRAME.
import type { Express } from 'express';
import type { Server } from 'node:http';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export const SIGNALING_PATH = '/peerjs';

/**
 * The largest WebSocket frame a signaling client may send (ws's default is 100 MiB). PeerJS sends
 * only heartbeats, offers, answers and ICE candidates: a data-channel offer's SDP is 1–2 KB, a
 * candidate a few hundred bytes, so 64 KiB leaves ample room, while one client can no longer make
 * the server buffer hundreds of MiB. A larger frame closes that socket with 1009 (message too big).
 */
export const MAX_SIGNALING_FRAME = 64 * 1024;

/** WebSocket close code 1008: the client broke the signaling protocol. */
const POLICY_VIOLATION = 1008;

const RELAYED_WITH_PAYLOAD = new Set(['OFFER', 'ANSWER', 'CANDIDATE']);
const RELAYED_WITHOUT_PAYLOAD = new Set(['LEAVE', 'EXPIRE']);

/**
 * A message to a peer that is not connected waits in `peer`'s memory until that peer connects, or
 * for 5 s, after which its sender is told EXPIRE (how a joiner learns that a room does not exist).
 * One join sends an offer and a few candidates; more than this many such messages in
 * ABSENT_WINDOW_MS would only fill the server's memory (64 KiB each), and close their sender.
 */
export const MAX_TO_ABSENT = 64;
const ABSENT_WINDOW_MS = 10_000;

/**
 * A client's frame as PeerJS's server protocol knows it, or why it is not one. `peer` relays an
 * offer, answer or candidate to `dst` as it is, and PeerJS in the receiving tab reads
 * `payload.connectionId` without checking: a relayed message must name its destination and carry an
 * object payload.
 */
function readSignalingMessage(data: RawData): { dst: string | undefined } | { problem: string } {
  let message: unknown;
  try {
    message = JSON.parse(String(data));
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { problem: 'not a JSON object' };
  const { type, dst, payload } = message as Record<string, unknown>;
  if (type === 'HEARTBEAT') return { dst: undefined };
  if (RELAYED_WITH_PAYLOAD.has(type as string)) {
    if (typeof dst !== 'string') return { problem: `${type} without a dst peer id` };
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { problem: `${type} without an object payload` };
    return { dst };
  }
  if (RELAYED_WITHOUT_PAYLOAD.has(type as string)) return dst === undefined || typeof dst === 'string' ? { dst } : { problem: `${type} with a dst that is not a peer id` };
  // A close reason is at most 123 bytes: the type is echoed in ASCII and cut short.
  return { problem: `unknown message type ${String(JSON.stringify(type)).replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}` };
}

/**
 * Puts the checks in front of the message listeners `peer` attached to an accepted socket: a bad
 * message, or one too many to absent peers, closes that socket and never reaches `peer`.
 */
function checkMessages(ws: WebSocket, isConnected: (id: string) => boolean): void {
  const relay = ws.listeners('message') as ((data: RawData, isBinary: boolean) => void)[];
  ws.removeAllListeners('message');
  let windowStart = 0;
  let toAbsent = 0;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    try {
      relayChecked(data, isBinary);
    } catch (err) {
      // Thrown here, it would stop the process; it ends only this client.
      console.warn(`signaling: ${(err as Error).message}`);
      ws.terminate();
    }
  });
  function relayChecked(data: RawData, isBinary: boolean): void {
    if (ws.readyState !== ws.OPEN) return;
    const message = readSignalingMessage(data);
    if ('problem' in message) {
      ws.close(POLICY_VIOLATION, `bad signaling message: ${message.problem}`);
      return;
    }
    if (message.dst !== undefined && !isConnected(message.dst)) {
      const now = Date.now();
      if (now - windowStart > ABSENT_WINDOW_MS) {
        windowStart = now;
        toAbsent = 0;
      }
      if (++toAbsent > MAX_TO_ABSENT) {
        ws.close(POLICY_VIOLATION, `more than ${MAX_TO_ABSENT} messages in ${ABSENT_WINDOW_MS / 1000} s to peers that are not connected`);
        return;
      }
    }
    for (const listener of relay) listener.call(ws, data, isBinary);
  }
}

export function mountSignaling(app: Express, httpServer: Server): { close(): void } {
  let wss: WebSocketServer | null = null;
  const peerApp = ExpressPeerServer(httpServer, {
    path: '/',
    // Room codes are the host's peer id: nobody may list the peers to find one.
    allow_discovery: false,
    createWebSocketServer: (options) =>
      (wss = new WebSocketServer({ noServer: true, path: options.path, maxPayload: MAX_SIGNALING_FRAME })),
  });
  // What reaches here is one client's socket error (an oversized or malformed frame: ws has already
  // closed that socket) or the WebSocket server's; everyone else is still served.
  peerApp.on('error', (err) => console.warn(`signaling: ${err.message}`));
  app.use(SIGNALING_PATH, peerApp);
  // `peer` keeps one socket per peer id and gives a reconnecting id (same token) the new socket, but
  // leaves the old one open and relaying: the older socket is closed, so one id holds one socket.
  const socketOfId = new Map<string, WebSocket>();
  httpServer.on('upgrade', (req, socket, head) => {
    if (!wss || !req.url?.startsWith(`${SIGNALING_PATH}/`)) return;
    const server = wss;
    server.handleUpgrade(req, socket, head, (ws) => {
      server.emit('connection', ws, req);
      if (ws.listenerCount('message') === 0) return; // `peer` refused it (bad key, id taken…) and closes it
      checkMessages(ws, (dst) => socketOfId.has(dst));
      // The id `peer` registered: it keeps the last of repeated parameters.
      const id = new URL(req.url ?? '', 'http://signaling').searchParams.getAll('id').at(-1) ?? '';
      socketOfId.get(id)?.close(1000, 'replaced by a newer connection with this peer id');
      socketOfId.set(id, ws);
      ws.on('close', () => {
        if (socketOfId.get(id) === ws) socketOfId.delete(id);
      });
    });
  });
  return {
    close() {
      for (const ws of wss?.clients ?? []) ws.terminate();
      wss?.close();
    },
  };
}
