// `npm run join`: its arguments and their errors (a pure function), its status lines, and the command
// as a process against a room hosted in this process over the real PeerServer and WebRTC (@roamhq/wrtc):
// joining as N named nodes, computing π, and Ctrl-C mid-job leaving at once, its job back in the queue.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import os from 'node:os';
import { createServer } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { NODE_THREAD_NICENESS } from '../../src/cli/thread-node.ts';
import { joinUsage, parseJoinArgs } from '../../src/cli/join-options.ts';
import { StatusLines } from '../../src/cli/status-lines.ts';
import { HostedRoom, type SignalingServer } from '../../src/net/peer-link.ts';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { producerConfig, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import type { NodeReport } from '../../src/nodes/messages.ts';
import { freePort } from './server-harness.ts';
import { until } from './net-fake-channel.ts';
import { killJoiners, runJoin, startSignaling } from '../support/join-process.ts';

const DEFAULTS = { cores: 4, name: 'lab-07' };

/** Process `pid`'s main thread's niceness, and its threads at NODE_THREAD_NICENESS: its node threads (Linux: /proc). */
function threadsOf(pid: number): { main: number; nodeThreads: string[] } {
  // Field 19 of /proc/PID/task/TID/stat, counted after the command's closing parenthesis (it may hold spaces).
  const niceness = (tid: string) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
  return { main: niceness(String(pid)), nodeThreads: readdirSync(`/proc/${pid}/task`).filter((t) => niceness(t) === NODE_THREAD_NICENESS) };
}

const LINK = 'http://10.0.0.5:5173/?join=abcdefgh2345#mnopqrstuvwx';

describe('npm run join: arguments', () => {
  const parse = (...argv: string[]) => parseJoinArgs(argv, DEFAULTS);
  const fails = (argv: string[], message: string | RegExp) => expect(() => parseJoinArgs(argv, DEFAULTS)).toThrow(message);

  test("a join link gives the room, its secret and its signaling server (the link's host under /peerjs); the defaults are this machine's cores and name", () => {
    expect(parse(LINK)).toEqual({ code: 'abcdefgh2345', secret: 'mnopqrstuvwx', signaling: { host: '10.0.0.5', port: 5173, path: '/peerjs', secure: false }, cores: 4, name: 'lab-07', joiners: 1, bridge: null });
  });

  test("a link's ?signal= names its signaling server, and --signal overrides either", () => {
    const link = 'https://lab.example/beanlab/?join=abcdefgh2345&signal=https%3A%2F%2Fsig.example%3A9000%2Fpeerjs#mnopqrstuvwx';
    expect(parse(link)).toMatchObject({ signaling: { host: 'sig.example', port: 9000, path: '/peerjs', secure: true } });
    expect(parse(link, '--signal', 'http://127.0.0.1:8080/peerjs')).toMatchObject({ signaling: { host: '127.0.0.1', port: 8080, secure: false } });
  });

  test('a join code (any grouping) with --signal; --cores and --name, as separate words or with =', () => {
    expect(parse('ABCD-EFGH-2345-MNOP-QRST-UVWX', '--signal=http://127.0.0.1:5173/peerjs', '--cores', '16', '--name=lab 01')).toEqual({
      code: 'abcdefgh2345',
      secret: 'mnopqrstuvwx',
      signaling: { host: '127.0.0.1', port: 5173, path: '/peerjs', secure: false },
      cores: 16,
      name: 'lab 01',
      joiners: 1,
      bridge: null,
    });
    expect(parse('--cores=1', 'abcdefgh2345#mnopqrstuvwx', '--signal', 'http://h:1/peerjs')).toMatchObject({ cores: 1 });
  });

  test('--cores must be a whole number of nodes, 1..16 (a joiner offers at most 16)', () => {
    for (const n of ['0', '17', '-1', '2.5', 'two', '']) fails([LINK, '--cores', n], `--cores must be 1..16 (got ${JSON.stringify(n)})`);
  });

  test('--name must be 1 to 60 characters (what the room protocol carries); the hostname default is cut to 60', () => {
    fails([LINK, '--name', '   '], '--name must be 1 to 60 characters (got 0)');
    fails([LINK, '--name', 'x'.repeat(61)], '--name must be 1 to 60 characters (got 61)');
    expect(parse(LINK, '--name', 'x'.repeat(60))).toMatchObject({ name: 'x'.repeat(60) });
    expect(parseJoinArgs([LINK], { cores: 2, name: 'h'.repeat(80) })).toMatchObject({ name: 'h'.repeat(60) });
  });

  test('--joiners K: one process joins as K joiners (a big room on one machine), 1..48 (the seats of a room)', () => {
    expect(parse(LINK, '--joiners', '48')).toMatchObject({ joiners: 48 });
    for (const n of ['0', '49', 'x']) fails([LINK, '--joiners', n], `--joiners must be 1..48 (got ${JSON.stringify(n)})`);
  });

  test("--bridge PORT: one more node, a TCP port on 127.0.0.1 (--bridge-host to listen wider); it takes one of a joiner's 16 nodes, so --cores is 0..15 beside it", () => {
    expect(parse(LINK, '--bridge', '11300')).toMatchObject({ cores: 4, bridge: { host: '127.0.0.1', port: 11300 } });
    expect(parse(LINK, '--cores', '0', '--bridge=11300', '--bridge-host', '0.0.0.0')).toMatchObject({ cores: 0, bridge: { host: '0.0.0.0', port: 11300 } });
    expect(parseJoinArgs([LINK, '--bridge', '11300'], { cores: 32, name: 'big' })).toMatchObject({ cores: 15 });
    for (const n of ['-1', '16']) fails([LINK, '--bridge', '11300', '--cores', n], `--cores must be 0..15 with --bridge, which takes one of a joiner's 16 nodes (got ${JSON.stringify(n)})`);
    fails([LINK, '--cores', '0'], '--cores must be 1..16 (got "0")');
    for (const p of ['0', '65536', 'x', '']) fails([LINK, '--bridge', p], `--bridge must be a TCP port, 1..65535 (got ${JSON.stringify(p)})`);
    fails([LINK, '--bridge-host', '0.0.0.0'], '--bridge-host says where the bridge listens: give --bridge PORT too');
    fails([LINK, '--bridge', '11300', '--joiners', '2'], '--bridge opens one port for one joiner: leave out --joiners');
    expect(joinUsage(DEFAULTS)).toContain('--bridge PORT one more node, a bridge');
  });

  test('a join code alone does not say where the room is: it asks for --signal', () => {
    fails(['abcdefgh2345-mnopqrstuvwx'], 'A join code does not say where the room is: add --signal http://HOST:PORT/peerjs');
  });

  test('what cannot be a room says why: a room code without its secret, a link without #secret or ?join=, a bad address', () => {
    fails(['abcdefgh2345', '--signal', 'http://h:1/peerjs'], "That is only the room's code");
    fails(['hello', '--signal', 'http://h:1/peerjs'], "A join code is the room's code and its secret");
    fails(['http://10.0.0.5:5173/?join=abcdefgh2345'], 'This join link has no room secret');
    fails(['http://10.0.0.5:5173/#mnopqrstuvwx'], 'is not a join link: it has no ?join= room code');
    fails(['http://[bad/?join=abcdefgh2345#mnopqrstuvwx'], 'is not a join link');
    fails([LINK, '--signal', 'ws://h:1/peerjs'], '--signal must be an http(s) address such as http://HOST:PORT/peerjs (got "ws://h:1/peerjs")');
  });

  test('missing, doubled and unknown arguments', () => {
    fails([], 'which room?');
    fails([LINK, LINK], 'one room at a time');
    fails([LINK, '--cores'], '--cores needs a value');
    fails([LINK, '--bridge-port', '11300'], 'unknown option --bridge-port');
    expect(parse('--help')).toBe('help');
    expect(parse(LINK, '-h')).toBe('help');
    expect(joinUsage(DEFAULTS)).toContain('--cores N     worker nodes to offer, 1..16 (default 4');
  });
});

describe('npm run join: status lines', () => {
  const out = (isTTY: boolean) => {
    const o = { isTTY, text: '', write: (t: string) => (o.text += t) };
    return o;
  };

  test('not on a terminal, a line is printed again only when its text changed', () => {
    const o = out(false);
    const s = new StatusLines(o);
    s.show(['room x: joined', 'remote 1.1  idle', 'remote 1.2  idle']);
    s.show(['room x: joined', 'remote 1.1  working on job 3', 'remote 1.2  idle']);
    s.show(['room x: joined', 'remote 1.1  working on job 3', 'remote 1.2  idle']);
    expect(o.text).toBe('room x: joined\nremote 1.1  idle\nremote 1.2  idle\nremote 1.1  working on job 3\n');
  });

  test('on a terminal, the block is redrawn in place: back to its first line, each line cleared and rewritten', () => {
    const o = out(true);
    const s = new StatusLines(o);
    s.show(['a']);
    s.show(['b', 'c']);
    s.show(['d']);
    expect(o.text).toBe('\x1b[2Ka\n' + '\x1b[1F\x1b[2Kb\n\x1b[2Kc\n' + '\x1b[2F\x1b[2Kd\n\x1b[2K\n\x1b[1F');
  });
});

afterEach(killJoiners);

describe('npm run join: as a process', () => {
  let signaling: SignalingServer;
  let port: number;
  let closeSignaling: () => Promise<void>;

  beforeAll(async () => {
    ({ signaling, port, close: closeSignaling } = await startSignaling());
  });
  afterAll(() => closeSignaling?.());

  test('without a signaling server it says so and exits 1', async () => {
    const closed = await freePort();
    const j = runJoin([`http://127.0.0.1:${closed}/?join=abcdefgh2345#mnopqrstuvwx`]);
    expect(await j.exit).toMatchObject({ code: 1 });
    expect(j.err()).toContain(`join: Cannot reach the signaling server at http://127.0.0.1:${closed}/peerjs.`);
  });

  test('a signaling server that hands out ids but never answers the WebSocket (--joiners 2): after the timeout it says so and exits 1 (a socket PeerJS closes while it connects does not crash the process)', async () => {
    const held: import('node:stream').Duplex[] = [];
    const silent = createServer((req, res) => res.end('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'));
    silent.on('upgrade', (_req, socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const stuck = (silent.address() as { port: number }).port;
    try {
      // Two joiners: the process waits for the second while the first one's socket is closed.
      const j = runJoin([`http://127.0.0.1:${stuck}/?join=abcdefgh2345#mnopqrstuvwx`, '--joiners', '2']);
      expect(await j.exit).toMatchObject({ code: 1 });
      // One line saying why, and nothing else (no stack of an unhandled 'error' event).
      expect(j.err()).toMatch(new RegExp(`^join: Cannot reach the signaling server at http://127\\.0\\.0\\.1:${stuck}/peerjs\\.[^\\n]*\\n$`));
      expect(held.length).toBe(2);
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  });

  test('a bad argument says what is wrong on stderr and exits 2', async () => {
    const j = runJoin(['--cores', '0', 'abcdefgh2345-mnopqrstuvwx']);
    expect(await j.exit).toMatchObject({ code: 2 });
    expect(j.err()).toBe('join: --cores must be 1..16 (got "0")\n(npm run join -- --help says how)\n');
  });

  test('a room that does not exist: it says so and exits 1', async () => {
    const j = runJoin([`http://127.0.0.1:${port}/?join=abcdefgh2345#mnopqrstuvwx`]);
    expect(await j.exit).toMatchObject({ code: 1 });
    expect(j.err()).toContain('join: Room abcdefgh2345 does not exist or has been closed.');
  });

  test('Ctrl-C before it has joined exits 0 at once', async () => {
    const j = runJoin([`http://127.0.0.1:${port}/?join=abcdefgh2345#mnopqrstuvwx`]);
    await until(() => j.out().includes('room abcdefgh2345: joining through'), 15_000);
    const { code, ms } = await j.stop('SIGINT');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
  });

  describe('in a room hosted here', () => {
    let cluster: Cluster;
    let room: HostedRoom;
    afterEach(() => {
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

    test('--cores 2 --name lab-01 joins as two nodes the host names after it; they compute π; each node has a status line', async () => {
      const j = runJoin([await hostRoom(), '--cores', '2', '--name', 'lab-01']);
      await until(() => remoteNodes().length === 2, 30_000);
      expect(remoteNodes().map((n) => n.name)).toEqual(['remote 1.1', 'remote 1.2']);
      expect(room.room.peers.map((p) => [p.name, p.state])).toEqual([['lab-01', 'admitted']]);
      // The roster's machine column: the machine's system and cores, as its hello said them.
      expect([room.room.peers[0].platform, room.room.peers[0].cores]).toEqual([`${os.type()} ${os.machine()}`, os.availableParallelism()]);
      // The two node threads run at NODE_THREAD_NICENESS, the main thread (relay, heartbeats) as started.
      // The threads start just after the host has the nodes: wait for them, then say what is there.
      await until(() => threadsOf(j.proc.pid!).nodeThreads.length === 2, 5000).catch(() => {});
      expect(threadsOf(j.proc.pid!)).toMatchObject({ main: os.getPriority(), nodeThreads: [expect.any(String), expect.any(String)] });
      const pi: PiScenario = { kind: 'pi', darts: 8_000_000, jobs: 8, workers: 0, ttr: 60, autostart: true };
      cluster.addNode('producer', producerConfig(pi, 7));
      await cluster.runUntil(() => estimate() !== undefined, 60_000);
      expect(Math.abs(estimate()! - Math.PI)).toBeLessThan(0.01);
      // A node's report of its last job follows the job's delete: the producer may have read the result first.
      await until(() => remoteNodes().reduce((t, n) => t + n.done.length, 0) === 8, 5000);
      const done = remoteNodes().map((n) => n.done.length);
      // The terminal's own count for each node, on its status line.
      await until(() => [1, 2].every((k) => new RegExp(`remote 1\\.${k} .* ${done[k - 1]} done\\n`).test(j.out())), 5000);
      expect(j.out()).toMatch(/room [a-z2-7]{12}: joiner 1 as "lab-01" \(Ctrl-C leaves\)/);
      const { code } = await j.stop('SIGINT');
      expect(code).toBe(0);
      expect(j.err()).toBe('');
    });

    test("a run's reset (a fresh cluster): the joiner's new nodes start on its threads, none started or ended, and compute π", async () => {
      const j = runJoin([await hostRoom(), '--cores', '2', '--name', 'lab-03']);
      await until(() => remoteNodes().length === 2, 30_000);
      await until(() => threadsOf(j.proc.pid!).nodeThreads.length === 2, 5000);
      const before = threadsOf(j.proc.pid!).nodeThreads;
      // What the app does on Reset with a room open: a new cluster, the joiners' slots its nodes.
      cluster.dispose();
      cluster = new Cluster({ seed: 7, mode: 'live', spawn: spawnInThread });
      room.room.attach();
      await until(() => remoteNodes().length === 2, 10_000);
      cluster.addNode('producer', producerConfig({ kind: 'pi', darts: 8_000_000, jobs: 8, workers: 0, ttr: 60, autostart: true }, 7));
      await cluster.runUntil(() => estimate() !== undefined, 60_000);
      expect(Math.abs(estimate()! - Math.PI)).toBeLessThan(0.01);
      // The new run's two nodes did its jobs (which node did how many is the machine's to say).
      await until(() => remoteNodes().reduce((t, n) => t + n.done.length, 0) === 8, 5000);
      expect(remoteNodes().map((n) => n.life)).toEqual(['running', 'running']);
      expect(threadsOf(j.proc.pid!).nodeThreads).toEqual(before);
      expect((await j.stop('SIGINT')).code).toBe(0);
    });

    test("Ctrl-C mid-job: it exits 0 within 2 s, and the host has the job back in its queue at once (not at TTR)", async () => {
      const j = runJoin([await hostRoom(), '--cores', '1', '--name', 'lab-02']);
      await until(() => remoteNodes().length === 1, 30_000);
      // Jobs of 4e8 darts (a second or more each), with a TTR of 60 s.
      const pi: PiScenario = { kind: 'pi', darts: 1_600_000_000, jobs: 4, workers: 0, ttr: 60, autostart: true };
      cluster.addNode('producer', producerConfig(pi, 7));
      const holding = () => [...cluster.engine!.allConnections()].some((c) => c.name.startsWith('remote 1.1#') && c.reserved.size > 0);
      await until(holding, 30_000);
      const { code, ms } = await j.stop('SIGINT');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(2000);
      await until(() => cluster.model.reservations.some((r) => r.outcome === 'returned'), 2000);
      expect(holding()).toBe(false);
      expect(room.room.peers[0].state).toBe('gone');
      // Every job not done is ready again: none waits for its TTR.
      expect(cluster.engine!.readyCount).toBe(4 - remoteNodes()[0].done.length);
      expect(j.out()).toContain('not in the room: you left the room');
      // After leaving, each node's line stays with what it did.
      expect(j.out()).toMatch(/remote 1\.1 +stopped \(left the room\) +\d+ done\n$/);
    });

    test('a wrong secret (an old link): the host refuses it, and it says why and exits 1', async () => {
      const link = new URL(await hostRoom());
      link.hash = 'aaaaaaaaaaaa';
      const j = runJoin([link.href]);
      const { code } = await j.exit;
      expect(code).toBe(1);
      expect(j.out()).toContain('the host let this machine go: had the wrong secret for this room');
      expect(room.room.peers.map((p) => p.state)).toEqual(['gone']);
    });

    test('--joiners 3 --cores 2: three joiners named NAME-1..3 with two nodes each; Ctrl-C leaves them all', async () => {
      const j = runJoin([await hostRoom(), '--joiners', '3', '--cores', '2', '--name', 'bench']);
      await until(() => remoteNodes().length === 6, 30_000);
      expect(room.room.peers.map((p) => p.name).sort()).toEqual(['bench-1', 'bench-2', 'bench-3']);
      expect(room.room.peers.every((p) => p.state === 'admitted')).toBe(true);
      await until(() => (j.out().match(/^remote \d\.\d /gm) ?? []).length >= 6, 5000);
      const { code } = await j.stop('SIGINT');
      expect(code).toBe(0);
      await until(() => room.room.peers.every((p) => p.state === 'gone'), 2000);
    });

    test('the host removes the joiner: it says so and exits 1', async () => {
      const j = runJoin([await hostRoom(), '--cores', '1']);
      await until(() => remoteNodes().length === 1, 30_000);
      room.room.kick(room.room.peers[0].no);
      const { code } = await j.exit;
      expect(code).toBe(1);
      expect(j.out()).toContain('the host let this machine go: removed by the host');
    });
  });
});
