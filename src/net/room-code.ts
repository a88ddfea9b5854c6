// Room codes: the only secret a joiner needs, so they are crypto-random and long enough not to be
// guessed (12 base32 letters = 60 bits). The host's PeerJS id is derived from the code.

/** RFC 4648 base32 in lower case: no 0/1/8/9, so a code read off a projector is not mistyped. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const ROOM_CODE_LENGTH = 12;
const CODE = new RegExp(`^[a-z2-7]{${ROOM_CODE_LENGTH}}$`);

export function newRoomCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(ROOM_CODE_LENGTH));
  let code = '';
  for (const b of bytes) code += ALPHABET[b & 31];
  return code;
}

/** A code as typed (any case, spaces or dashes between groups), or null if it cannot be one. */
export function normaliseRoomCode(text: string): string | null {
  const code = text.trim().toLowerCase().replace(/[\s-]+/g, '');
  return CODE.test(code) ? code : null;
}

export function hostPeerId(code: string): string {
  return `beanlab-${code}`;
}
