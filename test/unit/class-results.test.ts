// The class results export: the roster (everyone's contributions) and the room's speedup experiment with
// each machine's share and Amdahl's law fitted, in one JSON file or one self-contained HTML page.
import { describe, expect, test } from 'vitest';
import { classResults, classResultsHtml, classResultsJson, machineShares, type ClassResultsInput } from '../../src/ui/class-results.ts';
import { rosterRows } from '../../src/net/roster.ts';
import { speedupPoints, type RunMeasurement } from '../../src/sim/experiment.ts';
import type { RoomPeer } from '../../src/net/room-host.ts';
import { amdahlSpeedup } from '../../src/sim/amdahl.ts';

const EVIL = `<script>alert("x")</script>`;

function peer(no: number, name: string, over: Partial<RoomPeer> = {}): RoomPeer {
  return { no, peer: `p${no}`, name, state: 'admitted', slots: 2, link: { peer: `p${no}`, rtt: 4, connected: true }, jobsDone: 0, lesson: null, ...over };
}

const roster = rosterRows(
  [
    peer(1, 'Ada', { platform: 'Linux x86_64', cores: 4, jobsDone: 14, lesson: { lesson: 'speedup', step: 2 } }),
    peer(2, EVIL, { jobsDone: 10 }),
    peer(3, 'Cy', { state: 'gone', reason: 'left the room', jobsDone: 3 }),
  ],
  (id) => (id === 'speedup' ? { title: 'Speedup', steps: 7 } : undefined),
);

const node = (name: string, kind: 'local' | 'remote', jobs: number) => ({ name, kind, jobs, jobSeconds: jobs, rttMs: kind === 'remote' ? 4 : null });
// T1 = 12 s; f = 0.1 gives S(2) = 1/0.55 and S(4) = 1/0.325.
const runs: RunMeasurement[] = [
  { kind: 'local', workers: 1, seconds: 12, producerSeconds: 12, estimate: 3.14, nodes: [node('worker 1', 'local', 12)] },
  { kind: 'remote', workers: 2, seconds: 12 / amdahlSpeedup(0.1, 2), producerSeconds: 6, estimate: 3.14, nodes: [node('remote 1.1', 'remote', 7), node('remote 2.1', 'remote', 5)] },
  {
    kind: 'remote',
    workers: 4,
    seconds: 12 / amdahlSpeedup(0.1, 4),
    producerSeconds: 4,
    estimate: 3.14,
    nodes: [node('remote 1.1', 'remote', 3), node('remote 2.1', 'remote', 3), node('remote 1.2', 'remote', 4), node('remote 2.2', 'remote', 2)],
  },
];
const points = speedupPoints(runs);
const setup = { scenario: { kind: 'pi', darts: 1000, jobs: 12, workers: 1, ttr: 30, autostart: false }, seed: 3, mode: 'live', nodes: 'room' } as const;
const input: ClassResultsInput = { room: 'abcdefgh2345', made: '2026-12-05 11:00 UTC', roster, points, setup };

describe('class results', () => {
  test("each joiner's contributions: machine, nodes, jobs done, round trip, lesson and step (from 1)", () => {
    const c = classResults(input);
    expect(c.totals).toEqual({ joiners: 2, nodes: 4, jobsDone: 27 });
    expect(c.joiners[0]).toEqual({ no: 1, name: 'Ada', machine: 'Linux x86_64', cores: 4, nodes: 2, status: 'in the room', jobsDone: 14, rttMs: 4, lesson: { id: 'speedup', step: 3, text: 'Speedup — step 3 of 7' } });
    expect(c.joiners[2]).toMatchObject({ name: 'Cy', status: 'left: left the room', jobsDone: 3, rttMs: null, lesson: null });
  });

  test("the room's experiment: each run's jobs by machine (a joiner's nodes together) and Amdahl's law fitted", () => {
    const c = classResults(input);
    expect(c.experiment?.amdahl?.f).toBeCloseTo(0.1, 6);
    expect(c.experiment?.amdahlText).toBe('serial fraction 10%: no more than 10× however many nodes');
    expect(c.experiment?.runs.map((r) => r.machines.map((m) => [m.machine, m.nodes, m.jobs, m.share]))).toEqual([
      [['host', 1, 12, 1]],
      [
        ['Ada', 1, 7, 7 / 12],
        [EVIL, 1, 5, 5 / 12],
      ],
      [
        ['Ada', 2, 7, 7 / 12],
        [EVIL, 2, 5, 5 / 12],
      ],
    ]);
    // A joiner no longer on the roster is named by its number.
    expect(machineShares(points[1], []).map((m) => m.machine)).toEqual(['joiner 1', 'joiner 2']);
  });

  test('JSON round-trips: one file with the roster and the experiment', () => {
    const parsed = JSON.parse(classResultsJson(input));
    expect(parsed.format).toBe('beanlab-class-results');
    expect(parsed.joiners).toHaveLength(3);
    expect(parsed.experiment.setup).toEqual(setup);
    expect(parsed.experiment.runs).toHaveLength(3);
  });

  test('without an experiment the file still holds the roster', () => {
    expect(classResults({ ...input, points: [], setup: null }).experiment).toBeNull();
    expect(classResultsHtml({ ...input, points: [], setup: null })).toContain('No speedup experiment was run over the room');
  });

  test('HTML: the roster, the plot with the fitted curve and the runs by machine, every name escaped, no script', () => {
    const html = classResultsHtml(input);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('<td>Speedup — step 3 of 7</td>');
    expect(html).toContain('class="amdahl"');
    expect(html).toContain('serial fraction 10%: no more than 10× however many nodes');
    expect(html).toContain('Ada: 7 (58 %)');
  });
});
