// PeerJS in the browser: the signaling server (by default the app's own, under /peerjs), the host's
// open room and a joiner's way in. Data channels carry text ('raw' serialization), ordered and
// reliable; no STUN/TURN server is used, so browsers connect over the lab LAN's host candidates.
// Every way a join can fail ends within seconds with what went wrong and what to try. PeerJS is let
// build only connections the room speaks (screenOffers); the host hears at once when its id on the
// signaling server is lost or taken, and can reopen the room under a new code.
// The same joiner runs in a terminal (src/cli/join.ts): nothing here touches the page but the
// defaults of chosenSignalingServer and joinUrl.
import type { default as Peer, DataConnection, PeerError, PeerOptions } from 'peerjs';
import type { WorkerConfig } from '../nodes/messages.ts';
import type { NodeProcess } from '../nodes/process.ts';
import type { PeerChannel } from './channel.ts';
import { hostPeerId, joinCodeText, joinLink, newRoomCode, newRoomSecret } from './room-code.ts';
import { RoomHost, type RoomCluster } from './room-host.ts';
import { RoomMember } from './room-member.ts';

/** Where PeerJS finds its signaling server. */
export interface SignalingServer {
  host: string;
  port: number;
  path: string;
  secure: boolean;
}

export const SIGNAL_STORAGE_KEY = 'beanlab-signal';

/** `https://host:port/path`, or null if the text is not an http(s) URL. */
export function parseSignalingUrl(text: string): SignalingServer | null {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const secure = u.protocol === 'https:';
  return { host: u.hostname, port: u.port ? Number(u.port) : secure ? 443 : 80, path: u.pathname || '/', secure };
}

export function signalingUrl(s: SignalingServer): string {
  return `${s.secure ? 'https' : 'http'}://${s.host}:${s.port}${s.path}`;
}

/**
 * The signaling server to use: `?signal=URL` in the page's address, else the one saved in settings,
 * else the server that served this page (npm start serves both on one port).
 */
export function chosenSignalingServer(page: Pick<Location, 'search' | 'origin'> = location, saved: string | null = localStorage.getItem(SIGNAL_STORAGE_KEY)): SignalingServer {
  const fromUrl = new URLSearchParams(page.search).get('signal');
  return (fromUrl && parseSignalingUrl(fromUrl)) || (saved && parseSignalingUrl(saved)) || parseSignalingUrl(`${page.origin}/peerjs`)!;
}

/**
 * PeerJS, loaded when a room is first opened or joined: it looks for WebRTC in its environment once,
 * as it loads, so a terminal joiner provides it first (src/cli/webrtc-globals.ts). Node's ESM
 * sees its CommonJS build, whose default export is the exports object that holds the class.
 */
async function loadPeer(): Promise<typeof Peer> {
  const peerjs = await import('peerjs');
  return (peerjs.default as unknown as { Peer?: typeof Peer }).Peer ?? peerjs.default;
}

function peerOptions(s: SignalingServer): PeerOptions {
  return { host: s.host, port: s.port, path: s.path, secure: s.secure, debug: 0, config: { iceServers: [] } };
}

/**
 * The room's side of a PeerJS connection, listening from the moment the connection exists: a message
 * may arrive before its 'open' event is handled (a joiner's hello, when the receiving process is busy,
 * as @roamhq/wrtc delivers them), and is kept until the room reads the channel, not lost.
 */
export function channelOf(conn: DataConnection): PeerChannel {
  const early: unknown[] = [];
  let onmessage: ((data: unknown) => void) | null = null;
  const channel: PeerChannel = {
    peer: conn.peer,
    // Straight to the data channel: PeerJS's send reads the channel's bufferedAmount first, which in
    // @roamhq/wrtc (terminal joiners, a Node host) is a blocking call into WebRTC's thread as costly
    // as the send. Room messages are small and metered; a channel that cannot take one more is closed,
    // as PeerJS closes it, and the room lets that peer go.
    send: (text) => {
      if (!conn.open) return;
      try {
        conn.dataChannel.send(text);
      } catch {
        conn.close();
      }
    },
    close: () => conn.close({ flush: true }),
    get onmessage() {
      return onmessage;
    },
    set onmessage(fn) {
      onmessage = fn;
      while (fn && early.length && onmessage === fn) fn(early.shift());
    },
    onclose: null,
  };
  conn.on('data', (data) => (onmessage ? onmessage(data) : early.push(data)));
  conn.on('close', () => channel.onclose?.());
  conn.on('error', () => channel.onclose?.());
  return channel;
}

/** Why a room could not be opened or joined, and what to try: shown to the student as text. */
export class RoomError extends Error {
  constructor(
    readonly why: string,
    readonly tryThis: string,
  ) {
    super(why);
  }
}

const SIGNALING_ERRORS = new Set(['network', 'server-error', 'socket-error', 'socket-closed', 'disconnected', 'ssl-unavailable']);

function unreachable(s: SignalingServer): RoomError {
  return new RoomError(
    `Cannot reach the signaling server at ${signalingUrl(s)}.`,
    "Check that the host's `npm start` is still running and that this machine can reach its address; or set another signaling server.",
  );
}

/** Waits for the peer's signaling connection, at most `ms`. */
function signalingOpen(peer: Peer, s: SignalingServer, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      peer.off('open', opened);
      peer.off('error', failed);
    };
    const opened = () => {
      done();
      resolve();
    };
    const failed = (err: PeerError<string>) => {
      done();
      reject(err.type === 'unavailable-id' ? err : SIGNALING_ERRORS.has(err.type) ? unreachable(s) : new RoomError(`PeerJS: ${err.message}`, 'Reload the page and try again.'));
    };
    const timer = setTimeout(() => {
      done();
      reject(unreachable(s));
    }, ms);
    peer.on('open', opened);
    peer.on('error', failed);
  });
}

/** A message from the signaling server, as PeerJS reads it: the server names the sender, the sender wrote the payload. */
interface SignalingMessage {
  type?: unknown;
  src?: string;
  payload?: { type?: unknown; serialization?: unknown; connectionId?: unknown } | null;
}

/**
 * PeerJS builds a connection for any offer the signaling server relays, with whatever serialization
 * it names: 'binary' reassembles chunks without a limit, and a name it does not know throws in the
 * page. Here only data offers in the 'raw' serialization the room speaks reach PeerJS (a joiner takes
 * none: it only makes connections), and the rest of a connection's negotiation only if PeerJS has that
 * connection (it would otherwise keep it, unbounded, for a connection to come).
 */
function screenOffers(peer: Peer, takeOffers: boolean): void {
  const internals = peer as unknown as { _handleMessage(m: SignalingMessage): void };
  const handle = internals._handleMessage.bind(peer);
  internals._handleMessage = (m) => {
    const p = typeof m?.payload === 'object' ? m.payload : null;
    switch (m?.type) {
      case 'OFFER':
        if (takeOffers && p?.type === 'data' && p.serialization === 'raw') return handle(m);
        return;
      case 'ANSWER':
      case 'CANDIDATE':
        if (typeof m.src === 'string' && typeof p?.connectionId === 'string' && peer.getConnection(m.src, p.connectionId)) return handle(m);
        return;
      case 'OPEN':
      case 'ERROR':
      case 'ID-TAKEN':
      case 'INVALID-KEY':
      case 'LEAVE':
      case 'EXPIRE':
        return handle(m);
    }
  };
}

const SIGNALING_TIMEOUT_MS = 6000;
/** The signaling server reports an unknown room after about 5 s (its message expiry), so wait longer. */
const CONNECT_TIMEOUT_MS = 12_000;
const RECONNECT_MS = 2000;

/** Claims a fresh room code's id on the signaling server: a new code (and secret) each time. */
async function claimRoom(s: SignalingServer): Promise<{ code: string; secret: string; peer: Peer }> {
  const PeerClass = await loadPeer();
  for (;;) {
    const code = newRoomCode();
    const peer = new PeerClass(hostPeerId(code), peerOptions(s));
    screenOffers(peer, true);
    try {
      await signalingOpen(peer, s, SIGNALING_TIMEOUT_MS);
      return { code, secret: newRoomSecret(), peer };
    } catch (err) {
      peer.destroy();
      // 60 random bits taken already: draw another code.
      if ((err as PeerError<string>).type === 'unavailable-id') continue;
      throw err;
    }
  }
}

/**
 * Whether new classmates can find the room: `open`; `lost`, the signaling server went away (those in
 * the room stay; the host reconnects every 2 s and asks for its id back); `taken`, another browser
 * holds the room's id on the signaling server, so offers for this code reach it (it cannot pass the
 * challenge): the room must reopen under a new code.
 */
export type SignalingState = 'open' | 'lost' | 'taken';

/**
 * The host's open room: its PeerJS id is derived from the code, its heartbeat runs on a timer. A room
 * that reopens under a new code keeps its joiners: their data channels belong to the earlier peers,
 * which stay (off the signaling server) until the room closes.
 */
export class HostedRoom {
  private readonly timer: ReturnType<typeof setInterval>;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly earlier: Peer[] = [];
  signalingState: SignalingState = 'open';

  private constructor(
    readonly room: RoomHost,
    private peer: Peer,
    readonly signaling: SignalingServer,
    private readonly onChange: () => void,
  ) {
    this.timer = setInterval(() => room.heartbeat(), room.heartbeatInterval);
    this.listen(peer);
  }

  get code(): string {
    return this.room.code;
  }

  /** What a student types to join (the code and the secret). */
  get joinCode(): string {
    return joinCodeText(this.code, this.room.secret);
  }

  /** The address a joiner opens: this page with ?join=CODE#SECRET (and the signaling server, if not this one). */
  joinUrl(page: string = location.href): string {
    return joinLink(page, this.code, this.room.secret);
  }

  static async open(opts: { cluster: () => RoomCluster; worker: WorkerConfig; signaling: SignalingServer; onChange: () => void }): Promise<HostedRoom> {
    const { code, secret, peer } = await claimRoom(opts.signaling);
    const now = () => performance.timeOrigin + performance.now();
    const room = new RoomHost({ code, secret, cluster: opts.cluster, worker: opts.worker, now, onChange: opts.onChange });
    return new HostedRoom(room, peer, opts.signaling, opts.onChange);
  }

  /** A new code and secret on the signaling server; whoever is in the room stays. */
  async reopen(): Promise<void> {
    const { code, secret, peer } = await claimRoom(this.signaling);
    if (this.closed) return peer.destroy();
    clearTimeout(this.reconnectTimer);
    const old = this.peer;
    this.earlier.push(old);
    this.peer = peer;
    old.disconnect();
    this.signalingState = 'open';
    this.listen(peer);
    this.room.reopen(code, secret);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnectTimer);
    this.room.close();
    // Let the goodbyes leave before the connections go.
    const peers = [this.peer, ...this.earlier];
    setTimeout(() => {
      for (const p of peers) p.destroy();
    }, 300);
  }

  private listen(peer: Peer): void {
    const current = () => peer === this.peer && !this.closed;
    peer.on('connection', (conn) => {
      const channel = channelOf(conn);
      conn.on('open', () => this.room.accept(channel));
    });
    peer.on('open', () => {
      if (!current()) return;
      this.signalingState = 'open';
      this.onChange();
    });
    peer.on('error', (err: PeerError<string>) => {
      if (!current() || err.type !== 'unavailable-id') return;
      clearTimeout(this.reconnectTimer);
      this.signalingState = 'taken';
      this.onChange();
    });
    // Losing the signaling server stops new joins, not the joiners already connected. Destroying the
    // peer (closing the room) disconnects it too: then there is nothing to reconnect.
    peer.on('disconnected', () => {
      if (!current() || this.signalingState === 'taken') return;
      this.signalingState = 'lost';
      this.onChange();
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => {
        if (current() && peer.disconnected && !peer.destroyed && this.signalingState === 'lost') peer.reconnect();
      }, RECONNECT_MS);
    });
  }
}

/** This browser's membership of a room. */
export class JoinedRoom {
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    readonly member: RoomMember,
    private readonly peer: Peer,
  ) {
    this.timer = setInterval(() => {
      member.watch();
      if (member.state.phase === 'left') this.stop();
    }, 1000);
  }

  static async join(opts: { code: string; secret: string; slots: number; name: string; tab?: string; platform?: string; cores?: number; signaling: SignalingServer; spawn: (slot: number) => NodeProcess; onChange: () => void }): Promise<JoinedRoom> {
    const PeerClass = await loadPeer();
    const peer = new PeerClass(peerOptions(opts.signaling));
    screenOffers(peer, false);
    try {
      await signalingOpen(peer, opts.signaling, SIGNALING_TIMEOUT_MS);
      const channel = await connect(peer, opts.code);
      const now = () => performance.timeOrigin + performance.now();
      const member = new RoomMember(channel, { code: opts.code, secret: opts.secret, slots: opts.slots, name: opts.name, tab: opts.tab, platform: opts.platform, cores: opts.cores, spawn: opts.spawn, now, onChange: opts.onChange });
      return new JoinedRoom(member, peer);
    } catch (err) {
      peer.destroy();
      throw err instanceof RoomError ? err : new RoomError(String((err as Error).message ?? err), 'Reload the page and try again.');
    }
  }

  /** Says goodbye and, once it has left, closes the connections; resolves when they are closed. */
  leave(): Promise<void> {
    this.member.leave();
    return this.stop();
  }

  private stop(): Promise<void> {
    clearInterval(this.timer);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.peer.destroy();
        resolve();
      }, 300),
    );
  }
}

function connect(peer: Peer, code: string): Promise<PeerChannel> {
  return new Promise((resolve, reject) => {
    const conn = peer.connect(hostPeerId(code), { serialization: 'raw', reliable: true });
    const channel = channelOf(conn);
    const timer = setTimeout(
      () =>
        reject(
          new RoomError(
            "No network path between this browser and the host's.",
            'WebRTC found no way to connect the two browsers. Both machines must be on the same network (the lab LAN); no STUN or TURN server is used. A VPN, guest Wi-Fi that keeps devices apart, or a browser setting that hides local addresses can block it.',
          ),
        ),
      CONNECT_TIMEOUT_MS,
    );
    conn.once('open', () => {
      clearTimeout(timer);
      resolve(channel);
    });
    peer.on('error', (err: PeerError<string>) => {
      clearTimeout(timer);
      if (err.type === 'peer-unavailable') reject(new RoomError(`Room ${code} does not exist or has been closed.`, 'Check the code with the host. If they closed the room or reloaded their page, they host a new room with a new link.'));
      else if (SIGNALING_ERRORS.has(err.type)) reject(new RoomError('Lost the signaling server while connecting.', 'Check the network and try again.'));
      else reject(new RoomError(`PeerJS: ${err.message}`, 'Reload the page and try again.'));
    });
  });
}
