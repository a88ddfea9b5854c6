// Axis ticks as plain data (position and label) for the Svelte-drawn axes: d3 picks the values.
import type { ScaleLinear, ScaleLogarithmic } from 'd3';

export interface Tick {
  pos: number;
  label: string;
}

export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export function linearTicks(scale: ScaleLinear<number, number>, count: number, format?: (v: number) => string): Tick[] {
  const fmt = format ?? scale.tickFormat(count);
  return scale.ticks(count).map((v) => ({ pos: scale(v), label: fmt(v) }));
}

/** 10ᵉ exactly (10 ** -4 is 0.00009999999999999999; the literal 1e-4 is not). */
const decade = (e: number) => Number(`1e${e}`);

const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/** 10ⁿ with a superscript exponent, readable at a distance: 10⁻³, 10⁶. */
export function powerOfTen(exponent: number): string {
  const digits = String(Math.abs(exponent))
    .split('')
    .map((d) => SUPERSCRIPT[Number(d)])
    .join('');
  return `10${exponent < 0 ? '⁻' : ''}${digits}`;
}

/**
 * Powers of ten inside the domain (a log axis with labels a projector can show): every decade, or every
 * second or third one when more than `maxTicks` would crowd a short axis.
 */
export function decadeTicks(scale: ScaleLogarithmic<number, number>, maxTicks = 8): Tick[] {
  const [a, b] = scale.domain();
  const lo = Math.ceil(Math.log10(Math.min(a, b)) - 1e-9);
  const hi = Math.floor(Math.log10(Math.max(a, b)) + 1e-9);
  const step = Math.max(1, Math.ceil((hi - lo + 1) / Math.max(1, maxTicks)));
  const ticks: Tick[] = [];
  for (let e = hi; e >= lo; e -= step) ticks.unshift({ pos: scale(decade(e)), label: powerOfTen(e) });
  return ticks;
}

/** How many ticks fit along an axis this long (px), one per `spacing` px, within [2, max]. */
export function tickCount(length: number, spacing: number, max = 10): number {
  return Math.max(2, Math.min(max, Math.floor(length / spacing)));
}

/** The powers of ten just outside [min, max], for a log domain that starts and ends on a tick. */
export function decadeDomain(min: number, max: number): [number, number] {
  return [decade(Math.floor(Math.log10(min))), decade(Math.ceil(Math.log10(max)))];
}
