// Workers you cannot trust (lesson 11). A worker can be made to cheat (the "wrong results" fault): for π
// it says every dart hit, so each of its results pulls the estimate towards 4. The host's result check
// (src/sim/verify.ts) re-runs a fraction of the jobs on another node and excludes a node whose result
// disagrees; then the producer drops every result that node put (the ledger below) and the host puts the
// node's finished tasks again (src/sim/exclusion.ts), so none of its results stays in the estimate.
import { decodeResult, type TaskResult } from '../tasks/index.ts';
import { mulberry32 } from '../sim/rng.ts';

/**
 * A cheating node's choice of which results to falsify: every one at rate 1, a seeded share at a
 * lower rate (the same node seed picks the same computations in a replay).
 */
export function cheater(rate: number, seed: number): (result: TaskResult) => TaskResult {
  const draw = mulberry32(seed ^ 0x0c4ea7);
  return (result) => {
    if (rate <= 0 || (rate < 1 && draw() >= rate)) return result;
    return falsified(result);
  };
}

/** The wrong result a cheater gives: for π, every dart a hit (π ≈ 4); other kinds it leaves alone. */
export function falsified(result: TaskResult): TaskResult {
  return result.kind === 'pi' ? { ...result, hits: result.darts } : result;
}

/**
 * The producer's results, by the id of the result job it reserved. A result the host says to discard
 * (its node was caught cheating) leaves the sums, whether it came before the word or after it: the
 * producer waits for as many results as it has tasks, counting only the ones it keeps.
 */
export class ResultLedger {
  private readonly results = new Map<number, { text: string; darts: number; hits: number }>();
  /** Sums over every result filed, discarded or not (a discard is rare: the kept sums subtract it). */
  private readonly all = { darts: 0, hits: 0 };

  /** `discarded`: result job ids to drop, a set the host adds to while the producer runs. */
  constructor(private readonly discarded: ReadonlySet<number>) {}

  /** Files result job `job`'s text; π results add to the sums. */
  add(job: number, text: string): void {
    let darts = 0;
    let hits = 0;
    try {
      const r = decodeResult(text);
      if (r.kind === 'pi') ({ darts, hits } = r);
    } catch {
      // Not a task result: kept as text, counted, summed as nothing (the producer logs it).
    }
    this.results.set(job, { text, darts, hits });
    this.all.darts += darts;
    this.all.hits += hits;
  }

  /**
   * Every result filed, in the order they came: the result jobs' ids and their texts, as two lists of plain
   * values (a producer's resume point keeps them, and checkpoints share such lists' unchanged chunks).
   */
  get filed(): { jobs: number[]; texts: string[] } {
    const entries = [...this.results];
    return { jobs: entries.map(([job]) => job), texts: entries.map(([, r]) => r.text) };
  }

  /** The filed results that were discarded. */
  private dropped() {
    return [...this.discarded].flatMap((job) => this.results.get(job) ?? []);
  }

  /** Results kept so far. */
  get counted(): number {
    return this.results.size - this.dropped().length;
  }

  /** The kept results' texts, in the order they came. */
  get texts(): string[] {
    return [...this.results].filter(([job]) => !this.discarded.has(job)).map(([, r]) => r.text);
  }

  /** Darts and hits of the kept π results. */
  get sums(): { darts: number; hits: number } {
    let { darts, hits } = this.all;
    for (const r of this.dropped()) {
      darts -= r.darts;
      hits -= r.hits;
    }
    return { darts, hits };
  }
}

/**
 * The price of catching a cheater. Each bad result is re-run with probability `fraction` (seeded picks,
 * independent of each other), and a re-run on an honest node exposes it, so the bad results a cheater
 * gives until it is caught follow a geometric law: the chance that one of its first `n` bad results is
 * caught is 1 − (1 − f)^n; on average it gives 1/f bad results, the caught one included. A cheater that
 * cheats on a share `rate` of its jobs does 1/(f·rate) jobs before it is caught.
 */
export function caughtWithin(badResults: number, fraction: number): number {
  if (fraction <= 0) return 0;
  return 1 - (1 - Math.min(fraction, 1)) ** badResults;
}

/** The bad results a cheater gives, on average, until one is caught (Infinity when nothing is checked). */
export function expectedBadResults(fraction: number): number {
  return fraction > 0 ? 1 / Math.min(fraction, 1) : Infinity;
}

/** The jobs a cheater that falsifies a share `rate` of its results runs, on average, until it is caught. */
export function expectedJobsUntilCaught(fraction: number, rate: number): number {
  return fraction > 0 && rate > 0 ? 1 / (Math.min(fraction, 1) * Math.min(rate, 1)) : Infinity;
}
