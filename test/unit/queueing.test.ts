// Lesson 12's queueing model: Poisson arrivals from the seeded generator, Erlang C against values worked
// out from the textbook formulas, the wait measured from the job history (put → first reserve), Little's
// law on a recorded run of the Poisson producer, and the pure transforms its charts draw.
import { afterEach, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { advanceTo, ManualClock } from '../../src/engine/clock.ts';
import { Session } from '../../src/protocol/session.ts';
import { latin1Bytes } from '../../src/protocol/wire.ts';
import { JobHistory } from '../../src/history/history.ts';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { mulberry32 } from '../../src/sim/rng.ts';
import { exponential, poissonArrivals } from '../../src/nodes/poisson.ts';
import { DEFAULT_QUEUEING, producerConfig, setUp, type QueueingScenario } from '../../src/sim/scenario.ts';
import { erlangC, mmcMeanWait, queueFigures, queueingRunPoint, queueVisits, utilisation, withRunPoint, type QueueingRunPoint } from '../../src/sim/queueing.ts';
import { curveSetups, predictedWaitCurve, queueLengthSeries, timeAverage } from '../../src/ui/charts/queueing.ts';
import { draftOf, scenarioOf } from '../../src/ui/scenario-form.ts';
import { parseScenarioLink, scenarioLinkParams } from '../../src/ui/scenario-link.ts';
import { decodeTask } from '../../src/tasks/index.ts';
import { checkHolds, parseCheck, type Check } from '../../src/lessons/checks.ts';
import { replayRun } from '../../src/sim/replay.ts';
import { parseRun } from '../../src/sim/run-record.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

const queueing = (over: Partial<QueueingScenario> = {}): QueueingScenario => ({ ...DEFAULT_QUEUEING, autostart: true, ...over });

async function run(scenario: QueueingScenario, seed = 1) {
  const cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  setUp(cluster, scenario, seed);
  const producer = () => [...cluster.nodes.values()].find((n) => n.role === 'producer');
  await cluster.runUntil(() => ['done', 'failed'].includes(producer()?.status.state ?? ''));
  return { cluster, producer: producer()! };
}

describe('Poisson arrivals from the seeded generator', () => {
  test('the same seed gives the same arrival and service times; another seed, others', () => {
    const a = poissonArrivals(500, 90, 1000, mulberry32(7));
    expect(poissonArrivals(500, 90, 1000, mulberry32(7))).toEqual(a);
    expect(poissonArrivals(500, 90, 1000, mulberry32(8))).not.toEqual(a);
    // Arrival times only go forward, in whole ms.
    for (let i = 1; i < a.length; i++) expect(a[i].at).toBeGreaterThanOrEqual(a[i - 1].at);
    expect(a.every((x) => Number.isInteger(x.at) && Number.isInteger(x.serviceMs) && x.serviceMs >= 0)).toBe(true);
  });

  test('over a large sample the mean gap is 1/λ and the mean service S, each within 2%; gaps are exponential (P(gap > mean) ≈ 1/e)', () => {
    const n = 100_000;
    const perMinute = 96; // λ = 1.6 a second: a mean gap of 625 ms
    const a = poissonArrivals(n, perMinute, 1000, mulberry32(2026));
    const gaps = a.map((x, i) => x.at - (i ? a[i - 1].at : 0));
    const meanGap = a[n - 1].at / n;
    expect(Math.abs(meanGap - 625) / 625).toBeLessThan(0.02);
    const meanService = a.reduce((s, x) => s + x.serviceMs, 0) / n;
    expect(Math.abs(meanService - 1000) / 1000).toBeLessThan(0.02);
    const longer = gaps.filter((g) => g > 625).length / n;
    expect(Math.abs(longer - Math.exp(-1))).toBeLessThan(0.01);
    // A Poisson process: arrivals in 10 s windows have a variance equal to their mean (16), within 10%.
    const counts = new Array(Math.floor(a[n - 1].at / 10_000)).fill(0);
    for (const x of a) if (x.at < counts.length * 10_000) counts[Math.floor(x.at / 10_000)]++;
    const mean = counts.reduce((s, k) => s + k, 0) / counts.length;
    const variance = counts.reduce((s, k) => s + (k - mean) ** 2, 0) / counts.length;
    expect(Math.abs(mean - 16) / 16).toBeLessThan(0.02);
    expect(Math.abs(variance - mean) / mean).toBeLessThan(0.1);
  });

  test('an exponential draw inverts U: mean·ln(1/(1 − U))', () => {
    const u = [0, 0.5, 0.9];
    let i = 0;
    const rng = () => u[i++];
    expect(exponential(rng, 2)).toBe(0);
    expect(exponential(rng, 2)).toBeCloseTo(2 * Math.LN2, 12);
    expect(exponential(rng, 2)).toBeCloseTo(2 * Math.log(10), 12);
  });

  test('bad rates, counts and service times are refused with the field named', () => {
    const rng = mulberry32(1);
    expect(() => poissonArrivals(0, 60, 1000, rng)).toThrow('jobs must be a whole number >= 1, got 0');
    expect(() => poissonArrivals(5, 0, 1000, rng)).toThrow('the arrival rate must be a number of jobs a minute > 0, got 0');
    expect(() => poissonArrivals(5, 60, -1, rng)).toThrow('the mean service time must be a number of ms >= 0, got -1');
  });
});

describe('Erlang C, the M/M/c probability of waiting', () => {
  // Where each value comes from:
  // - c = 1: the M/M/1 queue, P(wait) = ρ (Kleinrock, Queueing Systems vol. 1, §3.2: P(busy) = ρ).
  // - c = 2: the closed form C = 2ρ²/(1 + ρ) (Gross & Harris, Fundamentals of Queueing Theory, M/M/2);
  //   ρ = 0.5 gives 1/3, the value every table of Erlang C prints for 2 servers and 1 Erlang.
  // - c = 3, a = 2 Erlangs: by hand from the defining sum, Σ_{k<3} 2^k/k! = 1 + 2 + 2 = 5 and
  //   (2³/3!)·3/(3 − 2) = 4, so C = 4 / (5 + 4) = 4/9.
  // - c = 10, a = 8: the textbook sum with factorials, computed independently below.
  const sumFormula = (c: number, a: number) => {
    let fact = 1;
    let sum = 0;
    for (let k = 0; k < c; k++) {
      if (k > 0) fact *= k;
      sum += a ** k / fact;
    }
    const top = (a ** c / (fact * c)) * (c / (c - a));
    return top / (sum + top);
  };
  test.each([
    { c: 1, a: 0.3, want: 0.3, from: 'M/M/1: ρ' },
    { c: 1, a: 0.75, want: 0.75, from: 'M/M/1: ρ' },
    { c: 2, a: 1, want: 1 / 3, from: '2ρ²/(1+ρ), ρ = 0.5' },
    { c: 2, a: 1.6, want: (2 * 0.64) / 1.8, from: '2ρ²/(1+ρ), ρ = 0.8' },
    { c: 3, a: 2, want: 4 / 9, from: 'the defining sum by hand' },
    { c: 10, a: 8, want: sumFormula(10, 8), from: 'the factorial sum' },
    { c: 2, a: 2, want: 1, from: 'ρ = 1: every job waits' },
    { c: 4, a: 0, want: 0, from: 'no load: nobody waits' },
  ])('c = $c, a = $a Erlangs → $want ($from)', ({ c, a, want }) => {
    expect(erlangC(c, a)).toBeCloseTo(want, 12);
  });

  test('the mean wait Wq = C·S/(c − a): M/M/1 gives ρS/(1 − ρ); M/M/2 at ρ = 0.5, S = 1 s gives 1/3 s; ρ ≥ 1 never ends', () => {
    expect(mmcMeanWait(0.5, 1, 1)).toBeCloseTo(1, 12);
    expect(mmcMeanWait(1, 1, 2)).toBeCloseTo(1 / 3, 12);
    expect(mmcMeanWait(1.6, 1, 2)).toBeCloseTo(0.7111111111 / 0.4, 8);
    expect(mmcMeanWait(2, 1, 2)).toBe(Infinity);
    expect(utilisation(1.6, 1, 2)).toBeCloseTo(0.8, 12);
  });

  test('servers must be a whole number ≥ 1 and the load a number ≥ 0', () => {
    expect(() => erlangC(0, 1)).toThrow('Erlang C needs a whole number of servers ≥ 1, not 0');
    expect(() => erlangC(2, -1)).toThrow('Erlang C needs an offered load ≥ 0, not -1');
  });
});

describe('the wait measured from the job history', () => {
  test('a job waits from its put to its first reserve; a release and a second reserve do not change it', () => {
    const clock = new ManualClock(1000);
    const engine = new Engine({ clock, instanceId: '0000000000000001' });
    const history = new JobHistory(1000);
    engine.subscribe((e) => history.apply(e));
    const send = (s: Session, line: string, body?: string) => s.receive(latin1Bytes(body === undefined ? `${line}\r\n` : `${line}\r\n${body}\r\n`));
    const producer = new Session(engine, { write: () => {}, close: () => {} }, 'producer');
    const worker = new Session(engine, { write: () => {}, close: () => {} }, 'worker');
    send(producer, 'use q');
    send(worker, 'watch q');
    send(producer, 'put 0 0 60 1', 'a'); // job 1 at 0
    advanceTo(engine, clock, 1100);
    send(producer, 'put 0 0 60 1', 'b'); // job 2 at 100
    advanceTo(engine, clock, 1400);
    send(worker, 'reserve'); // job 1 at 400: waited 400
    send(worker, 'release 1 0 0');
    advanceTo(engine, clock, 1900);
    send(worker, 'reserve'); // job 1 again at 900: not a new wait
    send(worker, 'delete 1');
    send(worker, 'reserve'); // job 2 at 900: waited 800
    const visits = queueVisits(history.records, 'q');
    expect(visits).toEqual([
      { put: 0, reserved: 400, deleted: 900 },
      { put: 100, reserved: 900, deleted: null },
    ]);
    const f = queueFigures(visits, 900);
    expect(f.served).toBe(2);
    expect(f.meanWait).toBeCloseTo(0.6, 12);
    expect(f.maxWait).toBeCloseTo(0.8, 12);
    // Waiting: 1 job over [0, 100), 2 over [100, 400), 1 over [400, 900): area 1.2 job·s over 0.9 s.
    expect(f.meanQueue).toBeCloseTo(1200 / 900, 12);
    expect(f.meanService).toBeCloseTo(0.5, 12);
    // Halfway, job 2 still waits: it is in L but not yet in W.
    const mid = queueFigures(visits, 300);
    expect(mid).toMatchObject({ arrivals: 2, served: 0, meanWait: 0 });
    expect(mid.meanQueue).toBeCloseTo((100 + 2 * 200) / 300, 12);
    expect(queueVisits(history.records, 'other')).toEqual([]);
    // Once every job has left (deleted), the window ends there: the figures stay as the clock runs on.
    const gone = [
      { put: 0, reserved: 400, deleted: 900 },
      { put: 100, reserved: 900, deleted: 1000 },
    ];
    expect(queueFigures(gone, 5000)).toEqual(queueFigures(gone, 1000));
    expect(queueFigures(gone, 1000).seconds).toBe(1);
  });
});

describe('the Poisson producer on a simulated cluster', () => {
  test('it puts every job as a sleep task at its arrival time, collects every result, and Little\'s law L = λW holds on the run', async () => {
    const scenario = queueing({ arrivals: 60, rate: 96 });
    const { cluster, producer } = await run(scenario, 3);
    expect(producer.status.state).toBe('done');
    expect(producer.status.detail).toMatch(/^60 jobs put and done in \d+\.\d s$/);
    expect(cluster.model.totals()).toEqual({ ready: 0, delayed: 0, reserved: 0, buried: 0 });
    const visits = queueVisits(cluster.history.records, 'msg_for_worker');
    expect(visits).toHaveLength(60);
    // The jobs went in at the arrival times the seed gives (after the producer's connections opened, plus a put's trip).
    const cfg = producerConfig(scenario, 3);
    if (!('poisson' in cfg)) throw new Error('not a Poisson producer');
    const arrivals = poissonArrivals(60, 96, 1000, mulberry32(cfg.poisson.seed));
    const offset = visits[0].put - arrivals[0].at;
    visits.forEach((v, i) => expect(v.put - arrivals[i].at).toBeGreaterThanOrEqual(offset - 1));
    visits.forEach((v, i) => expect(v.put - arrivals[i].at).toBeLessThanOrEqual(offset + 10));
    const bodies = cluster.history.records.filter((r) => r.tube === 'msg_for_worker').map((r) => decodeTask(r.command));
    expect(bodies.map((b) => (b.kind === 'sleep' ? b.ms : -1))).toEqual(arrivals.map((a) => a.serviceMs));

    const f = queueFigures(visits, cluster.now);
    expect(f.served).toBe(60);
    expect(f.meanWait).toBeGreaterThan(0);
    // Once the queue has emptied, the area under the queue-length curve is the sum of the waits: L = λW exactly.
    expect(f.meanQueue).toBeCloseTo(f.arrivalRate * f.meanWait, 9);
    // The chart's step line has the same area.
    const series = queueLengthSeries(visits, cluster.now);
    expect(timeAverage(series) * cluster.now).toBeCloseTo(f.meanQueue * f.seconds * 1000, 6);
    // The queue saw S plus the worker's round trips: a little above the sample's mean service time.
    const sampleS = arrivals.reduce((s, a) => s + a.serviceMs, 0) / 60 / 1000;
    expect(f.meanService).toBeGreaterThan(sampleS);
    expect(f.meanService).toBeLessThan(sampleS + 0.05);

    const point = queueingRunPoint(cluster);
    expect(point).toEqual({ rate: 1.6, service: 1, servers: 2, rho: expect.closeTo(0.8, 12), meanWait: f.meanWait, jobs: 60, seed: cfg.poisson.seed });
  }, 60_000);

  test('the same seed gives the same run: identical waits; an exported run with a worker killed replays to the same trace', async () => {
    const a = await run(queueing({ arrivals: 30 }), 5);
    const b = await run(queueing({ arrivals: 30 }), 5);
    expect(queueVisits(b.cluster.history.records, 'msg_for_worker')).toEqual(queueVisits(a.cluster.history.records, 'msg_for_worker'));

    const c = new Cluster({ seed: 6, mode: 'virtual', spawn: spawnInThread });
    clusters.push(c);
    setUp(c, queueing({ arrivals: 30, rate: 114 }), 6);
    await c.advanceTo(8_000);
    c.killNode([...c.nodes.values()].find((n) => n.name === 'worker 1')!.id);
    await c.runUntil(() => [...c.nodes.values()].some((n) => n.role === 'producer' && n.status.state === 'done'));
    const replayed = await replayRun(parseRun(JSON.stringify(c.exportRun())), spawnInThread);
    clusters.push(replayed);
    expect(replayed.trace).toEqual(c.trace);
    expect(queueVisits(replayed.history.records, 'msg_for_worker')).toEqual(queueVisits(c.history.records, 'msg_for_worker'));
  }, 60_000);

  test('a run not done, or not of the Poisson producer, is no point of the wait chart', async () => {
    const cluster = new Cluster({ seed: 1, mode: 'virtual', spawn: spawnInThread });
    clusters.push(cluster);
    setUp(cluster, queueing(), 1);
    await cluster.advanceTo(5_000);
    expect(queueingRunPoint(cluster)).toBeNull();
    const pi = new Cluster({ seed: 1, mode: 'virtual', spawn: spawnInThread });
    clusters.push(pi);
    setUp(pi, { kind: 'pi', darts: 1000, jobs: 2, workers: 1, ttr: 40, autostart: true }, 1);
    await pi.runUntil(() => [...pi.nodes.values()].some((n) => n.status.state === 'done'));
    expect(queueingRunPoint(pi)).toBeNull();
  }, 60_000);
});

describe('the mean-wait check of lesson 12', () => {
  const check = (raw: unknown): Check => ({ name: 'mean-wait', ...parseCheck('mean-wait', raw), line: 1 });

  test('it reads the measured mean wait of the tube: false before any job is served, then within its bounds', async () => {
    const scenario = queueing({ arrivals: 40, rate: 114 });
    const cluster = new Cluster({ seed: 1, mode: 'virtual', spawn: spawnInThread });
    clusters.push(cluster);
    setUp(cluster, scenario, 1);
    const ctx = { cluster, console: [], speedup: [], scenario };
    const atLeast = check({ tube: 'msg_for_worker', min: 0.5 });
    const atMost = check({ tube: 'msg_for_worker', max: 0.5 });
    expect(atLeast.text).toBe('the jobs of msg_for_worker waited ≥ 0.5 s on average (put → first reserve)');
    expect([checkHolds(atLeast, ctx), checkHolds(atMost, ctx)]).toEqual([false, false]);
    const producer = () => [...cluster.nodes.values()].find((n) => n.role === 'producer');
    await cluster.runUntil(() => producer()?.status.state === 'done');
    const w = queueFigures(queueVisits(cluster.history.records, 'msg_for_worker'), cluster.now).meanWait;
    expect(w).toBeGreaterThan(0.5);
    expect([checkHolds(atLeast, ctx), checkHolds(atMost, ctx)]).toEqual([true, false]);
    expect(checkHolds(check({ tube: 'msg_for_client', min: 0.5 }), ctx)).toBe(false);
  }, 60_000);

  test('its argument is checked: a tube, and a min or a max in seconds', () => {
    expect(() => parseCheck('mean-wait', { min: 1 })).toThrow('missing field "tube"');
    expect(() => parseCheck('mean-wait', { tube: 'q' })).toThrow('give "min" (at least) or "max" (at most) seconds, or both');
    expect(() => parseCheck('mean-wait', { tube: 'q', max: -1 })).toThrow('max must be a number > 0, not -1');
  });
});

describe('the queueing charts and run points', () => {
  test.each([
    { name: 'no jobs', visits: [], until: 500, want: [{ x: 0, y: 0 }, { x: 500, y: 0 }] },
    {
      name: 'two overlapping waits',
      visits: [
        { put: 100, reserved: 400, deleted: null },
        { put: 200, reserved: 300, deleted: null },
      ],
      until: 600,
      want: [{ x: 0, y: 0 }, { x: 100, y: 1 }, { x: 200, y: 2 }, { x: 300, y: 1 }, { x: 400, y: 0 }, { x: 600, y: 0 }],
    },
    { name: 'reserved at its put: never waits', visits: [{ put: 100, reserved: 100, deleted: 200 }], until: 300, want: [{ x: 0, y: 0 }, { x: 300, y: 0 }] },
    { name: 'still waiting at the end', visits: [{ put: 100, reserved: 900, deleted: null }], until: 300, want: [{ x: 0, y: 0 }, { x: 100, y: 1 }, { x: 300, y: 1 }] },
  ])('queue length series: $name', ({ visits, until, want }) => {
    expect(queueLengthSeries(visits, until)).toEqual(want);
  });

  test('time average of a step line', () => {
    expect(timeAverage([{ x: 0, y: 0 }, { x: 100, y: 2 }, { x: 300, y: 0 }, { x: 400, y: 0 }])).toBeCloseTo(400 / 400, 12);
    expect(timeAverage([{ x: 0, y: 0 }])).toBe(0);
  });

  test('the predicted curve rises with ρ and leaves through the chart\'s top edge', () => {
    const pts = predictedWaitCurve(2, 1, 1, 5, 100);
    expect(pts[0]).toEqual({ x: 0, y: 0 });
    for (let i = 1; i < pts.length; i++) expect(pts[i].y).toBeGreaterThanOrEqual(pts[i - 1].y);
    expect(pts.at(-1)!.y).toBeCloseTo(5, 12);
    // Wq(ρ) = 5 s for c = 2, S = 1 s is between ρ = 0.9 (4.26 s) and 0.92 (5.51 s).
    expect(pts.at(-1)!.x).toBeGreaterThan(0.9);
    expect(pts.at(-1)!.x).toBeLessThan(0.92);
    const half = pts.find((p) => Math.abs(p.x - 0.5) < 1e-9);
    expect(half?.y).toBeCloseTo(1 / 3, 12);
  });

  test('a run measured again replaces its point; each set-up gets one curve', () => {
    const p = (over: Partial<QueueingRunPoint>): QueueingRunPoint => ({ rate: 1, service: 1, servers: 2, rho: 0.5, meanWait: 0.3, jobs: 200, seed: 1, ...over });
    let runs = withRunPoint([], p({}));
    runs = withRunPoint(runs, p({ rate: 1.6, rho: 0.8, meanWait: 2 }));
    runs = withRunPoint(runs, p({ meanWait: 0.4 }));
    runs = withRunPoint(runs, null);
    expect(runs.map((r) => [r.rho, r.meanWait])).toEqual([
      [0.8, 2],
      [0.5, 0.4],
    ]);
    expect(curveSetups([...runs, p({ servers: 3 }), p({ service: 0.5 })])).toEqual([
      { servers: 2, service: 0.5 },
      { servers: 2, service: 1 },
      { servers: 3, service: 1 },
    ]);
  });
});

describe('the queueing scenario in the form and in links', () => {
  test('the form keeps λ, S and the job count, clamped; a link carries them and reads them back', () => {
    const d = { ...draftOf(DEFAULT_QUEUEING, 4), rate: 114, service: 0, arrivals: 50 };
    const { scenario, seed } = scenarioOf(d, DEFAULT_QUEUEING, 4);
    expect(scenario).toEqual({ ...DEFAULT_QUEUEING, rate: 114, service: 1, arrivals: 50 });
    const params = scenarioLinkParams({ scenario, seed, mode: 'virtual' });
    expect(params.toString()).toBe('kind=queueing&seed=4&mode=virtual&rate=114&service=1&arrivals=50&workers=2&ttr=60');
    expect(parseScenarioLink(params)).toMatchObject({ link: { scenario, seed: 4, mode: 'virtual' }, problems: [] });
    const bad = parseScenarioLink(new URLSearchParams('kind=queueing&rate=1.5&darts=9'));
    expect(bad.link?.scenario).toEqual({ ...DEFAULT_QUEUEING });
    expect(bad.problems).toEqual(['darts= belongs to a π scenario, not a Poisson one; it was ignored.', 'rate=1.5 is not a whole number from 1 to 60,000; 60 is used.']);
  });
});
