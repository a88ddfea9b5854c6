// Amdahl's law fitted to speedup points: S(k) = 1 / (f + (1 − f)/k), f found by least squares on [0, 1].
import { describe, expect, test } from 'vitest';
import { amdahlSpeedup, describeAmdahl, fitAmdahl } from '../../src/sim/amdahl.ts';
import { mulberry32 } from '../../src/sim/rng.ts';

const KS = [1, 2, 4, 8, 16];

describe('fitAmdahl', () => {
  test.each([0, 0.07, 0.25, 0.5, 1])('points exactly on the curve of f = %s give back that f', (f) => {
    const fit = fitAmdahl(KS.map((k) => ({ workers: k, speedup: amdahlSpeedup(f, k) })));
    expect(fit?.f).toBeCloseTo(f, 6);
    expect(fit?.rms).toBeLessThan(1e-6);
    expect(fit?.limit).toBeCloseTo(f === 0 ? Infinity : 1 / f, 3);
  });

  test('noisy points (±5%) around f = 0.1 fit f within 0.03', () => {
    const rand = mulberry32(7);
    const points = [2, 3, 4, 6, 8, 12, 16].map((k) => ({ workers: k, speedup: amdahlSpeedup(0.1, k) * (0.95 + 0.1 * rand()) }));
    const fit = fitAmdahl(points);
    expect(fit).not.toBeNull();
    expect(Math.abs(fit!.f - 0.1)).toBeLessThan(0.03);
    expect(fit!.rms).toBeGreaterThan(0);
  });

  test('superlinear points (S(k) > k) clamp f to 0, the law having no negative serial part', () => {
    const fit = fitAmdahl([{ workers: 1, speedup: 1 }, { workers: 2, speedup: 2.3 }, { workers: 4, speedup: 4.8 }]);
    expect(fit?.f).toBe(0);
    expect(fit?.limit).toBe(Infinity);
  });

  test('slower than one node (S(k) < 1) clamps f to 1', () => {
    expect(fitAmdahl([{ workers: 2, speedup: 0.6 }, { workers: 4, speedup: 0.5 }])?.f).toBe(1);
  });

  test('a single point of k ≥ 2 is met exactly: f = (1/S − 1/k) / (1 − 1/k)', () => {
    const fit = fitAmdahl([{ workers: 4, speedup: 2.5 }]);
    expect(fit?.f).toBeCloseTo((1 / 2.5 - 1 / 4) / (1 - 1 / 4), 6);
    expect(fit?.rms).toBeLessThan(1e-6);
  });

  test('points of k = 1 alone say nothing about f: no fit', () => {
    expect(fitAmdahl([{ workers: 1, speedup: 1 }])).toBeNull();
    expect(fitAmdahl([])).toBeNull();
  });
});

describe('describeAmdahl', () => {
  test('names the serial fraction and the limit 1/f', () => {
    expect(describeAmdahl({ f: 0.07, limit: 1 / 0.07, rms: 0 })).toBe('serial fraction 7%: no more than 14× however many nodes');
    expect(describeAmdahl({ f: 0.25, limit: 4, rms: 0 }, 'workers')).toBe('serial fraction 25%: no more than 4× however many workers');
    expect(describeAmdahl({ f: 0, limit: Infinity, rms: 0 })).toMatch(/^serial fraction 0%: no limit/);
  });
});
