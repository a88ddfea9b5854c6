// Result checking (issue 11): a share of the jobs is re-run on another node, outside the queue, and the
// two results compared exactly. Rooms over in-memory channels, with honest joiners and one that cheats
// (every π job "hits" with every dart, in what it puts and in what it reports); and a simulated run.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import type { NodeProcess } from '../../src/nodes/process.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { piTasks, producerConfig, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import { countPiHits, piEstimate } from '../../src/tasks/index.ts';
import { RoomHost } from '../../src/net/room-host.ts';
import { RoomMember } from '../../src/net/room-member.ts';
import { pickedForCheck } from '../../src/sim/verify.ts';
import type { FromNode, NodeReport } from '../../src/nodes/messages.ts';
import { latin1, latin1Bytes } from '../../src/protocol/wire.ts';
import { channelPair, CODE, SECRET, until, wall } from './net-fake-channel.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function room(seed = 3) {
  const cluster = new Cluster({ seed, mode: 'live', spawn: spawnInThread });
  const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => cluster, worker: WORKER, now: wall });
  cleanup.push(() => {
    host.close();
    cluster.dispose();
  });
  return { cluster, host };
}

function join(host: RoomHost, spawn: (slot: number) => NodeProcess = spawnInThread, slots = 1) {
  const peer = `joiner-${Math.random()}`;
  const { host: hostEnd, joiner } = channelPair('beanlab-host', peer);
  host.accept(hostEnd);
  const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots, name: peer, spawn, now: wall });
  cleanup.push(() => member.leave());
  return member;
}

/** What a cheating worker sends instead of `m`: every π result claims hits = darts, in its put and in its report. */
function lieInResults(m: FromNode): FromNode {
  if (m.t === 'report' && m.report.kind === 'task-done' && m.report.result) return { ...m, report: { ...m.report, result: m.report.result.replace(/^pi (\d+) \d+$/, 'pi $1 $1') } };
  if (m.t !== 'data') return m;
  const text = latin1(m.bytes).replace(/put (\d+) (\d+) (\d+) \d+\r\npi (\d+) \d+\r\n/, (_, pri, delay, ttr, darts) => {
    const body = `pi ${darts} ${darts}`;
    return `put ${pri} ${delay} ${ttr} ${body.length}\r\n${body}\r\n`;
  });
  return { ...m, bytes: latin1Bytes(text) };
}

/** What a worker that lies only when asked to check others sends instead of `m`: its re-runs claim hits = darts. */
function lieInReruns(m: FromNode): FromNode {
  return m.t === 'rerun-done' && 'result' in m ? { ...m, result: m.result.replace(/^pi (\d+) \d+$/, 'pi $1 $1') } : m;
}

/** A joiner's worker that cheats: the worker program, with what it sends passed through `lie`. */
function cheating(lie: (m: FromNode) => FromNode = lieInResults): NodeProcess {
  const p = spawnInThread();
  return {
    postMessage: (m, transfer) => p.postMessage(m, transfer),
    terminate: () => p.terminate(),
    get onmessage() {
      return p.onmessage;
    },
    set onmessage(fn) {
      p.onmessage = fn && ((e) => fn({ data: lie(e.data) } as MessageEvent<FromNode>));
    },
  };
}

const producerOf = (c: Cluster) => [...c.nodes.values()].find((n) => n.role === 'producer');
const estimate = (c: Cluster) =>
  producerOf(c)?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done')?.estimate;
const node = (c: Cluster, name: string) => [...c.nodes.values()].find((n) => n.name === name)!;
/** Jobs done, by the node that did them (from the history). */
const jobsOf = (c: Cluster, name: string) => c.history.records.filter((r) => r.tube === 'msg_for_worker' && r.runner === name);
const settled = (c: Cluster) => c.checker.totals.pending === 0;

const pi: PiScenario = { kind: 'pi', darts: 600_000, jobs: 12, workers: 0, ttr: 40, autostart: true };

/** A run to its estimate, then until each job's report is in (it follows the job's delete) and checked. */
async function run(c: Cluster, s: PiScenario = pi, seed = 3) {
  c.addNode('producer', producerConfig(s, seed));
  await c.runUntil(() => estimate(c) !== undefined, 30_000);
  await until(() => [...c.nodes.values()].reduce((t, n) => t + n.done.length, 0) >= s.jobs && settled(c));
}

describe('which jobs are picked', () => {
  test('each job is picked with probability `fraction`, seeded by the run and the job id, whatever order jobs come in', () => {
    for (const f of [0.1, 0.25, 0.5]) {
      const picked = Array.from({ length: 10_000 }, (_, i) => pickedForCheck(7, i + 1, f)).filter(Boolean).length;
      expect(Math.abs(picked / 10_000 - f)).toBeLessThan(0.02);
    }
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(ids.filter((id) => pickedForCheck(7, id, 0))).toEqual([]);
    expect(ids.filter((id) => pickedForCheck(7, id, 1))).toEqual(ids);
    // The same seed picks the same jobs; another seed others.
    const at = (seed: number) => ids.filter((id) => pickedForCheck(seed, id, 0.25));
    expect(at(7)).toEqual(at(7));
    expect(at(8)).not.toEqual(at(7));
  });
});

describe('verify results in a room', () => {
  test('honest joiners at 100%: every job re-run on the other joiner and agreed; π and its results exactly as without checking', async () => {
    const plain = room();
    join(plain.host);
    join(plain.host);
    await until(() => plain.cluster.nodes.size === 2);
    await run(plain.cluster);
    const { cluster, host } = room();
    host.verification.set(1);
    join(host);
    join(host);
    await until(() => cluster.nodes.size === 2);
    await run(cluster);
    expect(cluster.checker.totals).toEqual({ pending: 0, agreed: 12, disagreed: 0, unchecked: 0 });
    // Each job's re-run was on the other machine.
    for (const c of cluster.checker.checks) expect([c.node, c.checker].sort()).toEqual(['remote 1.1', 'remote 2.1']);
    for (const name of ['remote 1.1', 'remote 2.1']) expect(cluster.checker.node(node(cluster, name).id).disagreed).toBe(0);
    // The re-runs put nothing: the producer summed exactly 12 results, the same as in the run without checking.
    expect(cluster.history.records.filter((r) => r.tube === 'msg_for_client')).toHaveLength(12);
    expect(estimate(cluster)).toBe(estimate(plain.cluster));
    // The price: one re-run per job, computing time counted.
    expect(cluster.checker.work).toMatchObject({ jobs: 12, reruns: 12 });
    expect(cluster.checker.work.rerunMs).toBeGreaterThan(0);
    const record = jobsOf(cluster, 'remote 1.1')[0];
    expect(record.check).toMatchObject({ verdict: 'agreed', by: 'remote 2.1' });
    expect(record.steps.map((s) => `${s.what}${s.node ? ` by ${s.node}` : ''}`)).toContain('result verified: the same result from a re-run by remote 2.1');
  });

  test('with checking off (the default) nothing is re-run and nobody is flagged, cheater or not', async () => {
    const { cluster, host } = room();
    join(host);
    join(host, () => cheating());
    await until(() => cluster.nodes.size === 2);
    await run(cluster);
    expect(estimate(cluster)).toBeGreaterThan(3.3);
    expect(cluster.checker.checks).toEqual([]);
    expect(cluster.checker.work.reruns).toBe(0);
  });

  test('a cheater (hits = darts) is flagged for every job of its that is picked, at 50%; the honest joiner never', async () => {
    const { cluster, host } = room();
    host.verification.set(0.5);
    join(host);
    join(host, () => cheating());
    await until(() => cluster.nodes.size === 2);
    await run(cluster, { ...pi, darts: 1_200_000, jobs: 24 });
    const honest = node(cluster, 'remote 1.1');
    const cheater = node(cluster, 'remote 2.1');
    // Jobs are picked as pickedForCheck says: the seeded fraction, whatever node ran them.
    const picked = (name: string) => jobsOf(cluster, name).filter((r) => pickedForCheck(3, r.id, 0.5));
    expect(cluster.checker.checks.map((c) => c.job).sort((a, b) => a - b)).toEqual([...picked('remote 1.1'), ...picked('remote 2.1')].map((r) => r.id).sort((a, b) => a - b));
    expect(picked('remote 2.1').length).toBeGreaterThan(0);
    expect(cluster.checker.node(cheater.id)).toMatchObject({ agreed: 0, disagreed: picked('remote 2.1').length });
    expect(cluster.checker.node(honest.id).disagreed).toBe(0);
    // Once the cheater is caught, it re-runs nobody's jobs: with no other machine left, the honest node's are not checked.
    const firstCaught = cluster.checker.checks.findIndex((c) => c.verdict === 'disagreed');
    expect(cluster.checker.checks.slice(firstCaught + 1).filter((c) => c.checker === 'remote 2.1')).toEqual([]);
    for (const c of cluster.checker.checks.filter((c) => c.node === 'remote 1.1')) {
      if (c.verdict === 'agreed') expect(c.checker).toBe('remote 2.1');
      else expect(c).toMatchObject({ verdict: 'unchecked', why: 'no other node to re-run it on' });
    }
    // Jobs not picked are not checked: nothing in their record.
    for (const r of jobsOf(cluster, 'remote 2.1')) expect(r.check?.verdict).toBe(pickedForCheck(3, r.id, 0.5) ? 'disagreed' : undefined);
    const bad = picked('remote 2.1')[0];
    const darts = 50_000;
    expect(bad.check).toMatchObject({ verdict: 'disagreed', by: 'remote 1.1', claimed: `pi ${darts} ${darts}` });
    const step = bad.steps.find((x) => x.what.startsWith('result'))!;
    expect(step.what).toMatch(new RegExp(`^result disagreed: pi ${darts} ${darts} given, pi ${darts} \\d+ from a re-run$`));
    expect(step.node).toBe('remote 1.1');
  });

  test('a checker that lies in its re-runs is caught by a third re-run; the node it accused stays clean', async () => {
    const { cluster, host } = room();
    host.verification.set(1);
    host.verification.excludeOnDisagreement = true;
    join(host);
    join(host);
    const liar = join(host, () => cheating(lieInReruns));
    await until(() => cluster.nodes.size === 3);
    await run(cluster);
    await until(() => liar.state.phase === 'left');
    // Only the liar was excluded, for a re-run that a third machine contradicted.
    expect(host.peers.map((p) => p.state)).toEqual(['admitted', 'admitted', 'gone']);
    expect(host.peers[2].reason).toMatch(/^excluded by the host: its result for job \d+ disagreed with a re-run on remote [12]\.1$/);
    for (const name of ['remote 1.1', 'remote 2.1']) expect(cluster.checker.node(node(cluster, name).id).disagreed).toBe(0);
    expect(cluster.checker.totals.disagreed).toBe(0);
    // The job it lied about was verified by the third re-run, and its record tells the story.
    const overruled = cluster.history.records.find((r) => r.check?.verdict === 'agreed' && r.check.overruled)!;
    expect(overruled.check).toMatchObject({ overruled: { by: 'remote 3.1' } });
    const story = overruled.steps.filter((x) => /re-run/.test(x.what)).map((x) => `${x.what}${x.node ? ` by ${x.node}` : ''}`);
    expect(story[0]).toMatch(/^re-run by remote 3\.1 disagreed: pi (\d+) \1, not pi \1 \d+; a third re-run decides$/);
    expect(story[1]).toMatch(/^result verified: the same result from a re-run by remote [12]\.1$/);
    expect(estimate(cluster)).toBeLessThan(3.2);
  });

  test('with three machines, a bad result is confirmed by a third re-run', async () => {
    const { cluster, host } = room();
    host.verification.set(1);
    join(host);
    join(host);
    join(host, () => cheating());
    await until(() => cluster.nodes.size === 3);
    await run(cluster);
    const caught = cluster.history.records.filter((r) => r.check?.verdict === 'disagreed');
    expect(caught.length).toBeGreaterThan(0);
    for (const r of caught) expect(r).toMatchObject({ runner: 'remote 3.1', check: { confirmedBy: expect.stringMatching(/^remote [12]\.1$/) } });
    expect(cluster.checker.node(node(cluster, 'remote 3.1').id).disagreed).toBe(caught.length);
  });

  test('excluding on disagreement: the cheater is removed at its first bad result, told why, and the run ends on the honest node', async () => {
    const { cluster, host } = room();
    host.verification.set(1);
    host.verification.excludeOnDisagreement = true;
    const honest = join(host);
    const cheater = join(host, () => cheating());
    await until(() => cluster.nodes.size === 2);
    await run(cluster);
    await until(() => cheater.state.phase === 'left');
    expect(host.peers[1].state).toBe('gone');
    const caught = cluster.checker.checks.find((c) => c.verdict === 'disagreed')!;
    expect(host.peers[1].reason).toBe(`excluded by the host: its result for job ${caught.job} disagreed with a re-run on remote 1.1`);
    expect(cheater.state).toEqual({ phase: 'left', reason: host.peers[1].reason, byHost: true });
    expect(cluster.checker.totals.disagreed).toBeGreaterThanOrEqual(1);
    expect(honest.state.phase).toBe('joined');
    // Its nodes left the cluster; the producer dropped the results it had put and the honest joiner ran
    // its tasks again: π is exactly what honest nodes give.
    expect([...cluster.nodes.values()].map((n) => n.name).sort()).toEqual(['producer', 'remote 1.1']);
    expect(cluster.history.records.filter((r) => r.tube === 'msg_for_client' && r.submitter === 'remote 2.1').length).toBeGreaterThan(0);
    const right = piTasks(pi, 3).map((t) => (t.kind === 'pi' ? { darts: t.darts, hits: countPiHits(t.darts, t.seed) } : { darts: 0, hits: 0 }));
    expect(estimate(cluster)).toBe(piEstimate(right));
  });

  test("the host excludes a flagged node by hand: its joiner is removed; a local node or an unknown one is no joiner's", async () => {
    const { cluster, host } = room();
    host.verification.set(1);
    join(host);
    const cheater = join(host, () => cheating());
    await until(() => cluster.nodes.size === 2);
    await run(cluster);
    const flagged = [...cluster.nodes.values()].filter((n) => cluster.checker.node(n.id).disagreed > 0);
    expect(flagged.map((n) => n.name)).toEqual(['remote 2.1']);
    expect(host.verification.joinerOf(flagged[0].id)).toBe(2);
    expect(host.verification.exclude(producerOf(cluster)!.id)).toBe(false);
    expect(host.verification.exclude(flagged[0].id)).toBe(true);
    await until(() => cheater.state.phase === 'left');
    expect(host.peers[1].reason).toBe('excluded by the host: its results disagreed with re-runs');
    expect(host.verification.exclude(flagged[0].id)).toBe(false);
  });

  test('the setting stays with the room across runs; closing the room turns the check off', async () => {
    let cluster = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread });
    const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => cluster, worker: WORKER, now: wall });
    cleanup.push(() => cluster.dispose());
    host.verification.set(0.25);
    expect(cluster.checker.fraction).toBe(0.25);
    cluster.dispose();
    cluster = new Cluster({ seed: 4, mode: 'live', spawn: spawnInThread });
    expect(cluster.checker.fraction).toBe(0);
    host.attach();
    expect(cluster.checker.fraction).toBe(0.25);
    host.close();
    expect(cluster.checker.fraction).toBe(0);
  });
});

describe('verify results in a simulated run (local workers, virtual time)', () => {
  async function simulated() {
    const cluster = new Cluster({ seed: 5, mode: 'virtual', spawn: spawnInThread });
    cleanup.push(() => cluster.dispose());
    cluster.checker.fraction = 0.5;
    for (let i = 1; i <= 3; i++) cluster.addNode(`worker ${i}`, { role: 'worker', worker: WORKER });
    cluster.addNode('producer', producerConfig({ ...pi, darts: 2_000_000, jobs: 10 }, 5));
    await cluster.runUntil(() => estimate(cluster) !== undefined && settled(cluster), 600_000);
    return cluster;
  }

  test('the picked jobs are re-run on another local worker, agree, and the run stays a function of its seed', async () => {
    const a = await simulated();
    const picked = a.history.records.filter((r) => r.tube === 'msg_for_worker' && pickedForCheck(5, r.id, 0.5));
    expect(a.checker.totals).toEqual({ pending: 0, agreed: picked.length, disagreed: 0, unchecked: 0 });
    for (const c of a.checker.checks) expect(c.checker).not.toBe(c.node);
    // The re-runs took modelled time on their nodes: 250,000 darts at the reference node's 2e6 a second.
    for (const c of a.checker.checks) expect(c.ms).toBe(100);
    const b = await simulated();
    expect(JSON.stringify(b.trace)).toBe(JSON.stringify(a.trace));
    expect(b.checker.checks).toEqual(a.checker.checks);
  });

  test('the price: re-running half the jobs makes the run about 1.5 times as long (the work grows by the fraction), with the same π', async () => {
    const runFor = async (fraction: number) => {
      const c = new Cluster({ seed: 5, mode: 'virtual', spawn: spawnInThread });
      cleanup.push(() => c.dispose());
      c.checker.fraction = fraction;
      for (let i = 1; i <= 4; i++) c.addNode(`worker ${i}`, { role: 'worker', worker: WORKER });
      c.addNode('producer', producerConfig({ ...pi, darts: 32_000_000, jobs: 32 }, 5));
      await c.runUntil(() => estimate(c) !== undefined && settled(c), 3_600_000);
      const done = producerOf(c)!.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done')!;
      return { seconds: done.seconds, estimate: done.estimate, work: c.checker.work };
    };
    const plain = await runFor(0);
    const half = await runFor(0.5);
    expect(half.estimate).toBe(plain.estimate);
    expect(half.work.reruns / half.work.jobs).toBeCloseTo(0.5, 0);
    // Each re-run takes a job's time on its node: 32 jobs of 10^6 darts at the reference node's 2·10^6 a second.
    expect(half.work.rerunMs).toBe(half.work.reruns * 500);
    expect(half.seconds / plain.seconds).toBeGreaterThan(1.3);
    expect(half.seconds / plain.seconds).toBeLessThan(1.7);
  });

  test("a worker that puts no result (rq's feeders keep theirs in the history) is checked against the result it reported", async () => {
    const cluster = new Cluster({ seed: 5, mode: 'virtual', spawn: spawnInThread });
    cleanup.push(() => cluster.dispose());
    cluster.checker.fraction = 1;
    for (let i = 1; i <= 2; i++) cluster.addNode(`feeder ${i}`, { role: 'worker', worker: { ...WORKER, putResults: false, onFailure: 'bury' } });
    const engine = cluster.engine!;
    const c = engine.connect('test', () => {});
    engine.execute(c, { op: 'use', tube: 'msg_for_worker' });
    for (let i = 0; i < 4; i++) {
      const body = latin1Bytes(`pi 100000 ${i}`);
      const put = { op: 'put', pri: 0, delay: 0, ttr: 40_000, bytes: body.length, trailingGarbage: false } as const;
      const header = engine.putHeader(c, put);
      if (header.kind === 'body') engine.putBody(c, header.id, put, latin1Bytes(`pi 100000 ${i}\r\n`));
    }
    await cluster.runUntil(() => cluster.checker.checks.length === 4 && settled(cluster), 600_000);
    expect(cluster.checker.totals).toEqual({ pending: 0, agreed: 4, disagreed: 0, unchecked: 0 });
    for (const ch of cluster.checker.checks) expect(ch.claimed).toBe(cluster.history.byJobId(ch.job)!.result);
  });
});
