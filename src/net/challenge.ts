// The room's challenge: each end proves it knows the room's secret without sending it. The joiner's
// hello carries a fresh nonce and a MAC of it under the secret (someone who knows only the code
// cannot join); the host, once it has checked that, answers with another MAC of the same nonce (whoever
// took the host's id on the signaling server cannot), and the joiner runs nothing before it has
// checked the answer. The two MACs say who made them, so neither can be sent back as the other.
import { macHex, randomHex } from './hmac.ts';

export const NONCE_HEX = 32;
export const MAC_HEX = 64;

export function newNonce(): string {
  return randomHex(NONCE_HEX / 2);
}

export function joinerProof(secret: string, room: string, nonce: string): string {
  return macHex(secret, `beanlab joiner ${room} ${nonce}`);
}

export function hostAnswer(secret: string, room: string, nonce: string): string {
  return macHex(secret, `beanlab host ${room} ${nonce}`);
}
