// What the room needs from a connection to one peer: text messages both ways, and a close. A PeerJS
// data connection provides it in the browser; tests use an in-memory pair.
export interface PeerChannel {
  /** The other end's PeerJS id. */
  readonly peer: string;
  send(text: string): void;
  close(): void;
  /** A message from the peer, as received: not yet trusted to be text, let alone valid. */
  onmessage: ((data: unknown) => void) | null;
  onclose: (() => void) | null;
}
