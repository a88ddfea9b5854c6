// The pure transforms behind the timeline and the live charts: bars and markers rebuilt from a real
// simulated run (virtual time, in-thread nodes), pixel aggregation, and the chart series.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, setUp, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import { Session } from '../../src/protocol/session.ts';
import { latin1Bytes } from '../../src/protocol/wire.ts';
import { bandLabels, layoutBars, outcomeCounts, rectKey, TimelineHistory, type Bar } from '../../src/ui/charts/timeline.ts';
import { scaleLinear, scaleLog } from 'd3';
import { decadeDomain, decadeTicks, linearTicks, powerOfTen, tickCount } from '../../src/ui/charts/ticks.ts';
import { cumulativeDone, expectedError, jobsDoneTime, mergeTimes, piProgress, throughput, throughputWindow } from '../../src/ui/charts/series.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

function piRun(over: Partial<PiScenario> = {}, seed = 7) {
  const scenario: PiScenario = { kind: 'pi', darts: 4_000_000, jobs: 8, workers: 2, ttr: 40, autostart: true, ...over };
  const cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  setUp(cluster, scenario, seed);
  return cluster;
}

const producerDone = (c: Cluster) => [...c.nodes.values()].some((n) => n.role === 'producer' && n.status.state === 'done');
const nodeId = (c: Cluster, name: string) => [...c.nodes.values()].find((n) => n.name === name)!.id;

/** Every running bar sits on the row of the node whose connection the engine says holds the job. */
function expectOwnersMatchEngine(c: Cluster, h: TimelineHistory) {
  let checked = 0;
  for (const r of c.model.reservations) {
    if (r.end !== null) continue;
    const connName = c.engine?.connection(r.conn)?.name;
    // Only node connections ("<node>#<n>") of workers have rows.
    if (!connName?.startsWith('worker ')) continue;
    const row = h.workerRows().find((w) => w.bars.some((b) => b.job === r.job && b.end === null && b.start === r.start - c.startedAt));
    expect(row?.name).toBe(connName.split('#')[0]);
    checked++;
  }
  return checked;
}

describe('TimelineHistory on a simulated run', () => {
  test('one row per worker, every job done once, owners agree with the engine at every step', async () => {
    const c = piRun({ workers: 3, jobs: 6, darts: 600_000 });
    const h = new TimelineHistory(c.startedAt);
    let checked = 0;
    while (!producerDone(c)) {
      if (!(await c.step())) break;
      h.update(c);
      checked += expectOwnersMatchEngine(c, h);
    }
    expect(producerDone(c)).toBe(true);
    expect(checked).toBeGreaterThan(6);
    const rows = h.workerRows();
    expect(rows.map((r) => r.name)).toEqual(['worker 1', 'worker 2', 'worker 3']);
    const bars = rows.flatMap((r) => r.bars);
    expect(bars.filter((b) => b.outcome === 'done')).toHaveLength(6);
    expect(new Set(bars.map((b) => b.job)).size).toBe(6);
    // The producer's reservations of results are not on any worker row.
    expect(c.model.reservations.length).toBeGreaterThan(bars.length);
    for (const r of rows) {
      const done = c.nodes.get(r.node)!.done.length;
      expect(r.bars.length).toBe(done);
      for (let i = 1; i < r.bars.length; i++) expect(r.bars[i].start).toBeGreaterThanOrEqual(r.bars[i - 1].end!);
    }
    expect(h.markers).toEqual([]);
  });

  test('a timeline that starts watching late sees the same bars as one that watched all along', async () => {
    const c = piRun();
    const early = new TimelineHistory(c.startedAt);
    while (!producerDone(c)) {
      await c.advanceTo(c.clock.now() + 3);
      early.update(c);
    }
    const late = new TimelineHistory(c.startedAt);
    late.update(c);
    expect(late.workerRows()).toEqual(early.workerRows());
  });

  test('a connection that is not a node (the student\'s console) shifts no bar to the wrong worker', async () => {
    const c = piRun({ workers: 2, jobs: 4 });
    // Opened first, so every node connection gets a different engine id than the trace order suggests.
    const console = new Session(c.engine!, { write: () => {}, close: () => {} }, 'console');
    console.receive(latin1Bytes('watch msg_for_worker\r\nreserve\r\n'));
    const early = new TimelineHistory(c.startedAt);
    let checked = 0;
    while (!producerDone(c)) {
      if (!(await c.step())) break;
      early.update(c);
      checked += expectOwnersMatchEngine(c, early);
    }
    // The console took the first job; its TTR ran out and a worker did it.
    expect(producerDone(c)).toBe(true);
    expect(checked).toBeGreaterThan(3);
    const consoleReservations = c.model.reservations.filter((r) => r.start === c.model.reservations[0].start && r.job === 1);
    expect(consoleReservations).toHaveLength(1);
    expect(consoleReservations[0].outcome).toBe('timed-out');
    const bars = early.workerRows().flatMap((r) => r.bars);
    expect(bars.map((b) => b.outcome)).toEqual(['done', 'done', 'done', 'done']);
    expect(bars.filter((b) => b.job === 1)).toHaveLength(1);
    const late = new TimelineHistory(c.startedAt);
    late.update(c);
    expect(late.workerRows()).toEqual(early.workerRows());
  });

  test('a job handed to a hung worker waiting in reserve is on its row (the server knows the connection)', async () => {
    const c = piRun({ workers: 2, jobs: 4, ttr: 2, autostart: false });
    const h = new TimelineHistory(c.startedAt);
    const w1 = nodeId(c, 'worker 1');
    await c.runUntil(() => [...c.nodes.values()].every((n) => n.status.state === 'waiting'));
    h.update(c);
    c.hangNode(w1);
    c.addNode('producer', producerConfig({ kind: 'pi', darts: 4_000_000, jobs: 4, workers: 2, ttr: 2, autostart: false }, 7));
    await c.runUntil(() => producerDone(c));
    h.update(c);
    const row = h.workerRows().find((r) => r.node === w1)!;
    expect(row.bars.map((b) => b.outcome)).toEqual(['timed-out']);
    expect(row.bars[0].end! - row.bars[0].start).toBeGreaterThanOrEqual(2000);
  });

  test('a kill: the job is returned by close on the killed worker\'s row, with a kill marker on that row', async () => {
    const c = piRun({ workers: 2, jobs: 4 });
    const h = new TimelineHistory(c.startedAt);
    const w1 = nodeId(c, 'worker 1');
    await c.runUntil(() => c.nodes.get(w1)!.status.state === 'working');
    h.update(c);
    const running = h.workerRows().find((r) => r.node === w1)!.bars.at(-1)!;
    expect(running.outcome).toBe('running');
    expect(running.end).toBeNull();
    const killedAt = c.now;
    c.killNode(w1);
    await c.runUntil(() => producerDone(c));
    h.update(c);
    expect(running.outcome).toBe('returned');
    expect(running.end! - killedAt).toBeLessThan(50);
    expect(h.markers).toEqual([{ at: killedAt, kind: 'kill', node: w1, text: 'kill worker 1' }]);
    const counts = outcomeCounts(h.workerRows().flatMap((r) => r.bars));
    expect(counts).toEqual({ done: 4, returned: 1 });
  });

  test('a hang: the bar runs until the TTR expires', async () => {
    const c = piRun({ workers: 2, jobs: 4, ttr: 2 });
    const h = new TimelineHistory(c.startedAt);
    const w2 = nodeId(c, 'worker 2');
    await c.runUntil(() => c.nodes.get(w2)!.status.state === 'working');
    c.hangNode(w2);
    await c.runUntil(() => producerDone(c));
    h.update(c);
    const row = h.workerRows().find((r) => r.node === w2)!;
    const expired = row.bars.filter((b) => b.outcome === 'timed-out');
    expect(expired).toHaveLength(1);
    expect(expired[0].end! - expired[0].start).toBeGreaterThanOrEqual(2000);
    expect(h.markers.map((m) => [m.kind, m.node])).toEqual([['hang', w2]]);
  });

  test('a server crash ends running bars; after a restart the new server\'s connections are placed right', async () => {
    const c = piRun({ workers: 2, jobs: 6 });
    const h = new TimelineHistory(c.startedAt);
    // Crash once all jobs are in the queue (the producer waits for results) and both workers are busy.
    const producer = c.nodes.get(nodeId(c, 'producer'))!;
    await c.runUntil(() => producer.status.state === 'waiting' && c.model.reservations.filter((r) => r.end === null).length >= 2);
    h.update(c);
    const crashAt = c.now;
    c.crashServer();
    h.update(c);
    const beforeRestart = h.workerRows().flatMap((r) => r.bars);
    expect(beforeRestart.filter((b) => b.outcome === 'crashed').map((b) => b.end)).toEqual([crashAt, crashAt]);
    // While the server is down the workers' reconnects are refused: the new server must not count them.
    await c.advanceTo(c.clock.now() + 1500);
    expect(c.trace.toArray().filter((e) => e.at > crashAt && e.text === 'connect').length).toBeGreaterThanOrEqual(2);
    await c.restartServer(true);
    // The producer's connection died with the server: restart it (it resumes, waiting for the logged jobs).
    c.restartNode(producer.id);
    // A worker added after the restart, so the new server's connections are numbered differently.
    c.addNode('worker 3', { role: 'worker', worker: WORKER });
    let checked = 0;
    while (!producerDone(c)) {
      if (!(await c.step())) break;
      h.update(c);
      checked += expectOwnersMatchEngine(c, h);
    }
    expect(producerDone(c)).toBe(true);
    expect(checked).toBeGreaterThan(0);
    const bars = h.workerRows().flatMap((r) => r.bars);
    expect(bars.filter((b) => b.outcome === 'crashed')).toHaveLength(2);
    expect(new Set(bars.filter((b) => b.outcome === 'done').map((b) => b.job)).size).toBeGreaterThanOrEqual(4);
    expect(h.workerRows().map((r) => r.name)).toEqual(['worker 1', 'worker 2', 'worker 3']);
    expect(h.markers.map((m) => [m.kind, m.node])).toEqual([
      ['crash', null],
      ['server-restart', null],
      ['restart', producer.id],
      ['add', nodeId(c, 'worker 3')],
    ]);
  });
});

describe('layoutBars', () => {
  const bar = (start: number, end: number | null, outcome: Bar['outcome'] = 'done'): Bar => ({ node: 1, job: start, start, end, outcome });
  const x = (ms: number) => ms / 10; // 10 ms per pixel

  test('thousands of back-to-back jobs draw as one rectangle per outcome run', () => {
    const bars = Array.from({ length: 5000 }, (_, i) => bar(i * 4, i * 4 + 3));
    bars.splice(2500, 1, bar(10_000, 10_003, 'timed-out'));
    const rects = layoutBars(bars, 20_000, x);
    expect(rects.map((r) => [r.outcome, r.count])).toEqual([
      ['done', 2500],
      ['timed-out', 1],
      ['done', 2499],
    ]);
    expect(rects[1].x1 - rects[1].x0).toBe(4);
  });

  test('bars far enough apart stay separate; a running bar reaches now', () => {
    const rects = layoutBars([bar(0, 50), bar(100, 150), bar(160, 161), bar(200, null, 'running')], 400, x);
    expect(rects.map((r) => [r.x0, r.x1, r.count])).toEqual([
      [0, 5, 1],
      [10, 15, 1],
      [16, 17.5, 1],
      [20, 40, 1],
    ]);
  });
});

test('rect keys: the same reservations read by another cluster\'s timeline (a seek restores a new cluster) have the same keys, unique in their row', async () => {
  const rectsOf = async () => {
    const c = piRun({ workers: 2, jobs: 8, darts: 800_000 });
    await c.runUntil(() => producerDone(c), 600_000);
    const h = new TimelineHistory(c.startedAt);
    h.update(c);
    return h.workerRows().map((row) => layoutBars(row.bars, c.now - c.startedAt, (ms) => ms));
  };
  const [a, b] = [await rectsOf(), await rectsOf()];
  expect(a[0][0].first).not.toBe(b[0][0].first);
  expect(a.map((row) => row.map(rectKey))).toEqual(b.map((row) => row.map(rectKey)));
  for (const row of a) expect(new Set(row.map(rectKey)).size).toBe(row.length);
  expect(a.flat().length).toBeGreaterThan(4);
});

describe('bandLabels', () => {
  test('actions too close to label apart share a label; distant ones keep their own', () => {
    const labels = bandLabels([
      { x: 300, text: 'restart producer' },
      { x: 10, text: 'server crash' },
      { x: 298, text: 'server restart' },
    ]);
    expect(labels).toEqual([
      { x: 10, text: 'server crash' },
      { x: 298, text: 'server restart · restart producer' },
    ]);
  });
});

describe('chart series', () => {
  test('cumulative jobs done is a step line from 0 to now', () => {
    expect(cumulativeDone([10, 30], 50)).toEqual([
      { x: 0, y: 0 },
      { x: 10, y: 1 },
      { x: 30, y: 2 },
      { x: 50, y: 2 },
    ]);
    expect(cumulativeDone([], 0)).toEqual([
      { x: 0, y: 0 },
      { x: 0, y: 0 },
    ]);
  });

  test('throughput counts completions in the moving window', () => {
    // One job every 10 ms: 100 jobs/s once the window is full.
    const times = Array.from({ length: 100 }, (_, i) => (i + 1) * 10);
    const pts = throughput(times, 1000, 100, 10);
    expect(pts).toHaveLength(11);
    expect(pts[0]).toEqual({ x: 0, y: 0 });
    for (const p of pts.slice(1)) expect(p.y).toBeCloseTo(100, 9);
    // After the work stops the rate falls to zero once the window has passed.
    const tail = throughput([100, 200], 1000, 100, 10);
    expect(tail.map((p) => p.y)).toEqual([0, 10, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('the throughput window is a round length of about a twentieth of the run', () => {
    expect(throughputWindow(100)).toBe(10);
    expect(throughputWindow(3000)).toBe(200);
    expect(throughputWindow(60_000)).toBe(5000);
    expect(throughputWindow(1e9)).toBe(60_000);
  });

  test.each([
    ['no job expected yet: the clock', [], 0, 900, 900],
    ['jobs still running: the clock', [100, 300], 3, 900, 900],
    ['every expected job done: when the last finished, not the clock', [100, 300, 420], 3, 5000, 420],
    ['more done than expected (a job ran twice): when the expected count was reached', [100, 300, 420, 600], 3, 5000, 420],
  ])('jobsDoneTime, %s', (_what, times, expected, now, shown) => {
    expect(jobsDoneTime(times, expected, now)).toBe(shown);
  });

  test('mergeTimes sorts all nodes\' completions together', () => {
    expect(mergeTimes([[5, 20], [1, 10]])).toEqual([1, 5, 10, 20]);
  });

  test('π progress per combined result; a producer restarted from scratch starts a new series', () => {
    const p = (darts: number, hits: number): NodeReport => ({ kind: 'pi-progress', darts, hits, received: 0, expected: 0 });
    const reports: NodeReport[] = [p(100, 78), { kind: 'task-done', job: 1, task: 'pi', ms: 1, units: 1 }, p(200, 157), p(100, 80), p(200, 158)];
    const pts = piProgress(reports);
    expect(pts.map((x) => x.darts)).toEqual([100, 200]);
    expect(pts[1].estimate).toBeCloseTo(3.16, 12);
    expect(pts[1].error).toBeCloseTo(3.16 - Math.PI, 12);
  });

  test('the expected error falls as 1/√n', () => {
    expect(expectedError(1)).toBeCloseTo(1.6422, 4);
    expect(expectedError(10_000) / expectedError(1_000_000)).toBeCloseTo(10, 12);
  });
});

describe('axis ticks', () => {
  test('powers of ten read as 10ⁿ with superscript exponents', () => {
    expect(powerOfTen(6)).toBe('10⁶');
    expect(powerOfTen(-12)).toBe('10⁻¹²');
    expect(powerOfTen(0)).toBe('10⁰');
  });

  test('a log domain is widened to whole decades', () => {
    expect(decadeDomain(3.2e-4, 0.05)).toEqual([1e-4, 0.1]);
    expect(decadeDomain(1000, 1000)).toEqual([1000, 1000]);
  });

  test('decade ticks: every decade, thinned on a short axis but always keeping the top one', () => {
    const y = scaleLog().domain([1e-6, 1e-1]).range([100, 0]);
    expect(decadeTicks(y).map((t) => t.label)).toEqual(['10⁻⁶', '10⁻⁵', '10⁻⁴', '10⁻³', '10⁻²', '10⁻¹']);
    expect(decadeTicks(y, 3).map((t) => t.label)).toEqual(['10⁻⁵', '10⁻³', '10⁻¹']);
    expect(decadeTicks(y)[0].pos).toBeCloseTo(100, 9);
  });

  test('linear ticks carry their pixel position and label', () => {
    const x = scaleLinear().domain([0, 1]).range([0, 200]);
    expect(linearTicks(x, 2)).toEqual([
      { pos: 0, label: '0.0' },
      { pos: 100, label: '0.5' },
      { pos: 200, label: '1.0' },
    ]);
    expect(tickCount(82, 26, 6)).toBe(3);
    expect(tickCount(10, 26, 6)).toBe(2);
    expect(tickCount(1000, 26, 6)).toBe(6);
  });
});
