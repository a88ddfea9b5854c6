// The timeline's zoom as plain data: the window zooms around a point, pans, never leaves the run, and
// the run's end stops moving once the run has ended while the clock runs on.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { jobCount, setUp, type PiScenario } from '../../src/sim/scenario.ts';
import { clampWindow, inWindow, MIN_SPAN_MS, panBy, runEnd, runSpan, wheelFactor, zoomAround, zoomTo, zoomWindow, type TimeWindow } from '../../src/ui/charts/zoom.ts';
import { expectedJobCount, workerDoneTimes } from '../../src/ui/charts/series.ts';
import { TimelineHistory } from '../../src/ui/charts/timeline.ts';

describe('zoomAround keeps the anchor where it is on the axis and the window inside the run', () => {
  const cases: { name: string; w: TimeWindow; factor: number; anchor: number; span: number; want: TimeWindow | null }[] = [
    { name: 'zoom in ×2 around the centre', w: { t0: 0, t1: 1000 }, factor: 0.5, anchor: 500, span: 1000, want: { t0: 250, t1: 750 } },
    { name: 'zoom in ×2 around a point at a quarter', w: { t0: 0, t1: 1000 }, factor: 0.5, anchor: 250, span: 1000, want: { t0: 125, t1: 625 } },
    { name: 'zoom in around the start keeps the start', w: { t0: 0, t1: 1000 }, factor: 0.1, anchor: 0, span: 1000, want: { t0: 0, t1: 100 } },
    { name: 'zoom out past the whole run is the whole run (fit)', w: { t0: 200, t1: 400 }, factor: 10, anchor: 300, span: 1000, want: null },
    { name: 'zoom out near the end slides back inside the run', w: { t0: 800, t1: 1000 }, factor: 2, anchor: 1000, span: 1000, want: { t0: 600, t1: 1000 } },
    { name: 'an anchor outside the window counts as its nearest edge', w: { t0: 100, t1: 200 }, factor: 0.5, anchor: -50, span: 1000, want: { t0: 100, t1: 150 } },
    { name: 'the nice-rounded whole axis (wider than the run) zooms in', w: { t0: 0, t1: 14_000 }, factor: 0.5, anchor: 7000, span: 12_300, want: { t0: 3500, t1: 10_500 } },
    { name: `never narrower than ${MIN_SPAN_MS} ms`, w: { t0: 500, t1: 502 }, factor: 0.01, anchor: 501, span: 1000, want: { t0: 500.5, t1: 501.5 } },
  ];
  test.each(cases)('$name', ({ w, factor, anchor, span, want }) => {
    const got = zoomAround(w, factor, anchor, span);
    if (want === null) return expect(got).toBeNull();
    expect(got!.t0).toBeCloseTo(want.t0, 9);
    expect(got!.t1).toBeCloseTo(want.t1, 9);
  });

  test('zooming in and out again by the same factor around the same point gives the window back', () => {
    const w = { t0: 1200, t1: 5200 };
    const back = zoomAround(zoomAround(w, 1 / 1.5, 3000, 10_000)!, 1.5, 3000, 10_000)!;
    expect(back.t0).toBeCloseTo(w.t0, 9);
    expect(back.t1).toBeCloseTo(w.t1, 9);
  });
});

describe('panBy moves a zoomed window and stops at the run’s start and end', () => {
  test.each([
    { name: 'later', w: { t0: 100, t1: 300 }, d: 50, want: { t0: 150, t1: 350 } },
    { name: 'earlier', w: { t0: 100, t1: 300 }, d: -50, want: { t0: 50, t1: 250 } },
    { name: 'not before 0', w: { t0: 100, t1: 300 }, d: -500, want: { t0: 0, t1: 200 } },
    { name: 'not after the run’s end', w: { t0: 100, t1: 300 }, d: 5000, want: { t0: 800, t1: 1000 } },
  ])('$name', ({ w, d, want }) => {
    expect(panBy(w, d, 1000)).toEqual(want);
  });
  test('the whole run does not pan', () => {
    expect(panBy(null, 100, 1000)).toBeNull();
  });
});

describe('a zoom while the run goes on', () => {
  test('a window that reaches the run’s end slides with it, at the same width', () => {
    const z = zoomTo(zoomAround({ t0: 0, t1: 1000 }, 0.2, 1000, 1000), 1000)!;
    expect(z.atEnd).toBe(true);
    expect(zoomWindow(z, 1000)).toEqual({ t0: 800, t1: 1000 });
    expect(zoomWindow(z, 3000)).toEqual({ t0: 2800, t1: 3000 });
  });
  test('a window panned back from the end stays where the student put it', () => {
    const z = zoomTo(panBy({ t0: 800, t1: 1000 }, -300, 1000), 1000)!;
    expect(z.atEnd).toBe(false);
    expect(zoomWindow(z, 3000)).toEqual({ t0: 500, t1: 700 });
  });
  test('the whole run is no zoom', () => {
    expect(zoomTo(null, 1000)).toBeNull();
  });
});

describe('clampWindow, runSpan, wheelFactor, inWindow', () => {
  test('a zoom made while the run was longer (a replay restarted) is pulled back inside the run', () => {
    expect(clampWindow({ t0: 900, t1: 1100 }, 1000)).toEqual({ t0: 800, t1: 1000 });
    expect(clampWindow({ t0: 0, t1: 1000 }, 1000)).toBeNull();
  });
  test('the run’s span is its end once it has ended, the clock before, at least 100 ms', () => {
    expect(runSpan(5000, null)).toBe(5000);
    expect(runSpan(9000, 4200)).toBe(4200);
    expect(runSpan(20, null)).toBe(100);
  });
  test('a wheel notch zooms by 1.5 in either direction; lines and pages count as pixels; a huge delta zooms one notch', () => {
    expect(wheelFactor(100, 0)).toBeCloseTo(1.5, 9);
    expect(wheelFactor(-100, 0)).toBeCloseTo(1 / 1.5, 9);
    expect(wheelFactor(3, 1)).toBeCloseTo(wheelFactor(99, 0), 9);
    expect(wheelFactor(5000, 0)).toBeCloseTo(1.5, 9);
    expect(wheelFactor(10, 0)).toBeGreaterThan(1);
    expect(wheelFactor(10, 0)).toBeLessThan(1.05);
  });
  test('a bar shows if any of it (a running one: up to now) is in the window', () => {
    const w = { t0: 100, t1: 200 };
    expect(inWindow({ start: 50, end: 120 }, 1000, w)).toBe(true);
    expect(inWindow({ start: 150, end: 160 }, 1000, w)).toBe(true);
    expect(inWindow({ start: 10, end: 90 }, 1000, w)).toBe(false);
    expect(inWindow({ start: 210, end: 300 }, 1000, w)).toBe(false);
    expect(inWindow({ start: 10, end: null }, 1000, w)).toBe(true);
    expect(inWindow({ start: 10, end: null }, 90, w)).toBe(false);
  });
});

describe('runEnd', () => {
  const bars = [
    { end: 400 },
    { end: 900 },
  ];
  test.each([
    { name: 'jobs still expected: the run goes on', done: [300, 800], expected: 3, bars, actions: [], want: null },
    { name: 'every job done: the last completion or bar end', done: [300, 800], expected: 2, bars, actions: [], want: 900 },
    { name: 'a reservation still running: the run goes on', done: [300, 800], expected: 2, bars: [...bars, { end: null }], actions: [], want: null },
    { name: 'an action after the last job counts', done: [300, 800], expected: 2, bars, actions: [1500], want: 1500 },
    { name: 'no jobs expected (no producer): never ends', done: [], expected: 0, bars: [], actions: [], want: null },
  ])('$name', ({ done, expected, bars, actions, want }) => {
    expect(runEnd(done, expected, bars, actions)).toBe(want);
  });

  const clusters: Cluster[] = [];
  afterEach(() => {
    for (const c of clusters.splice(0)) c.dispose();
  });

  test('on a simulated π run: unknown while jobs are left, then fixed at the last job’s end while the clock runs on', async () => {
    const scenario: PiScenario = { kind: 'pi', darts: 400_000, jobs: 6, workers: 2, ttr: 40, autostart: true };
    const c = new Cluster({ seed: 3, mode: 'virtual', spawn: spawnInThread });
    clusters.push(c);
    setUp(c, scenario, 3);
    const h = new TimelineHistory(c.startedAt);
    const endNow = () => {
      h.update(c);
      const nodes = [...c.nodes.values()];
      const rows = h.workerRows();
      return runEnd(workerDoneTimes(nodes), expectedJobCount(nodes, jobCount(scenario)), rows.flatMap((r) => r.bars), h.markers.map((m) => m.at));
    };
    const producerDone = () => [...c.nodes.values()].some((n) => n.role === 'producer' && n.status.state === 'done');
    let seenRunning = false;
    while (!producerDone()) {
      if (!(await c.step())) break;
      // The workers' part ends with the last delete, a little before the producer sums the last result.
      if (workerDoneTimes([...c.nodes.values()]).length < scenario.jobs) {
        expect(endNow()).toBeNull();
        seenRunning = true;
      }
    }
    expect(seenRunning).toBe(true);
    const end = endNow();
    expect(end).not.toBeNull();
    const bars = h.workerRows().flatMap((r) => r.bars);
    expect(bars.filter((b) => b.outcome === 'done')).toHaveLength(6);
    // A worker reports a task done as it deletes the job: the later of the two is the end.
    expect(end).toBe(Math.max(...bars.map((b) => b.end!), ...workerDoneTimes([...c.nodes.values()])));
    expect(end!).toBeLessThanOrEqual(c.now);
    await c.advanceTo(c.clock.now() + 30_000);
    expect(c.now).toBeGreaterThan(end! + 29_000);
    expect(endNow()).toBe(end);
    expect(runSpan(c.now, endNow())).toBe(end);
  });
});
