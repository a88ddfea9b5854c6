// Monte Carlo pi, defined exactly so that every runtime counts the same hits for the same seed:
//
// - PI_LANES independent xorshift64 generators (s ^= s << 13; s ^= s >> 7; s ^= s << 17). Lane k
//   starts at the (k+1)-th output of splitmix64 seeded with the task's seed (as an unsigned 64-bit
//   integer), the seeding xoshiro's authors recommend.
// - Dart i is thrown by lane i mod PI_LANES, which steps once; the new state's high word gives
//   x = hi >>> 6 and its low word y = lo >>> 6: 26-bit integers standing for x / 2^26 and y / 2^26 in
//   [0, 1).
// - The dart hits when x^2 + y^2 < 2^52 (the unit quarter disc). Both squares are below 2^52, so the
//   sum is exact in a double, in u64 and in f64 alike. `<` and the seed report's `<=` agree here: the
//   only ways to write 2^52 as a sum of two squares use 2^26, which is out of range.
//
// The WebAssembly SIMD kernel (pi-simd.ts) throws PI_LANES darts per loop iteration; the JS loop
// below, used for the remainder and when SIMD is unavailable, throws each lane's darts in turn. The
// order differs, the set of darts does not, so the hit counts are identical.
import { piSimdModuleBytes } from './pi-simd.ts';

export const PI_LANES = 8;
export type PiEngine = 'wasm-simd' | 'js';

const U64 = (1n << 64n) - 1n;
export const SPLITMIX_GAMMA = 0x9e3779b97f4a7c15n;

/** The lanes' starting states as little-endian words: [lo0, hi0, lo1, hi1, ...], wasm's memory layout. */
export function seedLanes(seed: number): Uint32Array {
  const words = new Uint32Array(2 * PI_LANES);
  let s = BigInt.asUintN(64, BigInt(seed));
  for (let k = 0; k < PI_LANES; k++) {
    s = (s + SPLITMIX_GAMMA) & U64;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & U64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & U64;
    z ^= z >> 31n;
    words[2 * k] = Number(z & 0xffffffffn);
    words[2 * k + 1] = Number(z >> 32n);
  }
  return words;
}

/** 2^52: a dart misses when x^2 + y^2 reaches it. */
const RADIUS_SQUARED = 4503599627370496;

/** Steps lane k `steps[k]` times from `lanes`, throwing a dart each time; returns the misses. */
function throwDartsJs(lanes: Uint32Array, steps: (lane: number) => number): number {
  let misses = 0;
  for (let k = 0; k < PI_LANES; k++) {
    // xorshift64 on the (hi, lo) halves, kept in locals so V8 keeps them in registers.
    let lo = lanes[2 * k] | 0;
    let hi = lanes[2 * k + 1] | 0;
    for (let n = steps(k); n > 0; n--) {
      hi ^= (hi << 13) | (lo >>> 19);
      lo ^= lo << 13;
      lo ^= (lo >>> 7) | (hi << 25);
      hi ^= hi >>> 7;
      hi ^= (hi << 17) | (lo >>> 15);
      lo ^= lo << 17;
      const x = hi >>> 6;
      const y = lo >>> 6;
      if (x * x + y * y >= RADIUS_SQUARED) misses++;
    }
    lanes[2 * k] = lo;
    lanes[2 * k + 1] = hi;
  }
  return misses;
}

interface SimdKernel {
  lanes: Uint32Array; // a view of the module's memory holding the lane states
  throwDarts: (groups: number) => number;
}

/** undefined: not tried yet; null: this runtime has no WebAssembly SIMD. */
let simdKernel: SimdKernel | null | undefined;

function loadSimdKernel(): SimdKernel | null {
  if (simdKernel !== undefined) return simdKernel;
  simdKernel = null;
  if (typeof WebAssembly === 'object') {
    const bytes = piSimdModuleBytes(PI_LANES);
    // Synchronous compilation is fine: the module is far below the browsers' 4 KB main-thread limit.
    if (WebAssembly.validate(bytes)) {
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));
      simdKernel = {
        lanes: new Uint32Array((exports.memory as WebAssembly.Memory).buffer, 0, 2 * PI_LANES),
        throwDarts: exports.throwDarts as (groups: number) => number,
      };
    }
  }
  return simdKernel;
}

/** The engine countPiHits uses when none is named: WebAssembly SIMD where the runtime has it. */
export function defaultPiEngine(): PiEngine {
  return loadSimdKernel() ? 'wasm-simd' : 'js';
}

/**
 * Groups per kernel call, about half a millisecond of darts. Its misses (at most PI_LANES per group) fit
 * the i32 it returns, and short calls matter for speed: V8 runs a fresh module's code in its baseline
 * tier and swaps in optimized code only between calls (no on-stack replacement in wasm), so one call
 * spanning a whole job ran the node's first job at half speed.
 */
export const PI_GROUPS_PER_KERNEL_CALL = 1 << 16;

/** How many of `darts` darts land in the quarter disc; the same for every engine. */
export function countPiHits(darts: number, seed: number, engine: PiEngine = defaultPiEngine()): number {
  const lanes = seedLanes(seed);
  const groups = Math.floor(darts / PI_LANES);
  const remainder = darts % PI_LANES;
  let misses = 0;
  if (engine === 'wasm-simd') {
    const kernel = loadSimdKernel();
    if (!kernel) throw new Error('this runtime has no WebAssembly SIMD: use the js pi engine');
    kernel.lanes.set(lanes);
    for (let left = groups; left > 0; left -= PI_GROUPS_PER_KERNEL_CALL) {
      misses += kernel.throwDarts(Math.min(left, PI_GROUPS_PER_KERNEL_CALL));
    }
    lanes.set(kernel.lanes);
    misses += throwDartsJs(lanes, (k) => (k < remainder ? 1 : 0));
  } else {
    misses = throwDartsJs(lanes, (k) => groups + (k < remainder ? 1 : 0));
  }
  return darts - misses;
}
