// Time travel's seek and step-back figures in Debian's Chromium: bench/time-travel.ts bundled into a
// page, its nodes in-thread (MessageChannel ports on the page's thread, as the Lab's Web Workers talk to it).
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT } from './util.ts';
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
