// The class-sized room for `npm run bench -- class` (issue 14): a host and headless joiners started with
// `npm run join` in a few processes on this machine, over loopback WebRTC and the app's own PeerServer.
//   1. For 1, 16, 64 and 128 remote nodes: the time for all joiners to connect and for their nodes to
//      wait in reserve, jobs per second through the host with short π jobs (about 1 ms of work each),
//      and the dispatch round trip: from a reply the host sends a remote node's connection, after which
//      the worker computes nothing, to its next command on that connection (host -> data channel ->
//      joiner process -> worker thread -> back). And where the machine's CPU went per job (from /proc):
//      the joiners' main threads, WebRTC threads and node threads, and the host's, beside the π kernel.
//      The host is the app's page in Chromium, as in a lab, and a Node process (this one) beside it.
//   2. The bare data channel's round trip in the same run: two @roamhq/wrtc peers in this process.
//   3. Speedup with real processes: a large π job on 1, then 2 headless joiner processes (1 node each).
// The figures share the machine's cores with everything they measure: joiners, host and producer; the
// host's main-thread time per job says what the host itself costs, whatever the rest of the machine does.
// BEANLAB_CLASS_HOSTS=browser|node runs one host only; BEANLAB_CLASS_SIZES=1,16 only those sizes
// (and no speedup runs). BEANLAB_CLASS_PROFILE=DIR writes each host's main-thread CPU profile of each run
// there (DIR/browser-N.cpuprofile, DIR/node-N.cpuprofile, for Chromium's DevTools or any .cpuprofile reader).
import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance as nodePerformance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { dispatchRtts, machineBusySeconds, processCpuOf, serveBuiltApp, type ProcessCpu, type TraceEntry } from './util.ts';
import { countPiHits } from '../src/tasks/pi.ts';
import { HostedRoom } from '../src/net/peer-link.ts';
import { Cluster } from '../src/sim/cluster.ts';
import { spawnInThread } from '../src/nodes/in-thread.ts';
import { producerConfig, WORKER, type PiScenario } from '../src/sim/scenario.ts';
import { installWebRtcGlobals } from '../src/cli/webrtc-globals.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.ts';
import { asReturningStudent } from '../test/support/returning-student.ts';
import { killJoiners, runJoin, type Joiner } from '../test/support/join-process.ts';

const THROUGHPUT_TARGET = 2000;
const RTT_TARGET_MS = 1;
const JOIN_TARGET_S = 30;
/** A short job: about 1 ms of π kernel on this machine's cores (the kernel throws about 10^9 darts/s). */
const SHORT_JOB_DARTS = 1_000_000;
/** Remote nodes at each size, as joiner processes × joiners each × nodes (cores) each. */
const SIZES = [
  { nodes: 1, processes: 1, joiners: 1, cores: 1 },
  { nodes: 16, processes: 2, joiners: 2, cores: 4 },
  { nodes: 64, processes: 4, joiners: 4, cores: 4 },
  { nodes: 128, processes: 4, joiners: 8, cores: 4 },
] as const;
/** Jobs at each size: a few seconds of work for the room, at least 20 per node. */
const jobsFor = (nodes: number) => Math.max(400, 40 * nodes);
const SPEEDUP = { darts: 6_400_000_000, jobs: 64 };

/** What a finished run says, computed where the cluster lives (the page or this process). */
interface RunData {
  /** The producer's seconds, from its first put to its last result. */
  seconds: number;
  estimate: number;
  /** Remote nodes' task-done times, ms on the cluster's clock. */
  done: number[];
  /** Dispatch round trips, ms. */
  rtts: number[];
  /** The host's main thread busy during the run (the page's tasks; Node's event loop), ms. */
  busyMs: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** Jobs per second over the middle 80% of the completions (the room's steady state, without start-up and tail). */
function steadyRate(done: number[]): number {
  const d = [...done].sort((a, b) => a - b);
  const [i, j] = [Math.floor(0.1 * d.length), Math.floor(0.9 * d.length)];
  return (j - i) / Math.max((d[j] - d[i]) / 1000, 1e-9);
}

/** A room host: the page in Chromium, or a cluster in this process. */
interface ClassHost {
  name: string;
  /** The host's process, when it is a Node process (a browser's main thread is not one process's). */
  pid?: number;
  link: string;
  remoteNodes(): Promise<number>;
  /** Remote nodes whose worker program is up and waiting in reserve: a joiner's node threads take a while to start. */
  readyNodes(): Promise<number>;
  piRun(darts: number, jobs: number): Promise<RunData>;
  close(): Promise<void>;
}

async function nodeHost(signaling: { host: string; port: number; path: string; secure: boolean }, site: string): Promise<ClassHost> {
  await installWebRtcGlobals(signaling);
  let cluster = new Cluster({ seed: 7, mode: 'live', spawn: spawnInThread });
  const room = await HostedRoom.open({ cluster: () => cluster, worker: WORKER, signaling, onChange: () => {} });
  const remote = () => [...cluster.nodes.values()].filter((n) => n.remote && n.life === 'running');
  return {
    name: 'Node host',
    pid: process.pid,
    link: room.joinUrl(site),
    remoteNodes: async () => remote().length,
    readyNodes: async () => remote().filter((n) => n.status.state === 'waiting').length,
    async piRun(darts, jobs) {
      cluster.dispose();
      cluster = new Cluster({ seed: 7, mode: 'live', spawn: spawnInThread });
      room.room.attach();
      const s: PiScenario = { kind: 'pi', darts, jobs, workers: 0, ttr: 600, autostart: true };
      const profile = process.env.BEANLAB_CLASS_PROFILE;
      const inspector = profile ? new Session() : null;
      if (inspector) {
        inspector.connect();
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.start');
      }
      const elu = nodePerformance.eventLoopUtilization();
      cluster.addNode('producer', producerConfig(s, 7));
      const producer = () => [...cluster.nodes.values()].find((n) => n.role === 'producer')!;
      const result = () => producer().reports.find((r) => r.kind === 'producer-done');
      await cluster.runUntil(() => result() !== undefined, 600_000);
      const busyMs = nodePerformance.eventLoopUtilization(elu).active;
      const r = result() as { seconds: number; estimate: number };
      const ids = remote().map((n) => n.id);
      if (profile && inspector) {
        mkdirSync(profile, { recursive: true });
        writeFileSync(path.join(profile, `node-${ids.length}.cpuprofile`), JSON.stringify((await inspector.post('Profiler.stop')).profile));
        inspector.disconnect();
      }
      return { seconds: r.seconds, estimate: r.estimate, done: remote().flatMap((n) => n.done), rtts: dispatchRtts(cluster.trace, ids), busyMs };
    },
    async close() {
      room.close();
      cluster.dispose();
    },
  };
}

interface LabHandle {
  scenario: Record<string, unknown>;
  reset(): void;
  startProducer(): void;
  cluster: {
    trace: { toArray(): TraceEntry[] };
    nodes: Map<number, { name: string; role: string; life: string; done: number[]; status: { state: string }; reports: { kind: string; seconds?: number; estimate?: number }[] }>;
  };
}

async function browserHost(browser: Browser, site: string): Promise<ClassHost> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, permissions: ['microphone'] });
  await asReturningStudent(context);
  const page: Page = await context.newPage();
  await page.goto(site);
  await page.getByRole('button', { name: 'Room', exact: true }).click();
  await page.getByRole('button', { name: 'Host a room' }).click();
  const link = await page.getByRole('textbox', { name: 'Join link' }).inputValue({ timeout: 10_000 });
  await page.keyboard.press('Escape');
  // As in the real-node section: no moving dots, and the light Console tab rather than the timeline.
  await page.getByRole('checkbox', { name: 'Animate messages' }).uncheck();
  await page.getByRole('tab', { name: 'Console' }).click();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  /** Seconds the page's main thread has spent in tasks. */
  const taskSeconds = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')!.value;
  /** Remote nodes running on the page's cluster; `ready`: only those waiting in reserve. */
  const remoteCount = (ready: boolean) =>
    page.evaluate(
      (ready) =>
        [...(window as unknown as { __beanlab: LabHandle }).__beanlab.cluster.nodes.values()].filter((n) => n.name.startsWith('remote ') && n.life === 'running' && (!ready || n.status.state === 'waiting')).length,
      ready,
    );
  return {
    name: 'browser host',
    link,
    remoteNodes: () => remoteCount(false),
    readyNodes: () => remoteCount(true),
    async piRun(darts, jobs) {
      const profile = process.env.BEANLAB_CLASS_PROFILE;
      if (profile) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.start');
      }
      const before = await taskSeconds();
      const run = await page.evaluate(
        async ({ darts, jobs }) => {
          const lab = (window as unknown as { __beanlab: LabHandle }).__beanlab;
          lab.scenario = { ...lab.scenario, kind: 'pi', darts, jobs, workers: 0, ttr: 600, autostart: false };
          lab.reset();
          lab.startProducer();
          const producer = () => [...lab.cluster.nodes.values()].find((n) => n.role === 'producer');
          while (producer()?.status.state !== 'done') await new Promise((r) => setTimeout(r, 50));
          const r = producer()!.reports.find((x) => x.kind === 'producer-done')!;
          const remote = [...lab.cluster.nodes.entries()].filter(([, n]) => n.name.startsWith('remote '));
          return {
            seconds: r.seconds!,
            estimate: r.estimate!,
            done: remote.flatMap(([, n]) => n.done),
            ids: remote.map(([id]) => id),
            trace: lab.cluster.trace.toArray().filter((e) => e.kind === 'to-node' || e.kind === 'to-server').map((e) => ({ at: e.at, kind: e.kind, node: e.node, conn: e.conn, text: e.text })),
          };
        },
        { darts, jobs },
      );
      // The main thread's time includes reading the trace out at the end (a few ms).
      const busyMs = ((await taskSeconds()) - before) * 1000;
      if (profile) {
        mkdirSync(profile, { recursive: true });
        writeFileSync(path.join(profile, `browser-${run.ids.length}.cpuprofile`), JSON.stringify((await cdp.send('Profiler.stop')).profile));
      }
      return { seconds: run.seconds, estimate: run.estimate, done: run.done, rtts: dispatchRtts(run.trace, run.ids), busyMs };
    },
    close: () => context.close(),
  };
}

/** Between two joiner processes' starts: a class does not join in the same millisecond, nor do its lab machines' terminals. */
const STAGGER_MS = 500;

/**
 * Starts the joiner processes of one size, STAGGER_MS apart; resolves with the seconds until the host has
 * all their nodes (`joined`), and until all of them wait in reserve (`ready`): a node thread costs its
 * process about 100 ms of CPU to start, so 128 of them on this machine's 2 cores take seconds more, and a
 * run started before they are up measures their start-up, not the room. If they do not all join, the
 * processes are stopped and it rejects with why.
 */
async function joinRoom(host: ClassHost, size: (typeof SIZES)[number], name: string): Promise<{ procs: Joiner[]; joined: number; ready: number }> {
  const t0 = performance.now();
  const procs: Joiner[] = [];
  const seconds = () => (performance.now() - t0) / 1000;
  const deadline = t0 + 120_000;
  const waitFor = async (count: () => Promise<number>, what: string) => {
    while ((await count()) < size.nodes) {
      const gone = procs.find((j) => j.proc.exitCode !== null);
      if (gone) throw new Error(`a joiner process exited: ${(gone.err() || gone.out().slice(-400)).trim()}`);
      if (performance.now() > deadline) throw new Error(`only ${await count()} of ${size.nodes} remote nodes ${what} within 120 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return seconds();
  };
  try {
    for (let p = 0; p < size.processes; p++) {
      if (p) await new Promise((r) => setTimeout(r, STAGGER_MS));
      procs.push(runJoin([host.link, '--cores', String(size.cores), '--joiners', String(size.joiners), '--name', `${name}-p${p + 1}`]));
    }
    const joined = await waitFor(() => host.remoteNodes(), 'joined');
    const ready = await waitFor(() => host.readyNodes(), 'were waiting in reserve');
    return { procs, joined, ready };
  } catch (err) {
    await leaveRoom(host, procs).catch(() => {});
    throw err;
  }
}

/** The joiner processes leave (Ctrl-C); resolves once the host has none of their nodes running, or fails after 30 s. */
async function leaveRoom(host: ClassHost, procs: Joiner[]): Promise<void> {
  await Promise.all(procs.map((j) => j.stop('SIGINT')));
  const deadline = performance.now() + 30_000;
  for (let left = await host.remoteNodes(); left > 0; left = await host.remoteNodes()) {
    if (performance.now() > deadline) throw new Error(`${left} remote nodes still run on the ${host.name} 30 s after their joiners left`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The platform's floor: a bare RTCDataChannel ping-pong between two @roamhq/wrtc peers in this process
 * (no PeerJS, no room protocol), 300 pings 5 ms apart. Median, ms.
 */
async function bareChannelRtt(): Promise<number> {
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  try {
    a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
    b.ondatachannel = (e) => (e.channel.onmessage = (m) => e.channel.send(m.data));
    const dc = a.createDataChannel('ping');
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    if (dc.readyState !== 'open') await new Promise((r) => (dc.onopen = r));
    const rtts: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await new Promise((r) => {
        dc.onmessage = r;
        dc.send(`ping ${i}`);
      });
      rtts.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    return quantile(rtts.sort((x, y) => x - y), 0.5);
  } finally {
    a.close();
    b.close();
  }
}

const pass = (ok: boolean) => (ok ? 'PASS' : 'MISS');

/** The π kernel's time for one short job in this process, ms (median of 20, after a warm-up). */
function kernelMs(): number {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    countPiHits(SHORT_JOB_DARTS, i);
    if (i >= 10) times.push(performance.now() - t);
  }
  return quantile(times.sort((a, b) => a - b), 0.5);
}

/** CPU seconds so far: the whole machine's, the joiner processes' (summed), and the host's if it is a Node process. */
interface CpuSnapshot {
  machine: number;
  joiners: ProcessCpu;
  host: ProcessCpu | null;
}

const cpuDiff = (a: ProcessCpu, b: ProcessCpu): ProcessCpu => ({ total: a.total - b.total, main: a.main - b.main, webrtc: a.webrtc - b.webrtc });
const cpuSum = (a: ProcessCpu, b: ProcessCpu): ProcessCpu => ({ total: a.total + b.total, main: a.main + b.main, webrtc: a.webrtc + b.webrtc });

function cpuNow(host: ClassHost, procs: Joiner[]): CpuSnapshot {
  return {
    machine: machineBusySeconds(),
    joiners: procs.map((j) => processCpuOf(j.proc.pid!)).reduce(cpuSum, { total: 0, main: 0, webrtc: 0 }),
    host: host.pid ? processCpuOf(host.pid) : null,
  };
}

/**
 * Where the machine's CPU went per job over a run, ms: what says whether the room or the machine sets
 * the throughput (every process here shares its cores).
 */
function cpuPerJobLine(host: ClassHost, before: CpuSnapshot, after: CpuSnapshot, jobs: number, kernel: number): string {
  const ms = (seconds: number) => ((seconds * 1000) / jobs).toFixed(2);
  const machine = after.machine - before.machine;
  const joiners = cpuDiff(after.joiners, before.joiners);
  const cores = os.availableParallelism();
  const hostPart = after.host && before.host ? (({ total, main, webrtc }) => `${host.name} process ${ms(total)} (main thread ${ms(main)}, WebRTC ${ms(webrtc)})`)(cpuDiff(after.host, before.host)) : `the host browser and the rest ${ms(machine - joiners.total)}`;
  return (
    `CPU per job, ms: the machine ${ms(machine)} (on its ${cores} cores: at most ${((cores * jobs) / machine).toFixed(0)} jobs/s); ` +
    `joiner processes ${ms(joiners.total)} (main threads ${ms(joiners.main)}, WebRTC ${ms(joiners.webrtc)}, node threads and the rest ${ms(joiners.total - joiners.main - joiners.webrtc)}; the π kernel alone ${kernel.toFixed(2)}); ${hostPart}`
  );
}

/** Sizes 1 … 128 on one host. */
async function classRuns(host: ClassHost, bare: number, kernel: number, emit: (line: string) => void): Promise<void> {
  const only = process.env.BEANLAB_CLASS_SIZES?.split(',').map(Number);
  for (const size of SIZES.filter((z) => !only || only.includes(z.nodes))) {
    let joined: Awaited<ReturnType<typeof joinRoom>>;
    try {
      joined = await joinRoom(host, size, `class${size.nodes}`);
    } catch (err) {
      // One size that could not be set up is a figure missing, not the end of the section.
      const what = `${host.name}, ${size.nodes} remote node${size.nodes === 1 ? '' : 's'}`;
      emit(size.nodes === 128 ? `  ${what}, jobs/s through the host: not measured (${(err as Error).message}) MISS` : `${what}: not measured (${(err as Error).message})`);
      continue;
    }
    const { procs, joined: joinS, ready: readyS } = joined;
    try {
      const jobs = jobsFor(size.nodes);
      const cpuBefore = cpuNow(host, procs);
      const run = await host.piRun(SHORT_JOB_DARTS * jobs, jobs);
      const cpuLine = cpuPerJobLine(host, cpuBefore, cpuNow(host, procs), jobs, kernel);
      const rtts = run.rtts.sort((a, b) => a - b);
      const median = quantile(rtts, 0.5);
      const rate = steadyRate(run.done);
      const shape = `${size.processes} process${size.processes === 1 ? '' : 'es'} × ${size.joiners} joiner${size.joiners === 1 ? '' : 's'} × ${size.cores} node${size.cores === 1 ? '' : 's'}`;
      emit(`${host.name}, ${size.nodes} remote node${size.nodes === 1 ? '' : 's'} (${shape}): joined in ${joinS.toFixed(1)} s, all waiting in reserve at ${readyS.toFixed(1)} s; ${jobs} jobs of ${SHORT_JOB_DARTS.toExponential(0)} darts in ${run.seconds.toFixed(2)} s (π ≈ ${run.estimate.toFixed(5)})`);
      const rttLine = `dispatch round trip median ${median.toFixed(2)} ms, p99 ${quantile(rtts, 0.99).toFixed(2)} ms (${rtts.length} samples; bare channel ${bare.toFixed(2)} ms, ${(median / bare).toFixed(1)}x)`;
      if (size.nodes === 128) {
        emit(`  ${host.name}, 128 remote nodes, jobs/s through the host (steady, middle 80%): ${rate.toFixed(0)} (target >= ${THROUGHPUT_TARGET}) ${pass(rate >= THROUGHPUT_TARGET)}`);
        emit(`  ${host.name}, 32 joiners joined, their 128 nodes waiting in reserve, in: ${readyS.toFixed(1)} s (target <= ${JOIN_TARGET_S} s) ${pass(readyS <= JOIN_TARGET_S)}`);
      } else emit(`  jobs/s through the host (steady, middle 80%): ${rate.toFixed(0)}; end to end ${(jobs / run.seconds).toFixed(0)}`);
      emit(`  ${rttLine}`);
      const perJob = run.busyMs / jobs;
      emit(`  ${host.name}'s main thread busy ${perJob.toFixed(2)} ms per job (${(run.busyMs / 1000 / run.seconds * 100).toFixed(0)}% of the run): at most ${(1000 / perJob).toFixed(0)} jobs/s on its thread`);
      emit(`  ${cpuLine}`);
      if (size.nodes === 1) emit(`  ${host.name}, median dispatch round trip of a headless joiner: ${median.toFixed(2)} ms (target <= ${RTT_TARGET_MS} ms) ${pass(median <= RTT_TARGET_MS)}`);
    } finally {
      await leaveRoom(host, procs);
    }
  }
}

/** Speedup with real processes: the same large π job on 1, then 2 joiner processes of 1 node each. */
async function processSpeedup(host: ClassHost, emit: (line: string) => void): Promise<void> {
  const seconds: number[] = [];
  const procs: Joiner[] = [];
  try {
    for (const k of [1, 2]) {
      procs.push(runJoin([host.link, '--cores', '1', '--name', `speedup-${k}`]));
      while ((await host.remoteNodes()) < k) await new Promise((r) => setTimeout(r, 100));
      const run = await host.piRun(SPEEDUP.darts, SPEEDUP.jobs);
      seconds.push(run.seconds);
      emit(`${host.name}, π 6.4e9 darts in ${SPEEDUP.jobs} jobs on ${k} headless joiner process${k === 1 ? '' : 'es'} (1 node each): ${run.seconds.toFixed(2)} s (π ≈ ${run.estimate.toFixed(5)})`);
    }
  } finally {
    await leaveRoom(host, procs);
  }
  emit(`${host.name}, speedup 2 headless joiner processes vs 1: ${(seconds[0] / seconds[1]).toFixed(2)}x (the browser joiners' figure is in the real-node section)`);
}

/** Runs the section; each line is given to `emit` as soon as it is measured. */
export async function benchClass(emit: (line: string) => void): Promise<void> {
  const server = await serveBuiltApp('beanlab-bench-class');
  const signaling = { host: '127.0.0.1', port: server.port, path: '/peerjs', secure: false };
  let browser: Browser | null = null;
  try {
    await installWebRtcGlobals(signaling);
    const bare = await bareChannelRtt();
    emit(`bare data channel, two @roamhq/wrtc peers in one process, 300 pings: median ${bare.toFixed(2)} ms`);
    const kernel = kernelMs();
    emit(`the π kernel, one short job (${SHORT_JOB_DARTS.toExponential(0)} darts) in this process: ${kernel.toFixed(2)} ms`);
    const only = process.env.BEANLAB_CLASS_HOSTS?.split(',') ?? ['browser', 'node'];
    if (only.includes('browser')) {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      const host = await browserHost(browser, server.url);
      try {
        await classRuns(host, bare, kernel, emit);
        if (!process.env.BEANLAB_CLASS_SIZES) await processSpeedup(host, emit);
      } finally {
        await host.close();
      }
    }
    if (only.includes('node')) {
      const host = await nodeHost(signaling, server.url);
      try {
        await classRuns(host, bare, kernel, emit);
        if (!process.env.BEANLAB_CLASS_SIZES) await processSpeedup(host, emit);
      } finally {
        await host.close();
      }
    }
  } finally {
    killJoiners();
    await browser?.close();
    await server.close();
  }
}
