// An in-memory stand-in for a data channel: an ordered, asynchronous text pipe between two ends, with
// a close both sides see. Tests run the room protocol over it exactly as over PeerJS. Like Chromium's,
// it carries a message of at most 256 KiB (as UTF-8); PeerJS closes the channel when a send is refused.
import type { PeerChannel } from '../../src/net/channel.ts';
import { joinerProof, newNonce } from '../../src/net/challenge.ts';
import { ROOM_PROTOCOL, type JoinerHello } from '../../src/net/messages.ts';

/** Chromium's largest data channel message (its SCTP max-message-size), bytes. */
export const CHANNEL_MAX_MESSAGE_BYTES = 256 * 1024;

export interface FakeEnd extends PeerChannel {
  /** Everything this end was sent, as received (for assertions). */
  readonly received: unknown[];
  closed: boolean;
  /** Sends anything at all to the other end, as a misbehaving peer would. */
  sendRaw(data: unknown): void;
}

export function channelPair(hostPeer = 'host', joinerPeer = 'joiner'): { host: FakeEnd; joiner: FakeEnd } {
  const make = (peer: string): FakeEnd => ({
    peer,
    received: [],
    closed: false,
    onmessage: null,
    onclose: null,
    send(text: string) {
      this.sendRaw(text);
    },
    sendRaw() {},
    close() {},
  });
  // Each end is named after the peer on its other side, as PeerJS names a connection.
  const host = make(joinerPeer);
  const joiner = make(hostPeer);
  const wire = (from: FakeEnd, to: FakeEnd) => {
    from.sendRaw = (data: unknown) => {
      if (from.closed) return;
      if (typeof data === 'string' && new TextEncoder().encode(data).length > CHANNEL_MAX_MESSAGE_BYTES) return from.close();
      setTimeout(() => {
        if (to.closed) return;
        to.received.push(data);
        to.onmessage?.(data);
      }, 0);
    };
    from.close = () => {
      if (from.closed) return;
      from.closed = true;
      setTimeout(() => {
        if (to.closed) return;
        to.closed = true;
        to.onclose?.();
      }, 0);
    };
  };
  wire(host, joiner);
  wire(joiner, host);
  return { host, joiner };
}

/** A room code and its secret for tests, and the wall clock rooms run on. */
export const CODE = 'abcdefgh2345';
export const SECRET = 'mnopqrstuvwx';
export const wall = () => performance.timeOrigin + performance.now();

/** Waits (polling) until `cond` holds; fails after `ms`. */
export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A joiner's hello to room CODE, with the challenge done right (as RoomMember says it). */
export function helloFor(name: string, slots = 1): JoinerHello {
  const nonce = newNonce();
  return { t: 'hello', v: ROOM_PROTOCOL, room: CODE, slots, name, nonce, proof: joinerProof(SECRET, CODE, nonce) };
}
