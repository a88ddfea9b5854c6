// Comparing two branches of a run: each branch's figures read from its record alone (the producer's
// completion, jobs run more than once, results and the π estimate, events, failures injected), and the
// rows the comparison panel shows with their differences.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { setUp } from '../../src/sim/scenario.ts';
import { TimeTravel } from '../../src/sim/branches.ts';
import type { ClusterAction, TraceEntry } from '../../src/sim/run-record.ts';
import { compareRows, summarize, type BranchSummary } from '../../src/ui/charts/branch-compare.ts';

/** A trace entry in short: [at, kind, node, text, job?], or [at, action, node, label]. */
type Row = [number, TraceEntry['kind'], number, string, number?] | [number, ClusterAction, number, string];
function trace(rows: Row[]): TraceEntry[] {
  return rows.map(([at, kind, node, text, job], n) =>
    typeof kind === 'object' ? { n, at, kind: 'action', node, action: kind, text } : { n, at, kind, node, text, ...(job === undefined ? {} : { job }) },
  );
}
const producer: ClusterAction = { op: 'add-node', name: 'producer', config: { role: 'producer', producer: { tasks: [] } } as never };
const worker: ClusterAction = { op: 'add-node', name: 'worker 1', config: { role: 'worker', worker: {} } as never };

describe('summarize reads a branch from its trace', () => {
  const base = [
    [0, worker, 1, 'add worker 1'],
    [0, producer, 2, 'add producer'],
    [5, 'to-node', 2, 'INSERTED 1'],
    [6, 'to-node', 2, 'INSERTED 2'],
    [7, 'to-node', 1, 'RESERVED 1 14⏎pi 100000 4000', 1],
  ] as Row[];
  const cases: { name: string; rows: Row[]; want: Omit<BranchSummary, 'events'> }[] = [
    { name: 'jobs put, none back yet: not done, no results', rows: base, want: { completion: null, rerun: 0, results: 0, pi: null, failures: [] } },
    {
      name: 'every result deleted: done at the last DELETED, π from the bodies the producer took',
      rows: [
        ...base,
        [20, 'to-node', 2, 'RESERVED 3 15⏎pi 100000 78000', 3],
        [21, 'to-node', 2, 'DELETED'],
        [22, 'to-node', 1, 'RESERVED 2 14⏎pi 100000 4001', 2],
        [30, 'to-node', 2, 'RESERVED 4 15⏎pi 100000 79000', 4],
        [31, 'to-node', 2, 'DELETED'],
      ],
      want: { completion: 31, rerun: 0, results: 2, pi: (4 * 157_000) / 200_000, failures: [] },
    },
    {
      name: 'a job reserved again after a hang runs more than once; the hang is a failure, a restart is not',
      rows: [
        ...base,
        [8, { op: 'hang', node: 1 }, 1, 'hang worker 1'],
        [9, { op: 'restart', node: 1 }, 1, 'restart worker 1'],
        [50, 'to-node', 1, 'RESERVED 1 14⏎pi 100000 4000', 1],
      ],
      want: { completion: null, rerun: 1, results: 0, pi: null, failures: ['hang worker 1'] },
    },
    {
      name: 'a result that is not π counts as a result without an estimate',
      rows: [...base, [20, 'to-node', 2, 'RESERVED 3 9⏎C 0 1 42', 3]],
      want: { completion: null, rerun: 0, results: 1, pi: null, failures: [] },
    },
  ];
  test.each(cases)('$name', ({ rows, want }) => {
    expect(summarize({ events: 99, trace: trace(rows) })).toEqual({ events: 99, ...want });
  });
});

describe('compareRows: each branch’s figures and the difference b − a', () => {
  const a: BranchSummary = { events: 400, completion: 1200, rerun: 0, results: 6, pi: 3.14, failures: [] };
  const b: BranchSummary = { events: 460, completion: 4350, rerun: 1, results: 6, pi: 3.1425, failures: ['hang worker 1'] };
  test('a hang: later, a job run twice, more events, one failure', () => {
    expect(compareRows(a, b)).toEqual([
      { name: 'producer done at', a: '1.200 s', b: '4.350 s', diff: '+3.150 s' },
      { name: 'jobs run more than once', a: '0', b: '1', diff: '+1' },
      { name: 'π estimate', a: '3.140000', b: '3.142500', diff: '+0.002500' },
      { name: 'results received', a: '6', b: '6', diff: 'same' },
      { name: 'events', a: '400', b: '460', diff: '+60' },
      { name: 'failures injected', a: 'none', b: '1: hang worker 1', diff: '+1' },
    ]);
  });
  test('the other way round the differences change sign; a branch not done has no difference', () => {
    const rows = compareRows({ ...b, completion: null }, a);
    expect(rows[0]).toEqual({ name: 'producer done at', a: 'not done', b: '1.200 s', diff: '' });
    expect(rows[4].diff).toBe('−60');
    expect(rows[5].diff).toBe('−1');
  });
  test('no π results on either side: no π row', () => {
    expect(compareRows({ ...a, pi: null }, { ...b, pi: null }).map((r) => r.name)).not.toContain('π estimate');
  });
});

describe('on a real run forked by a hang', () => {
  const clusters: Cluster[] = [];
  afterEach(() => {
    for (const c of clusters.splice(0)) c.dispose();
  });
  const producerDetail = (c: Cluster) => [...c.nodes.values()].find((n) => n.role === 'producer')!.status.detail ?? '';

  test('each branch’s figures agree with what its own cluster showed at its end', async () => {
    const c = new Cluster({ seed: 4, mode: 'virtual', spawn: spawnInThread });
    clusters.push(c);
    setUp(c, { kind: 'pi', darts: 400_000, jobs: 4, workers: 2, ttr: 2, autostart: true }, 4);
    const travel = new TimeTravel(c, spawnInThread);
    await c.runUntil(() => false, 20_000);
    const first = summarize({ events: c.eventCount, trace: c.trace });
    const firstDetail = producerDetail(c);
    // Back to just after worker 1 reserved its first job, and hang it there: a new branch.
    const reservedAt = c.trace.toArray().find((e) => e.kind === 'to-node' && e.node === 1 && e.job !== undefined)!.n;
    const forked = await travel.seek(c.trace.toArray().filter((e) => e.n <= reservedAt && e.kind !== 'action').length);
    clusters.push(forked);
    forked.hangNode(1);
    expect(travel.branches).toHaveLength(2);
    await travel.advanceTo(forked.clock.now() + 20_000);
    const second = summarize({ events: forked.eventCount, trace: forked.trace });

    expect(firstDetail).toContain(`π ≈ ${first.pi!.toFixed(6)}`);
    expect(producerDetail(forked)).toContain(`π ≈ ${second.pi!.toFixed(6)}`);
    expect([first.rerun, second.rerun]).toEqual([0, 1]);
    expect([first.results, second.results]).toEqual([4, 4]);
    expect(second.failures).toEqual([expect.stringMatching(/^hang worker 1$/)]);
    // The hung job waited for its TTR (2 s) before running again.
    expect(second.completion! - first.completion!).toBeGreaterThan(1500);
    expect(first.events).toBe(travel.branches[0].record.events);
    expect(summarize(travel.branches[0].record)).toEqual(first);
  });
});
