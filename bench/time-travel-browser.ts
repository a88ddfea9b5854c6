// Time travel's seek and step-back figures in Debian's Chromium: bench/time-travel.ts bundled into a
// page, its nodes in-thread (MessageChannel ports on the page's thread, as the Lab's Web Workers talk to
// it); and the same run in the app itself, its nodes in Web Workers, timed until the frame is drawn.
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openAppPage, ROOT, serveBuiltApp } from './util.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.ts';
import type { TimeTravelFigures, TimeTravelPlan } from './time-travel.ts';

const ENTRY = `
import { measureTimeTravel } from './bench/time-travel.ts';
import { spawnInThread } from './src/nodes/in-thread.ts';
window.runTimeTravel = async (plan) => {
  const { checkpoints, ...figures } = await measureTimeTravel(spawnInThread, plan);
  return { ...figures, checkpoints: [] };
};
`;

export async function timeTravelInChromium(plan: TimeTravelPlan): Promise<TimeTravelFigures> {
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: 'time-travel-page.ts', loader: 'ts' },
    bundle: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const page = `<!doctype html><title>time travel bench</title><script>${bundle.outputFiles[0].text.replace(/<\/script/g, '<\\/script')}</script>`;
  const server = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return await tab.evaluate((p) => (window as unknown as { runTimeTravel(p: TimeTravelPlan): Promise<TimeTravelFigures> }).runTimeTravel(p), plan);
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** What a student sees: seeks and step backs in the app itself, nodes in Web Workers, each until the frame showing it is drawn. */
export interface AppTimeTravelFigures {
  events: number;
  recordMs: number;
  seekMs: number[];
  stepBackMs: number[];
  firstStepBackMs: number[];
  /** Web Workers the page started during the seeks and step backs (the nodes reuse those of the runs they replace). */
  workersStarted: number;
}

interface AppLab {
  scenario: unknown;
  reset(): void;
  cluster: { eventCount: number; runUntil(until: () => boolean): Promise<void>; settle(): Promise<void> };
  travel: { position: number };
  seek(n: number): Promise<void>;
  stepBack(): Promise<void>;
}

/** The same run as measureTimeTravel's (plan.events events, plan.workers workers), recorded and travelled in the app. */
export async function timeTravelInApp(plan: TimeTravelPlan): Promise<AppTimeTravelFigures> {
  const server = await serveBuiltApp('beanlab-bench-time-travel');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await openAppPage(browser, server.url);
    const t0 = Date.now();
    const events = await page.evaluate(async (plan) => {
      const lab = (window as unknown as { __beanlab: AppLab }).__beanlab;
      const jobs = Math.ceil(plan.events / 10);
      lab.scenario = { kind: 'pi', darts: jobs * 1000, jobs, workers: plan.workers, ttr: 60, autostart: true };
      lab.reset();
      await lab.cluster.runUntil(() => lab.cluster.eventCount >= plan.events);
      await lab.cluster.settle();
      return lab.cluster.eventCount;
    }, plan);
    const recordMs = Date.now() - t0;
    let workersStarted = 0;
    page.on('worker', () => workersStarted++);
    const figures = await page.evaluate(
      async ({ plan, events }) => {
        const lab = (window as unknown as { __beanlab: AppLab }).__beanlab;
        // The frame that shows the new state has been drawn once a task queued in its animation frame runs.
        const drawn = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        const shownEvents = () => Number((document.querySelectorAll('.readout .value')[1]?.textContent ?? '').replace(/[^\d]/g, ''));
        let seed = 12;
        const random = () => {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          return 1 + Math.floor((seed / 2147483648) * (events - 1));
        };
        const timed = async (go: () => Promise<void>, want: number) => {
          const t = performance.now();
          await go();
          await drawn();
          const ms = performance.now() - t;
          if (shownEvents() !== want) throw new Error(`the page shows event ${shownEvents()}, not ${want}`);
          return ms;
        };
        const seekMs: number[] = [];
        for (let i = 0; i < plan.seeks / 2; i++) {
          const n = random();
          seekMs.push(await timed(() => lab.seek(n), n));
        }
        const stepBackMs: number[] = [];
        const firstStepBackMs: number[] = [];
        for (let i = 0; i < plan.stepBacks / 2; i++) {
          if (i % 5 === 0) await lab.seek(random());
          const ms = await timed(() => lab.stepBack(), lab.travel.position - 1);
          (i % 5 === 0 ? firstStepBackMs : stepBackMs).push(ms);
        }
        return { seekMs, stepBackMs, firstStepBackMs };
      },
      { plan, events },
    );
    return { events, recordMs, ...figures, workersStarted };
  } finally {
    await browser.close();
    await server.close();
  }
}
