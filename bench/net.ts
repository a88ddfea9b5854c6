// Real-node mode figures for `npm run bench`: three separate Chromium processes on loopback (a host and
// two joiners), signaling through the PeerServer on the app's own port, as in a lab.
//   1. dispatch round trip over the data channel: from a reply of the host's queue server to a remote
//      worker after which it computes nothing (INSERTED, WATCHING …) to its next command (host -> data
//      channel -> joiner page -> its Web Worker -> back); median and p99 over a run of many small jobs.
//   2. speedup of 2 joiner browsers vs 1 on a large π job, each run timed by the producer.
import { chromium, type Browser, type Page } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../src/server/serve.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.ts';
import { asReturningStudent } from '../test/support/returning-student.ts';
import { dispatchRtts, type TraceEntry } from './util.ts';

const RTT_TARGET_MS = 1;
const SPEEDUP_TARGET = 1.7;

interface LabHandle {
  mode: 'virtual' | 'live';
  scenario: Record<string, unknown>;
  reset(): void;
  startProducer(): void;
  cluster: { trace: Iterable<TraceEntry>; nodes: Map<number, { name: string; role: string; status: { state: string }; reports: { kind: string; seconds?: number; estimate?: number }[] }> };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A fresh π run on the host with only the room's remote nodes; returns the producer's seconds. */
function piRun(page: Page, darts: number, jobs: number): Promise<{ seconds: number; estimate: number; rtts: number[]; share: string[] }> {
  return page.evaluate(
    async ({ darts, jobs }) => {
      const lab = (window as unknown as { __beanlab: LabHandle }).__beanlab;
      lab.scenario = { ...lab.scenario, kind: 'pi', darts, jobs, workers: 0, ttr: 600, autostart: false };
      lab.reset();
      lab.startProducer();
      const producer = () => [...lab.cluster.nodes.values()].find((n) => n.role === 'producer');
      while (producer()?.status.state !== 'done') await new Promise((r) => setTimeout(r, 50));
      const done = producer()!.reports.find((r) => r.kind === 'producer-done')!;
      const ids = [...lab.cluster.nodes.entries()].filter(([, n]) => n.name.startsWith('remote ')).map(([id]) => id);
      const trace = [...lab.cluster.trace].filter((e) => e.kind === 'to-node' || e.kind === 'to-server').map(({ at, kind, node, conn, text }) => ({ at, kind, node, conn, text }));
      const share = [...lab.cluster.nodes.values()].filter((n) => n.role === 'worker').map((n) => `${n.name} ${n.reports.filter((r) => r.kind === 'task-done').length}`);
      return { seconds: done.seconds!, estimate: done.estimate!, trace, ids, share };
    },
    { darts, jobs },
  ).then(({ trace, ids, ...run }) => ({ ...run, rtts: dispatchRtts(trace, ids) }));
}

/**
 * The platform's floor: a bare RTCDataChannel ping-pong between blank pages of two of the same browsers
 * (no PeerJS, no app), 300 pings 5 ms apart, signaled by hand. Median, ms.
 */
async function bareChannelRtt(a: Browser, b: Browser): Promise<number> {
  const pa = await (await a.newContext({ permissions: ['microphone'] })).newPage();
  const pb = await (await b.newContext({ permissions: ['microphone'] })).newPage();
  try {
    const offer = await pa.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      const w = window as unknown as { pc: RTCPeerConnection; dc: RTCDataChannel };
      w.pc = pc;
      w.dc = pc.createDataChannel('ping');
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((r) => (pc.iceGatheringState === 'complete' ? r() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())));
      return pc.localDescription!.toJSON();
    });
    const answer = await pb.evaluate(async (offer) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      (window as unknown as { pc: RTCPeerConnection }).pc = pc;
      pc.ondatachannel = (e) => (e.channel.onmessage = (m) => e.channel.send(m.data));
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise<void>((r) => (pc.iceGatheringState === 'complete' ? r() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())));
      return pc.localDescription!.toJSON();
    }, offer);
    const rtts = await pa.evaluate(async (answer) => {
      const { pc, dc } = window as unknown as { pc: RTCPeerConnection; dc: RTCDataChannel };
      await pc.setRemoteDescription(answer);
      if (dc.readyState !== 'open') await new Promise((r) => (dc.onopen = r));
      const out: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t = performance.now();
        await new Promise((r) => {
          dc.onmessage = r;
          dc.send(`ping ${i}`);
        });
        out.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
      return out.sort((x, y) => x - y);
    }, answer);
    return quantile(rtts, 0.5);
  } finally {
    await pa.context().close();
    await pb.context().close();
  }
}

async function joinerCount(page: Page): Promise<number> {
  return page.evaluate(() => [...(window as unknown as { __beanlab: LabHandle }).__beanlab.cluster.nodes.values()].filter((n) => n.name.startsWith('remote ')).length);
}

export async function benchNet(): Promise<string[]> {
  const lines: string[] = [];
  const dist = path.join(os.tmpdir(), 'beanlab-bench-net');
  const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'error', '--outDir', dist, '--emptyOutDir'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('vite build failed');
  const before = process.env.BEANLAB_DIST;
  process.env.BEANLAB_DIST = dist;
  const server = await startServer({ port: 0, host: '127.0.0.1', staticSite: true });
  if (before === undefined) delete process.env.BEANLAB_DIST;
  else process.env.BEANLAB_DIST = before;
  const browsers: Browser[] = [];
  try {
    for (let i = 0; i < 3; i++) browsers.push(await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }));
    const page = async (b: Browser, url: string) => {
      const context = await b.newContext({ viewport: { width: 1280, height: 720 }, permissions: ['microphone'] });
      await asReturningStudent(context);
      const p = await context.newPage();
      await p.goto(url);
      return p;
    };
    const host = await page(browsers[0], server.url);
    await host.getByRole('button', { name: 'Room', exact: true }).click();
    await host.getByRole('button', { name: 'Host a room' }).click();
    const link = await host.getByRole('textbox', { name: 'Join link' }).inputValue({ timeout: 10_000 });
    await host.keyboard.press('Escape');
    // Measure the network, not the drawing: no moving dots, and the light Console tab instead of the
    // timeline, whose hundreds of job bars would share the host's main thread with the messages.
    await host.getByRole('checkbox', { name: 'Animate messages' }).uncheck();
    await host.getByRole('tab', { name: 'Console' }).click();

    const joiners = [await page(browsers[1], link)];
    while ((await joinerCount(host)) < 1) await new Promise((r) => setTimeout(r, 100));

    // 1. Round trips: 200 jobs of 10^5 darts on one joiner (a sample each: its put's INSERTED, then the delete).
    const small = await piRun(host, 20_000_000, 200);
    const rtts = small.rtts.sort((a, b) => a - b);
    const median = quantile(rtts, 0.5);
    lines.push(
      `dispatch round trip over the data channel (host's reply -> joiner's Web Worker -> its next command), ${rtts.length} samples: median ${median.toFixed(2)} ms, p99 ${quantile(rtts, 0.99).toFixed(2)} ms (target median <= ${RTT_TARGET_MS} ms) ${median <= RTT_TARGET_MS ? 'PASS' : 'MISS'}`,
    );
    const floor = await bareChannelRtt(browsers[0], browsers[1]);
    lines.push(`  bare data channel between the same two browsers (blank pages, no PeerJS), 300 pings: median ${floor.toFixed(2)} ms; dispatch / bare: ${(median / floor).toFixed(2)}x`);

    // 2. Speedup: the same large π job on 1 joiner, then on 2. Jobs of 10^8 darts (about 0.1 s each):
    // the few round trips per job stay small beside the work, and there are enough jobs that the last one
    // leaves a node idle only briefly (with 16 jobs of 4e8 an uneven 9/7 split cost more than all dispatch).
    const darts = 6_400_000_000;
    const jobs = 64;
    const one = await piRun(host, darts, jobs);
    lines.push(`live π run, 6.4e9 darts in ${jobs} jobs, 1 joiner browser: ${one.seconds.toFixed(2)} s (π ≈ ${one.estimate.toFixed(5)})`);
    joiners.push(await page(browsers[2], link));
    while ((await joinerCount(host)) < 2) await new Promise((r) => setTimeout(r, 100));
    const two = await piRun(host, darts, jobs);
    lines.push(`live π run, 6.4e9 darts in ${jobs} jobs, 2 joiner browsers: ${two.seconds.toFixed(2)} s (π ≈ ${two.estimate.toFixed(5)})`);
    lines.push(`jobs done per node with 2 joiners: ${two.share.join(', ')}`);
    const speedup = one.seconds / two.seconds;
    lines.push(`speedup 2 joiner browsers vs 1: ${speedup.toFixed(2)}x (target >= ${SPEEDUP_TARGET}x) ${speedup >= SPEEDUP_TARGET ? 'PASS' : 'MISS'}`);
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
    await server.close();
  }
  return lines;
}
