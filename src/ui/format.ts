// Small formatters for what the screen shows: cluster time, counts, and beanstalkd's `key: value` text.

const intFormat = new Intl.NumberFormat('en-US');

/** 12345 -> "12,345". */
export function fmtInt(n: number): string {
  return intFormat.format(n);
}

/** A count in at most five characters: 9,999 / 12.3k / 456k / 1.2M. */
export function fmtCount(n: number): string {
  if (n < 10_000) return fmtInt(n);
  if (n < 100_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Cluster time as mm:ss.s (hours roll into the minutes: 75:03.2). */
export function fmtClock(ms: number): string {
  const tenths = Math.max(0, Math.floor(ms / 100));
  const minutes = Math.floor(tenths / 600);
  const seconds = (tenths % 600) / 10;
  return `${String(minutes).padStart(2, '0')}:${seconds.toFixed(1).padStart(4, '0')}`;
}

/** A countdown in seconds, one decimal under 10 s: "3.4 s", "27 s". */
export function fmtSecondsLeft(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.ceil(s)} s`;
}

/** Parses the YAML dictionaries of `stats`, `stats-tube` and `stats-job` (one `key: value` per line). */
export function parseStats(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 2));
  }
  return out;
}

/** A short owner label for a job card: "worker 3" -> "w3"; other names are cut to 8 characters. */
export function shortOwner(name: string): string {
  const m = /^worker (\d+)$/.exec(name);
  if (m) return `w${m[1]}`;
  return name.length > 8 ? `${name.slice(0, 7)}…` : name;
}

/** Index of the first element of the sorted `times` that is >= t. */
function firstAtOrAfter(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the sorted `times` are at or before `t`. */
export function countUpTo(times: readonly number[], t: number): number {
  return firstAtOrAfter(times, t + 1e-9);
}

/**
 * Tasks finished per second of cluster time over the last `windowMs` (or since the start, if shorter).
 * `done` is in time order and may already hold instants past `now` (reports can run ahead of virtual time).
 */
export function throughput(done: readonly number[], now: number, windowMs = 10_000): number {
  const from = Math.max(0, now - windowMs);
  const span = now - from;
  if (span <= 0) return 0;
  return ((countUpTo(done, now) - firstAtOrAfter(done, from)) * 1000) / span;
}

let rem = 0;

/**
 * Pixels per rem (the root font size grows with the screen: see App.svelte). Read once per window
 * size: reading it forces a style recalculation, too dear for views that ask on every frame.
 */
export function remPx(): number {
  if (!rem) {
    rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    addEventListener('resize', () => (rem = 0), { once: true });
  }
  return rem;
}
