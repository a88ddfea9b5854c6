// A room over in-memory channels: the host's cluster in live time, joiners whose worker slots run the
// worker program on in-thread nodes (the joiner's Web Workers in the app), and joiners that misbehave.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster, type NodeProcess } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import { RoomHost } from '../../src/net/room-host.ts';
import { NOT_THE_HOST, RoomMember } from '../../src/net/room-member.ts';
import { hostAnswer } from '../../src/net/challenge.ts';
import { decodeHostMessage, decodeJoinerMessage, encodeMessage, ROOM_PROTOCOL, type HostMessage, type JoinerHello, type JoinerMessage } from '../../src/net/messages.ts';
import type { FromNode, NodeReport } from '../../src/nodes/messages.ts';
import { latin1, latin1Bytes } from '../../src/protocol/wire.ts';
import { channelPair, CODE, helloFor, SECRET, until, wall, type FakeEnd } from './net-fake-channel.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function room(opts: { now?: () => number; silenceMs?: number } = {}) {
  const cluster = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread });
  const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => cluster, worker: WORKER, now: opts.now ?? wall, silenceMs: opts.silenceMs });
  cleanup.push(() => {
    host.close();
    cluster.dispose();
  });
  return { cluster, host };
}

function join(host: RoomHost, slots = 1, peer = `joiner-${Math.random()}`, spawn: () => NodeProcess = spawnInThread) {
  const { host: hostEnd, joiner } = channelPair('beanlab-host', peer);
  host.accept(hostEnd);
  const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots, name: peer, spawn, now: wall });
  cleanup.push(() => member.leave());
  return { member, hostEnd, joiner };
}

/** A joiner driven by hand: raw room messages, no RoomMember. */
function rawJoiner(host: RoomHost) {
  const { host: hostEnd, joiner } = channelPair('beanlab-host', `raw-${Math.random()}`);
  host.accept(hostEnd);
  const send = (m: JoinerMessage) => joiner.send(encodeMessage(m));
  const got = () => joiner.received.map((r) => decodeHostMessage(r)).flatMap((d) => (d.ok ? [d.msg] : []));
  const replies = (conn: number) =>
    got()
      .flatMap((m) => (m.t === 'node' && m.m.t === 'data' && m.m.conn === conn ? [latin1(m.m.bytes)] : []))
      .join('');
  /** The generation of slot 0's latest start, which its node messages name. */
  const started = () =>
    got()
      .flatMap((m) => (m.t === 'node' && m.m.t === 'start' ? [m.g] : []))
      .at(-1) ?? -1;
  /** A message from slot 0's worker of the latest start. */
  const node = (m: FromNode) => send({ t: 'node', s: 0, g: started(), m });
  return { joiner, hostEnd, send, got, replies, started, node };
}

function decodeJoinerHello(raw: unknown) {
  const d = decodeJoinerMessage(raw);
  if (!d.ok || d.msg.t !== 'hello') throw new Error('not a hello');
  return d.msg;
}

const producerOf = (c: Cluster) => [...c.nodes.values()].find((n) => n.role === 'producer');
const estimate = (c: Cluster) =>
  producerOf(c)?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done')?.estimate;

const pi: PiScenario = { kind: 'pi', darts: 2_000_000, jobs: 6, workers: 0, ttr: 40, autostart: true };

describe('a room in live time', () => {
  test('two joiners become remote worker nodes and compute π through the host engine', async () => {
    const { cluster, host } = room();
    const a = join(host, 1);
    const b = join(host, 2);
    await until(() => a.member.state.phase === 'joined' && b.member.state.phase === 'joined');
    expect(b.member.nodes.map((n) => n.name)).toEqual(['remote 2.1', 'remote 2.2']);
    const remote = [...cluster.nodes.values()].filter((n) => n.remote);
    expect(remote.map((n) => n.name)).toEqual(['remote 1.1', 'remote 2.1', 'remote 2.2']);
    host.heartbeat();
    cluster.addNode('producer', producerConfig(pi, 3));
    await cluster.runUntil(() => estimate(cluster) !== undefined, 20_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
    expect(remote.reduce((k, n) => k + n.done.length, 0)).toBe(6);
    expect(a.member.nodes[0].jobs + b.member.nodes[0].jobs + b.member.nodes[1].jobs).toBe(6);
    // The heartbeat measured each peer's round trip; every node of a peer shows it.
    expect(remote.every((n) => n.remote!.rtt !== null && n.remote!.rtt >= 0)).toBe(true);
  });

  test('a joiner that closes mid-job: its reserved job returns at once and the others finish the run', async () => {
    const { cluster, host } = room();
    const a = join(host, 1);
    const b = join(host, 1);
    await until(() => a.member.state.phase === 'joined' && b.member.state.phase === 'joined');
    cluster.addNode('producer', producerConfig({ ...pi, darts: 12_000_000, jobs: 12 }, 3));
    // A job reserved by a connection of remote 1.1 (connections are named after their node).
    const holding = () => [...cluster.engine!.allConnections()].some((c) => c.name.startsWith('remote 1.1#') && c.reserved.size > 0);
    await until(holding);
    a.joiner.close();
    await until(() => cluster.model.reservations.some((r) => r.outcome === 'returned'));
    expect(host.peers[0].state).toBe('gone');
    expect(host.peers[0].reason).toBe('closed the connection');
    expect([...cluster.nodes.values()].find((n) => n.name === 'remote 1.1')!.status).toEqual({ state: 'failed', detail: 'left the room: closed the connection' });
    await cluster.runUntil(() => estimate(cluster) !== undefined, 30_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
  });

  test('a joiner that sends garbage is dropped; the other joiner and the run carry on', async () => {
    const { cluster, host } = room();
    const good = join(host, 1);
    const bad = join(host, 1);
    await until(() => good.member.state.phase === 'joined' && bad.member.state.phase === 'joined');
    bad.joiner.sendRaw('{"t":"node","s":0,"g":0,"m":{"t":"data","vt":0,"conn":1,"bytes":"\u4e00"}}');
    await until(() => host.peers[1].state === 'gone');
    expect(host.peers[1].reason).toBe('sent a malformed message (bytes holds a char that is not a byte)');
    await until(() => bad.member.state.phase === 'left');
    expect(bad.member.state).toEqual({ phase: 'left', reason: 'sent a malformed message (bytes holds a char that is not a byte)', byHost: true });
    cluster.addNode('producer', producerConfig(pi, 3));
    await cluster.runUntil(() => estimate(cluster) !== undefined, 20_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
    await until(() => good.member.nodes[0].jobs === 6);
  });

  test('a silent joiner keeps its job until TTR, then misses its heartbeats and is dropped; it can rejoin', async () => {
    let now = wall();
    const { cluster, host } = room({ now: () => now, silenceMs: 5000 });
    const raw = rawJoiner(host);
    raw.send(helloFor('quiet'));
    await until(() => raw.got().some((m) => m.t === 'welcome'));
    raw.node({ t: 'connect', vt: 0, conn: 1 });
    await until(() => raw.got().some((m) => m.t === 'node' && m.m.t === 'open'));
    // A job from a connection of the test's own, straight into the engine; the silent node reserves it.
    const engine = cluster.engine!;
    const c = engine.connect('test', () => {});
    engine.execute(c, { op: 'use', tube: 'msg_for_worker' });
    const put = { op: 'put', pri: 0, delay: 0, ttr: 40_000, bytes: 4, trailingGarbage: false } as const;
    const header = engine.putHeader(c, put);
    if (header.kind === 'body') engine.putBody(c, header.id, put, latin1Bytes('pi 1\r\n'));
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes('watch msg_for_worker\r\nreserve\r\n') });
    await until(() => raw.replies(1).includes('RESERVED'));
    // Silence: the host pings, nobody answers; the job stays reserved until the peer is dropped.
    now += 3000;
    host.heartbeat();
    expect(host.peers[0].state).toBe('admitted');
    expect(cluster.model.totals().reserved).toBe(1);
    now += 3000;
    host.heartbeat();
    expect(host.peers[0].state).toBe('gone');
    expect(host.peers[0].reason).toBe('missed its heartbeats (silent for 6.0 s)');
    expect(cluster.model.totals()).toMatchObject({ ready: 1, reserved: 0 });
    // The same browser joins again: a new joiner number, new nodes.
    const again = join(host, 1);
    await until(() => again.member.state.phase === 'joined');
    expect(again.member.state).toEqual({ phase: 'joined', joiner: 2 });
  });
});

describe('a fresh run, or a restart, while the remote workers are busy', () => {
  /** A room whose lab cluster a reset replaces, as Lab.show does: the old run goes, then the room attaches to the new one. */
  function resettableRoom() {
    let cluster = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread });
    const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => cluster, worker: WORKER, now: wall });
    cleanup.push(() => {
      host.close();
      cluster.dispose();
    });
    return {
      host,
      get cluster() {
        return cluster;
      },
      reset() {
        cluster.dispose();
        cluster = new Cluster({ seed: 4, mode: 'live', spawn: spawnInThread });
        host.attach();
        return cluster;
      },
    };
  }

  /** A joiner whose current worker sends `lastWords` just before the next stop reaches it: what it sent while the stop was on its way. */
  function busyJoiner(host: RoomHost) {
    const workers: NodeProcess[] = [];
    const j = join(host, 1, undefined, () => {
      const p = spawnInThread();
      workers.push(p);
      return p;
    });
    const beforeStop = (lastWords: FromNode[]) => {
      const deliver = j.joiner.onmessage!;
      j.joiner.onmessage = (data) => {
        const d = decodeHostMessage(data);
        if (d.ok && d.msg.t === 'stop') {
          j.joiner.onmessage = deliver;
          for (const m of lastWords) workers.at(-1)!.onmessage?.({ data: m } as MessageEvent<FromNode>);
        }
        deliver(data);
      };
    };
    return { ...j, beforeStop };
  }

  const slotNode = (c: Cluster) => [...c.nodes.values()].find((n) => n.name === 'remote 1.1')!;
  const connections = (c: Cluster) => [...c.engine!.allConnections()].map((x) => x.name).filter((name) => name.startsWith('remote 1.1#'));

  test.each([
    ['a reset (a fresh cluster)', (lab: ReturnType<typeof resettableRoom>) => lab.reset()],
    [
      'a restart of the node',
      (lab: ReturnType<typeof resettableRoom>) => {
        lab.cluster.restartNode(slotNode(lab.cluster).id);
        return lab.cluster;
      },
    ],
  ])("after %s, what the old worker sent before its stop reached the joiner never reaches the slot's new node", async (_what, replace) => {
    const lab = resettableRoom();
    const a = busyJoiner(lab.host);
    await until(() => a.member.state.phase === 'joined');
    await until(() => slotNode(lab.cluster).status.state === 'waiting');
    // The old worker's report of a job, a reconnect and a reserve were on their way when the host let it go.
    a.beforeStop([
      { t: 'report', vt: 0, report: { kind: 'task-done', job: 99, task: 'pi', ms: 5, units: 1 } },
      { t: 'connect', vt: 0, conn: 99 },
      { t: 'data', vt: 0, conn: 99, bytes: latin1Bytes('watch msg_for_worker\r\nreserve\r\n') },
    ]);
    const cluster = replace(lab);
    const node = slotNode(cluster);
    // The new worker's own reserve reaches the host after them (the channel is ordered).
    await until(() => node.status.state === 'waiting' && connections(cluster).length > 0);
    expect(node.reports).toEqual([]);
    expect(connections(cluster)).toEqual(['remote 1.1#1']);
    // The run goes on as usual with the remote node: it does all 6 jobs, and only those.
    cluster.addNode('producer', producerConfig(pi, 3));
    await cluster.runUntil(() => estimate(cluster) !== undefined, 20_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
    await until(() => node.reports.length === 6);
    expect(node.reports.some((r) => r.kind === 'task-done' && r.job === 99)).toBe(false);
  });

  test("a stop of the old run's node that reaches the joiner after the slot started again leaves the new worker running", async () => {
    let lab = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread });
    const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => lab, worker: WORKER, now: wall });
    cleanup.push(() => {
      host.close();
      lab.dispose();
    });
    const a = join(host, 1);
    await until(() => a.member.state.phase === 'joined');
    // The fresh run takes the slot before the old one is let go (its nodes are stopped after the new start).
    const old = lab;
    lab = new Cluster({ seed: 4, mode: 'live', spawn: spawnInThread });
    host.attach();
    old.dispose();
    host.heartbeat();
    await until(() => host.peers[0].link.rtt !== null);
    expect(a.member.nodes[0].status.state).not.toBe('failed');
    lab.addNode('producer', producerConfig(pi, 3));
    await lab.runUntil(() => estimate(lab) !== undefined, 20_000);
    expect(Math.abs(estimate(lab)! - Math.PI)).toBeLessThan(0.01);
    expect(a.member.nodes[0].jobs).toBe(6);
  });
});

describe('what a remote node may do', () => {
  async function connected() {
    const { cluster, host } = room();
    const raw = rawJoiner(host);
    raw.send(helloFor('raw'));
    await until(() => raw.got().some((m) => m.t === 'welcome'));
    raw.node({ t: 'connect', vt: 0, conn: 7 });
    await until(() => raw.got().some((m) => m.t === 'node' && m.m.t === 'open'));
    const say = (text: string) => raw.node({ t: 'data', vt: 0, conn: 7, bytes: latin1Bytes(text) });
    return { cluster, host, raw, say };
  }

  test("only the worker's commands run; others get UNKNOWN_COMMAND; put only into the result tube", async () => {
    const { raw, say, cluster } = await connected();
    say('stats\r\nkick 10\r\nput 0 0 10 5\r\nhello\r\nuse msg_for_client\r\nput 0 0 10 5\r\nhello\r\nwatch msg_for_worker\r\n');
    await until(() => raw.replies(7).split('\r\n').length >= 7);
    expect(raw.replies(7)).toBe('UNKNOWN_COMMAND\r\nUNKNOWN_COMMAND\r\nUNKNOWN_COMMAND\r\nUSING msg_for_client\r\nINSERTED 1\r\nWATCHING 2\r\n');
    expect(cluster.model.totals().ready).toBe(1);
  });

  test('the host can allow every command', async () => {
    const { raw, say, host } = await connected();
    host.allowAllCommands = true;
    say('list-tubes-watched\r\n');
    await until(() => raw.replies(7).includes('OK'));
    expect(raw.replies(7)).toMatch(/^OK \d+\r\n---\n- default\n\r\n$/);
  });

  test('a node that opens connection after connection is dropped', async () => {
    const { raw, host } = await connected();
    for (let conn = 8; conn < 12; conn++) raw.node({ t: 'connect', vt: 0, conn });
    await until(() => host.peers[0].state === 'gone');
    expect(host.peers[0].reason).toBe('opened more than 4 connections from one node');
  });

  test('a node message before hello, a second hello, or the wrong room drops the peer', async () => {
    const { host } = room();
    const cases: [JoinerMessage, string][] = [
      [{ t: 'pong', n: 1 }, 'spoke (pong) before saying hello'],
      [{ t: 'hello', v: ROOM_PROTOCOL, room: 'zzzzzzzzzzzz', slots: 1, name: '' }, 'asked for another room'],
      [{ t: 'hello', v: 9, room: CODE, slots: 1, name: '' }, `speaks room protocol 9, this host speaks ${ROOM_PROTOCOL}: reload both pages`],
    ];
    for (const [m] of cases) rawJoiner(host).send(m);
    const twice = rawJoiner(host);
    twice.send(helloFor(''));
    twice.send(helloFor(''));
    await until(() => host.peers.every((p) => p.state === 'gone') && twice.got().at(-1)?.t === 'bye');
    expect(host.peers.map((p) => p.reason)).toEqual([...cases.map((c) => c[1]), 'said hello twice']);
    // Each was told why, as a bye.
    expect(twice.got().at(-1)).toEqual({ t: 'bye', reason: 'said hello twice' } satisfies HostMessage);
  });
});

describe('approval and removal', () => {
  test('with approval on, a joiner waits; approved it joins; refused it is told', async () => {
    const { cluster, host } = room();
    host.requireApproval = true;
    const a = join(host);
    const b = join(host);
    await until(() => a.member.state.phase === 'waiting' && b.member.state.phase === 'waiting');
    expect(cluster.nodes.size).toBe(0);
    host.approve(1);
    host.refuse(2);
    await until(() => a.member.state.phase === 'joined' && b.member.state.phase === 'left');
    expect(b.member.state).toEqual({ phase: 'left', reason: 'the host refused to let this browser join', byHost: true });
    expect([...cluster.nodes.values()].map((n) => n.name)).toEqual(['remote 1.1']);
  });

  test('a kicked joiner leaves the cluster view and is told why', async () => {
    const { cluster, host } = room();
    const a = join(host, 2);
    await until(() => a.member.state.phase === 'joined');
    expect(cluster.nodes.size).toBe(2);
    host.kick(1);
    expect(cluster.nodes.size).toBe(0);
    await until(() => a.member.state.phase === 'left');
    expect(a.member.state).toEqual({ phase: 'left', reason: 'removed by the host', byHost: true });
  });

  test('a joiner whose host falls silent leaves by itself and says why', async () => {
    let now = 0;
    const { joiner, host } = channelPair();
    const member = new RoomMember(joiner as FakeEnd, { code: CODE, secret: SECRET, slots: 1, name: 'x', spawn: spawnInThread, now: () => now, silenceMs: 6000 });
    // The host answers the challenge and lets it in, then says nothing more.
    await until(() => host.received.length > 0);
    const hello = decodeJoinerHello(host.received[0]);
    host.send(encodeMessage({ t: 'hello', answer: hostAnswer(SECRET, CODE, hello.nonce!) }));
    host.send(encodeMessage({ t: 'welcome', room: CODE, joiner: 1, nodes: [] }));
    await until(() => member.state.phase === 'joined');
    now = 5000;
    member.watch();
    expect(member.state.phase).toBe('joined');
    now = 7000;
    member.watch();
    expect(member.state).toEqual({ phase: 'left', reason: 'the host stopped answering (silent for 7.0 s)', byHost: false });
  });
});

describe('lending the slots to the speedup experiment', () => {
  const taskDone = (job: number): FromNode => ({ t: 'report', vt: 0, report: { kind: 'task-done', job, task: 'pi', ms: 5, units: 1 } });
  /** Answers the host's latest ping, as a joiner's page does. */
  async function pong(raw: ReturnType<typeof rawJoiner>, answered: Set<number>) {
    await until(() => raw.got().some((m) => m.t === 'ping' && !answered.has(m.n)));
    const ping = raw.got().find((m): m is Extract<HostMessage, { t: 'ping' }> => m.t === 'ping' && !answered.has(m.n))!;
    answered.add(ping.n);
    raw.send({ t: 'pong', n: ping.n });
  }
  const names = (c: Cluster) => [...c.nodes.values()].map((n) => n.name);

  test('what a stopped worker sent before the stop reached the joiner never reaches the next run', async () => {
    let lab = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread });
    const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => lab, worker: WORKER, now: wall });
    cleanup.push(() => host.close());
    const raw = rawJoiner(host);
    raw.send(helloFor('raw'));
    await until(() => raw.got().some((m) => m.t === 'welcome'));
    expect(names(lab)).toEqual(['remote 1.1']);
    const loan = host.lend();
    expect(names(lab)).toEqual([]);
    await until(() => raw.got().some((m) => m.t === 'stop'));
    // A reset while lent: the fresh lab cluster does not take the slot.
    lab.dispose();
    lab = new Cluster({ seed: 4, mode: 'live', spawn: spawnInThread });
    host.attach();
    expect(names(lab)).toEqual([]);
    const answered = new Set<number>();
    let settled = false;
    const settling = loan.settle().then(() => (settled = true));
    // The old worker's last report was on its way when the stop arrived: it comes before the pong.
    raw.node(taskDone(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    await pong(raw, answered);
    await settling;
    const run = new Cluster({ seed: 5, mode: 'live', spawn: spawnInThread });
    cleanup.push(() => run.dispose());
    const stopped = raw.started();
    loan.attach(run, 1);
    expect(names(run)).toEqual(['remote 1.1']);
    await until(() => raw.started() !== stopped);
    raw.node(taskDone(2));
    const node = [...run.nodes.values()][0];
    await until(() => node.reports.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(node.reports).toEqual([{ kind: 'task-done', job: 2, task: 'pi', ms: 5, units: 1 }]);
    expect(host.peers[0].link.rtt).not.toBeNull();
    // Back on the lab's current cluster once the slot has settled again.
    const ended = loan.end();
    await pong(raw, answered);
    await ended;
    expect(names(run)).toEqual([]);
    expect(names(lab)).toEqual(['remote 1.1']);
    lab.dispose();
  });

  test('slots are lent one per joiner first; a joiner that leaves takes its slots out of the loan; nobody waits for it', async () => {
    const { cluster, host } = room();
    const a = join(host, 2);
    const b = join(host, 1);
    await until(() => a.member.state.phase === 'joined' && b.member.state.phase === 'joined');
    const loan = host.lend();
    expect(loan.size).toBe(3);
    const run = new Cluster({ seed: 5, mode: 'live', spawn: spawnInThread });
    cleanup.push(() => run.dispose());
    await loan.settle();
    loan.attach(run, 2);
    expect(names(run)).toEqual(['remote 1.1', 'remote 2.1']);
    run.dispose();
    b.member.leave();
    await until(() => host.peers[1].state === 'gone');
    expect(loan.size).toBe(2);
    await loan.settle();
    const next = new Cluster({ seed: 6, mode: 'live', spawn: spawnInThread });
    cleanup.push(() => next.dispose());
    expect(() => loan.attach(next, 3)).toThrow('only 2 remote nodes are still in the room, not 3');
    await loan.end();
    expect(names(cluster)).toEqual(['remote 1.1', 'remote 1.2']);
  });
});

describe("the challenge: joiner and host both prove they know the room's secret", () => {
  /** A joiner with its own secret, counting the workers it starts. */
  function joinWith(host: RoomHost, secret: string) {
    const { host: hostEnd, joiner } = channelPair('beanlab-host', `joiner-${Math.random()}`);
    host.accept(hostEnd);
    let spawned = 0;
    const member = new RoomMember(joiner, { code: CODE, secret, slots: 1, name: 'x', now: wall, spawn: () => (spawned++, spawnInThread()) });
    cleanup.push(() => member.leave());
    return { member, spawned: () => spawned };
  }

  test('a joiner with the right secret joins; its hello never holds the secret itself', async () => {
    const { cluster, host } = room();
    const a = join(host);
    await until(() => a.member.state.phase === 'joined');
    expect(cluster.nodes.size).toBe(1);
    const hello = decodeJoinerHello(a.hostEnd.received[0]);
    expect(hello.proof).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(a.hostEnd.received)).not.toContain(SECRET);
  });

  test('a joiner with the wrong secret is refused and told why; nothing of it joins the cluster', async () => {
    const { cluster, host } = room();
    const j = joinWith(host, 'zzzzzzzzzzzz');
    await until(() => j.member.state.phase === 'left');
    const reason = 'had the wrong secret for this room (an old link or a mistyped code?)';
    expect(host.peers[0]).toMatchObject({ state: 'gone', reason });
    expect(j.member.state).toEqual({ phase: 'left', reason, byHost: true });
    expect(cluster.nodes.size).toBe(0);
    expect(j.spawned()).toBe(0);
  });

  test('a hello without the secret (someone who knows only the code) is refused with its reason, and gets no answer to work on', async () => {
    const { cluster, host } = room();
    const raw = rawJoiner(host);
    raw.send({ t: 'hello', v: ROOM_PROTOCOL, room: CODE, slots: 1, name: 'code only' });
    await until(() => host.peers[0].state === 'gone' && raw.got().length > 0);
    const reason = "came without the room's secret (the part of the join link after #, or of the code after the dash)";
    expect(host.peers[0].reason).toBe(reason);
    expect(raw.got()).toEqual([{ t: 'bye', reason }]);
    expect(cluster.nodes.size).toBe(0);
  });

  test("a proof replayed under another nonce is refused (the MAC covers the joiner's nonce)", async () => {
    const { host } = room();
    const raw = rawJoiner(host);
    const hello = helloFor('replay');
    raw.send({ ...hello, nonce: '00'.repeat(16) });
    await until(() => host.peers[0].state === 'gone');
    expect(host.peers[0].reason).toBe('had the wrong secret for this room (an old link or a mistyped code?)');
  });

  /** A browser at the host's id that does not know the secret: it sees the joiner's hello and answers with `reply`. */
  async function impostor(reply: (hello: JoinerHello) => HostMessage[]) {
    const { host: hostEnd, joiner } = channelPair('beanlab-host', 'victim');
    let spawned = 0;
    const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots: 1, name: 'victim', now: wall, spawn: () => (spawned++, spawnInThread()) });
    cleanup.push(() => member.leave());
    await until(() => hostEnd.received.length > 0);
    const hello = decodeJoinerHello(hostEnd.received[0]);
    for (const m of reply(hello)) hostEnd.send(encodeMessage(m));
    await until(() => member.state.phase === 'left');
    // Give anything the joiner might still send time to arrive.
    await new Promise((r) => setTimeout(r, 20));
    return { member, spawned, sentAfterHello: hostEnd.received.slice(1).map((r) => decodeJoinerMessage(r)).flatMap((d) => (d.ok ? [d.msg] : [])) };
  }

  const start: HostMessage = { t: 'node', s: 0, g: 0, m: { t: 'start', vt: 0, name: 'remote 1.1', seed: 1, config: { role: 'worker', worker: WORKER }, virtual: false } };
  const welcome: HostMessage = { t: 'welcome', room: CODE, joiner: 1, nodes: [{ s: 0, name: 'remote 1.1' }] };

  test.each([
    ['answers with a wrong MAC', (): HostMessage[] => [{ t: 'hello', answer: '0'.repeat(64) }, welcome, start]],
    ['sends back the joiner\'s own proof as its answer', (h: JoinerHello): HostMessage[] => [{ t: 'hello', answer: h.proof! }, welcome, start]],
    ['answers under another room\'s secret', (h: JoinerHello): HostMessage[] => [{ t: 'hello', answer: hostAnswer('zzzzzzzzzzzz', CODE, h.nonce!) }, welcome, start]],
    ['skips the challenge and lets the joiner in', (): HostMessage[] => [welcome, start]],
    ['skips the challenge and asks it to wait for approval', (): HostMessage[] => [{ t: 'waiting' }, welcome, start]],
  ])('a host that %s is left before any worker starts, as not the room\'s host', async (_what, reply) => {
    const { member, spawned, sentAfterHello } = await impostor(reply);
    expect(member.state).toEqual({ phase: 'left', reason: NOT_THE_HOST, byHost: false });
    expect(spawned).toBe(0);
    expect(member.nodes).toEqual([]);
    // Nothing but the goodbye went back: no node message, no result.
    expect(sentAfterHello).toEqual([{ t: 'bye' }]);
  });

  test('a host that answers the challenge twice is left', async () => {
    const answer = (h: JoinerHello): HostMessage => ({ t: 'hello', answer: hostAnswer(SECRET, CODE, h.nonce!) });
    const { member, spawned } = await impostor((h) => [answer(h), answer(h)]);
    expect(member.state).toEqual({ phase: 'left', reason: 'the host said hello twice', byHost: false });
    expect(spawned).toBe(0);
  });

  test('a host that never answers the challenge (only pings) is left once the silence limit passes', async () => {
    let now = 0;
    const { host: hostEnd, joiner } = channelPair();
    const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots: 1, name: 'x', spawn: spawnInThread, now: () => now, silenceMs: 6000 });
    hostEnd.send(encodeMessage({ t: 'ping', n: 0 }));
    await until(() => hostEnd.received.length === 2);
    now = 7000;
    member.watch();
    expect(member.state).toEqual({ phase: 'left', reason: NOT_THE_HOST, byHost: false });
  });

  test('a room reopened under a new code and secret keeps its joiners; the old link no longer joins, the new one does', async () => {
    const { cluster, host } = room();
    const before = join(host);
    await until(() => before.member.state.phase === 'joined');
    host.reopen('qrstuvwx2345', 'abcdabcdabcd');
    expect(host.code).toBe('qrstuvwx2345');
    const old = joinWith(host, SECRET);
    await until(() => old.member.state.phase === 'left');
    expect(host.peers[1].reason).toBe('asked for another room');
    const { host: hostEnd, joiner } = channelPair('beanlab-host', 'new-link');
    host.accept(hostEnd);
    const fresh = new RoomMember(joiner, { code: 'qrstuvwx2345', secret: 'abcdabcdabcd', slots: 1, name: 'new link', now: wall, spawn: spawnInThread });
    cleanup.push(() => fresh.leave());
    await until(() => fresh.state.phase === 'joined');
    expect(before.member.state.phase).toBe('joined');
    expect([...cluster.nodes.values()].map((n) => n.name)).toEqual(['remote 1.1', 'remote 3.1']);
  });
});
