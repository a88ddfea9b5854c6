// The Poisson producer of lesson 12 (queueing theory): jobs arrive at random times, independent of each
// other, at a mean rate λ (exponential gaps between arrivals: a Poisson process), and each asks for an
// exponentially distributed amount of work of mean S (a sleep task, whose length the worker's clock
// models). Both come from the seeded generator, so a seed gives the same arrivals and the same work in
// every run and replay. Workers are the ordinary ones: they put a result per job, which this producer
// collects on a second connection while the first keeps putting.
import { mulberry32 } from '../sim/rng.ts';
import { encodeTask } from '../tasks/index.ts';
import type { PoissonProducerConfig } from './messages.ts';
import type { NodeConnection, NodeRuntime } from './programs.ts';

/** One job the producer will put: when (ms after it starts) and how long its sleep task lasts (ms). */
export interface Arrival {
  at: number;
  serviceMs: number;
}

/** A draw from the exponential distribution of mean `mean` (inversion: mean·ln(1/U), U = 1 − rng() in (0, 1]). */
export function exponential(rng: () => number, mean: number): number {
  return mean * Math.log(1 / (1 - rng()));
}

/**
 * `jobs` arrivals of a Poisson process of rate `perMinute` (jobs a minute), each with an exponential
 * service time of mean `meanServiceMs`; both rounded to whole ms, the engine's unit of time.
 */
export function poissonArrivals(jobs: number, perMinute: number, meanServiceMs: number, rng: () => number): Arrival[] {
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new Error(`jobs must be a whole number >= 1, got ${jobs}`);
  if (!(perMinute > 0) || !Number.isFinite(perMinute)) throw new Error(`the arrival rate must be a number of jobs a minute > 0, got ${perMinute}`);
  if (!(meanServiceMs >= 0) || !Number.isFinite(meanServiceMs)) throw new Error(`the mean service time must be a number of ms >= 0, got ${meanServiceMs}`);
  const meanGap = 60_000 / perMinute;
  const out: Arrival[] = [];
  let t = 0;
  for (let i = 0; i < jobs; i++) {
    t += exponential(rng, meanGap);
    out.push({ at: Math.round(t), serviceMs: Math.round(exponential(rng, meanServiceMs)) });
  }
  return out;
}

async function open(rt: NodeRuntime, use: string, watch: string): Promise<NodeConnection> {
  const conn = await rt.connect();
  await conn.command(`use ${use}`);
  await conn.command(`watch ${watch}`);
  await conn.command('ignore default');
  return conn;
}

/** Puts each job at its arrival time; collects one result per job on a second connection meanwhile. */
export async function poissonProducerProgram(rt: NodeRuntime, cfg: PoissonProducerConfig): Promise<void> {
  const arrivals = poissonArrivals(cfg.jobs, cfg.perMinute, cfg.serviceMs, mulberry32(cfg.seed));
  rt.status({ state: 'connecting' });
  const puts = await open(rt, cfg.use, cfg.watch);
  const results = await open(rt, cfg.use, cfg.watch);
  const started = rt.now();
  let put = 0;
  let received = 0;
  const say = () => rt.status({ state: put < arrivals.length ? 'sleeping' : 'waiting', detail: `put ${put}/${arrivals.length} jobs, ${received} done` });

  const collect = async () => {
    for (; received < arrivals.length; ) {
      const r = await results.command('reserve');
      if (!r.line.startsWith('RESERVED ')) throw new Error(`reserve result: expected RESERVED, got ${r.line}`);
      await results.command(`delete ${r.line.split(' ')[1]}`);
      received++;
      say();
    }
  };
  const collecting = collect();

  for (const a of arrivals) {
    const wait = started + a.at - rt.now();
    say();
    // A put that took longer than the gap to the next arrival makes that one a little late, never early.
    if (wait > 0) await rt.sleep(wait);
    const body = encodeTask({ kind: 'sleep', ms: a.serviceMs });
    const r = await puts.command(`put 0 0 ${cfg.ttr} ${body.length}`, body);
    if (!r.line.startsWith('INSERTED')) throw new Error(`put job ${put + 1}: expected INSERTED, got ${r.line}`);
    put++;
  }
  say();
  await collecting;
  const seconds = (rt.now() - started) / 1000;
  rt.report({ kind: 'producer-done', results: [], seconds });
  rt.status({ state: 'done', detail: `${arrivals.length} jobs put and done in ${seconds.toFixed(1)} s` });
  puts.close();
  results.close();
}
