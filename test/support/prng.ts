// A seeded generator for property and fuzz tests: the simulator's own mulberry32 (src/sim/rng.ts), with
// the helpers the tests draw with, so each seed is one reproducible run.
import { mulberry32 } from '../../src/sim/rng.ts';

export function prng(seed: number) {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, int, pick, chance: (p: number) => next() < p };
}
