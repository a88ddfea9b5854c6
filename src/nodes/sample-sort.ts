// Sample sort, from the seed report's future-work list ("sorting"): the producer draws a sample of the
// values, picks splitters from it, partitions the values into buckets by those splitters and puts one
// sort-chunk job per bucket; workers sort their bucket (an ordinary task); since every value of a
// bucket is below every value of the next, the producer only concatenates the sorted buckets.
import { bodyText } from '../protocol/client.ts';
import { mulberry32 } from '../sim/rng.ts';
import { decodeResult, encodeTask } from '../tasks/index.ts';
import type { ResultCheck, SortProducerConfig } from './messages.ts';
import type { NodeRuntime } from './programs.ts';

/** Values are whole numbers below this: short in a job body, easy to read in a tube. */
export const SORT_VALUE_RANGE = 1_000_000;

export function seededValues(count: number, rng: () => number): number[] {
  return Array.from({ length: count }, () => Math.floor(rng() * SORT_VALUE_RANGE));
}

/** Index of the first splitter greater than v: the bucket v belongs to. */
function bucketOf(v: number, splitters: number[]): number {
  let lo = 0;
  let hi = splitters.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (splitters[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Draws `oversampling` values per bucket at random, sorts the sample and takes every
 * `sample / buckets`-th value as a splitter; each value then goes to the bucket between its splitters.
 */
export function samplePartition(values: number[], buckets: number, oversampling: number, rng: () => number): { splitters: number[]; buckets: number[][] } {
  const size = Math.min(values.length, buckets * oversampling);
  const sample = Array.from({ length: size }, () => values[Math.floor(rng() * values.length)]).sort((x, y) => x - y);
  const splitters = Array.from({ length: buckets - 1 }, (_, k) => sample[Math.floor(((k + 1) * size) / buckets)]).filter((s) => s !== undefined);
  const out = Array.from({ length: buckets }, (): number[] => []);
  for (const v of values) out[bucketOf(v, splitters)].push(v);
  return { splitters, buckets: out };
}

/** Whether `output` is in ascending order and holds exactly the values of `input`. */
export function checkSorted(input: number[], output: number[]): ResultCheck {
  for (let i = 1; i < output.length; i++) {
    if (output[i - 1] > output[i]) return { ok: false, text: `not sorted: position ${i - 1} holds ${output[i - 1]}, position ${i} holds ${output[i]}` };
  }
  const counts = new Map<number, number>();
  for (const v of input) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const v of output) counts.set(v, (counts.get(v) ?? 0) - 1);
  const off = [...counts].find(([, c]) => c !== 0);
  if (off || output.length !== input.length) {
    return { ok: false, text: `sorted, but not a permutation of the input (${output.length} values out, ${input.length} in${off ? `; ${off[0]} appears ${off[1] > 0 ? 'too few' : 'too many'} times` : ''})` };
  }
  return { ok: true, text: `verified: sorted, and the same ${output.length.toLocaleString('en-US')} values` };
}

/** The producer of sample sort. */
export async function sortProducerProgram(rt: NodeRuntime, cfg: SortProducerConfig): Promise<void> {
  const started = rt.now();
  if (!Number.isSafeInteger(cfg.values) || cfg.values < 1) throw new Error(`values to sort must be a whole number >= 1, got ${cfg.values}`);
  if (!Number.isSafeInteger(cfg.buckets) || cfg.buckets < 1) throw new Error(`buckets must be a whole number >= 1, got ${cfg.buckets}`);
  rt.status({ state: 'connecting' });
  const conn = await rt.connect();
  await conn.command(`use ${cfg.use}`);
  await conn.command(`watch ${cfg.watch}`);
  await conn.command('ignore default');

  const rng = mulberry32(cfg.seed);
  const input = seededValues(cfg.values, rng);
  const { buckets } = samplePartition(input, cfg.buckets, cfg.oversampling, rng);
  rt.report({ kind: 'sort-buckets', sizes: buckets.map((b) => b.length) });
  rt.status({ state: 'sending', detail: `putting ${buckets.length} buckets` });
  for (const [k, bucket] of buckets.entries()) {
    const body = encodeTask({ kind: 'sort-chunk', values: bucket });
    const r = await conn.command(`put 0 0 ${cfg.ttr} ${body.length}`, body);
    if (r.line === 'JOB_TOO_BIG') {
      throw new Error(`bucket ${k + 1} holds ${bucket.length} values (${body.length} bytes), more than the queue server's max-job-size: use more buckets or fewer values`);
    }
    if (!r.line.startsWith('INSERTED')) throw new Error(`put bucket ${k + 1}: expected INSERTED, got ${r.line}`);
  }

  const chunks: number[][] = [];
  const results: string[] = [];
  for (let k = 0; k < buckets.length; k++) {
    rt.status({ state: 'waiting', detail: `received ${k}/${buckets.length} sorted buckets` });
    const r = await conn.command('reserve');
    if (!r.line.startsWith('RESERVED ')) throw new Error(`reserve sorted bucket: expected RESERVED, got ${r.line}`);
    const text = bodyText(r);
    results.push(text);
    try {
      const result = decodeResult(text);
      if (result.kind !== 'sort-chunk') throw new Error(`a ${result.kind} result`);
      chunks.push(result.values);
    } catch (err) {
      // Its values are missing from the output: the check below says so.
      rt.log(`result of job ${r.line.split(' ')[1]} is not a sorted bucket: ${(err as Error).message}`);
    }
    rt.status({ state: 'sending', detail: `received ${k + 1}/${buckets.length} sorted buckets` });
    await conn.command(`delete ${r.line.split(' ')[1]}`);
  }
  // Buckets cover disjoint ranges, so ordering them by their smallest value puts them in place.
  const output = chunks.filter((c) => c.length).sort((x, y) => x[0] - y[0]).flat();
  const check = checkSorted(input, output);
  const seconds = (rt.now() - started) / 1000;
  rt.report({ kind: 'producer-done', results, seconds, check });
  rt.status({ state: 'done', detail: `${check.text}, in ${seconds.toFixed(2)} s` });
  conn.close();
}
