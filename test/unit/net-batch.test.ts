// A class-sized room's traffic: room messages sent together travel together (a batch, one data channel
// message), read in order, and a bad batch costs its sender its seat, not the host; a remote node keeps
// its connection between jobs and pipelines its commands, and still gives its job back at once when it
// leaves.
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import { MESSAGES_PER_SECOND_PER_SLOT, RoomHost } from '../../src/net/room-host.ts';
import { RoomMember } from '../../src/net/room-member.ts';
import { batchFrames, decodeHostMessages, decodeJoinerMessages, encodeMessage, FRAME_CHARS, FrameReader, type HostMessage, type JoinerMessage } from '../../src/net/messages.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';
import { latin1, latin1Bytes } from '../../src/protocol/wire.ts';
import { channelPair, CODE, helloFor, SECRET, until, wall } from './net-fake-channel.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function room(now: () => number = wall) {
  const cluster = new Cluster({ seed: 3, mode: 'live', spawn: spawnInThread });
  const host = new RoomHost({ code: CODE, secret: SECRET, cluster: () => cluster, worker: WORKER, now });
  cleanup.push(() => {
    host.close();
    cluster.dispose();
  });
  return { cluster, host };
}

function join(host: RoomHost, slots = 1) {
  const { host: hostEnd, joiner } = channelPair('beanlab-host', `joiner-${Math.random()}`);
  host.accept(hostEnd);
  const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots, name: 'lab', spawn: spawnInThread, now: wall });
  cleanup.push(() => member.leave());
  return { member, joiner };
}

/** A joiner that sends frames of its own making; what the host sent it, read as a joiner reads it. */
function rawJoiner(host: RoomHost) {
  const { host: hostEnd, joiner } = channelPair('beanlab-host', `raw-${Math.random()}`);
  host.accept(hostEnd);
  const got = (): HostMessage[] => {
    const reader = new FrameReader();
    return joiner.received.flatMap((r) => {
      const f = reader.read(r);
      const d = f.ok && f.msg !== null ? decodeHostMessages(f.msg) : null;
      return d?.ok ? d.msg : [];
    });
  };
  const started = () => got().flatMap((m) => (m.t === 'node' && m.m.t === 'start' ? [m.g] : [])).at(-1) ?? -1;
  const replies = (conn: number) =>
    got()
      .flatMap((m) => (m.t === 'node' && m.m.t === 'data' && m.m.conn === conn ? [latin1(m.m.bytes)] : []))
      .join('');
  return { joiner, got, started, replies };
}

const estimate = (c: Cluster) =>
  [...c.nodes.values()].find((n) => n.role === 'producer')?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done')?.estimate;

describe('batches: room messages sent together travel in one frame', () => {
  const pong = (n: number) => encodeMessage({ t: 'pong', n });

  test('messages go together in one frame, in order; a batch of one is the message itself; no frame is over FRAME_CHARS', () => {
    const texts = Array.from({ length: 5 }, (_, i) => pong(i));
    expect(batchFrames(texts)).toEqual([`[${texts.join(',')}]`]);
    expect(batchFrames([pong(7)])).toEqual([pong(7)]);
    expect(batchFrames([])).toEqual([]);
    // 20,000 pongs do not fit in one frame: as many frames as it takes, each full but for the last, every message once, in order.
    const many = Array.from({ length: 20_000 }, (_, i) => pong(i));
    const out = batchFrames(many);
    expect(out.length).toBeGreaterThan(1);
    for (const f of out) expect(f.length).toBeLessThanOrEqual(FRAME_CHARS);
    expect(out.flatMap((f) => (decodeJoinerMessages(f) as { msg: JoinerMessage[] }).msg)).toEqual(many.map((t) => JSON.parse(t)));
  });

  test('a message too long for a frame goes alone, in pieces, between the batches before and after it', () => {
    const long = encodeMessage({ t: 'node', s: 0, g: 0, m: { t: 'log', vt: 0, text: 'x'.repeat(FRAME_CHARS) } });
    const out = batchFrames([pong(1), pong(2), long, pong(3)]);
    expect(out[0]).toBe(`[${pong(1)},${pong(2)}]`);
    expect(out.slice(1, -1).every((f) => /^~\d\/2:/.test(f))).toBe(true);
    expect(out.at(-1)).toBe(pong(3));
    const reader = new FrameReader();
    const read = out.map((f) => reader.read(f)).flatMap((f) => (f.ok && f.msg !== null ? [f.msg] : []));
    expect(read).toEqual([out[0], long, pong(3)]);
  });

  test('a batch is read in order; one bad message refuses the whole batch and says which; a batch holds at least 2', () => {
    expect(decodeJoinerMessages(`[${pong(2)},{"t":"bye"},${pong(1)}]`)).toEqual({ ok: true, msg: [{ t: 'pong', n: 2 }, { t: 'bye' }, { t: 'pong', n: 1 }] });
    expect(decodeJoinerMessages(`[${pong(2)},{"t":"pong","n":-1}]`)).toEqual({ ok: false, why: `n is not an integer in [0, ${Number.MAX_SAFE_INTEGER}]` });
    expect(decodeJoinerMessages(`[${pong(2)},3]`)).toEqual({ ok: false, why: 'message 2 of the batch is not an object' });
    expect(decodeJoinerMessages('[]')).toEqual({ ok: false, why: 'a batch of 0 messages (a batch holds at least 2)' });
    expect(decodeJoinerMessages(`[${pong(2)}]`)).toEqual({ ok: false, why: 'a batch of 1 message (a batch holds at least 2)' });
    expect(decodeHostMessages(`[{"t":"ping","n":4},{"t":"bye","reason":"x"}]`)).toEqual({ ok: true, msg: [{ t: 'ping', n: 4 }, { t: 'bye', reason: 'x' }] });
  });

  test("the host acts on a joiner's batch in order: connect, then commands on it, answered in order", async () => {
    const { host } = room();
    const raw = rawJoiner(host);
    raw.joiner.send(encodeMessage(helloFor('raw')));
    await until(() => raw.started() >= 0);
    const g = raw.started();
    const node = (m: object) => encodeMessage({ t: 'node', s: 0, g, m } as JoinerMessage);
    const bytes = (text: string) => latin1Bytes(text);
    raw.joiner.send(
      `[${[
        node({ t: 'connect', vt: 0, conn: 1 }),
        node({ t: 'data', vt: 0, conn: 1, bytes: bytes('watch msg_for_worker\r\n') }),
        node({ t: 'data', vt: 0, conn: 1, bytes: bytes('ignore default\r\n') }),
        node({ t: 'data', vt: 0, conn: 1, bytes: bytes('use msg_for_client\r\n') }),
      ].join(',')}]`,
    );
    await until(() => raw.replies(1).length >= 'WATCHING 2\r\nWATCHING 1\r\nUSING msg_for_client\r\n'.length);
    expect(raw.replies(1)).toBe('WATCHING 2\r\nWATCHING 1\r\nUSING msg_for_client\r\n');
    expect(host.peers[0].state).toBe('admitted');
  });

  test('a malformed batch drops its joiner, none of it acted on; the host and the other joiner carry on and compute π', async () => {
    const { cluster, host } = room();
    const good = join(host);
    const bad = rawJoiner(host);
    bad.joiner.send(encodeMessage(helloFor('bad')));
    await until(() => good.member.state.phase === 'joined' && bad.started() >= 0);
    const g = bad.started();
    // A connect, then a message with a byte that is no byte: the connect is not made either.
    bad.joiner.send(`[${encodeMessage({ t: 'node', s: 0, g, m: { t: 'connect', vt: 0, conn: 1 } })},{"t":"node","s":0,"g":${g},"m":{"t":"data","vt":0,"conn":1,"bytes":"\u4e00"}}]`);
    await until(() => host.peers[1].state === 'gone');
    expect(host.peers[1].reason).toBe('sent a malformed message (bytes holds a char that is not a byte)');
    expect([...cluster.engine!.allConnections()].filter((c) => c.name.startsWith('remote 2.1#'))).toEqual([]);
    cluster.addNode('producer', producerConfig({ kind: 'pi', darts: 2_000_000, jobs: 6, workers: 0, ttr: 40, autostart: true }, 3));
    await cluster.runUntil(() => estimate(cluster) !== undefined, 20_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
  });

  test('a batch spends a message of the quota for each message in it (MESSAGES_PER_SECOND_PER_SLOT holds for batches)', async () => {
    const now = wall();
    const { host } = room(() => now);
    const raw = rawJoiner(host);
    raw.joiner.send(encodeMessage(helloFor('raw')));
    await until(() => raw.started() >= 0);
    // 2 s worth for one slot, the hello spent: a batch that fits, then one message over.
    const allowance = 2 * MESSAGES_PER_SECOND_PER_SLOT - 1;
    const pongs = (from: number, k: number) => batchFrames(Array.from({ length: k }, (_, i) => pong(from + i)));
    const first = pongs(0, allowance - 10);
    for (const f of first) raw.joiner.send(f);
    await new Promise((r) => setTimeout(r, 50));
    expect(host.peers[0].state).toBe('admitted');
    // As many frames again as messages left would pass if a batch counted as one message.
    for (const f of pongs(100_000, 11)) raw.joiner.send(f);
    await until(() => host.peers[0].state === 'gone');
    expect(host.peers[0].reason).toBe(`sent more than ${MESSAGES_PER_SECOND_PER_SLOT} messages a second per node`);
  });
});

test("what one side sends in one round of events goes in one data channel message: a job of a 4-node joiner costs at most 2 of the host's and 3 of the joiner's (in Node, where each send is a call into wrtc's network thread)", async () => {
  const { cluster, host } = room();
  const { host: hostEnd, joiner } = channelPair('beanlab-host', 'counted');
  const sends = { host: 0, joiner: 0 };
  for (const [end, side] of [
    [hostEnd, 'host'],
    [joiner, 'joiner'],
  ] as const) {
    const send = end.send.bind(end);
    end.send = (text) => {
      sends[side]++;
      send(text);
    };
  }
  host.accept(hostEnd);
  const member = new RoomMember(joiner, { code: CODE, secret: SECRET, slots: 4, name: 'lab', spawn: spawnInThread, now: wall });
  cleanup.push(() => member.leave());
  await until(() => member.state.phase === 'joined' && member.nodes.every((n) => n.status.state === 'waiting'));
  const before = { ...sends };
  const jobs = 120;
  cluster.addNode('producer', producerConfig({ kind: 'pi', darts: jobs * 100_000, jobs, workers: 0, ttr: 60, autostart: true }, 3));
  await cluster.runUntil(() => estimate(cluster) !== undefined, 60_000);
  expect((sends.host - before.host) / jobs).toBeLessThanOrEqual(2);
  expect((sends.joiner - before.joiner) / jobs).toBeLessThanOrEqual(3);
});

describe("a remote node's worker keeps its connection and pipelines", () => {
  const pi: PiScenario = { kind: 'pi', darts: 3_000_000, jobs: 12, workers: 0, ttr: 40, autostart: true };

  test('one connection for a whole run: use once, and each next reserve sent with the delete before it (no round trip between them)', async () => {
    const { cluster, host } = room();
    const a = join(host);
    await until(() => a.member.state.phase === 'joined');
    cluster.addNode('producer', producerConfig(pi, 3));
    await cluster.runUntil(() => estimate(cluster) !== undefined, 30_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
    const node = [...cluster.nodes.values()].find((n) => n.name === 'remote 1.1')!;
    // A node's report of its last job follows the job's delete: the producer may have read the result first.
    await until(() => node.done.length === 12);
    const sent = cluster.trace.toArray().filter((e) => e.node === node.id && e.kind === 'to-server');
    expect(sent.filter((e) => e.text === 'connect').length).toBe(1);
    // The trace shows the lines of one data message joined by ⏎.
    const lines = sent.filter((e) => e.text !== 'connect').flatMap((e) => e.text.split('⏎'));
    expect(lines.filter((l) => l.startsWith('use '))).toEqual(['use msg_for_client']);
    expect(lines.filter((l) => l.startsWith('watch ') || l.startsWith('ignore '))).toEqual(['watch msg_for_worker', 'ignore default']);
    // Each job's delete but the last reached the host in one data message with the next reserve.
    const deletes = sent.filter((e) => e.text.startsWith('delete '));
    expect(deletes.length).toBe(12);
    for (const e of deletes.slice(0, -1)) expect(e.text).toMatch(/^delete \d+⏎reserve$/);
  });

  test('a joiner that leaves mid-job still gives its reserved job back at once (its one connection closes)', async () => {
    const { cluster, host } = room();
    const a = join(host);
    const b = join(host);
    await until(() => a.member.state.phase === 'joined' && b.member.state.phase === 'joined');
    cluster.addNode('producer', producerConfig({ ...pi, darts: 24_000_000, jobs: 24 }, 3));
    const conns = () => [...cluster.engine!.allConnections()].filter((c) => c.name.startsWith('remote 1.1#') && !c.closed);
    // Past its first job, on the same connection, and holding a job now.
    await until(() => a.member.nodes[0].jobs >= 2 && conns().some((c) => c.reserved.size > 0));
    expect(conns().length).toBe(1);
    a.member.leave();
    await until(() => cluster.model.reservations.some((r) => r.outcome === 'returned'));
    expect(host.peers[0].reason).toBe('left the room');
    expect(conns()).toEqual([]);
    await cluster.runUntil(() => estimate(cluster) !== undefined, 30_000);
    expect(Math.abs(estimate(cluster)! - Math.PI)).toBeLessThan(0.01);
  });
});
