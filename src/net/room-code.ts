// Room codes and secrets. The code names the room on the signaling server (the host's PeerJS id is
// derived from it), so the signaling server and whoever takes that id after a restart know it. The
// secret never goes there: it travels in the join link's #fragment (browsers do not send it to the
// server) or is typed with the code, and the room's challenge proves both ends know it (challenge.ts).
// Both are crypto-random and long enough not to be guessed (12 base32 letters = 60 bits).

/** RFC 4648 base32 in lower case: no 0/1/8/9, so a code read off a projector is not mistyped. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const ROOM_CODE_LENGTH = 12;
export const ROOM_SECRET_LENGTH = 12;
const CODE = new RegExp(`^[a-z2-7]{${ROOM_CODE_LENGTH}}$`);
const SECRET = new RegExp(`^[a-z2-7]{${ROOM_SECRET_LENGTH}}$`);

function randomLetters(n: number): string {
  let s = '';
  for (const b of crypto.getRandomValues(new Uint8Array(n))) s += ALPHABET[b & 31];
  return s;
}

export function newRoomCode(): string {
  return randomLetters(ROOM_CODE_LENGTH);
}

export function newRoomSecret(): string {
  return randomLetters(ROOM_SECRET_LENGTH);
}

/** Any case, spaces or dashes between groups, as a student types it. */
function letters(text: string): string {
  return text.trim().toLowerCase().replace(/[\s-]+/g, '');
}

/** A code as typed (any case, spaces or dashes between groups), or null if it cannot be one. */
export function normaliseRoomCode(text: string): string | null {
  const code = letters(text);
  return CODE.test(code) ? code : null;
}

export function normaliseRoomSecret(text: string): string | null {
  const secret = letters(text);
  return SECRET.test(secret) ? secret : null;
}

/** What a student types to join: the code and the secret, as the host's panel shows it. */
export function joinCodeText(code: string, secret: string): string {
  return `${code}-${secret}`;
}

export type TypedJoinCode = { ok: true; code: string; secret: string } | { ok: false; why: string };

/**
 * A typed join code: `code-secret`, `code#secret`, or the 24 letters grouped any way (spaces, dashes).
 * A room code alone is not enough to join.
 */
export function parseJoinCode(text: string): TypedJoinCode {
  const all = letters(text.replace(/#/g, ''));
  const code = all.slice(0, ROOM_CODE_LENGTH);
  const secret = all.slice(ROOM_CODE_LENGTH);
  if (CODE.test(code) && secret === '') return { ok: false, why: "That is only the room's code: type its secret after it too, all of what the host's panel shows (code-secret)." };
  if (CODE.test(code) && SECRET.test(secret)) return { ok: true, code, secret };
  return { ok: false, why: "A join code is the room's code and its secret, 12 + 12 letters and digits (a–z, 2–7), as the host's panel shows it." };
}

/** The join link: `?join=CODE#SECRET` on `page` (its `?signal=` kept), so the secret stays out of every request. */
export function joinLink(page: string, code: string, secret: string): string {
  const from = new URL(page);
  const u = new URL(from.pathname, from.origin);
  u.searchParams.set('join', code);
  const signal = from.searchParams.get('signal');
  if (signal) u.searchParams.set('signal', signal);
  u.hash = secret;
  return u.toString();
}

/** The secret a join page was opened with (its #fragment), or null if it has none that can be one. */
export function linkSecret(hash: string): string | null {
  return normaliseRoomSecret(hash.replace(/^#/, ''));
}

export function hostPeerId(code: string): string {
  return `beanlab-${code}`;
}
