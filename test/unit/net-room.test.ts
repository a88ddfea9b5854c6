// A room over in-memory channels: the host's cluster in live time, joiners whose worker slots run the
// worker program on in-thread nodes (the joiner's Web Workers in the app), and joiners that misbehave.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import type { NodeProcess } from '../../src/nodes/process.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import { RoomHost } from '../../src/net/room-host.ts';
import { NOT_THE_HOST, RoomMember } from '../../src/net/room-member.ts';
import { hostAnswer } from '../../src/net/challenge.ts';
import { decodeHostMessages, decodeJoinerMessage, decodeJoinerMessages, encodeMessage, FrameReader, frames, ROOM_PROTOCOL, SILENCE_BEATS, splitData, type HostMessage, type JoinerHello, type JoinerMessage } from '../../src/net/messages.ts';
import type { FromNode, NodeReport } from '../../src/nodes/messages.ts';
import { latin1, latin1Bytes } from '../../src/protocol/wire.ts';
import { CHARS_PER_SECOND_PER_SLOT, MAX_WATCHED_TUBES, MESSAGES_PER_SECOND_PER_SLOT, PUTS_PER_SECOND_PER_SLOT } from '../../src/net/room-host.ts';
import { channelPair, CODE, helloFor, SECRET, until, wall, type FakeEnd } from './net-fake-channel.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function room(opts: { now?: () => number; silenceMs?: number; maxPeers?: number; maxNodes?: number; maxWaiting?: number } = {}) {
  const cluster = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread });
  const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => cluster, worker: WORKER, ...opts, now: opts.now ?? wall });
  cleanup.push(() => {
    host.close();
    cluster.dispose();
  });
  return { cluster, host };
}

function join(host: RoomHost, slots = 1, peer = `joiner-${Math.random()}`, spawn: (slot: number) => NodeProcess = spawnInThread) {
  const { host: hostEnd, joiner } = channelPair('beanlab-host', peer);
  host.accept(hostEnd);
  const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots, name: peer, spawn, now: wall });
  cleanup.push(() => member.leave());
  return { member, hostEnd, joiner };
}

/** A joiner driven by hand: raw room messages (in frames, wire bytes split as RoomMember does), no RoomMember. */
function rawJoiner(host: RoomHost, peer = `raw-${Math.random()}`) {
  const { host: hostEnd, joiner } = channelPair('beanlab-host', peer);
  host.accept(hostEnd);
  const send = (m: JoinerMessage) => {
    for (const part of m.t === 'node' && m.m.t === 'data' ? splitData(m.m).map((d) => ({ ...m, m: d })) : [m]) for (const f of frames(encodeMessage(part))) joiner.send(f);
  };
  const got = () => {
    const reader = new FrameReader();
    return joiner.received.flatMap((r) => {
      const f = reader.read(r);
      const d = f.ok && f.msg !== null ? decodeHostMessages(f.msg) : null;
      return d?.ok ? d.msg : [];
    });
  };
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

/** Puts a job straight into the engine, from a connection of the test's own; its id. */
function putJob(cluster: Cluster, tube: string, body: Uint8Array | string): number {
  const engine = cluster.engine!;
  const c = engine.connect('test', () => {});
  engine.execute(c, { op: 'use', tube });
  const data = typeof body === 'string' ? latin1Bytes(body) : body;
  const put = { op: 'put', pri: 0, delay: 0, ttr: 40_000, bytes: data.length, trailingGarbage: false } as const;
  const header = engine.putHeader(c, put);
  if (header.kind !== 'body') throw new Error('put refused');
  const withCrlf = new Uint8Array(data.length + 2);
  withCrlf.set(data);
  withCrlf.set([13, 10], data.length);
  engine.putBody(c, header.id, put, withCrlf);
  return header.id;
}

function decodeJoinerHello(raw: unknown) {
  const d = decodeJoinerMessage(raw);
  if (!d.ok || d.msg.t !== 'hello') throw new Error('not a hello');
  return d.msg;
}

/** A room with one job in the work tube and a joiner driven by hand, its slot's worker started and connection 1 open. */
async function reserving() {
  const { cluster, host } = room();
  const job = putJob(cluster, 'msg_for_worker', 'pi 1');
  const raw = rawJoiner(host);
  raw.send(helloFor('raw'));
  await until(() => raw.got().some((m) => m.t === 'node' && m.m.t === 'start'));
  raw.node({ t: 'connect', vt: 0, conn: 1 });
  await until(() => raw.got().some((m) => m.t === 'node' && m.m.t === 'open'));
  return { cluster, host, raw, job };
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
    // A node's report of its last job follows the job's delete: the producer may have read the result first.
    await until(() => remote.reduce((k, n) => k + n.done.length, 0) === 6);
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

  test('a hostile joiner deletes jobs it never reserved, takes results and forges a report: refused, then dropped; the honest joiner finishes π', async () => {
    const { cluster, host } = room();
    const honest = join(host, 2);
    await until(() => honest.member.state.phase === 'joined');
    const hostile = rawJoiner(host);
    hostile.send(helloFor('hostile'));
    await until(() => hostile.got().some((m) => m.t === 'node' && m.m.t === 'start'));
    hostile.node({ t: 'connect', vt: 0, conn: 1 });
    await until(() => hostile.got().some((m) => m.t === 'node' && m.m.t === 'open'));
    cluster.addNode('producer', producerConfig(pi, 3));
    await until(() => cluster.model.totals().ready + cluster.model.totals().reserved > 0);
    const guesses = Array.from({ length: 12 }, (_, i) => `delete ${i + 1}\r\n`).join('');
    hostile.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes(`${guesses}watch msg_for_client\r\nreserve-with-timeout 0\r\n`) });
    await until(() => hostile.replies(1).split('\r\n').length > 14);
    expect(hostile.replies(1)).toBe(`${'NOT_FOUND\r\n'.repeat(12)}UNKNOWN_COMMAND\r\nTIMED_OUT\r\n`);
    hostile.node({ t: 'report', vt: 0, report: { kind: 'task-failed', job: 1, error: 'injected' } });
    await until(() => host.peers[1].state === 'gone');
    expect(host.peers[1].reason).toBe('reported job 1, which its node did not reserve');
    await cluster.runUntil(() => estimate(cluster) !== undefined, 20_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
    await until(() => honest.member.nodes[0].jobs + honest.member.nodes[1].jobs === 6);
    expect(cluster.history.records.filter((r) => r.exitStatus === 1)).toEqual([]);
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
    putJob(cluster, 'msg_for_worker', 'pi 1');
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes('watch msg_for_worker\r\nreserve\r\n') });
    await until(() => raw.replies(1).includes('RESERVED'));
    // Silence: the host pings each second, nobody answers; the job stays reserved until the peer is dropped.
    for (let s = 1; s <= 5; s++) {
      now += 1000;
      host.heartbeat();
    }
    expect(host.peers[0].state).toBe('admitted');
    expect(cluster.model.totals().reserved).toBe(1);
    now += 1000;
    host.heartbeat();
    expect(host.peers[0].state).toBe('gone');
    expect(host.peers[0].reason).toBe('missed its heartbeats (silent for 6.0 s)');
    expect(cluster.model.totals()).toMatchObject({ ready: 1, reserved: 0 });
    // The same browser joins again: a new joiner number, new nodes.
    const again = join(host, 1);
    await until(() => again.member.state.phase === 'joined');
    expect(again.member.state).toEqual({ phase: 'joined', joiner: 2 });
  });

  test(`a host busy for seconds (its heartbeat late) first hears what waited for it: silence drops a joiner only after ${SILENCE_BEATS} heartbeats unheard`, async () => {
    let now = wall();
    const { host } = room({ now: () => now, silenceMs: 5000 });
    const raw = rawJoiner(host);
    raw.send(helloFor('busy host'));
    await until(() => raw.got().some((m) => m.t === 'welcome'));
    now += 1000;
    host.heartbeat();
    // The host's thread is busy for 6 s (a flood of puts to take in): its next heartbeat comes late,
    // before the joiner's messages that waited meanwhile are read.
    now += 6000;
    host.heartbeat();
    expect(host.peers[0].state).toBe('admitted');
    // The pong to the late heartbeat's ping (the first one's is older than the silence limit, forgotten).
    raw.send({ t: 'pong', n: 1 });
    await until(() => host.peers[0].link.rtt !== null);
    now += 1000;
    host.heartbeat();
    expect(host.peers[0].state).toBe('admitted');
    // A joiner that is really silent is dropped once the host has pinged it SILENCE_BEATS times unheard.
    now += 6000;
    for (let beat = 1; beat < SILENCE_BEATS; beat++) {
      host.heartbeat();
      expect(host.peers[0].state).toBe('admitted');
      now += 1000;
    }
    host.heartbeat();
    expect(host.peers[0]).toMatchObject({ state: 'gone', reason: `missed its heartbeats (silent for ${(6 + SILENCE_BEATS).toFixed(1)} s)` });
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
        const d = decodeHostMessages(data);
        if (d.ok && d.msg.some((m) => m.t === 'stop')) {
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
    await until(() => a.member.nodes[0].jobs === 6);
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

  /** Sends `text` on connection 7 and waits for `n` reply lines. */
  async function ask(c: Awaited<ReturnType<typeof connected>>, text: string, n: number, conn = 7) {
    const before = c.raw.replies(conn).length;
    c.raw.node({ t: 'data', vt: 0, conn, bytes: latin1Bytes(text) });
    await until(() => c.raw.replies(conn).slice(before).split('\r\n').length > n);
    return c.raw.replies(conn).slice(before);
  }

  test("only the worker's commands run: use only the results tube, watch only the work tube; others get UNKNOWN_COMMAND", async () => {
    const c = await connected();
    putJob(c.cluster, 'msg_for_worker', 'pi 1');
    const replies = await ask(c, 'stats\r\nkick 10\r\nreserve-job 1\r\npeek 1\r\npeek-ready\r\nuse other\r\nwatch other\r\nuse msg_for_client\r\nwatch msg_for_worker\r\nignore default\r\n', 10);
    expect(replies).toBe(`${'UNKNOWN_COMMAND\r\n'.repeat(7)}USING msg_for_client\r\nWATCHING 2\r\nWATCHING 1\r\n`);
    expect(c.cluster.model.totals()).toMatchObject({ ready: 1, reserved: 0 });
  });

  test('a connection deletes, releases, buries, touches and reads (stats-job) only a job it reserved: any other is NOT_FOUND', async () => {
    const c = await connected();
    const work = putJob(c.cluster, 'msg_for_worker', 'pi 1');
    const other = putJob(c.cluster, 'msg_for_worker', 'pi 2');
    const result = putJob(c.cluster, 'msg_for_client', 'a result');
    const touchAll = (id: number) => `delete ${id}\r\nrelease ${id} 0 0\r\nbury ${id} 0\r\ntouch ${id}\r\nstats-job ${id}\r\n`;
    // A ready job it never reserved, a result waiting for the producer, a job that does not exist.
    expect(await ask(c, touchAll(work) + touchAll(result) + touchAll(99), 15)).toBe('NOT_FOUND\r\n'.repeat(15));
    expect(c.cluster.model.totals()).toMatchObject({ ready: 3, buried: 0 });
    // The job it reserves is its own to touch, read and delete; the other ready job is still not.
    expect(await ask(c, 'watch msg_for_worker\r\nreserve\r\n', 2)).toMatch(new RegExp(`^WATCHING 2\r\nRESERVED ${work} 4\r\npi 1\r\n$`));
    expect(await ask(c, `touch ${work}\r\nstats-job ${work}\r\n`, 2)).toMatch(/^TOUCHED\r\nOK \d+\r\n---\n/);
    expect(await ask(c, `delete ${other}\r\ndelete ${work}\r\n`, 2)).toBe('NOT_FOUND\r\nDELETED\r\n');
    // Another remote node's reserved job: NOT_FOUND, as beanstalkd itself answers.
    const d = rawJoiner(c.host);
    d.send(helloFor('d'));
    await until(() => d.got().some((m) => m.t === 'node' && m.m.t === 'start'));
    d.node({ t: 'connect', vt: 0, conn: 1 });
    await until(() => d.got().some((m) => m.t === 'node' && m.m.t === 'open'));
    d.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes('watch msg_for_worker\r\nreserve\r\n') });
    await until(() => d.replies(1).includes(`RESERVED ${other}`));
    expect(await ask(c, touchAll(other), 5)).toBe('NOT_FOUND\r\n'.repeat(5));
    expect(c.cluster.model.totals()).toMatchObject({ ready: 1, reserved: 1 });
    expect(c.host.peers.every((p) => p.state === 'admitted')).toBe(true);
  });

  test("the seed's release-then-delete: a connection may delete the job it released, unless someone reserved it since", async () => {
    const c = await connected();
    const a = putJob(c.cluster, 'msg_for_worker', 'pi 1');
    await ask(c, 'watch msg_for_worker\r\n', 1);
    expect(await ask(c, `reserve\r\nrelease ${a} 0 0\r\ndelete ${a}\r\n`, 3)).toMatch(/RELEASED\r\nDELETED\r\n$/);
    const b = putJob(c.cluster, 'msg_for_worker', 'pi 2');
    expect(await ask(c, `reserve\r\nrelease ${b} 0 0\r\n`, 2)).toMatch(/RELEASED\r\n$/);
    // The producer's side takes the job and gives it back: it is not the job this connection released any more.
    const engine = c.cluster.engine!;
    const other = engine.connect('other', () => {});
    engine.execute(other, { op: 'watch', tube: 'msg_for_worker' });
    engine.execute(other, { op: 'reserve' });
    engine.execute(other, { op: 'release', id: b, pri: 0, delay: 0 });
    expect(await ask(c, `delete ${b}\r\n`, 1)).toBe('NOT_FOUND\r\n');
    expect(c.cluster.model.totals()).toMatchObject({ ready: 1 });
  });

  test('a node puts only results, one per job it reserved, over all its connections (a new one per job, as the seed does)', async () => {
    const c = await connected();
    const job = putJob(c.cluster, 'msg_for_worker', 'pi 1');
    // Nothing reserved yet: no result to put, even into the results tube.
    expect(await ask(c, 'use msg_for_client\r\nput 0 0 10 5\r\nhello\r\n', 2)).toBe('USING msg_for_client\r\nUNKNOWN_COMMAND\r\n');
    expect(await ask(c, `watch msg_for_worker\r\nreserve\r\nput 0 0 10 6\r\nresult\r\ndelete ${job}\r\n`, 4)).toMatch(/INSERTED \d+\r\nDELETED\r\n$/);
    // A second result for the same job, from the node's next connection: refused.
    c.raw.node({ t: 'connect', vt: 0, conn: 8 });
    await until(() => c.raw.got().some((m) => m.t === 'node' && m.m.t === 'open' && m.m.conn === 8));
    expect(await ask(c, 'use msg_for_client\r\nput 0 0 10 6\r\nagain!\r\nuse msg_for_worker\r\n', 3, 8)).toBe('USING msg_for_client\r\nUNKNOWN_COMMAND\r\nUNKNOWN_COMMAND\r\n');
    expect(c.cluster.model.totals()).toMatchObject({ ready: 1 });
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
    await until(() => twice.got().some((m) => m.t === 'bye'));
    expect(twice.got().at(-1)).toEqual({ t: 'bye', reason: 'said hello twice' } satisfies HostMessage);
  });
});

describe('what a remote node may report', () => {
  const failed = (job: number): FromNode => ({ t: 'report', vt: 0, report: { kind: 'task-failed', job, error: 'injected' } });


  test("a report of another node's job (or one nobody reserved) drops the joiner; the job's record keeps no injected result", async () => {
    const { cluster, host, raw, job } = await reserving();
    raw.node({ t: 'report', vt: 0, report: { kind: 'task-done', job, task: 'pi', ms: 1, units: 1, result: 'pi 0 0' } });
    await until(() => host.peers[0].state === 'gone');
    expect(host.peers[0].reason).toBe(`reported job ${job}, which its node did not reserve`);
    await until(() => raw.got().some((m) => m.t === 'bye'));
    expect(raw.got().at(-1)).toEqual({ t: 'bye', reason: `reported job ${job}, which its node did not reserve` });
    expect(cluster.history.byJobId(job)).toMatchObject({ exitStatus: null, result: null });
  });

  test('a job the node reserved is reported once per reservation, even after its TTR ran out; a second report drops the joiner', async () => {
    const { cluster, host, raw, job } = await reserving();
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes('watch msg_for_worker\r\nreserve\r\n') });
    await until(() => raw.replies(1).includes('RESERVED'));
    // Its connection closes before the report (the job went back, as after a TTR): the reservation was still its own.
    raw.node({ t: 'close', vt: 0, conn: 1 });
    await until(() => cluster.model.totals().ready === 1);
    raw.node(failed(job));
    await until(() => cluster.history.byJobId(job)?.exitStatus === 1);
    expect(host.peers[0].state).toBe('admitted');
    raw.node(failed(job));
    await until(() => host.peers[0].state === 'gone');
    expect(host.peers[0].reason).toBe(`reported job ${job} twice`);
  });
});

describe("a joiner's quotas", () => {
  async function admitted(opts: Parameters<typeof room>[0] = {}, slots = 1) {
    const r = room(opts);
    const raw = rawJoiner(r.host);
    raw.send(helloFor('raw', slots));
    await until(() => raw.got().some((m) => m.t === 'node' && m.m.t === 'start'));
    return { ...r, raw };
  }
  const gone = async (host: RoomHost, reason: string) => {
    await until(() => host.peers[0].state === 'gone');
    expect(host.peers[0].reason).toBe(reason);
  };

  test('messages a second: a joiner sending more than its slots allow (2 s worth at once) is dropped', async () => {
    const now = wall();
    const { host, raw } = await admitted({ now: () => now }, 2);
    const allowance = 2 * 2 * MESSAGES_PER_SECOND_PER_SLOT;
    for (let n = 0; n < allowance - 10; n++) raw.send({ t: 'pong', n: 1_000_000 + n });
    await new Promise((r) => setTimeout(r, 50));
    expect(host.peers[0].state).toBe('admitted');
    for (let n = 0; n < 10; n++) raw.send({ t: 'pong', n });
    await gone(host, `sent more than ${MESSAGES_PER_SECOND_PER_SLOT} messages a second per node`);
  });

  test('chars a second: a joiner sending more text than its slots allow is dropped', async () => {
    const now = wall();
    const { host, raw } = await admitted({ now: () => now });
    // Padding the checks let through, in whole messages of 400 Ki chars (7 frames each).
    const padded = `{"t":"pong","n":123456789,"pad":"${'x'.repeat(400 * 1024)}"}`;
    for (let i = 0; i < 4; i++) for (const f of frames(padded)) raw.joiner.send(f);
    await new Promise((r) => setTimeout(r, 50));
    expect(host.peers[0].state).toBe('admitted');
    for (let i = 0; i < 2; i++) for (const f of frames(padded)) raw.joiner.send(f);
    await gone(host, `sent more than ${CHARS_PER_SECOND_PER_SLOT} chars a second per node`);
  });

  test('puts a second: even with every command allowed, a node putting more than its quota is dropped', async () => {
    const now = wall();
    const { host, raw, cluster } = await admitted({ now: () => now });
    host.allowAllCommands = true;
    raw.node({ t: 'connect', vt: 0, conn: 1 });
    await until(() => raw.got().some((m) => m.t === 'node' && m.m.t === 'open'));
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes('put 0 0 10 1\r\nx\r\n'.repeat(2 * PUTS_PER_SECOND_PER_SLOT + 1)) });
    await gone(host, `put more than ${PUTS_PER_SECOND_PER_SLOT} jobs a second per node`);
    expect(cluster.model.totals().ready).toBe(2 * PUTS_PER_SECOND_PER_SLOT);
  });

  test('tubes: even with every command allowed, a connection watching more than its quota is dropped', async () => {
    const { host, raw, cluster } = await admitted();
    host.allowAllCommands = true;
    raw.node({ t: 'connect', vt: 0, conn: 1 });
    await until(() => raw.got().some((m) => m.t === 'node' && m.m.t === 'open'));
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes(Array.from({ length: 20_000 }, (_, i) => `watch t${i}\r\n`).join('')) });
    await gone(host, `watched more than ${MAX_WATCHED_TUBES} tubes on one connection`);
    // default and the 7 it watched before; their connection closed, so the tubes went too.
    expect([...cluster.engine!.allConnections()].some((c) => c.watch.length > MAX_WATCHED_TUBES)).toBe(false);
  });

  test('one channel per browser: a second data channel from the same peer takes no seat', async () => {
    const { host } = room();
    const first = rawJoiner(host, 'tab-1');
    first.send(helloFor('a', 16));
    await until(() => first.got().some((m) => m.t === 'welcome'));
    const again = Array.from({ length: 5 }, () => rawJoiner(host, 'tab-1'));
    for (const j of again) j.send(helloFor('a', 16));
    await until(() => host.peers.slice(1).every((p) => p.state === 'gone'));
    expect(new Set(host.peers.slice(1).map((p) => p.reason))).toEqual(new Set(['this browser (tab-1) is already connected to the room']));
    expect(host.peers[0].state).toBe('admitted');
  });

  test('nodes per room: a joiner gets the nodes left; once none are left the room is full', async () => {
    const { host, cluster } = room({ maxNodes: 3 });
    const a = join(host, 2);
    await until(() => a.member.state.phase === 'joined');
    const b = join(host, 2);
    await until(() => b.member.state.phase === 'joined');
    expect(b.member.nodes.map((n) => n.name)).toEqual(['remote 2.1']);
    const c = join(host, 1);
    await until(() => c.member.state.phase === 'left');
    expect(c.member.state).toEqual({ phase: 'left', reason: 'the room is full (3 nodes)', byHost: true });
    expect(cluster.nodes.size).toBe(3);
  });

  test('seats: joiners waiting for approval take none, so a flood of them does not fill the room; the waiting list is bounded', async () => {
    const { host } = room({ maxPeers: 2, maxWaiting: 6 });
    host.requireApproval = true;
    const flood = Array.from({ length: 5 }, () => join(host, 16));
    const honest = join(host, 2);
    await until(() => [...flood, honest].every((j) => j.member.state.phase === 'waiting'));
    const late = join(host, 1);
    await until(() => late.member.state.phase === 'left');
    expect(late.member.state).toEqual({ phase: 'left', reason: 'too many browsers are waiting to join (6): try again once the host has let them in', byHost: true });
    host.approve(host.peers[5].no);
    await until(() => honest.member.state.phase === 'joined');
    expect(honest.member.nodes).toHaveLength(2);
  });
});

describe('large messages travel in frames the data channel can carry', () => {
  /** A 64 KiB job of control bytes: 393 KB of JSON (each byte is \u00XX), over Chromium's 256 KiB. */
  const awkward = new Uint8Array(65535).map((_, i) => i % 8);

  test("a student's 64 KiB job reaches a remote worker, which reports it cannot run it; the node stays, and π still comes out", async () => {
    const { cluster, host } = room();
    const a = join(host, 1);
    await until(() => a.member.state.phase === 'joined');
    const job = putJob(cluster, 'msg_for_worker', awkward);
    await until(() => cluster.history.byJobId(job)?.exitStatus === 1);
    expect(host.peers[0].state).toBe('admitted');
    expect(a.member.state.phase).toBe('joined');
    // The seed's worker released it, put "failed" and deleted it.
    await until(() => cluster.model.totals().ready === 1 && cluster.engine!.jobs.get(job) === undefined);
    const engine = cluster.engine!;
    const replies: string[] = [];
    const c = engine.connect('test', (line, body) => replies.push(body ? `${line} ${latin1(body)}` : line));
    engine.execute(c, { op: 'watch', tube: 'msg_for_client' });
    engine.execute(c, { op: 'reserve' });
    expect(replies.at(-1)).toMatch(/^RESERVED \d+ 6 failed$/);
    engine.execute(c, { op: 'delete', id: Number(replies.at(-1)!.split(' ')[1]) });
    cluster.addNode('producer', producerConfig({ ...pi, jobs: 4 }, 3));
    await cluster.runUntil(() => estimate(cluster) !== undefined, 20_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
    await until(() => a.member.nodes[0].jobs === 4);
  });

  test('a 64 KiB result of control bytes reaches the host from a remote node', async () => {
    const { cluster, host, raw, job } = await reserving();
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes('watch msg_for_worker\r\nreserve\r\nuse msg_for_client\r\n') });
    await until(() => raw.replies(1).includes('USING'));
    const put = new Uint8Array([...latin1Bytes(`put 0 0 10 ${awkward.length}\r\n`), ...awkward, 13, 10, ...latin1Bytes(`delete ${job}\r\n`)]);
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: put });
    await until(() => raw.replies(1).includes('DELETED'));
    expect(raw.replies(1)).toMatch(/INSERTED (\d+)\r\nDELETED\r\n$/);
    const result = Number(/INSERTED (\d+)/.exec(raw.replies(1))![1]);
    expect([...cluster.engine!.jobs.get(result)!.body]).toEqual([...awkward]);
    expect(host.peers[0].state).toBe('admitted');
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

  /** A member its test's host lets in (answering the challenge, then welcoming it), on a clock the test sets. */
  async function admittedMember() {
    const clock = { now: 0 };
    const { joiner, host } = channelPair();
    const member = new RoomMember(joiner as FakeEnd, { code: CODE, secret: SECRET, slots: 1, name: 'x', spawn: spawnInThread, now: () => clock.now, silenceMs: 6000 });
    await until(() => host.received.length > 0);
    const hello = decodeJoinerHello(host.received[0]);
    host.send(encodeMessage({ t: 'hello', answer: hostAnswer(SECRET, CODE, hello.nonce!) }));
    host.send(encodeMessage({ t: 'welcome', room: CODE, joiner: 1, nodes: [] }));
    await until(() => member.state.phase === 'joined');
    return { clock, host, member };
  }

  test('a joiner whose host falls silent leaves by itself and says why', async () => {
    // The host lets it in, then says nothing more.
    const { clock, member } = await admittedMember();
    // Watched each second: still in at 6 s, gone at 7.
    for (clock.now = 1000; clock.now <= 6000; clock.now += 1000) member.watch();
    expect(member.state.phase).toBe('joined');
    clock.now = 7000;
    member.watch();
    expect(member.state).toEqual({ phase: 'left', reason: 'the host stopped answering (silent for 7.0 s)', byHost: false });
  });

  test(`a joiner busy for seconds (its watch late) first hears what waited for it: the host's silence ends it only after ${SILENCE_BEATS} watches unheard`, async () => {
    const { clock, host, member } = await admittedMember();
    // The joiner's thread was busy for 10 s (its node threads starting): the host's ping waited behind its watch.
    clock.now = 10_000;
    member.watch();
    expect(member.state.phase).toBe('joined');
    host.send(encodeMessage({ t: 'ping', n: 0 }));
    await until(() => host.received.length > 1);
    // Heard at 10 s, then silent: from 17 s on, it stays for SILENCE_BEATS watches and leaves at the next.
    for (clock.now = 17_000; clock.now < 17_000 + SILENCE_BEATS * 1000; clock.now += 1000) {
      member.watch();
      expect(member.state.phase).toBe('joined');
    }
    member.watch();
    expect(member.state).toEqual({ phase: 'left', reason: `the host stopped answering (silent for ${(7 + SILENCE_BEATS).toFixed(1)} s)`, byHost: false });
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
    // The new start reserves a job of the run, and reports it.
    const job = putJob(run, 'msg_for_worker', 'pi 1');
    raw.node({ t: 'connect', vt: 0, conn: 1 });
    await until(() => raw.got().some((m) => m.t === 'node' && m.g === raw.started() && m.m.t === 'open'));
    raw.node({ t: 'data', vt: 0, conn: 1, bytes: latin1Bytes('watch msg_for_worker\r\nreserve\r\n') });
    await until(() => raw.replies(1).includes('RESERVED'));
    raw.node(taskDone(job));
    const node = [...run.nodes.values()][0];
    await until(() => node.reports.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(node.reports).toEqual([{ kind: 'task-done', job, task: 'pi', ms: 5, units: 1 }]);
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
    return { member, spawned, sentAfterHello: hostEnd.received.slice(1).map((r) => decodeJoinerMessages(r)).flatMap((d) => (d.ok ? d.msg : [])) };
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
    // The hello and the pong: one frame each, or one batch if they left in the same turn.
    const sent = () => hostEnd.received.flatMap((r) => decodeJoinerMessages(r)).flatMap((d) => (d.ok ? d.msg : []));
    await until(() => sent().length === 2);
    expect(sent().map((m) => m.t)).toEqual(['hello', 'pong']);
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

describe('a reloaded tab rejoins as the same joiner', () => {
  /** A joiner's tab, as JoinView makes it: its id kept in sessionStorage across reloads. */
  function tab(host: RoomHost, id: string, name = 'Linux k3fz') {
    const { host: hostEnd, joiner } = channelPair('beanlab-host', `peer-${Math.random()}`);
    host.accept(hostEnd);
    const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots: 1, name, tab: id, spawn: spawnInThread, now: wall });
    cleanup.push(() => member.leave());
    return { member, joiner };
  }
  const TAB = '5a'.repeat(16);

  test('a reload whose goodbye was lost: the same number, node names and seat (no approval asked again); the old node’s job returns at once; π comes out', async () => {
    const { cluster, host } = room();
    const first = tab(host, TAB);
    const other = tab(host, '6b'.repeat(16), 'Mac q2aa');
    await until(() => first.member.state.phase === 'joined' && other.member.state.phase === 'joined');
    cluster.addNode('producer', producerConfig({ ...pi, darts: 12_000_000, jobs: 12 }, 3));
    const holding = () => [...cluster.engine!.allConnections()].some((c) => c.name.startsWith('remote 1.1#') && c.reserved.size > 0);
    await until(holding);
    const held = cluster.model.reservations.filter((r) => r.end === null).length;
    expect(held).toBeGreaterThan(0);
    host.requireApproval = true;
    // The reloaded page says hello on a new channel; the old one never said goodbye.
    const reloaded = tab(host, TAB);
    await until(() => reloaded.member.state.phase === 'joined');
    expect(reloaded.member.state).toEqual({ phase: 'joined', joiner: 1 });
    expect(reloaded.member.nodes.map((n) => n.name)).toEqual(['remote 1.1']);
    expect(host.peers.map((p) => [p.no, p.name, p.state])).toEqual([
      [1, 'Linux k3fz', 'admitted'],
      [2, 'Mac q2aa', 'admitted'],
    ]);
    // The old node's jobs came back when the old entry was let go, and its card made way for the new node's.
    expect(cluster.model.reservations.some((r) => r.outcome === 'returned')).toBe(true);
    expect([...cluster.nodes.values()].filter((n) => n.remote).map((n) => n.name)).toEqual(['remote 2.1', 'remote 1.1']);
    await until(() => first.member.state.phase === 'left');
    expect(first.member.state).toEqual({ phase: 'left', reason: 'rejoined from a new connection (a reload)', byHost: true });
    await cluster.runUntil(() => estimate(cluster) !== undefined, 30_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
    // The next newcomer is joiner 3: the reload took no number.
    const newcomer = tab(host, '7c'.repeat(16));
    await until(() => newcomer.member.state.phase === 'waiting');
    host.approve(3);
    await until(() => newcomer.member.state.phase === 'joined');
    expect(newcomer.member.state).toEqual({ phase: 'joined', joiner: 3 });
  });

  test('a reload after a goodbye (the tab closed cleanly) also gets its number back', async () => {
    const { cluster, host } = room();
    const first = tab(host, TAB);
    await until(() => first.member.state.phase === 'joined');
    first.member.leave();
    await until(() => host.peers[0].state === 'gone');
    const reloaded = tab(host, TAB);
    await until(() => reloaded.member.state.phase === 'joined');
    expect(reloaded.member.state).toEqual({ phase: 'joined', joiner: 1 });
    expect(host.peers.map((p) => [p.no, p.state])).toEqual([[1, 'admitted']]);
    expect([...cluster.nodes.values()].map((n) => [n.name, n.life])).toEqual([['remote 1.1', 'running']]);
  });

  test('a tab the host removed, or refused, is a new joiner when it comes back, and waits for approval', async () => {
    const { host } = room();
    const first = tab(host, TAB);
    await until(() => first.member.state.phase === 'joined');
    host.kick(1);
    await until(() => first.member.state.phase === 'left');
    host.requireApproval = true;
    const back = tab(host, TAB);
    await until(() => back.member.state.phase === 'waiting');
    expect(host.peers.map((p) => [p.no, p.state])).toEqual([
      [1, 'gone'],
      [2, 'pending'],
    ]);
    host.refuse(2);
    await until(() => back.member.state.phase === 'left');
    const again = tab(host, TAB);
    await until(() => again.member.state.phase === 'waiting');
    expect(host.peers.map((p) => p.no)).toEqual([1, 2, 3]);
  });
});

describe("what the host's roster knows of each joiner", () => {
  test("its machine's platform and cores from its hello, the jobs its nodes finished, and the lesson and step it shares", async () => {
    const { cluster, host } = room();
    const { host: hostEnd, joiner } = channelPair('beanlab-host', 'ada');
    host.accept(hostEnd);
    const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots: 2, name: 'Ada', platform: 'Linux x86_64', cores: 8, spawn: spawnInThread, now: wall });
    cleanup.push(() => member.leave());
    // Shared before the host's welcome: sent once the host says it reads lessons.
    member.shareLesson({ lesson: 'speedup', step: 1 });
    const b = join(host, 1);
    await until(() => member.state.phase === 'joined' && b.member.state.phase === 'joined');
    const ada = host.peers.find((p) => p.name === 'Ada')!;
    expect([ada.platform, ada.cores, ada.slots]).toEqual(['Linux x86_64', 8, 2]);
    await until(() => ada.lesson !== null);
    expect(ada.lesson).toEqual({ lesson: 'speedup', step: 1 });
    member.shareLesson({ lesson: 'speedup', step: 2 });
    await until(() => ada.lesson?.step === 2);
    member.shareLesson(null);
    await until(() => ada.lesson === null);
    // A joiner that says nothing of its machine: nothing is made up.
    const other = host.peers.find((p) => p !== ada)!;
    expect([other.platform, other.cores, other.lesson]).toEqual([undefined, undefined, null]);
    cluster.addNode('producer', producerConfig(pi, 3));
    await cluster.runUntil(() => estimate(cluster) !== undefined, 20_000);
    await until(() => ada.jobsDone + other.jobsDone === 6);
    expect(ada.jobsDone).toBe(member.nodes.reduce((k, n) => k + n.jobs, 0));
    expect(other.jobsDone).toBe(b.member.nodes[0].jobs);
  });

  test("a host whose welcome does not say it reads lessons (an older one, which would drop the message) is never sent one", async () => {
    const { host: hostEnd, joiner } = channelPair('beanlab-host', 'ada');
    const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots: 1, name: 'Ada', spawn: spawnInThread, now: wall });
    cleanup.push(() => member.leave());
    await until(() => hostEnd.received.length > 0);
    const hello = decodeJoinerHello(hostEnd.received[0]);
    hostEnd.send(encodeMessage({ t: 'hello', answer: hostAnswer(SECRET, CODE, hello.nonce!) }));
    hostEnd.send(encodeMessage({ t: 'welcome', room: CODE, joiner: 1, nodes: [{ s: 0, name: 'remote 1.1' }] }));
    await until(() => member.state.phase === 'joined');
    member.shareLesson({ lesson: 'speedup', step: 1 });
    hostEnd.send(encodeMessage({ t: 'ping', n: 0 }));
    const sent = () => hostEnd.received.flatMap((r) => decodeJoinerMessages(r)).flatMap((d) => (d.ok ? d.msg : []));
    await until(() => sent().some((m) => m.t === 'pong'));
    expect(sent().filter((m) => m.t === 'lesson')).toEqual([]);
  });

  test('a joiner that speaks of its lesson before its hello is dropped, as for any message', async () => {
    const { host } = room();
    const raw = rawJoiner(host);
    raw.send({ t: 'lesson', at: { lesson: 'speedup', step: 0 } });
    await until(() => host.peers[0].state === 'gone');
    expect(host.peers[0].reason).toBe('spoke (lesson) before saying hello');
  });
});
