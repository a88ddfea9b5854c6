// The engine's checkpoint cost (issue 12): snapshot time, restore time and snapshot size of a queue
// server with N queued jobs and 16 connections, beside the time to rebuild the same state by
// re-executing the commands that made it (what a seek without checkpoints pays).
//
// The state: 16 connections through the wire codec (Session), each using and watching one of 4 tubes;
// N jobs put by them (pri spread, 1 in 10 delayed), then each connection reserves 4 jobs and buries
// one, and half of them end blocked in a reserve-with-timeout on an empty tube. Bodies are 16 bytes.
// The commands are sent in two rounds (all puts, then the rest), so the jobs' ids are known.
import { serialize } from 'node:v8';
import { Engine } from '../src/engine/engine.ts';
import { ManualClock } from '../src/engine/clock.ts';
import { Session } from '../src/protocol/session.ts';

export const SNAPSHOT_CONNS = 16;
const BODY = 'abcdefghijklmnop';

/** Each round's input for each connection, as bytes: the commands that build the state with `jobs` queued jobs. */
export function buildCommands(jobs: number): Uint8Array[][] {
  const enc = new TextEncoder();
  const puts: string[][] = Array.from({ length: SNAPSHOT_CONNS }, (_, i) => [`use t${i % 4}\r\n`, `watch t${i % 4}\r\n`, 'ignore default\r\n']);
  for (let n = 0; n < jobs; n++) {
    const delay = n % 10 === 9 ? 3600 : 0;
    puts[n % SNAPSHOT_CONNS].push(`put ${n % 2000} ${delay} 60 ${BODY.length}\r\n${BODY}\r\n`);
  }
  const rest = puts.map((_, i) => {
    const cmds: string[] = [];
    for (let r = 1; r <= 4; r++) cmds.push(`reserve-job ${i * 4 + r}\r\n`);
    cmds.push(`bury ${i * 4 + 1} 10\r\n`);
    if (i % 2) cmds.push('watch idle\r\n', `ignore t${i % 4}\r\n`, 'reserve-with-timeout 3600\r\n');
    return cmds;
  });
  return [puts, rest].map((round) => round.map((cmds) => enc.encode(cmds.join(''))));
}

const sink = { write: () => {}, close: () => {} };

/** Runs the commands on a fresh engine: the rebuild a seek would do without a checkpoint. */
export function rebuild(input: Uint8Array[][]): { engine: Engine; sessions: Session[]; clock: ManualClock } {
  const clock = new ManualClock(1_000_000);
  const engine = new Engine({ clock, instanceId: '0123456789abcdef' });
  const sessions = input[0].map((_, i) => new Session(engine, sink, `worker ${i}`));
  for (const round of input) round.forEach((bytes, i) => sessions[i].receive(bytes));
  return { engine, sessions, clock };
}

export interface SnapshotResult {
  jobs: number;
  rebuildMs: number;
  snapshotMs: number;
  restoreMs: number;
  cloneMs: number;
  bytes: number;
}

function medianOf(runs: number, f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** Bytes of a checkpoint with no job: the 16 connections (each using and watching its tube) and the counters. */
export function emptySnapshotBytes(): number {
  const [round] = buildCommands(0);
  const { engine, sessions } = rebuild([round]);
  return serialize({ engine: engine.snapshot(), sessions: sessions.map((s) => s.snapshot()) }).length;
}

export function benchSnapshot(jobs: number): SnapshotResult {
  const runs = jobs > 10_000 ? 5 : 31;
  const input = buildCommands(jobs);
  const rebuildMs = medianOf(runs, () => rebuild(input));
  const { engine, sessions, clock } = rebuild(input);
  const state = [engine.jobs.size, engine.reservedCount, engine.buriedCount, engine.waitingCount];
  const want = [jobs, 3 * SNAPSHOT_CONNS, SNAPSHOT_CONNS, SNAPSHOT_CONNS / 2];
  if (String(state) !== String(want)) throw new Error(`bench state: jobs, reserved, buried, waiting = ${state}, expected ${want}`);
  const take = () => ({ engine: engine.snapshot(), sessions: sessions.map((s) => s.snapshot()) });
  const snapshotMs = medianOf(runs, take);
  const snap = take();
  const restoreMs = medianOf(runs, () => {
    const e = Engine.restore(snap.engine, { clock });
    snap.sessions.forEach((s) => Session.restore(e, s, sink));
  });
  const cloneMs = medianOf(runs, () => structuredClone(snap));
  return { jobs, rebuildMs, snapshotMs, restoreMs, cloneMs, bytes: serialize(snap).length };
}
