// A class-sized room on one machine, for the e2e test and the bench: K `npm run join` processes of
// J joiners × N nodes each join a room hosted by a Chromium page, and the page's frame gaps are
// measured from requestAnimationFrame timestamps collected in it.
//
// Once started, the joiners' nodes (their worker threads) can be put at the lowest CPU priority (nice 19,
// `yieldCpu`): in a lab they are other machines, and on this one 128 busy threads would otherwise take the
// host page's cores, and their own process's: the main thread, which answers the room's heartbeats, and
// WebRTC's threads (named by libwebrtc), which carry the data channels, keep theirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Page } from 'playwright-core';

/** The checkout: vitest and `npm run bench` both run in it (this file may run bundled elsewhere, by run-ts.mjs). */
const ROOT = process.cwd();

export interface ClassProcesses {
  procs: ChildProcess[];
  /** Each process's output so far. */
  out(): string[];
  err(): string[];
  /** The Node threads of every process but its main thread (the nodes' worker threads) to nice 19: call it once the nodes have started. */
  yieldCpu(): void;
  /** Ctrl-C to every process; resolves once all have exited (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * `processes` × `npm run join -- LINK --joiners J --cores N --name NAMEp`, started `staggerMs` apart (a class
 * does not join in the same millisecond, and one machine's 2 cores then start fewer threads at once).
 */
export function joinClass(link: string, s: { processes: number; joiners: number; cores: number; name?: string; staggerMs?: number }): ClassProcesses {
  const outs: string[] = [];
  const errs: string[] = [];
  const procs = Array.from({ length: s.processes }, (_, p) => {
    const args = [link, '--joiners', String(s.joiners), '--cores', String(s.cores), '--name', `${s.name ?? 'lab'}${p + 1}`];
    // `sleep` holds the place of the process until its turn: its pid is the joiner's once it execs.
    const delay = ((s.staggerMs ?? 0) * p) / 1000;
    const proc = spawn('sh', ['-c', `sleep ${delay} && exec "$0" "$@"`, process.execPath, 'scripts/run-ts.mjs', 'src/cli/join.ts', ...args], { cwd: ROOT });
    outs[p] = '';
    errs[p] = '';
    proc.stdout!.on('data', (d) => (outs[p] += d));
    proc.stderr!.on('data', (d) => (errs[p] += d));
    return proc;
  });
  return {
    procs,
    out: () => [...outs],
    err: () => [...errs],
    yieldCpu() {
      // Linux's priority is a thread's: each one under /proc/PID/task; the main thread's id is the process's.
      for (const proc of procs) {
        try {
          for (const tid of readdirSync(`/proc/${proc.pid}/task`)) {
            if (Number(tid) !== proc.pid && readFileSync(`/proc/${proc.pid}/task/${tid}/comm`, 'utf8').trim() === 'node') os.setPriority(Number(tid), 19);
          }
        } catch {
          // The process (or a thread) ended meanwhile.
        }
      }
    },
    async stop(graceMs = 5000) {
      await Promise.all(
        procs.map((proc) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
          proc.kill('SIGINT');
          const kill = setTimeout(() => proc.kill('SIGKILL'), graceMs);
          return exited.finally(() => clearTimeout(kill));
        }),
      );
    },
  };
}

export interface FrameGaps {
  frames: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  /**
   * Each click's input-to-next-paint time meanwhile (the Event Timing API's duration: from the input to
   * the frame that shows what its handlers did; entries under 16 ms are not reported), by the clicked
   * element's text.
   */
  clicks: { target: string; ms: number }[];
}

/** Starts collecting the page's requestAnimationFrame timestamps and its clicks' input-to-paint times (until `frameGapsStop`). */
export function frameGapsStart(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { __frames?: number[]; __framesOn?: boolean; __clicks?: { target: string; ms: number }[]; __clickObserver?: PerformanceObserver };
    w.__frames = [];
    w.__framesOn = true;
    w.__clicks = [];
    const tick = (t: number) => {
      w.__frames!.push(t);
      if (w.__framesOn) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    w.__clickObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries() as PerformanceEventTiming[]) {
        if (e.name === 'click') w.__clicks!.push({ target: (e.target?.textContent ?? '').trim().slice(0, 40), ms: e.duration });
      }
    });
    w.__clickObserver.observe({ type: 'event', durationThreshold: 16 } as PerformanceObserverInit);
  });
}

/** Stops collecting and sums the gaps between consecutive frames up. */
export async function frameGapsStop(page: Page): Promise<FrameGaps> {
  const { times, clicks } = await page.evaluate(async () => {
    const w = window as unknown as { __frames: number[]; __framesOn: boolean; __clicks: { target: string; ms: number }[]; __clickObserver: PerformanceObserver };
    w.__framesOn = false;
    // Entries are delivered after their frame: one more frame, then whatever is still queued.
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    for (const e of w.__clickObserver.takeRecords() as PerformanceEventTiming[]) if (e.name === 'click') w.__clicks.push({ target: (e.target?.textContent ?? '').trim().slice(0, 40), ms: e.duration });
    w.__clickObserver.disconnect();
    return { times: w.__frames, clicks: w.__clicks };
  });
  return { ...frameGapStats(times), clicks };
}

export function frameGapStats(times: readonly number[]): Omit<FrameGaps, 'clicks'> {
  const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  const at = (q: number) => (gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] : NaN);
  return { frames: times.length, medianMs: at(0.5), p95Ms: at(0.95), maxMs: gaps.length ? gaps[gaps.length - 1] : NaN };
}

/**
 * How many of the host's remote nodes there are, how many are busy with a job now (working on it,
 * sending its result, or connecting for the next one: the report's worker connects anew for each job),
 * the jobs they have done, and all of them by state (window.__beanlab is the app's Lab).
 */
export function remoteWorking(page: Page): Promise<{ remote: number; working: number; done: number; states: Record<string, number> }> {
  return page.evaluate(() => {
    type Node = { remote?: unknown; status: { state: string }; done: unknown[] };
    const nodes = [...(window as unknown as { __beanlab: { cluster: { nodes: Map<number, Node> } } }).__beanlab.cluster.nodes.values()].filter((n) => n.remote);
    const states: Record<string, number> = {};
    for (const n of nodes) states[n.status.state] = (states[n.status.state] ?? 0) + 1;
    return { remote: nodes.length, working: (states.working ?? 0) + (states.sending ?? 0) + (states.connecting ?? 0), done: nodes.reduce((t, n) => t + n.done.length, 0), states };
  });
}
