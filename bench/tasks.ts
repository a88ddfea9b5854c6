// Pi kernel throughput for `npm run bench`: darts per second of the WebAssembly SIMD kernel and of its
// JS fallback in one Web Worker in Debian's Chromium, against the same algorithm in C built with
// gcc -O2 on this machine, measured side by side in one run. All three must count the same hits.
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PI_LANES } from '../src/tasks/pi.ts';
import { ROOT, fmtRate, median } from './util.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/support/chromium.ts';

const DARTS = 400_000_000;
const SEED = 17;
const RUNS = 3;
const TARGET = 0.5;

interface Measured {
  hits: number;
  /** Darts per second of each timed run. */
  rates: number[];
}

interface InWorker extends Measured {
  /** Darts per second of the fresh worker's first run (a tenth of the darts), as a node's first job. */
  firstRate: number;
  defaultEngine: string;
}

// The worker: one warm-up run (timed too: a fresh node's first job), then RUNS timed runs of
// countPiHits with the engine it is asked for.
const WORKER_SOURCE = `
import { countPiHits, defaultPiEngine } from './src/tasks/pi.ts';
self.onmessage = (e) => {
  const { darts, seed, runs, engine } = e.data;
  const t = performance.now();
  countPiHits(darts / 10, seed, engine);
  const firstRate = darts / 10 / ((performance.now() - t) / 1000);
  const rates = [];
  let hits = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    hits = countPiHits(darts, seed, engine);
    rates.push(darts / ((performance.now() - t0) / 1000));
  }
  self.postMessage({ hits, rates, firstRate, defaultEngine: defaultPiEngine() });
};
`;

const PAGE = `<!doctype html><title>pi kernel bench</title><script>
window.runPi = (job) => new Promise((resolve, reject) => {
  const w = new Worker('/worker.js');
  w.onmessage = (e) => { w.terminate(); resolve(e.data); };
  w.onerror = (e) => { w.terminate(); reject(new Error(e.message)); };
  w.postMessage(job);
});
</script>`;

async function measureInChromium(): Promise<{ wasm: InWorker; js: InWorker; defaultEngine: string }> {
  const bundle = await build({
    stdin: { contents: WORKER_SOURCE, resolveDir: ROOT, sourcefile: 'pi-worker.ts', loader: 'ts' },
    bundle: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const workerJs = bundle.outputFiles[0].text;
  const server = http.createServer((req, res) => {
    const worker = req.url === '/worker.js';
    res.writeHead(200, { 'content-type': worker ? 'text/javascript' : 'text/html' });
    res.end(worker ? workerJs : PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const run = (engine: string) =>
      page.evaluate((job) => (window as unknown as { runPi(j: unknown): Promise<InWorker> }).runPi(job), { darts: DARTS, seed: SEED, runs: RUNS, engine });
    const wasm = await run('wasm-simd');
    const js = await run('js');
    return { wasm, js, defaultEngine: wasm.defaultEngine };
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

// The definition in src/tasks/pi.ts, in C: lanes interleaved as in the SIMD kernel.
const C_SOURCE = `
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define LANES ${PI_LANES}

/* Steps one lane's xorshift64 and returns 1 if the dart missed the quarter disc. */
static inline uint64_t throw_dart(uint64_t *lane) {
  uint64_t v = *lane;
  v ^= v << 13;
  v ^= v >> 7;
  v ^= v << 17;
  *lane = v;
  uint64_t x = v >> 38, y = (uint32_t)v >> 6;
  return (x * x + y * y) >> 52;
}

static uint64_t count_hits(uint64_t darts, uint64_t seed) {
  uint64_t s[LANES], misses = 0;
  for (int k = 0; k < LANES; k++) {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    s[k] = z ^ (z >> 31);
  }
  uint64_t groups = darts / LANES, remainder = darts % LANES;
  for (uint64_t g = 0; g < groups; g++)
    for (int k = 0; k < LANES; k++) misses += throw_dart(&s[k]);
  for (uint64_t k = 0; k < remainder; k++) misses += throw_dart(&s[k]);
  return darts - misses;
}

int main(int argc, char **argv) {
  uint64_t darts = strtoull(argv[1], 0, 10), seed = strtoull(argv[2], 0, 10);
  int runs = atoi(argv[3]);
  for (int i = 0; i < runs; i++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t hits = count_hits(darts, seed);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%llu %.9f\\n", (unsigned long long)hits, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9);
  }
  return 0;
}
`;

function measureC(): Measured & { vectorized: boolean } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'beanlab-pi-'));
  try {
    writeFileSync(path.join(dir, 'pi.c'), C_SOURCE);
    const exe = path.join(dir, 'pi');
    const cc = spawnSync('gcc', ['-O2', '-fopt-info-vec-optimized', '-o', exe, path.join(dir, 'pi.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
    const out = spawnSync(exe, [String(DARTS), String(SEED), String(RUNS)], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`the C pi program failed: ${out.stderr}`);
    const runs = out.stdout.trim().split('\n').map((line) => line.split(' ').map(Number));
    return { hits: runs[0][0], rates: runs.map(([, seconds]) => DARTS / seconds), vectorized: /vectorized/.test(cc.stderr) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchTasks(): Promise<string[]> {
  const c = measureC();
  const { wasm, js, defaultEngine } = await measureInChromium();
  const [wasmRate, jsRate, cRate] = [wasm, js, c].map((m) => median(m.rates));
  const same = wasm.hits === c.hits && js.hits === c.hits;
  const label = (s: string) => s.padEnd(38);
  return [
    `pi kernel: ${DARTS.toLocaleString('en')} darts (seed ${SEED}) per run, median of ${RUNS} runs; Chromium's default engine: ${defaultEngine}`,
    `  ${label('WASM SIMD, one Chromium Web Worker')} ${fmtRate(wasmRate)} darts/s`,
    `  ${label("WASM SIMD, a fresh worker's first run")} ${fmtRate(wasm.firstRate)} darts/s, ${(wasm.firstRate / wasmRate).toFixed(2)}x the warm rate (a node's first job)`,
    `  ${label('JS fallback, one Chromium Web Worker')} ${fmtRate(jsRate)} darts/s`,
    `  ${label(`C, gcc -O2${c.vectorized ? ' (gcc vectorized it)' : ''}`)} ${fmtRate(cRate)} darts/s`,
    `  π darts/s, WASM in a Web Worker vs C: ${(wasmRate / cRate).toFixed(2)}x (target >= ${TARGET}x) ${wasmRate / cRate >= TARGET ? 'PASS' : 'MISS'}`,
    `  π darts/s, JS in a Web Worker vs C: ${(jsRate / cRate).toFixed(2)}x`,
    `  hits ${same ? `identical in WASM, JS and C: ${c.hits}` : `DIFFER: WASM ${wasm.hits}, JS ${js.hits}, C ${c.hits}`} (pi ~ ${((4 * c.hits) / DARTS).toFixed(6)})`,
  ];
}
