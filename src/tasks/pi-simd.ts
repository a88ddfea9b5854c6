// The pi kernel's WebAssembly module, assembled byte by byte at load time (there is no wat2wasm here
// and the module is small): the same darts as pi.ts's JS loop, LANES lanes at a time in v128 registers.
//
// Exports `memory` (the lane states live in its first LANES * 8 bytes, little-endian u64 each) and
// `throwDarts(groups: i32) -> i32`: steps every lane `groups` times, writes the states back and returns
// how many of those groups * LANES darts MISSED the quarter disc. The caller keeps a call's misses below
// 2^31 by splitting large jobs.

const I32 = 0x7f;
const V128 = 0x7b;

/** Unsigned LEB128, as wasm encodes sizes, indices and SIMD opcodes. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 for i32.const; our constants are small non-negative numbers. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const name = (s: string) => { const bytes = [...new TextEncoder().encode(s)]; return [...uleb(bytes.length), ...bytes]; };
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// The handful of instructions the kernel needs.
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Eqz: [0x45],
  i32Sub: [0x6b],
  i64Add: [0x7c],
  i32WrapI64: [0xa7],
  simd: (code: number, ...immediates: number[]) => [0xfd, ...uleb(code), ...immediates],
};
const v128Load = (offset: number) => op.simd(0x00, 4, ...uleb(offset)); // align 2^4
const v128Store = (offset: number) => op.simd(0x0b, 4, ...uleb(offset));
const v128Zero = op.simd(0x0c, ...new Array<number>(16).fill(0));
const shuffle = (bytes: number[]) => op.simd(0x0d, ...bytes);
const i64x2ExtractLane = (lane: number) => op.simd(0x1d, lane);
const v128Xor = op.simd(0x51);
const i32x4ShrU = op.simd(0xad);
const i64x2Shl = op.simd(0xcb);
const i64x2ShrU = op.simd(0xcd);
const i64x2Add = op.simd(0xce);
const i64x2ExtmulLowU = op.simd(0xde);
const i64x2ExtmulHighU = op.simd(0xdf);

// From two vectors of two u64 lanes, the four high words (x) and the four low words (y), in lane order.
const HIGH_WORDS = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

/** Builds the module for `lanes` lanes (a multiple of 4: two u64 lanes per v128, paired for the test). */
export function piSimdModuleBytes(lanes: number): Uint8Array<ArrayBuffer> {
  const vectors = lanes / 2;
  const GROUPS = 0; // the parameter
  const state = (v: number) => 1 + v;
  const X = 1 + vectors;
  const Y = X + 1;
  const MISSES = Y + 1;

  // s ^= s << 13; s ^= s >> 7; s ^= s << 17 (xorshift64), on both u64 lanes of state vector v.
  const step = (v: number) => [
    ...op.get(state(v)), ...op.get(state(v)), ...op.i32Const(13), ...i64x2Shl, ...v128Xor, ...op.tee(state(v)),
    ...op.get(state(v)), ...op.i32Const(7), ...i64x2ShrU, ...v128Xor, ...op.tee(state(v)),
    ...op.get(state(v)), ...op.i32Const(17), ...i64x2Shl, ...v128Xor, ...op.set(state(v)),
  ];
  // misses += (x*x + y*y) >> 52 for the four darts held in state vectors a and b: x and y are their
  // words' top 26 bits, so the sum is below 2^53 and bit 52 is set exactly when the dart missed.
  const coordinate = (a: number, b: number, words: number[], local: number) => [
    ...op.get(state(a)), ...op.get(state(b)), ...shuffle(words), ...op.i32Const(6), ...i32x4ShrU, ...op.set(local),
  ];
  const countMisses = (extmul: number[]) => [
    ...op.get(MISSES),
    ...op.get(X), ...op.get(X), ...extmul,
    ...op.get(Y), ...op.get(Y), ...extmul,
    ...i64x2Add, ...op.i32Const(52), ...i64x2ShrU, ...i64x2Add, ...op.set(MISSES),
  ];
  const pairs: number[] = [];
  for (let v = 0; v < vectors; v += 2) {
    pairs.push(
      ...coordinate(v, v + 1, HIGH_WORDS, X),
      ...coordinate(v, v + 1, LOW_WORDS, Y),
      ...countMisses(i64x2ExtmulLowU),
      ...countMisses(i64x2ExtmulHighU),
    );
  }
  const steps: number[] = [];
  for (let v = 0; v < vectors; v++) steps.push(...step(v));

  const body: number[] = [];
  for (let v = 0; v < vectors; v++) body.push(...op.i32Const(0), ...v128Load(16 * v), ...op.set(state(v)));
  body.push(
    ...v128Zero, ...op.set(MISSES),
    ...op.block,
    ...op.get(GROUPS), ...op.i32Eqz, ...op.brIf(0),
    ...op.loop,
    ...steps,
    ...pairs,
    ...op.get(GROUPS), ...op.i32Const(1), ...op.i32Sub, ...op.tee(GROUPS), ...op.brIf(0),
    ...op.end,
    ...op.end,
  );
  for (let v = 0; v < vectors; v++) body.push(...op.i32Const(0), ...op.get(state(v)), ...v128Store(16 * v));
  body.push(
    ...op.get(MISSES), ...i64x2ExtractLane(0), ...op.get(MISSES), ...i64x2ExtractLane(1), ...op.i64Add, ...op.i32WrapI64,
    ...op.end,
  );
  const locals = vec([[...uleb(vectors + 3), V128]]);
  const code = [...locals, ...body];

  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32]]), ...vec([[I32]])]])), // type 0: (i32) -> i32
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x00, 1]])), // one memory, one page
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('throwDarts'), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}
