// Time travel's cost (issue 12), for `npm run bench -- time-travel`: a virtual-time run of 10^5 protocol
// events with 16 workers (π jobs of 1000 darts: the events, not the computing, are what a seek pays
// for), checkpointed as time travel does it; then seeks to random events, steps back, and the
// checkpoints' memory, each beside what a replay from event 0 costs. The same code runs in Node and,
// bundled, in Debian's Chromium (bench/time-travel-browser.ts), with in-thread nodes in both: a seek's
// cost is the cluster's, and Web Worker start-up is the page's (it is not measured here).
import { Cluster } from '../src/sim/cluster.ts';
import { TimeTravel } from '../src/sim/branches.ts';
import { CHECKPOINT_EVERY, type ClusterCheckpoint } from '../src/sim/checkpoint.ts';
import { replayTo } from '../src/sim/replay.ts';
import { setUp } from '../src/sim/scenario.ts';
import { mulberry32 } from '../src/sim/rng.ts';
import type { NodeProcess } from '../src/nodes/process.ts';

export interface TimeTravelPlan {
  events: number;
  workers: number;
  every: number;
  /** Seeks to random events, replays from event 0 to random events, and steps back (after a seek each). */
  seeks: number;
  replays: number;
  stepBacks: number;
}

export const TIME_TRAVEL_PLAN: TimeTravelPlan = { events: 100_000, workers: 16, every: CHECKPOINT_EVERY, seeks: 40, replays: 3, stepBacks: 40 };

export interface TimeTravelFigures {
  plan: TimeTravelPlan;
  events: number;
  /** Recording the run (its checkpoints included), ms. */
  recordMs: number;
  checkpoints: ClusterCheckpoint[];
  /** ms of each seek, of each replay from event 0 (to as random an event), of each step back. */
  seekMs: number[];
  replayMs: number[];
  replayEvents: number[];
  stepBackMs: number[];
  /** The first step back after each seek (it takes the close checkpoints the next ones restore). */
  firstStepBackMs: number[];
  /** Taking one checkpoint at the run's end, ms (median of 5). */
  captureMs: number;
}

/** Step backs in a row after each seek. */
const STEPS_IN_A_ROW = 5;

export const quantile = (xs: number[], q: number) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

export async function measureTimeTravel(spawn: () => NodeProcess, plan = TIME_TRAVEL_PLAN, note: (s: string) => void = () => {}): Promise<TimeTravelFigures> {
  const seed = 12;
  const t0 = performance.now();
  const run = new Cluster({ seed, mode: 'virtual', spawn, checkpointEvery: plan.every });
  const jobs = Math.ceil(plan.events / 10);
  setUp(run, { kind: 'pi', darts: jobs * 1000, jobs, workers: plan.workers, ttr: 60, autostart: true }, seed);
  const travel = new TimeTravel(run, spawn, undefined, 0, plan.every);
  await run.runUntil(() => run.eventCount >= plan.events);
  await run.settle();
  const recordMs = performance.now() - t0;
  const events = run.eventCount;
  note(`recorded ${events} events in ${(recordMs / 1000).toFixed(1)} s, ${travel.current.checkpoints.length} checkpoints`);
  const captures: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    run.checkpoint();
    captures.push(performance.now() - t);
  }
  const record = travel.exportRun();
  const rnd = mulberry32(seed);
  const randomEvent = () => 1 + Math.floor(rnd() * (events - 1));

  let shown: Cluster = run;
  const show = (c: Cluster) => {
    if (c !== shown) shown.dispose();
    shown = c;
  };
  const seekMs: number[] = [];
  for (let i = 0; i < plan.seeks; i++) {
    const n = randomEvent();
    const t = performance.now();
    show(await travel.seek(n));
    seekMs.push(performance.now() - t);
    if (shown.eventCount !== n) throw new Error(`seek(${n}) reached event ${shown.eventCount}`);
  }
  note(`seeks: median ${quantile(seekMs, 0.5).toFixed(1)} ms`);
  const stepBackMs: number[] = [];
  const firstStepBackMs: number[] = [];
  for (let i = 0; i < plan.stepBacks; i++) {
    // A student steps back a few times in a row from where a seek put them.
    const first = i % STEPS_IN_A_ROW === 0;
    if (first) show(await travel.seek(randomEvent()));
    const want = travel.position - 1;
    const t = performance.now();
    show(await travel.stepBack());
    (first ? firstStepBackMs : stepBackMs).push(performance.now() - t);
    if (shown.eventCount !== want) throw new Error(`step back reached event ${shown.eventCount}, not ${want}`);
  }
  note(`step back: median ${quantile(stepBackMs, 0.5).toFixed(1)} ms`);
  const replayMs: number[] = [];
  const replayEvents: number[] = [];
  for (let i = 0; i < plan.replays; i++) {
    const n = randomEvent();
    const t = performance.now();
    const { cluster } = await replayTo(record, spawn, { until: n });
    replayMs.push(performance.now() - t);
    replayEvents.push(n);
    cluster.dispose();
  }
  note(`replays from event 0: ${replayMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  const checkpoints = travel.current.checkpoints;
  shown.dispose();
  return { plan, events, recordMs, checkpoints, seekMs, replayMs, replayEvents, stepBackMs, firstStepBackMs, captureMs: quantile(captures, 0.5) };
}
