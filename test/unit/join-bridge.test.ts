// `npm run join -- … --bridge PORT`: a real beanstalkd client library (node-beanstalk) on the joiner's
// machine reaches the room host's engine through the bridge's TCP port, the room hosted in this process
// over the real PeerServer and WebRTC. The seed report's worker flow (ignore default, watch
// msg_for_worker, reserve, put the result into msg_for_client, delete) computes π for the host's
// producer; the room's rules hold for the bridged client as for any remote node (worker-commands.ts);
// closing either side closes the other.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { Client } from 'node-beanstalk';
import { Connection } from 'node-beanstalk/dist/Connection.js';
import { HostedRoom, type SignalingServer } from '../../src/net/peer-link.ts';
import { MAX_OPEN_CONNECTIONS, PUTS_PER_SECOND_PER_SLOT } from '../../src/net/room-host.ts';
import { Cluster } from '../../src/sim/cluster.ts';
import { runSpeedup } from '../../src/sim/experiment.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';
import { decodeTask, encodeResult, runTask } from '../../src/tasks/index.ts';
import { ClientTraffic } from '../../src/cli/bridge.ts';
import { freePort } from './server-harness.ts';
import { until } from './net-fake-channel.ts';
import { killJoiners, runJoin, startSignaling, type Joiner } from '../support/join-process.ts';

/** Bytes in, bytes out: the worker reads and writes bodies as the seed's worker.py does (text). */
const textSerializer = {
  serialize: (data: unknown) => Buffer.from(String(data)),
  deserialize: (b: Buffer) => b.toString(),
};

/** The server's error line that a library call failed with (node-beanstalk names it only in the message). */
function errorStatus(e: unknown): string | undefined {
  return /^Error status '([A-Z_]+)'/.exec((e as Error).message)?.[1];
}

let signaling: SignalingServer;
let port: number;
let closeSignaling: () => Promise<void>;
let cluster: Cluster;
let room: HostedRoom;
const clients: Client[] = [];

beforeAll(async () => {
  ({ signaling, port, close: closeSignaling } = await startSignaling());
});
afterAll(() => closeSignaling?.());
afterEach(async () => {
  for (const c of clients.splice(0)) if (c.isConnected) await c.disconnect(true).catch(() => {});
  killJoiners();
  room?.close();
  cluster?.dispose();
});

async function hostRoom(): Promise<string> {
  cluster = new Cluster({ seed: 7, mode: 'live', spawn: spawnInThread });
  room = await HostedRoom.open({ cluster: () => cluster, worker: WORKER, signaling, onChange: () => {} });
  return room.joinUrl(`http://127.0.0.1:${port}/`);
}

const remoteNodes = () => [...cluster.nodes.values()].filter((n) => n.remote);
const estimate = () =>
  [...cluster.nodes.values()]
    .find((n) => n.role === 'producer')
    ?.reports.find((r): r is Extract<NodeReport, { kind: 'producer-done' }> => r.kind === 'producer-done')?.estimate;
const bridgeConnections = () => [...cluster.engine!.allConnections()].filter((c) => c.name.startsWith('remote 1.1#') && !c.closed);

/** `join --cores 0 --bridge PORT`: the joiner is admitted with its one node, the bridge, listening. */
async function bridgeJoiner(extra: string[] = []): Promise<{ j: Joiner; bridge: number }> {
  const bridge = await freePort();
  const j = runJoin([await hostRoom(), '--cores', '0', '--bridge', String(bridge), '--name', 'lab-03', ...extra]);
  await until(() => remoteNodes().length === 1 && remoteNodes()[0].status.state === 'idle', 30_000);
  return { j, bridge };
}

async function client(bridge: number): Promise<Client> {
  const c = new Client({ host: '127.0.0.1', port: bridge, serializer: textSerializer });
  await c.connect();
  clients.push(c);
  return c;
}

/** The report's worker.py, as a node-beanstalk program: watch the work tube, ignore default, then for each job reserve, compute, put the result, delete. */
async function reportWorker(c: Client, jobs: number): Promise<void> {
  expect(await c.watch('msg_for_worker')).toBe(2);
  expect(await c.ignore('default')).toBe(true);
  expect(await c.use('msg_for_client')).toBe('msg_for_client');
  for (let i = 0; i < jobs; i++) {
    const job = await c.reserve();
    const result = encodeResult(runTask(decodeTask(String(job!.payload))));
    await c.put(result, 60, 0);
    expect(await c.delete(job!.id)).toBe(true);
  }
}

/** The most a TCP socket's receive or send buffer grows to on this machine (bytes); 8 MB where it cannot be read. */
function tcpBufferMax(which: 'rmem' | 'wmem'): number {
  try {
    return Number(readFileSync(`/proc/sys/net/ipv4/tcp_${which}`, 'utf8').trim().split(/\s+/)[2]);
  } catch {
    return 8 << 20;
  }
}

describe("the bridge's reading of the traffic (ClientTraffic)", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  test('a job reserved, its result put and the job deleted is one task done, with the put body as its result; bodies and split lines are not read as commands', () => {
    const done: NodeReport[] = [];
    let now = 1000;
    const t = new ClientTraffic(() => now, (r) => done.push(r));
    t.fromClient(bytes('reserve\r'));
    expect(t.waiting).toBe(false);
    t.fromClient(bytes('\n'));
    expect(t.waiting).toBe(true);
    t.fromServer(bytes('RESERVED 5 7\r\npi 10 1\r\n'));
    expect(t.waiting).toBe(false);
    expect([...t.held.keys()]).toEqual([5]);
    now = 1250;
    // A body that looks like commands, cut across chunks, then two pipelined commands.
    t.fromClient(bytes('put 0 0 60 12\r\ndelete 5\r\nπ'));
    t.fromClient(bytes('\r\ndelete 5\r\nreserve\r\n'));
    t.fromServer(bytes('INSERTED 6\r\nDELETE'));
    expect(done).toEqual([]);
    t.fromServer(bytes('D\r\n'));
    expect(done).toEqual([{ kind: 'task-done', job: 5, task: 'pi', ms: 250, units: 1, result: 'delete 5\r\nπ' }]);
    expect(t.held.size).toBe(0);
    expect(t.waiting).toBe(true);
  });

  test("a job released, buried or not deleted is no task done; nor is one whose body is none of the lab's tasks; a NOT_FOUND (its TTR ran out) means the client no longer holds it", () => {
    const done: NodeReport[] = [];
    const t = new ClientTraffic(() => 0, (r) => done.push(r));
    t.fromClient(bytes('reserve\r\nrelease 1 0 0\r\nreserve\r\nbury 1 0\r\nreserve\r\ndelete 2\r\ndelete 3\r\nreserve\r\ntouch 4\r\n'));
    t.fromServer(bytes('RESERVED 1 7\r\npi 10 1\r\nRELEASED\r\nRESERVED 1 7\r\npi 10 1\r\nBURIED\r\nRESERVED 2 5\r\nhello\r\nDELETED\r\nNOT_FOUND\r\nRESERVED 4 7\r\npi 10 1\r\nNOT_FOUND\r\n'));
    expect(done).toEqual([]);
    expect(t.held.size).toBe(0);
  });
});

describe('npm run join --bridge: a real beanstalkd client joins the room', () => {
  test("the report's worker flow through the bridge computes π for the host's producer; the bridge node, named as the machine's nodes are, counts its jobs on the host and on the terminal", async () => {
    const { j, bridge } = await bridgeJoiner();
    expect(remoteNodes().map((n) => n.name)).toEqual(['remote 1.1']);
    expect(room.room.peers.map((p) => [p.name, p.state, p.slots])).toEqual([['lab-03', 'admitted', 1]]);
    const pi: PiScenario = { kind: 'pi', darts: 4_000_000, jobs: 4, workers: 0, ttr: 60, autostart: true };
    cluster.addNode('producer', producerConfig(pi, 7));
    await reportWorker(await client(bridge), 4);
    await cluster.runUntil(() => estimate() !== undefined, 30_000);
    expect(Math.abs(estimate()! - Math.PI)).toBeLessThan(0.01);
    const node = remoteNodes()[0];
    await until(() => node.done.length === 4, 5000);
    // The host's history has each result the bridged client put, under the bridge node's name.
    expect(node.reports.filter((r) => r.kind === 'task-done').map((r) => (r as { task: string }).task)).toEqual(['pi', 'pi', 'pi', 'pi']);
    await until(() => /remote 1\.1 +idle \(bridge 127\.0\.0\.1:\d+, 1 client\) +4 done \(bridge\)\n/.test(j.out()), 5000);
    expect(j.out()).toContain(`bridge 127.0.0.1:${bridge}: 1 client`);
    expect(j.err()).toBe('');
  });

  test("the card's status follows the traffic: waiting during a reserve, working on job N while the client holds it", async () => {
    const { bridge } = await bridgeJoiner();
    const c = await client(bridge);
    await c.watch('msg_for_worker');
    const reserving = c.reserve();
    await until(() => remoteNodes()[0].status.state === 'waiting', 5000);
    const producer = await client(bridge);
    room.room.allowAllCommands = true;
    await producer.use('msg_for_worker');
    const { id } = await producer.put('pi 1000 1', 60, 0);
    expect((await reserving)!.id).toBe(id);
    await until(() => remoteNodes()[0].status.state === 'working', 5000);
    expect(remoteNodes()[0].status).toMatchObject({ state: 'working', job: id });
  });

  test('the room policy: a command outside the worker whitelist (kick, use or put into the work tube) is UNKNOWN_COMMAND; with "all commands" allowed it runs', async () => {
    const { bridge } = await bridgeJoiner();
    const c = await client(bridge);
    expect(errorStatus(await c.kick(10).catch((e: unknown) => e))).toBe('UNKNOWN_COMMAND');
    expect(errorStatus(await c.use('msg_for_worker').catch((e: unknown) => e))).toBe('UNKNOWN_COMMAND');
    // Refused, its body read and thrown away: the connection stays in step.
    expect(errorStatus(await c.put('pi 1000 1', 60, 0).catch((e: unknown) => e))).toBe('UNKNOWN_COMMAND');
    expect(cluster.engine!.readyCount).toBe(0);
    room.room.allowAllCommands = true;
    expect(await c.use('msg_for_worker')).toBe('msg_for_worker');
    const { id } = await c.put('pi 1000 1', 60, 0);
    expect(await c.kick(10)).toBe(0);
    expect(cluster.engine!.jobs.get(id)).toMatchObject({ state: 'ready', tube: { name: 'msg_for_worker' } });
    // The bridge is still in the room: a refused command is an answer, not a fault.
    expect(room.room.peers[0].state).toBe('admitted');
  });

  test("the client's TCP close closes its engine connection: the job it held returns to the queue at once, not at its TTR", async () => {
    const { bridge } = await bridgeJoiner();
    const pi: PiScenario = { kind: 'pi', darts: 4_000_000, jobs: 2, workers: 0, ttr: 60, autostart: true };
    cluster.addNode('producer', producerConfig(pi, 7));
    const c = await client(bridge);
    await c.watch('msg_for_worker');
    await c.ignore('default');
    await c.reserve();
    expect(bridgeConnections().some((conn) => conn.reserved.size === 1)).toBe(true);
    await c.disconnect();
    await until(() => bridgeConnections().length === 0, 2000);
    expect(cluster.model.reservations.some((r) => r.outcome === 'returned')).toBe(true);
    expect(cluster.engine!.readyCount).toBe(2);
  });

  test(`a node holds at most ${MAX_OPEN_CONNECTIONS} connections: a ${MAX_OPEN_CONNECTIONS + 1}th client is refused with a line on the terminal, and the joiner stays in the room`, async () => {
    const { j, bridge } = await bridgeJoiner();
    for (let i = 0; i < MAX_OPEN_CONNECTIONS; i++) expect(await (await client(bridge)).watch('msg_for_worker')).toBe(2);
    const extra = net.connect(bridge, '127.0.0.1');
    let from = 0;
    extra.once('connect', () => (from = extra.localPort!));
    await new Promise((resolve) => extra.once('close', resolve));
    await until(() => j.out().includes(`refused a client from 127.0.0.1:${from}: `), 5000);
    expect(j.out()).toMatch(`a node holds at most ${MAX_OPEN_CONNECTIONS} connections to the room's queue, and ${MAX_OPEN_CONNECTIONS} clients are connected`);
    expect(bridgeConnections()).toHaveLength(MAX_OPEN_CONNECTIONS);
    expect(room.room.peers[0].state).toBe('admitted');
    // One leaves, and a new client takes its place.
    await clients[0].disconnect();
    await until(() => bridgeConnections().length === MAX_OPEN_CONNECTIONS - 1, 2000);
    expect(await (await client(bridge)).watch('msg_for_worker')).toBe(2);
  });

  test(`a pipelined run of puts faster than the room's put quota (${PUTS_PER_SECOND_PER_SLOT}/s per node, 2 s worth at once) is slowed down by the bridge, not the reason its joiner is dropped`, async () => {
    const { bridge } = await bridgeJoiner();
    room.room.allowAllCommands = true;
    const raw = net.connect(bridge, '127.0.0.1');
    let got = '';
    raw.on('data', (d) => (got += d));
    const puts = 3 * PUTS_PER_SECOND_PER_SLOT;
    raw.write('use burst\r\n' + 'put 0 0 60 1\r\nx\r\n'.repeat(puts));
    await until(() => (got.match(/INSERTED/g) ?? []).length === puts, 30_000);
    expect(got).toBe('USING burst\r\n' + Array.from({ length: puts }, (_, i) => `INSERTED ${i + 1}\r\n`).join(''));
    expect(room.room.peers[0].state).toBe('admitted');
    raw.destroy();
  });

  test("a client that does not read its replies has its next commands wait (its socket is read no more) until it reads: the joiner does not buffer the server's answers without end", async () => {
    const { bridge } = await bridgeJoiner();
    room.room.allowAllCommands = true;
    const raw = net.connect(bridge, '127.0.0.1');
    const body = 'b'.repeat(60_000);
    let got = 0;
    raw.on('data', (d: Buffer) => (got += d.length));
    raw.write(`put 0 0 60 ${body.length}\r\n${body}\r\n`);
    await until(() => got === 'INSERTED 1\r\n'.length, 5000);
    // Stop reading, and ask for the 60 kB body again and again, a command at a time: more replies than
    // the sockets' buffers can hold (Linux grows them up to tcp_rmem's and tcp_wmem's maximum: 32 and 4 MB here).
    raw.pause();
    const reply = `FOUND 1 ${body.length}\r\n`.length + body.length + 2;
    const peeks = Math.ceil((1.5 * (tcpBufferMax('rmem') + tcpBufferMax('wmem'))) / reply);
    for (let i = 0; i < peeks; i++) {
      raw.write('peek 1\r\n');
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 500));
    // What the sockets' buffers hold was answered; the rest waits.
    expect(cluster.engine!.cmdCounts.peek).toBeLessThan(peeks);
    raw.resume();
    await until(() => got === 'INSERTED 1\r\n'.length + peeks * reply, 30_000);
    expect(cluster.engine!.cmdCounts.peek).toBe(peeks);
    raw.destroy();
  }, 90_000);

  test("the speedup experiment counts the bridge node as any remote node: lent to a run, it does the run's jobs through a worker that reconnects (each run starts the node afresh, closing the last run's connections)", async () => {
    const { bridge } = await bridgeJoiner();
    let stop = false;
    // The seed's worker loop, which connects again after losing its connection. node-beanstalk's Client
    // never fails a command whose connection closed (its Connection says so): each command races the close.
    const worker = (async () => {
      while (!stop) {
        const conn = new Connection();
        const closed = new Promise<never>((_, reject) => conn.once('close', () => reject(new Error('connection closed'))));
        closed.catch(() => {});
        conn.on('error', () => {});
        const c = new Client({ host: '127.0.0.1', port: bridge, serializer: textSerializer }, conn);
        const run = <T,>(p: Promise<T>) => Promise.race([p, closed]);
        try {
          await run(c.connect());
          await run(c.watch('msg_for_worker'));
          await run(c.ignore('default'));
          await run(c.use('msg_for_client'));
          while (!stop) {
            const job = await run(c.reserveWithTimeout(1));
            if (!job) continue;
            await run(c.put(encodeResult(runTask(decodeTask(String(job.payload)))), 60, 0));
            await run(c.delete(job.id));
          }
          await run(c.disconnect());
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    const loan = room.room.lend();
    const scenario: PiScenario = { kind: 'pi', darts: 4_000_000, jobs: 4, workers: 1, ttr: 60, autostart: true };
    let points;
    try {
      points = await runSpeedup({ workers: [1], scenario, seed: 7, mode: 'live', spawn: spawnInThread, remote: loan, limitMs: 15_000 });
    } finally {
      // A failed run must not leave the loop knocking at ports that later tests listen on.
      stop = true;
      await loan.end();
      await worker;
    }
    expect(points.map((p) => [p.kind, p.workers])).toEqual([['local', 1], ['remote', 1]]);
    expect(points[1].nodes).toEqual([expect.objectContaining({ name: 'remote 1.1', kind: 'remote', jobs: 4 })]);
    expect(Math.abs(points[1].estimate! - Math.PI)).toBeLessThan(0.01);
  });

  test('Ctrl-C of the joiner closes the bridged clients, and it exits 0', async () => {
    const { j, bridge } = await bridgeJoiner();
    const raw = net.connect(bridge, '127.0.0.1');
    let got = '';
    raw.on('data', (d) => (got += d));
    const closed = new Promise((resolve) => raw.once('close', resolve));
    raw.write('watch msg_for_worker\r\nreserve\r\n');
    await until(() => got === 'WATCHING 2\r\n' && remoteNodes()[0].status.state === 'waiting', 5000);
    const { code } = await j.stop('SIGINT');
    expect(code).toBe(0);
    await closed;
    expect(raw.destroyed).toBe(true);
  });

  test('a port already taken: it says so and exits 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as net.AddressInfo).port;
    try {
      const j = runJoin([`http://127.0.0.1:${port}/?join=abcdefgh2345#mnopqrstuvwx`, '--cores', '0', '--bridge', String(busy)]);
      expect(await j.exit).toMatchObject({ code: 1 });
      expect(j.err()).toBe(`join: cannot listen on 127.0.0.1:${busy} for --bridge: something else listens there (a beanstalkd?)\n`);
    } finally {
      taken.close();
    }
  });
});
