// Small helpers for the benchmark: formatting, statistics, child processes that are always cleaned up.
import net from 'node:net';
import os from 'node:os';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer } from '../src/server/serve.ts';
import { asReturningStudent } from '../test/support/returning-student.ts';

/**
 * The repository root, found from the entry point run-ts.mjs ran (process.argv[1]): this code runs
 * bundled from node_modules/.cache/, which may be another checkout's when node_modules is a symlink.
 */
function repoRoot(): string {
  for (let d = path.dirname(path.resolve(process.argv[1] ?? '.')); d !== path.dirname(d); d = path.dirname(d)) {
    if (existsSync(path.join(d, 'scripts/run-ts.mjs'))) return d;
  }
  return process.cwd();
}
export const ROOT = repoRoot();
export const RUN_TS = path.join(ROOT, 'scripts/run-ts.mjs');
export const BEANSTALKD = '/usr/bin/beanstalkd';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** 1234567 -> "1.23M", 45678 -> "45.7k". */
export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

export const fmtNs = (opsPerSec: number) => `${(1e9 / opsPerSec).toFixed(0)} ns/op`;

export function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

// ---- child processes ----------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/** Kills every child we started that is still running (SIGKILL: used on the way out). */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killAllChildren();
      process.exit(130);
    });
  }
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export function startChild(cmd: string, args: string[], opts: { cwd?: string } = {}): Child {
  hookExit();
  const proc = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      children.delete(proc);
      resolve(code);
    });
    proc.on('error', (e) => {
      err += String(e);
      children.delete(proc);
      resolve(-1);
    });
  });
  return {
    proc,
    pid: proc.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs a child to completion and returns its stdout (throws with its stderr on failure). */
export async function runChild(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const c = startChild(cmd, args);
  const t = setTimeout(() => c.proc.kill('SIGKILL'), timeoutMs);
  const code = await c.exited;
  clearTimeout(t);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}\n${c.stderr()}`);
  return c.stdout();
}

/** A port nobody listens on right now (bind to 0, read it, let it go). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts connections on 127.0.0.1:port. */
export async function waitForPort(port: number, child: Child, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`server exited early (${child.proc.exitCode}): ${child.stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms: ${child.stderr()}`);
    await sleep(50);
  }
}

/** VmRSS of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU time (user + system) in seconds of a /proc stat line (a process's or a thread's). */
function statSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime 15.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU time (user + system) of a process in seconds, from /proc/PID/stat. */
export function cpuSecondsOf(pid: number): number {
  return statSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * CPU seconds of a Node process, split: its main thread, libwebrtc's threads (the ones it names; Node's
 * own threads are all called "node"), and the rest (worker threads, V8's and libuv's helpers, threads
 * already gone). Linux /proc.
 */
export interface ProcessCpu {
  total: number;
  main: number;
  webrtc: number;
}

export function processCpuOf(pid: number): ProcessCpu {
  let main = 0;
  let webrtc = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile: its time is in the process's total
    }
    // The main thread's id is the process's.
    if (tid === String(pid)) main = statSeconds(stat);
    else if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'node') webrtc += statSeconds(stat);
  }
  return { total: cpuSecondsOf(pid), main, webrtc };
}

/** CPU seconds the whole machine has been busy (every core; not idle, not waiting for I/O), from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal …, in 1/100 s: not idle, iowait, nor steal (the hypervisor's).
  const [user, nice, system, , , irq, softirq] = ticks;
  return (user + nice + system + irq + softirq) / 100;
}

/**
 * The app built into a directory of its own (named `name` under the temp dir, so a bench run never
 * replaces the dist/ a test or `npm start` serves) and served as the static site with its signaling.
 */
export async function serveBuiltApp(name: string): Promise<Awaited<ReturnType<typeof startServer>>> {
  const dist = path.join(os.tmpdir(), name);
  const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'error', '--outDir', dist, '--emptyOutDir'], { stdio: 'inherit', cwd: ROOT });
  if (build.status !== 0) throw new Error('vite build failed');
  const before = process.env.BEANLAB_DIST;
  process.env.BEANLAB_DIST = dist;
  try {
    return await startServer({ port: 0, host: '127.0.0.1', staticSite: true });
  } finally {
    if (before === undefined) delete process.env.BEANLAB_DIST;
    else process.env.BEANLAB_DIST = before;
  }
}

/** The app at `url` in a 1280×720 page of `browser`, as a returning student's, once its Lab (window.__beanlab) is up. */
export async function openAppPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await asReturningStudent(page);
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __beanlab?: unknown }).__beanlab !== undefined);
  return page;
}

/** A run's trace entry, as a page hands it over (src/sim/run-record.ts). */
export interface TraceEntry {
  at: number;
  kind: string;
  node?: number;
  conn?: number;
  text: string;
}

/**
 * Dispatch round trips from a run's trace: from each reply sent to a remote node's connection that holds
 * no RESERVED (after which the worker computes), to the next command the host receives on it. A pipelined
 * worker's delete and next reserve are answered in one write ("DELETED⏎RESERVED …"), which holds one.
 */
export function dispatchRtts(trace: Iterable<TraceEntry>, remote: number[]): number[] {
  const nodes = new Set(remote);
  const sent = new Map<string, number>();
  const rtts: number[] = [];
  for (const e of trace) {
    if (e.node === undefined || !nodes.has(e.node)) continue;
    const key = `${e.node}/${e.conn}`;
    if (e.kind === 'to-node') {
      if (/(^|⏎)RESERVED /.test(e.text)) sent.delete(key);
      else sent.set(key, e.at);
    } else if (e.kind === 'to-server' && sent.has(key)) {
      rtts.push(e.at - sent.get(key)!);
      sent.delete(key);
    }
  }
  return rtts;
}
