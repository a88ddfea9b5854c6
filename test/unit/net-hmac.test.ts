// SHA-256 and HMAC-SHA-256 of the room challenge, against the standard test vectors (FIPS 180-2
// appendix B, RFC 4231 section 4) and against Node's own crypto for every message length around the
// block boundaries.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { hex, hmacSha256, macHex, sameMac, sha256 } from '../../src/net/hmac.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

describe('SHA-256 (FIPS 180-2, appendix B)', () => {
  test.each([
    ['the empty message', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['"abc" (one block)', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['the 448-bit message (two blocks)', 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['a million "a"s', 'a'.repeat(1_000_000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ])('%s', (_what, message, digest) => {
    expect(hex(sha256(bytes(message)))).toBe(digest);
  });

  test('every length from 0 to 200 bytes agrees with node:crypto', () => {
    for (let n = 0; n <= 200; n++) {
      const m = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      expect(hex(sha256(m))).toBe(createHash('sha256').update(m).digest('hex'));
    }
  });
});

describe('HMAC-SHA-256 (RFC 4231, section 4)', () => {
  const bigKey = fill(131, 0xaa);
  test.each([
    ['test case 1', fill(20, 0x0b), bytes('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    ['test case 2 (a key shorter than the output)', bytes('Jefe'), bytes('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    ['test case 3 (50 bytes of 0xdd)', fill(20, 0xaa), fill(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    ['test case 4', Uint8Array.from({ length: 25 }, (_, i) => i + 1), fill(50, 0xcd), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
    ['test case 6 (a key longer than a block is hashed first)', bigKey, bytes('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
    [
      'test case 7 (key and data longer than a block)',
      bigKey,
      bytes('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ])('%s', (_what, key, data, mac) => {
    expect(hex(hmacSha256(key, data))).toBe(mac);
  });

  test('test case 5: the output truncated to 128 bits', () => {
    expect(hex(hmacSha256(fill(20, 0x0c), bytes('Test With Truncation'))).slice(0, 32)).toBe('a3b6167473100ee06e0c796c2955552b');
  });

  test('text keys and messages are UTF-8, as node:crypto reads them', () => {
    expect(macHex('clé secrète', 'beanlab|π')).toBe(createHmac('sha256', 'clé secrète').update('beanlab|π').digest('hex'));
  });

  test('sameMac tells equal MACs from different ones and from other lengths', () => {
    const mac = macHex('k', 'm');
    expect(sameMac(mac, macHex('k', 'm'))).toBe(true);
    expect(sameMac(mac, macHex('k', 'n'))).toBe(false);
    expect(sameMac(mac, mac.slice(1))).toBe(false);
  });
});
