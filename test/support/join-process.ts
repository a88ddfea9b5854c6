// `npm run join -- …` as a child process (through run-ts.mjs, as npm runs it), and the signaling server
// of a room hosted in the test process, over the real PeerServer and WebRTC (@roamhq/wrtc).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { installWebRtcGlobals } from '../../src/cli/webrtc-globals.ts';
import { mountSignaling } from '../../src/server/signaling.ts';
import type { SignalingServer } from '../../src/net/peer-link.ts';

/**
 * The repository: this file's, or, bundled by run-ts.mjs into node_modules/.cache (the bench), the
 * entry point's (run-ts sets process.argv[1] to it).
 */
const ROOT = [path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'), path.resolve(path.dirname(process.argv[1] ?? '.'), '..')].find((d) =>
  existsSync(path.join(d, 'scripts/run-ts.mjs')),
)!;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Since the process was signalled (or started), ms. */
  ms: number;
}

/** A joiner process, its output collected. */
export interface Joiner {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<Exit>;
  /** Sends `signal`; resolves when the process has exited. */
  stop(signal: NodeJS.Signals): Promise<Exit>;
}

const live = new Set<ChildProcess>();

export function runJoin(args: string[]): Joiner {
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts/run-ts.mjs'), 'src/cli/join.ts', ...args], { cwd: ROOT });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  let signalledAt = Date.now();
  const exit = new Promise<Exit>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal, ms: Date.now() - signalledAt });
    }),
  );
  return {
    proc,
    out: () => out,
    err: () => err,
    exit,
    stop(signal) {
      signalledAt = Date.now();
      proc.kill(signal);
      return exit;
    },
  };
}

/** Kills the joiners a test left running (call after each test). */
export function killJoiners(): void {
  for (const p of live) p.kill('SIGKILL');
}

/** A PeerServer on a free loopback port, with this process set up to host rooms over WebRTC through it. */
export async function startSignaling(): Promise<{ signaling: SignalingServer; port: number; close: () => Promise<void> }> {
  const app = express();
  const httpServer = createServer(app);
  const signalingClose = mountSignaling(app, httpServer).close;
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const port = (httpServer.address() as { port: number }).port;
  const signaling = { host: '127.0.0.1', port, path: '/peerjs', secure: false };
  // The host's side of the room runs in the test process, over the same WebRTC as the joiner's.
  await installWebRtcGlobals(signaling);
  return {
    signaling,
    port,
    close: async () => {
      signalingClose();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
