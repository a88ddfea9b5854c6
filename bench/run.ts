// `npm run bench`: beanlab's throughput and memory, measured side by side with Debian's beanstalkd in
// one run. Not a test: it prints figures, ratios and PASS/MISS against the project's targets.
//
//   1. in-process engine: put and reserve+delete at queue depth 10^3 and 10^6 (+ the same via the codec)
//   2. TCP loopback: our server (its own process) vs /usr/bin/beanstalkd under the same pipelined load
//   3. memory per queued job: our engine's heap (fresh --expose-gc child) vs beanstalkd's RSS growth
//   4. a client that pipelines `peek` and never reads: server RSS growth, another client's round trips
//   5-7. in Debian's Chromium: the π kernel, the cluster simulator, real-node mode over WebRTC
//   8. the engine's checkpoints: snapshot, restore and size vs rebuilding the state by re-running its commands
//   9. time travel on a 10^5-event run with 16 workers: seek, step back and checkpoint memory vs replay from event 0
//  10. a class-sized room: 1 to 128 remote nodes in headless joiner processes (`npm run join`), a host in
//      Chromium and one in Node (BEANLAB_CLASS_HOSTS=browser or =node runs one of them): bench/class.ts;
//      then (class-room.ts) the host page's frame gaps with 128 busy remote nodes and the time they take to join
//
// `npm run bench -- SECTION...` runs only the named sections (inproc, tcp, memory, slow-reader, browser,
// engine-snapshot, time-travel, class).
// Every process started here is stopped at the end, also on error or Ctrl-C.
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { EngineRig, codecSteady, BODY_SIZE, type SteadyResult } from './inproc.ts';
import { fill, load, type LoadResult } from './load.ts';
import { slowReader, type SlowReaderResult } from './slow-reader.ts';
import { SNAPSHOT_CONNS, benchSnapshot, emptySnapshotBytes } from './snapshot.ts';
import { measureTimeTravel, quantile, TIME_TRAVEL_PLAN, type TimeTravelFigures } from './time-travel.ts';
import {
  BEANSTALKD,
  RUN_TS,
  fmtNs,
  fmtRate,
  freePort,
  killAllChildren,
  median,
  rssOf,
  runChild,
  sleep,
  startChild,
  waitForPort,
  type Child,
} from './util.ts';

const DEPTHS = [1_000, 1_000_000] as const;
const OPS_TARGET = 1_000_000;
const DEPTH_RATIO_TARGET = 2;
const TCP_RATIO_TARGET = 0.8;
const TCP = { conns: 4, batch: 100, warmMs: 500, measureMs: 3000, rounds: 3, prefill: 1000 };
const MEM_JOBS = 1_000_000;
const SNAPSHOT_JOBS = [1_000, 100_000] as const;
/** Issue 12: every checkpoint of the whole cluster for a run of 10^5 protocol events with 16 workers. */
const CHECKPOINT_BUDGET_MB = 50;
/** Issue 12, in Chromium: seek to any instant (median, p95) and step back (median), ms. */
const SEEK_TARGET = { median: 50, p95: 150 };
const STEP_BACK_TARGET_MS = 16;
const SLOW_READER = { sendBytes: 480 * 1024, measureMs: 3000, growthTargetMB: 64, medianTargetMs: 5, maxTargetMs: 100 };

interface Row {
  figure: string;
  ours: string;
  ref: string;
  ratio: string;
  target: string;
  result: string;
}
const rows: Row[] = [];
const row = (figure: string, ours: string, ref = '', ratio = '', target = '', result = '(info)') =>
  rows.push({ figure, ours, ref, ratio, target, result });
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

const log = (s = '') => process.stdout.write(s + '\n');

// ---- 1. in-process ----------------------------------------------------------------------------

async function inProcess(): Promise<void> {
  log('== 1. in-process, steady state at queue depth D (chunks of 100 puts, then 100 reserve+delete) ==');
  const eng: SteadyResult[] = [];
  const codec: SteadyResult[] = [];
  for (const depth of DEPTHS) {
    const rig = new EngineRig();
    const t = performance.now();
    rig.fill(depth);
    const fillMs = performance.now() - t;
    const r = rig.steady(depth > 10_000 ? 300 : 1000, 2500);
    eng.push(r);
    log(
      `engine  D=${depth.toLocaleString('en')}: put ${fmtRate(r.put)}/s (${fmtNs(r.put)}), reserve+delete ${fmtRate(r.rd)} pairs/s (${fmtNs(r.rd)}), ` +
        `all commands ${fmtRate(r.commands)}/s  [prefill ${fillMs.toFixed(0)} ms, end depth ${r.endDepth}]`,
    );
    const k = await codecSteady(rig.engine, 300, 2000);
    codec.push(k);
    log(
      `codec   D=${depth.toLocaleString('en')}: put ${fmtRate(k.put)}/s (${fmtNs(k.put)}), reserve+delete ${fmtRate(k.rd)} pairs/s (${fmtNs(k.rd)}), ` +
        `all commands ${fmtRate(k.commands)}/s  [connectLocal, 100 commands in flight]`,
    );
  }
  const [e3, e6] = eng;
  const [c3, c6] = codec;
  for (const [label, key] of [
    ['put', 'put'],
    ['reserve+delete pairs', 'rd'],
  ] as const) {
    row(`engine ${label}/s, depth 10^3`, fmtRate(e3[key]), '', '', `>= ${fmtRate(OPS_TARGET)}`, verdict(e3[key] >= OPS_TARGET));
    row(`engine ${label}/s, depth 10^6`, fmtRate(e6[key]), '', '', `>= ${fmtRate(OPS_TARGET)}`, verdict(e6[key] >= OPS_TARGET));
    const ratio = e3[key] / e6[key];
    row(
      `engine ${label}: cost/op 10^6 vs 10^3`,
      `${fmtNs(e6[key]).replace(' ns/op', '')} vs ${fmtNs(e3[key])}`,
      '',
      `${ratio.toFixed(2)}x`,
      `<= ${DEPTH_RATIO_TARGET}x`,
      verdict(ratio <= DEPTH_RATIO_TARGET),
    );
  }
  row('codec put/s, depth 10^3 | 10^6', `${fmtRate(c3.put)} | ${fmtRate(c6.put)}`);
  row('codec reserve+delete pairs/s, 10^3 | 10^6', `${fmtRate(c3.rd)} | ${fmtRate(c6.rd)}`);
  log();
}

// ---- 2. TCP -----------------------------------------------------------------------------------

async function startOurs(port: number): Promise<Child> {
  const c = startChild(process.execPath, [RUN_TS, 'src/server/cli.ts', '-l', '127.0.0.1', '-p', String(port)]);
  await waitForPort(port, c);
  return c;
}

async function startTheirs(port: number): Promise<Child> {
  const c = startChild(BEANSTALKD, ['-l', '127.0.0.1', '-p', String(port)]);
  await waitForPort(port, c);
  return c;
}

async function tcp(): Promise<void> {
  log(
    `== 2. TCP loopback: ${TCP.conns} connections, each pipelining batches of ${TCP.batch} (put x${TCP.batch} -> reserve-with-timeout 0 x${TCP.batch} -> delete x${TCP.batch}), ` +
      `${BODY_SIZE}-byte bodies, tube prefilled with ${TCP.prefill} jobs; replies/s ==`,
  );
  const [pOurs, pTheirs] = [await freePort(), await freePort()];
  const ours = await startOurs(pOurs);
  const theirs = await startTheirs(pTheirs);
  try {
    const servers = [
      { name: 'beanlab   ', port: pOurs, child: ours, results: [] as LoadResult[] },
      { name: 'beanstalkd', port: pTheirs, child: theirs, results: [] as LoadResult[] },
    ];
    for (const s of servers) {
      await fill(s.port, TCP.prefill);
      // Warm-up (JIT for ours), not counted.
      await load({ ...TCP, port: s.port, warmMs: 1500, measureMs: 500, serverPid: s.child.pid });
    }
    for (let round = 1; round <= TCP.rounds; round++) {
      for (const s of servers) {
        const r = await load({ ...TCP, port: s.port, serverPid: s.child.pid });
        s.results.push(r);
        log(
          `round ${round} ${s.name}: ${fmtRate(r.ops).padStart(7)} replies/s  (${r.replies} in ${r.seconds.toFixed(2)} s; ` +
            `server CPU ${(r.serverCpu * 100).toFixed(0)}%, load generator CPU ${(r.loadCpu * 100).toFixed(0)}%)`,
        );
      }
    }
    const mOurs = median(servers[0].results.map((r) => r.ops));
    const mTheirs = median(servers[1].results.map((r) => r.ops));
    const ratio = mOurs / mTheirs;
    log(`median: beanlab ${fmtRate(mOurs)}/s, beanstalkd ${fmtRate(mTheirs)}/s, ratio ${ratio.toFixed(2)}x`);
    row('TCP pipelined replies/s (median of 3)', fmtRate(mOurs), fmtRate(mTheirs), `${ratio.toFixed(2)}x`, `>= ${TCP_RATIO_TARGET}x`, verdict(ratio >= TCP_RATIO_TARGET));
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
  }
  log();
}

// ---- 3. memory --------------------------------------------------------------------------------

/** RSS growth of a freshly started server for MEM_JOBS puts, per job, minus the body. */
async function serverRssPerJob(start: (port: number) => Promise<Child>): Promise<number> {
  const port = await freePort();
  const s = await start(port);
  try {
    await fill(port, 1000); // first connection and code paths, before the first reading
    await sleep(200);
    const before = rssOf(s.pid);
    await fill(port, MEM_JOBS);
    await sleep(300);
    const after = rssOf(s.pid);
    return (after - before) / MEM_JOBS - BODY_SIZE;
  } finally {
    await s.stop();
  }
}

async function memory(): Promise<void> {
  log(`== 3. memory per queued job beyond its ${BODY_SIZE}-byte body, ${MEM_JOBS.toLocaleString('en')} ready jobs ==`);
  const out = await runChild(process.execPath, ['--expose-gc', RUN_TS, 'bench/mem-child.ts', String(MEM_JOBS), String(BODY_SIZE)], 120_000);
  const m = JSON.parse(out.trim().split('\n').pop() as string) as { n: number; heapUsed: number; arrayBuffers: number; rss: number };
  const heapPerJob = (m.heapUsed + m.arrayBuffers) / m.n - BODY_SIZE;
  const childRssPerJob = m.rss / m.n - BODY_SIZE;
  log(
    `beanlab engine (fresh child, gc'd): heapUsed +${(m.heapUsed / 1e6).toFixed(1)} MB, arrayBuffers +${(m.arrayBuffers / 1e6).toFixed(1)} MB ` +
      `=> ${heapPerJob.toFixed(0)} B/job beyond the body; process RSS +${(m.rss / 1e6).toFixed(1)} MB => ${childRssPerJob.toFixed(0)} B/job`,
  );
  const theirs = await serverRssPerJob(startTheirs);
  log(`beanstalkd server (fresh, puts over TCP): RSS growth => ${theirs.toFixed(0)} B/job beyond the body`);
  const oursTcp = await serverRssPerJob(startOurs);
  log(`beanlab server    (fresh, puts over TCP): RSS growth => ${oursTcp.toFixed(0)} B/job beyond the body (no forced gc: includes GC slack)`);
  row('bytes/job: our heap vs their RSS', `${heapPerJob.toFixed(0)} B`, `${theirs.toFixed(0)} B`, `${(heapPerJob / theirs).toFixed(2)}x`);
  row('bytes/job: RSS, engine child | server', `${childRssPerJob.toFixed(0)} | ${oursTcp.toFixed(0)} B`, `${theirs.toFixed(0)} B`, `${(oursTcp / theirs).toFixed(2)}x`);
  log();
}

// ---- 4. a client that never reads ----------------------------------------------------------------

async function slowReaderSection(): Promise<void> {
  const { sendBytes, measureMs, growthTargetMB, medianTargetMs, maxTargetMs } = SLOW_READER;
  log(
    `== 4. a client pipelines ${sendBytes / 1024} KB of \`peek 1\` (a 64 KiB job) and never reads; meanwhile another client's ` +
      `put + reserve-with-timeout 0 + delete round trips for ${measureMs / 1000} s; fresh servers ==`,
  );
  const results: Record<'ours' | 'theirs', SlowReaderResult> = {} as never;
  for (const [key, label, start] of [
    ['theirs', 'beanstalkd', startTheirs],
    ['ours', 'beanlab   ', startOurs],
  ] as const) {
    const port = await freePort();
    const s = await start(port);
    try {
      const r = await slowReader(port, s.pid, sendBytes, measureMs);
      results[key] = r;
      log(
        `${label}: server RSS +${(r.growth / 1e6).toFixed(1)} MB at peak, +${(r.growthAfter / 1e6).toFixed(1)} MB after the client left; ` +
          `other client's round trip median ${r.medianMs.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms (${r.trips} trips)`,
      );
    } finally {
      await s.stop();
    }
  }
  const { ours, theirs } = results;
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  const ratio = (a: number, b: number) => `${(a / Math.max(b, 1e-9)).toFixed(1)}x`;
  row('never-reading client: server RSS growth', mb(ours.growth), mb(theirs.growth), ratio(ours.growth, theirs.growth), `< ${growthTargetMB} MB`, verdict(ours.growth < growthTargetMB * 1e6));
  row('  other client round trip, median', `${ours.medianMs.toFixed(2)} ms`, `${theirs.medianMs.toFixed(2)} ms`, ratio(ours.medianMs, theirs.medianMs), `< ${medianTargetMs} ms`, verdict(ours.medianMs < medianTargetMs));
  row('  other client round trip, max', `${ours.maxMs.toFixed(1)} ms`, `${theirs.maxMs.toFixed(1)} ms`, ratio(ours.maxMs, theirs.maxMs), `< ${maxTargetMs} ms`, verdict(ours.maxMs < maxTargetMs));
  log();
}

// ---- 8. engine checkpoints ---------------------------------------------------------------------

async function engineSnapshot(): Promise<void> {
  log(`== 8. engine snapshot/restore with ${SNAPSHOT_CONNS} connections (Engine + Session snapshots), vs rebuilding by re-running the commands ==`);
  for (const jobs of SNAPSHOT_JOBS) {
    const r = benchSnapshot(jobs);
    const mb = r.bytes / 1e6;
    log(
      `N=${jobs.toLocaleString('en')} jobs: rebuild ${r.rebuildMs.toFixed(2)} ms; snapshot ${r.snapshotMs.toFixed(2)} ms, restore ${r.restoreMs.toFixed(2)} ms, ` +
        `structuredClone ${r.cloneMs.toFixed(2)} ms; size ${mb.toFixed(2)} MB (${(r.bytes / jobs).toFixed(0)} B/job, v8 serialized)`,
    );
    const x = (ms: number) => `${(r.rebuildMs / ms).toFixed(1)}x faster`;
    row(`N=${jobs.toLocaleString('en')}: snapshot vs rebuild`, `${r.snapshotMs.toFixed(2)} ms`, `${r.rebuildMs.toFixed(2)} ms`, x(r.snapshotMs));
    row(`N=${jobs.toLocaleString('en')}: restore vs rebuild`, `${r.restoreMs.toFixed(2)} ms`, `${r.rebuildMs.toFixed(2)} ms`, x(r.restoreMs));
    row(`N=${jobs.toLocaleString('en')}: snapshot size`, `${mb.toFixed(2)} MB`, '', '', `budget ${CHECKPOINT_BUDGET_MB} MB, all checkpoints`, `${Math.floor(CHECKPOINT_BUDGET_MB / mb)} fit`);
  }
  const fixed = emptySnapshotBytes();
  log(`no job, the same ${SNAPSHOT_CONNS} connections: ${(fixed / 1e3).toFixed(1)} kB per checkpoint`);
  row(`no job, ${SNAPSHOT_CONNS} connections: snapshot size`, `${(fixed / 1e3).toFixed(1)} kB`);
  log('(the reference column here is the rebuild, not beanstalkd; the whole cluster\'s checkpoints are section 9)');
  log();
}

// ---- 9. time travel ----------------------------------------------------------------------------

/**
 * Bytes the run's checkpoints hold, in the heap and in buffers (what is freed when they go, after full collections), and the
 * trace entries of the run they share (its own: held here through the collections, not counted).
 */
function checkpointHeap(f: TimeTravelFigures): { bytes: number; traceEntries: number } {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const own = f.checkpoints.at(-1)?.log;
  gc();
  gc();
  // The heap and the typed arrays' buffers (outside it): queued jobs, binlog bytes and job bodies are bytes.
  const held = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = held();
  f.checkpoints.length = 0;
  gc();
  gc();
  return { bytes: before - held(), traceEntries: own?.trace.length ?? 0 };
}

/** Logs one environment's figures; returns seek median, p95 and step-back median. */
function logTimeTravel(where: string, f: TimeTravelFigures): { median: number; p95: number; stepBack: number; replay: number } {
  const replay = f.replayMs.reduce((a, b) => a + b, 0) / f.replayMs.length;
  const replayEvents = f.replayEvents.reduce((a, b) => a + b, 0) / f.replayEvents.length;
  const median = quantile(f.seekMs, 0.5);
  const p95 = quantile(f.seekMs, 0.95);
  const stepBack = quantile(f.stepBackMs, 0.5);
  log(`${where}: recorded ${f.events.toLocaleString('en')} events in ${(f.recordMs / 1000).toFixed(1)} s with a checkpoint every ${f.plan.every} (taking one at the end: ${f.captureMs.toFixed(1)} ms)`);
  log(`  replay from event 0 to a random event (${f.replayMs.length} of them, ${Math.round(replayEvents).toLocaleString('en')} events on average): ${replay.toFixed(0)} ms on average`);
  log(`  seek to a random event (${f.seekMs.length}): median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, ${(replay / median).toFixed(0)}x faster than the replay`);
  log(`  step back (${f.stepBackMs.length}, in rows of 5 after a seek): median ${stepBack.toFixed(1)} ms; the first of a row ${quantile(f.firstStepBackMs, 0.5).toFixed(1)} ms (it takes the close checkpoints)`);
  return { median, p95, stepBack, replay };
}

async function timeTravelSection(): Promise<void> {
  const plan = TIME_TRAVEL_PLAN;
  log(`== 9. time travel: a virtual run of ${plan.events.toLocaleString('en')} protocol events with ${plan.workers} workers, nodes in-thread; vs replaying from event 0 ==`);
  const { spawnInThread } = await import('../src/nodes/in-thread.ts');
  const node = await measureTimeTravel(spawnInThread, plan);
  const count = node.checkpoints.length;
  const heap = checkpointHeap(node);
  const mb = heap.bytes / 1e6;
  const n = logTimeTravel('Node', node);
  log(`  checkpoint memory: ${count} checkpoints hold ${mb.toFixed(1)} MB, heap and buffers (freed when they go; the run's own trace of ${heap.traceEntries.toLocaleString('en')} entries, which they share, is not counted)`);
  row('time travel (Node): seek median', `${n.median.toFixed(1)} ms`, `${n.replay.toFixed(0)} ms`, `${(n.replay / n.median).toFixed(0)}x`, 'ref: replay from 0');
  row(`time travel: ${count} checkpoints' memory`, `${mb.toFixed(1)} MB`, '', '', `≤ ${CHECKPOINT_BUDGET_MB} MB`, verdict(mb <= CHECKPOINT_BUDGET_MB));
  const { timeTravelInChromium, timeTravelInApp } = await import('./time-travel-browser.ts');
  const c = logTimeTravel('Chromium', await timeTravelInChromium(plan));
  row('time travel (Chromium): seek median', `${c.median.toFixed(1)} ms`, `${c.replay.toFixed(0)} ms`, `${(c.replay / c.median).toFixed(0)}x`, `≤ ${SEEK_TARGET.median} ms`, verdict(c.median <= SEEK_TARGET.median));
  row('time travel (Chromium): seek p95', `${c.p95.toFixed(1)} ms`, `${c.replay.toFixed(0)} ms`, `${(c.replay / c.p95).toFixed(0)}x`, `≤ ${SEEK_TARGET.p95} ms`, verdict(c.p95 <= SEEK_TARGET.p95));
  row('time travel (Chromium): step back median', `${c.stepBack.toFixed(1)} ms`, `${c.replay.toFixed(0)} ms`, `${(c.replay / c.stepBack).toFixed(0)}x`, `≤ ${STEP_BACK_TARGET_MS} ms`, verdict(c.stepBack <= STEP_BACK_TARGET_MS));
  // What a student sees: the app's own Lab, its nodes in Web Workers, until the frame is drawn.
  const app = await timeTravelInApp(plan);
  const appSeek = quantile(app.seekMs, 0.5);
  const appSeek95 = quantile(app.seekMs, 0.95);
  const appBack = quantile(app.stepBackMs, 0.5);
  log(`Chromium, the app (nodes in Web Workers, timed until the frame showing it is drawn): recorded ${app.events.toLocaleString('en')} events in ${(app.recordMs / 1000).toFixed(1)} s`);
  log(`  seek (${app.seekMs.length}): median ${appSeek.toFixed(1)} ms, p95 ${appSeek95.toFixed(1)} ms; step back (${app.stepBackMs.length}): median ${appBack.toFixed(1)} ms, the first of a row ${quantile(app.firstStepBackMs, 0.5).toFixed(1)} ms; Web Workers started meanwhile: ${app.workersStarted}`);
  row('time travel (the app, drawn): seek median', `${appSeek.toFixed(1)} ms`, `${c.replay.toFixed(0)} ms`, `${(c.replay / appSeek).toFixed(0)}x`, `≤ ${SEEK_TARGET.median} ms`, verdict(appSeek <= SEEK_TARGET.median));
  row('time travel (the app, drawn): seek p95', `${appSeek95.toFixed(1)} ms`, `${c.replay.toFixed(0)} ms`, `${(c.replay / appSeek95).toFixed(0)}x`, `≤ ${SEEK_TARGET.p95} ms`, verdict(appSeek95 <= SEEK_TARGET.p95));
  row('time travel (the app, drawn): step back median', `${appBack.toFixed(1)} ms`, `${c.replay.toFixed(0)} ms`, `${(c.replay / appBack).toFixed(0)}x`, `≤ ${STEP_BACK_TARGET_MS} ms`, verdict(appBack <= STEP_BACK_TARGET_MS));
  log('(the reference column of these rows is the replay from event 0, not beanstalkd)');
  log();
}

// ---- table ------------------------------------------------------------------------------------

function table(): void {
  const head: Row = { figure: 'figure', ours: 'beanlab', ref: 'beanstalkd', ratio: 'ratio', target: 'target', result: 'result' };
  const cols = Object.keys(head) as (keyof Row)[];
  const w = Object.fromEntries(cols.map((k) => [k, Math.max(...[head, ...rows].map((r) => r[k].length))])) as Record<keyof Row, number>;
  const line = (r: Row) => cols.map((k, i) => (i === 0 ? r[k].padEnd(w[k]) : r[k].padStart(w[k]))).join('  ');
  log('== summary ==');
  log(line(head));
  log(cols.map((k) => '-'.repeat(w[k])).join('  '));
  for (const r of rows) log(line(r));
}

// ---- 4-5. in Debian's Chromium: the π kernel, and the cluster simulator ----------------------------

async function browserSections(): Promise<void> {
  const { benchTasks } = await import('./tasks.ts');
  const { benchBrowser } = await import('./browser.ts');
  const { benchNet } = await import('./net.ts');
  for (const [title, run] of [
    ['== 5. π kernel: darts/s in one Chromium Web Worker vs the same algorithm in C (gcc -O2) ==', benchTasks],
    ['== 6. cluster simulator in Chromium: live speedup of Web Worker nodes, frame rate with 64 nodes ==', benchBrowser],
    ['== 7. real-node mode, 3 Chromium processes on loopback: dispatch round trip over WebRTC, speedup of 2 joiners vs 1 ==', benchNet],
  ] as const) {
    log(title);
    for (const line of await run()) {
      log(line);
      summarize(line);
    }
    log();
  }
}

// ---- 9. a class-sized room ------------------------------------------------------------------------

/** A line "figure: value (target …) PASS" goes into the summary as its columns, the value kept whole. */
function summarize(line: string): void {
  const m = /^\s*(.*?):\s*(.*?)\s*\(target ([^)]*)\)\s*(PASS|MISS)\s*$/.exec(line);
  if (m) row(m[1].slice(0, 60), m[2], '', '', m[3], m[4]);
}

async function classSection(): Promise<void> {
  const { benchClass } = await import('./class.ts');
  log('== 10. a class-sized room: headless joiner processes (npm run join) on loopback WebRTC; short π jobs; browser and Node hosts ==');
  log('(every process shares this machine\'s cores: joiners, host and producer)');
  await benchClass((line) => {
    log(line);
    summarize(line);
  });
  log('-- the host page with 128 busy remote nodes (32 joiners x 4): join time and frame gaps');
  for (const line of await import('./class-room.ts').then((m) => m.benchClassRoom())) {
    log(line);
    summarize(line);
  }
  log();
}

async function main(): Promise<void> {
  const t0 = performance.now();
  log(`beanlab bench — node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}`);
  log();
  const sections = { inproc: inProcess, tcp, memory, 'slow-reader': slowReaderSection, browser: browserSections, 'engine-snapshot': engineSnapshot, 'time-travel': timeTravelSection, class: classSection };
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !(name in sections));
  if (unknown.length) throw new Error(`no bench section ${unknown.join(', ')}; the sections are ${Object.keys(sections).join(', ')}`);
  for (const [name, run] of Object.entries(sections)) if (!only.length || only.includes(name)) await run();
  table();
  log(`\n(total ${((performance.now() - t0) / 1e3).toFixed(0)} s)`);
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    if (rows.length) table();
    process.exitCode = 1;
  })
  .finally(() => {
    killAllChildren();
    // The PeerJS signaling server (real-node section) re-arms two timers for ever and offers no way to
    // stop them, so the closed server would keep this process alive.
    process.exit();
  });
