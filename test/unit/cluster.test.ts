// The simulated cluster in virtual time, with nodes on in-thread message channels: the seed report's
// π run, worker failures, server crashes with and without the binlog, and determinism.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { processOnPort } from '../../src/nodes/process.ts';
import { producerConfig, setUp, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

function piRun(over: Partial<PiScenario> = {}, seed = 7) {
  const scenario: PiScenario = { kind: 'pi', darts: 4_000_000, jobs: 8, workers: 4, ttr: 40, autostart: true, ...over };
  const cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  setUp(cluster, scenario, seed);
  return { cluster, scenario };
}

const producer = (c: Cluster) => [...c.nodes.values()].find((n) => n.role === 'producer');
const done = (c: Cluster) => producer(c)?.status.state === 'done';
const finalReport = (c: Cluster) =>
  producer(c)?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done');
const workerId = (c: Cluster, name: string) => [...c.nodes.values()].find((n) => n.name === name)!.id;

describe('the π run of the report, in virtual time', () => {
  test('4 workers and 8 jobs compute π within 0.01 and every job is deleted', async () => {
    const { cluster } = piRun();
    await cluster.runUntil(() => done(cluster));
    expect(done(cluster)).toBe(true);
    expect(Math.abs(finalReport(cluster)!.estimate! - Math.PI)).toBeLessThan(0.01);
    expect(cluster.model.totals()).toEqual({ ready: 0, delayed: 0, reserved: 0, buried: 0 });
    const byWorker = [...cluster.nodes.values()].filter((n) => n.role === 'worker').map((n) => n.done.length);
    expect(byWorker.reduce((a, b) => a + b)).toBe(8);
    expect(byWorker.every((k) => k >= 1)).toBe(true);
  });

  // Runs until nothing more can happen (the producer is done; workers wait in reserve).
  const quiesce = (c: Cluster) => c.runUntil(() => false);

  test('the same seed gives the same trace, event for event', async () => {
    const a = piRun({}, 11).cluster;
    await quiesce(a);
    const b = piRun({}, 11).cluster;
    await quiesce(b);
    expect(done(a)).toBe(true);
    expect(a.trace.length).toBeGreaterThan(50);
    expect(b.trace).toEqual(a.trace);
    const c = piRun({}, 12).cluster;
    await quiesce(c);
    expect(c.trace).not.toEqual(a.trace);
  });

  test('stepping visits one protocol event at a time and ends in the same state as running', async () => {
    const { cluster } = piRun({ darts: 400_000, jobs: 4, workers: 2 }, 5);
    let steps = 0;
    for (;;) {
      const before = cluster.eventCount;
      if (!(await cluster.step())) break;
      expect(cluster.eventCount).toBe(before + 1);
      steps++;
    }
    expect(done(cluster)).toBe(true);
    expect(steps).toBe(cluster.eventCount);
    const ran = piRun({ darts: 400_000, jobs: 4, workers: 2 }, 5).cluster;
    await quiesce(ran);
    expect(cluster.trace).toEqual(ran.trace);
  });
});

describe('worker failures', () => {
  test('killing a worker mid-job: its job comes back at once (connection close) and the answer is still right', async () => {
    const { cluster } = piRun({ workers: 2, jobs: 4, ttr: 40 });
    const w1 = workerId(cluster, 'worker 1');
    await cluster.runUntil(() => cluster.nodes.get(w1)!.status.state === 'working');
    const t = cluster.now;
    cluster.killNode(w1);
    await cluster.runUntil(() => done(cluster));
    expect(Math.abs(finalReport(cluster)!.estimate! - Math.PI)).toBeLessThan(0.02);
    const returned = cluster.model.reservations.filter((r) => r.outcome === 'returned');
    expect(returned.length).toBe(1);
    // returned at the kill, not after a TTR
    expect(returned[0].end! - cluster.startedAt - t).toBeLessThan(50);
  });

  test('hanging a worker: its job comes back only when the TTR runs out', async () => {
    const { cluster } = piRun({ workers: 2, jobs: 4, ttr: 5 });
    const w1 = workerId(cluster, 'worker 1');
    await cluster.runUntil(() => cluster.nodes.get(w1)!.status.state === 'working');
    const reservedAt = cluster.model.reservations.find((r) => r.end === null)!.start;
    cluster.hangNode(w1);
    await cluster.runUntil(() => done(cluster));
    expect(done(cluster)).toBe(true);
    const expired = cluster.model.reservations.filter((r) => r.outcome === 'timed-out');
    expect(expired.length).toBe(1);
    expect(expired[0].end! - reservedAt).toBeGreaterThanOrEqual(5000);
    expect(Math.abs(finalReport(cluster)!.estimate! - Math.PI)).toBeLessThan(0.02);
  });
});

describe('server crash and the binlog (the report\'s server fault tolerance)', () => {
  async function crashAfterPut(binlog: boolean) {
    const { cluster, scenario } = piRun({ workers: 0, jobs: 6, autostart: true });
    await cluster.runUntil(() => (cluster.model.tubes.get('msg_for_worker')?.counts.ready ?? 0) === 6);
    cluster.crashServer();
    await cluster.restartServer(binlog);
    return { cluster, scenario };
  }

  test('with the binlog every queued job survives; the restarted producer resumes without putting again', async () => {
    const { cluster, scenario } = await crashAfterPut(true);
    expect(cluster.model.tubes.get('msg_for_worker')?.counts.ready).toBe(6);
    cluster.removeNode(producer(cluster)!.id);
    cluster.addNode('producer', producerConfig(scenario, 7));
    for (let i = 1; i <= 3; i++) cluster.addNode(`worker ${i}`, { role: 'worker', worker: { watch: 'msg_for_worker', use: 'msg_for_client', onFailure: 'release-then-delete', reconnectEachJob: true } });
    await cluster.runUntil(() => done(cluster));
    expect(cluster.engine!.totalJobs).toBe(6); // 6 results only: the 6 jobs were not put again
    expect(Math.abs(finalReport(cluster)!.estimate! - Math.PI)).toBeLessThan(0.01);
  });

  test('without the binlog the queue is empty and the producer\'s resume logic puts the jobs again', async () => {
    const { cluster, scenario } = await crashAfterPut(false);
    expect(cluster.model.totals().ready).toBe(0);
    cluster.removeNode(producer(cluster)!.id);
    cluster.addNode('producer', producerConfig(scenario, 7));
    cluster.addNode('worker 1', { role: 'worker', worker: { watch: 'msg_for_worker', use: 'msg_for_client', onFailure: 'release-then-delete', reconnectEachJob: true } });
    await cluster.runUntil(() => done(cluster));
    expect(cluster.engine!.totalJobs).toBe(12); // 6 jobs put again + 6 results
  });
});

describe('live time', () => {
  test('on the real clock the same run finishes with the right answer and measured durations', async () => {
    const cluster = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread, latency: 0 });
    clusters.push(cluster);
    setUp(cluster, { kind: 'pi', darts: 2_000_000, jobs: 4, workers: 2, ttr: 40, autostart: true }, 3);
    await cluster.runUntil(() => done(cluster), 30_000);
    const report = finalReport(cluster)!;
    expect(Math.abs(report.estimate! - Math.PI)).toBeLessThan(0.01);
    expect(report.seconds).toBeGreaterThan(0);
    const taskTimes = [...cluster.nodes.values()].flatMap((n) => n.reports.filter((r) => r.kind === 'task-done'));
    expect(taskTimes).toHaveLength(4);
  });

  test("a node's link adds no latency in live time (its messages cross a real port), 1 ms in virtual time, and what the cluster or the node is given otherwise; an exported run says its default", () => {
    const latencies = (mode: 'live' | 'virtual', latency?: number) => {
      const c = new Cluster({ seed: 1, mode, spawn: spawnInThread, ...(latency !== undefined ? { latency } : {}) });
      clusters.push(c);
      const a = c.addNode('worker 1', { role: 'worker', worker: WORKER });
      const b = c.addNode('worker 2', { role: 'worker', worker: WORKER }, { latency: 7 });
      return [c.nodes.get(a)!.latency, c.nodes.get(b)!.latency, c.exportRun().latency];
    };
    expect(latencies('live')).toEqual([0, 7, 0]);
    expect(latencies('virtual')).toEqual([1, 7, 1]);
    expect(latencies('live', 3)).toEqual([3, 7, 3]);
  });

  test("the producer does not wait on each answer: its puts leave together, and each result's delete but the last goes with the next reserve; virtual time keeps the report's client, one command at a time", async () => {
    const jobs = 12;
    const scenario: PiScenario = { kind: 'pi', darts: jobs * 100_000, jobs, workers: 2, ttr: 40, autostart: true };
    const sent = (cluster: Cluster) => {
      const id = producer(cluster)!.id;
      // The trace shows the lines of one message joined by ⏎.
      return cluster.trace.toArray().filter((e) => e.node === id && e.kind === 'to-server').map((e) => e.text);
    };
    const live = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread, latency: 0 });
    clusters.push(live);
    setUp(live, scenario, 3);
    await live.runUntil(() => done(live), 30_000);
    expect(Math.abs(finalReport(live)!.estimate! - Math.PI)).toBeLessThan(0.01);
    const messages = sent(live);
    // The trace cuts a long message's text short: the 12 puts are in the first message or two.
    expect(messages.filter((t) => t.startsWith('put ')).length).toBeLessThan(jobs / 2);
    const deletes = messages.filter((t) => t.startsWith('delete '));
    expect(deletes).toHaveLength(jobs);
    for (const t of deletes.slice(0, -1)) expect(t).toMatch(/^delete \d+⏎reserve$/);
    expect(deletes.at(-1)).toMatch(/^delete \d+$/);

    const { cluster: virtual } = piRun({ ...scenario }, 3);
    await virtual.runUntil(() => done(virtual));
    const one = sent(virtual);
    expect(one.filter((t) => t.startsWith('put ')).length).toBe(jobs);
    expect(one.filter((t) => t.includes('⏎')).filter((t) => !t.startsWith('put '))).toEqual([]);
  });
});

describe('export and replay', () => {
  test('a run with a kill and a hang, exported as JSON and replayed, gives the same trace', async () => {
    const { cluster } = piRun({ workers: 3, jobs: 6, ttr: 5 }, 21);
    const w1 = workerId(cluster, 'worker 1');
    const w2 = workerId(cluster, 'worker 2');
    for (let i = 0; i < 60; i++) await cluster.step();
    await cluster.settle();
    cluster.killNode(w1);
    for (let i = 0; i < 40; i++) await cluster.step();
    await cluster.settle();
    cluster.hangNode(w2);
    await cluster.runUntil(() => false);
    const json = JSON.stringify(cluster.exportRun());
    const { replayRun } = await import('../../src/sim/replay.ts');
    const { parseRun } = await import('../../src/sim/run-record.ts');
    const replayed = await replayRun(parseRun(json), spawnInThread);
    clusters.push(replayed);
    expect(replayed.trace).toEqual(cluster.trace);
    expect(done(replayed)).toBe(true);
  });

  test('console input and a kill taken between events, while time runs, replay to the same trace', async () => {
    const { Session } = await import('../../src/protocol/session.ts');
    const { latin1, latin1Bytes } = await import('../../src/protocol/wire.ts');
    const { cluster } = piRun({ workers: 2, jobs: 4 }, 5);
    const replies: string[] = [];
    // The page's console: a connection of its own, whose input the cluster records.
    const console = new Session(cluster.engine!, { write: (b) => replies.push(latin1(b)), close: () => {} }, 'console');
    const type = (line: string) => {
      const bytes = latin1Bytes(`${line}\r\n`);
      cluster.recordPageInput('console', bytes);
      console.receive(bytes);
    };
    await cluster.advanceTo(333);
    type('pause-tube msg_for_worker 2');
    await cluster.advanceTo(1234.5);
    cluster.killNode(workerId(cluster, 'worker 1'));
    await cluster.runUntil(() => done(cluster));
    expect(replies).toEqual(['PAUSED\r\n']);
    expect(cluster.actions.map((a) => a.at)).toContain(333);
    expect(cluster.trace.toArray().some((e) => e.kind === 'action' && e.text === 'console: pause-tube msg_for_worker 2')).toBe(true);

    const { replayRun } = await import('../../src/sim/replay.ts');
    const { parseRun } = await import('../../src/sim/run-record.ts');
    const replayed = await replayRun(parseRun(JSON.stringify(cluster.exportRun())), spawnInThread);
    clusters.push(replayed);
    expect(replayed.trace).toEqual(cluster.trace);
    expect(done(replayed)).toBe(true);
  });

  test('a kill clicked before the worker\'s last answer arrived cuts the run where a kill after it does', async () => {
    // The student's click lands at a real-time moment: the killed worker's answer to what it was just sent
    // may or may not have reached the page yet. Either way it died with the worker, so the runs are one.
    const runs = [piRun({ workers: 2, jobs: 4 }, 9), piRun({ workers: 2, jobs: 4 }, 9)].map((r) => r.cluster);
    const w1 = workerId(runs[0], 'worker 1');
    const toWorker1 = (c: Cluster) => {
      const last = c.trace.last();
      return last?.kind === 'to-node' && last.node === w1 && last.text.startsWith('RESERVED');
    };
    for (const c of runs) {
      while (!toWorker1(c)) await c.step();
    }
    await runs[0].settle();
    expect(runs[0].waitingFor()).toEqual([]);
    for (const c of runs) c.killNode(w1);
    for (const c of runs) await c.runUntil(() => done(c));
    expect(done(runs[0])).toBe(true);
    expect(runs[1].trace).toEqual(runs[0].trace);
    expect(runs[1].eventCount).toBe(runs[0].eventCount);
  });

  test.each(['killed', 'hung'] as const)('a step waiting for a worker\'s answer goes on when that worker is %s before answering', async (how) => {
    // Step mode waits for the node just sent a reply; a kill or hang clicked meanwhile means no answer will come.
    const { cluster } = piRun({ workers: 2, jobs: 4 }, 9);
    const w1 = workerId(cluster, 'worker 1');
    for (;;) {
      const last = cluster.trace.last();
      if (last?.kind === 'to-node' && last.node === w1 && last.text.startsWith('RESERVED')) break;
      await cluster.step();
    }
    const events = cluster.eventCount;
    const stepping = cluster.step();
    if (how === 'killed') cluster.killNode(w1);
    else cluster.hangNode(w1);
    const outcome = await Promise.race([stepping.then(() => 'stepped'), new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000))]);
    expect(outcome).toBe('stepped');
    expect(cluster.eventCount).toBe(events + 1);
  });

  /** A run with a kill, a slow-down, a latency change and the console's input: every kind of action entry. */
  async function runWithActions() {
    const { cluster } = piRun({ workers: 3, jobs: 6, ttr: 5 }, 21);
    const w1 = workerId(cluster, 'worker 1');
    const w2 = workerId(cluster, 'worker 2');
    const { latin1Bytes } = await import('../../src/protocol/wire.ts');
    for (let i = 0; i < 40; i++) await cluster.step();
    await cluster.settle();
    cluster.slowNode(w2, 4);
    cluster.setLatency(w2, 3);
    cluster.recordPageInput('console', latin1Bytes('stats\r\n'));
    for (let i = 0; i < 40; i++) await cluster.step();
    await cluster.settle();
    cluster.killNode(w1);
    await cluster.runUntil(() => done(cluster));
    return { cluster, w1, w2 };
  }

  test('trace entries carry their action and the node it acted on, and a RESERVED the job it handed out', async () => {
    const { cluster, w1, w2 } = await runWithActions();
    const actions = cluster.trace.toArray().filter((e) => e.kind === 'action');
    expect(actions.map((e) => [e.action, e.node, e.text]).slice(-4)).toEqual([
      [{ op: 'slow', node: w2, factor: 4 }, w2, 'slow worker 2 down ×4'],
      [{ op: 'latency', node: w2, ms: 3 }, w2, 'latency of worker 2 = 3 ms'],
      [{ op: 'page-input', conn: 'console', text: 'stats\r\n' }, undefined, 'console: stats'],
      [{ op: 'kill', node: w1 }, w1, 'kill worker 1'],
    ]);
    expect(actions[0]).toMatchObject({ action: { op: 'add-node', name: 'worker 1' }, node: w1, text: 'add worker 1' });
    const reserved = cluster.trace.toArray().filter((e) => e.kind === 'to-node' && e.text.startsWith('RESERVED '));
    expect(reserved.length).toBeGreaterThanOrEqual(6);
    for (const e of reserved) expect(e.job).toBe(Number(e.text.split(' ')[1]));
    expect(cluster.trace.toArray().filter((e) => e.job !== undefined)).toEqual(reserved);
    // Every reservation names the node connection that made it; the console's would name none.
    for (const r of cluster.model.reservations) expect(cluster.nodes.get(r.owner!.node)?.role).toMatch(/worker|producer/);
  });

  /** What beanlab's version 1 exported: the same run without the data its trace entries now carry. */
  function asVersion1(run: ReturnType<Cluster['exportRun']>) {
    const trace = run.trace.map((e) => {
      const { action: _action, job: _job, ...rest } = e;
      return e.kind === 'action' ? { n: e.n, at: e.at, kind: e.kind, text: e.text } : rest;
    });
    return { ...run, version: 1, trace };
  }

  test('an exported run is version 2; a version-1 file is converted and replays to the same trace', async () => {
    const { cluster } = await runWithActions();
    const run = cluster.exportRun();
    expect(run.version).toBe(2);
    const { replayRun } = await import('../../src/sim/replay.ts');
    const { parseRun } = await import('../../src/sim/run-record.ts');
    const converted = parseRun(JSON.stringify(asVersion1(run)));
    expect(converted).toEqual(JSON.parse(JSON.stringify(run)));
    const replayed = await replayRun(converted, spawnInThread);
    clusters.push(replayed);
    expect(JSON.stringify(replayed.trace)).toBe(JSON.stringify(converted.trace));
  });

  test('a version-1 file whose trace does not follow its actions says it is an older format that cannot be converted', async () => {
    const { cluster } = await runWithActions();
    const old = asVersion1(cluster.exportRun());
    const kill = old.trace.filter((e) => e.kind === 'action').at(-1)!;
    kill.text = 'kill somebody else';
    const { parseRun } = await import('../../src/sim/run-record.ts');
    expect(() => parseRun(JSON.stringify(old))).toThrow(`this run was saved by an older beanlab (run format version 1) and cannot be converted: trace entry ${kill.n} "kill somebody else" matches none of its recorded actions`);
    expect(() => parseRun(JSON.stringify({ ...old, version: 3 }))).toThrow('version 1 or 2 expected');
  });

  test('a file that is not a run is refused with a clear error', async () => {
    const { parseRun } = await import('../../src/sim/run-record.ts');
    expect(() => parseRun('{oops')).toThrow(/not a beanlab run/);
    expect(() => parseRun('{"format":"beanlab-run","version":1,"mode":"live","seed":1,"events":1,"actions":[],"trace":[]}')).toThrow(/virtual time/);
  });
});

test('runUntil stops at its time limit when the next event lies beyond it', async () => {
  const { cluster } = piRun({ workers: 1, darts: 8_000_000, jobs: 1 });
  await cluster.runUntil(() => false, 50);
  expect(cluster.now).toBe(50);
  expect(done(cluster)).toBe(false);
});

test('live time: an engine timer weeks away arms one timer on the real-time driver, not a busy loop (setTimeout overflows past 2^31-1 ms)', async () => {
  const { Session } = await import('../../src/protocol/session.ts');
  const { latin1Bytes } = await import('../../src/protocol/wire.ts');
  const cluster = new Cluster({ seed: 1, mode: 'live', spawn: spawnInThread });
  clusters.push(cluster);
  const console = new Session(cluster.engine!, { write: () => {}, close: () => {} }, 'console');
  // A job delayed 35 days: its timer is 3.0e9 ms away.
  console.receive(latin1Bytes('put 0 3000000 60 1\r\nx\r\n'));
  cluster.armLive();
  let wakeUps = 0;
  cluster.onChange(() => wakeUps++);
  await new Promise((r) => setTimeout(r, 300));
  expect(wakeUps).toBe(0);
  expect(cluster.model.totals().delayed).toBe(1);
});

test('a disposed run leaves no message port open in this thread, so its nodes and all they hold can go', async () => {
  const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
  const before = ports();
  const { cluster } = piRun({ jobs: 4 });
  await cluster.runUntil(() => done(cluster), 600_000);
  expect(done(cluster)).toBe(true);
  expect(ports()).toBeGreaterThan(before);
  cluster.dispose();
  await new Promise((r) => setTimeout(r, 0));
  expect(ports()).toBe(before);
});

test('Pause ends an advance under way at the next event; the run then goes on to the same result', async () => {
  const whole = piRun({ jobs: 8 });
  await whole.cluster.advanceTo(600_000);
  const paused = piRun({ jobs: 8 });
  const advance = paused.cluster.advanceTo(600_000);
  while (paused.cluster.eventCount < 20) await new Promise((r) => setTimeout(r, 0));
  paused.cluster.interruptAdvance();
  await advance;
  expect(done(paused.cluster)).toBe(false);
  expect(paused.cluster.clock.now()).toBeLessThan(600_000);
  expect(paused.cluster.eventCount).toBeGreaterThan(0);
  await paused.cluster.advanceTo(600_000);
  expect(finalReport(paused.cluster)).toEqual(finalReport(whole.cluster));
  expect(paused.cluster.eventCount).toBe(whole.cluster.eventCount);
});

test('a node process terminated twice (killed, then its run disposed of) ends once: its thread may host another node by then', () => {
  const channel = new MessageChannel();
  let ends = 0;
  const node = processOnPort(channel.port1, () => ends++);
  node.terminate();
  node.terminate();
  expect(ends).toBe(1);
  channel.port2.close();
});
