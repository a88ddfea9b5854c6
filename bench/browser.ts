// Browser figures for `npm run bench`: the cluster simulator in Debian's Chromium, driven through the
// app itself (window.__beanlab is the app's Lab). Live-time speedup of 1 vs 2 Web Worker nodes on a
// large π job, and the frame rate while 64 worker nodes are busy.
import { chromium } from 'playwright-core';
import { openAppPage, serveBuiltApp } from './util.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.ts';

const SPEEDUP_TARGET = 1.8;
const FPS_TARGET = 50;

interface LabHandle {
  mode: 'virtual' | 'live';
  speed: number;
  scenario: { kind: 'pi'; darts: number; jobs: number; workers: number; ttr: number; autostart: boolean };
  speedupPoints: { workers: number; seconds: number; speedup: number }[];
  /** Bumped at every redraw of the run's state. */
  tick: number;
  reset(): void;
  startProducer(): void;
  play(): void;
  pause(): void;
  cluster: { nodes: Map<number, { role: string; status: { state: string }; reports: { kind: string; seconds?: number; estimate?: number }[] }> };
}

export async function benchBrowser(): Promise<string[]> {
  const lines: string[] = [];
  const server = await serveBuiltApp('beanlab-bench-browser');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await openAppPage(browser, server.url);

    // 1. Live speedup: the same job set with 1 and 2 worker nodes, measured by the producer. Large jobs
    //    (4e8 darts, about 0.4 s each) keep the per-job dispatch small beside the work, as the target asks.
    const seconds: number[] = [];
    for (const workers of [1, 2]) {
      const s = await page.evaluate(async (workers) => {
        const lab = (window as unknown as { __beanlab: LabHandle }).__beanlab;
        lab.mode = 'live';
        lab.scenario = { kind: 'pi', darts: 6_400_000_000, jobs: 16, workers, ttr: 600, autostart: false };
        lab.reset();
        lab.startProducer();
        const producer = () => [...lab.cluster.nodes.values()].find((n) => n.role === 'producer');
        while (producer()?.status.state !== 'done') await new Promise((r) => setTimeout(r, 100));
        return producer()!.reports.find((r) => r.kind === 'producer-done')!.seconds!;
      }, workers);
      seconds.push(s);
      lines.push(`live π run, 6.4e9 darts in 16 jobs, ${workers} worker node(s): ${s.toFixed(2)} s`);
    }
    lines.push(`  (the cluster on screen, drawn while it runs: ${(seconds[0] / seconds[1]).toFixed(2)}x; the page's main thread takes a share of the 2 cores)`);

    // The same job set through the Speedup tab, the student's measuring tool: fresh clusters, not drawn.
    await page.evaluate(() => {
      const lab = (window as unknown as { __beanlab: LabHandle }).__beanlab;
      lab.scenario = { kind: 'pi', darts: 6_400_000_000, jobs: 16, workers: 1, ttr: 600, autostart: false };
    });
    await page.getByRole('tab', { name: 'Speedup' }).click();
    for (const k of ['4', '8']) await page.getByRole('checkbox', { name: k, exact: true }).uncheck();
    await page.getByRole('radio', { name: /^live/ }).check();
    await page.getByRole('button', { name: 'Run speedup experiment' }).click();
    const readPoints = () =>
      page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __beanlab: LabHandle }).__beanlab.speedupPoints)) as LabHandle['speedupPoints']);
    let points = await readPoints();
    for (let waited = 0; points.length < 2 && waited < 300_000; waited += 500) {
      await new Promise((r) => setTimeout(r, 500));
      points = await readPoints();
    }
    if (points.length < 2) throw new Error('the Speedup tab did not finish its 1- and 2-worker runs within 5 minutes');
    for (const p of points) lines.push(`live π run (Speedup tab), 6.4e9 darts in 16 jobs, ${p.workers} worker node(s): ${p.seconds.toFixed(2)} s`);
    const speedup = points[1].speedup;
    lines.push(`speedup 2 workers vs 1 (Speedup tab): ${speedup.toFixed(2)}x (target >= ${SPEEDUP_TARGET}x) ${speedup >= SPEEDUP_TARGET ? 'PASS' : 'MISS'}`);
    await page.getByRole('tab', { name: 'Timeline' }).click();

    // 2. Frames per second with 64 busy worker nodes (virtual time, speed 1, messages animated).
    const fps = await page.evaluate(async () => {
      const lab = (window as unknown as { __beanlab: LabHandle }).__beanlab;
      lab.mode = 'virtual';
      lab.speed = 1;
      lab.scenario = { kind: 'pi', darts: 6_400_000_000, jobs: 6400, workers: 64, ttr: 600, autostart: true };
      lab.reset();
      lab.play();
      await new Promise((r) => setTimeout(r, 2000)); // let every worker get busy
      let frames = 0;
      const ticks = lab.tick;
      const start = performance.now();
      await new Promise<void>((resolve) => {
        const count = () => {
          frames++;
          if (performance.now() - start < 5000) requestAnimationFrame(count);
          else resolve();
        };
        requestAnimationFrame(count);
      });
      const busy = [...lab.cluster.nodes.values()].filter((n) => n.role === 'worker' && n.status.state === 'working').length;
      const seconds = (performance.now() - start) / 1000;
      lab.pause();
      return { fps: frames / seconds, redraws: (lab.tick - ticks) / seconds, busy };
    });
    lines.push(`frames per second with 64 worker nodes (${fps.busy} working at the end): ${fps.fps.toFixed(1)} (target >= ${FPS_TARGET}) ${fps.fps >= FPS_TARGET ? 'PASS' : 'MISS'}`);
    // Message dots move every frame; the run's state (cards, queue, timeline) is redrawn at most 30 times a second.
    lines.push(`  (the run's state redrawn ${fps.redraws.toFixed(1)} times a second meanwhile; message dots move every frame)`);
  } finally {
    await browser.close();
    await server.close();
  }
  return lines;
}
