// `npm run join -- LINK|CODE [--cores N] [--name NAME] [--signal URL] [--joiners K] [--bridge PORT]`: this
// machine joins a room from a terminal as N worker nodes, as a classmate's browser tab does (JoinedRoom,
// RoomMember), each node in a worker thread; with --joiners, as K joiners (a big room on one machine, for
// tests and the bench); with --bridge, one more node is a TCP port for this machine's own beanstalkd
// clients (bridge.ts). Its status is one line per node. Ctrl-C (or SIGTERM) leaves: the host is told and puts
// the nodes' jobs back at once. A join that cannot work, or that the host ends, says why and exits 1.
// run-ts.mjs builds this file into one module, which each node's thread runs too.
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { JoinedRoom, RoomError, signalingUrl } from '../net/peer-link.ts';
import { MAX_SLOTS } from '../net/messages.ts';
import { memberNodeActivity, type RoomMember } from '../net/room-member.ts';
import { joinUsage, JoinUsageError, MAX_NAME_LENGTH, parseJoinArgs, type JoinOptions } from './join-options.ts';
import { nodeThreads, runThreadNode } from './thread-node.ts';
import { BridgePort } from './bridge.ts';
import { StatusLines } from './status-lines.ts';
import { installWebRtcGlobals } from './webrtc-globals.ts';

/** How often the status is redrawn at most, ms. */
const REDRAW_MS = 100;
/** Leaving exits by then, closed or not, ms. */
const LEAVE_DEADLINE_MS = 2000;

/** The bridge's slot, when there is one: the first, which a nearly full room does not cut. */
const BRIDGE_SLOT = 0;

/** A membership's line, then one line per node (kept after leaving, with what each did), then the bridge's. */
function statusLines(opts: JoinOptions, name: string, member: RoomMember | null, bridge: BridgePort | null): string[] {
  const lines = membershipLines(opts, name, member);
  return bridge ? [...lines, bridge.summary()] : lines;
}

function membershipLines(opts: JoinOptions, name: string, member: RoomMember | null): string[] {
  const room = `room ${opts.code}`;
  const state = member?.state;
  const nodes = member?.nodes ?? [];
  const width = Math.max(0, ...nodes.map((n) => n.name.length));
  const nodeLines = nodes.map((n) => `${n.name.padEnd(width)}  ${memberNodeActivity(n.status).padEnd(34)} ${String(n.jobs).padStart(5)} done${opts.bridge && n.slot === BRIDGE_SLOT ? ' (bridge)' : ''}`);
  switch (state?.phase) {
    case undefined:
      return [`${room}: joining through ${signalingUrl(opts.signaling)} as "${name}" with ${opts.cores} node${opts.cores === 1 ? '' : 's'}${opts.bridge ? ' and a bridge' : ''}…`];
    case 'joining':
      return [`${room}: connected; waiting for the host to answer…`];
    case 'waiting':
      return [`${room}: waiting for the host to let "${name}" in…`];
    case 'joined':
      return [`${room}: joiner ${state.joiner} as "${name}" (Ctrl-C leaves)`, ...nodeLines];
    case 'left':
      return [`${room}: ${state.byHost ? `the host let this machine go: ${state.reason}` : `not in the room: ${state.reason}`}`, ...nodeLines];
  }
}

/** The joiners' names: NAME alone, or NAME-1 … NAME-K (each cut to what the room protocol carries). */
function joinerNames(opts: JoinOptions): string[] {
  if (opts.joiners === 1) return [opts.name];
  return Array.from({ length: opts.joiners }, (_, i) => {
    const tag = `-${i + 1}`;
    return opts.name.slice(0, MAX_NAME_LENGTH - tag.length) + tag;
  });
}

async function main(argv: string[]): Promise<void> {
  const defaults = { cores: Math.min(os.availableParallelism(), MAX_SLOTS), name: os.hostname() };
  let opts: JoinOptions | 'help';
  try {
    opts = parseJoinArgs(argv, defaults);
  } catch (err) {
    if (!(err instanceof JoinUsageError)) throw err;
    process.stderr.write(`join: ${err.message}\n(npm run join -- --help says how)\n`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(joinUsage(defaults));
    return;
  }
  const room = opts;
  const names = joinerNames(room);
  const status = new StatusLines(process.stdout);
  const joined: (JoinedRoom | null)[] = names.map(() => null);
  let leaving = false;
  let redraw: ReturnType<typeof setTimeout> | undefined;
  let bridge: BridgePort | null = null;
  const draw = () => {
    clearTimeout(redraw);
    redraw = undefined;
    status.show(names.flatMap((name, i) => statusLines(room, name, joined[i]?.member ?? null, bridge)));
  };
  const changed = () => {
    redraw ??= setTimeout(draw, REDRAW_MS);
  };
  if (room.bridge) {
    try {
      bridge = await BridgePort.listen(room.bridge.host, room.bridge.port, changed);
    } catch (err) {
      process.stderr.write(`join: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  /** Leaves every membership (the host puts their nodes' jobs back at once), closes the connections, stops the threads, exits. */
  const leaveAll = async (code: number) => {
    leaving = true;
    // The goodbyes are sent at once; closing the connections must not keep the process (a stuck close).
    setTimeout(() => process.exit(code), LEAVE_DEADLINE_MS).unref();
    // Leaving stops the bridge's node, which closes its clients; the port closes too.
    await Promise.all(joined.map((j) => j?.leave()));
    bridge?.close();
    draw();
    process.exit(code);
  };
  // Ctrl-C leaves; a second one does not wait.
  const interrupted = () => (leaving ? process.exit(130) : void leaveAll(0));
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);

  draw();
  await installWebRtcGlobals(room.signaling);
  const threads = nodeThreads(new URL(import.meta.url), names.length * room.cores);
  const joins = names.map((name, i) =>
    JoinedRoom.join({
      code: room.code,
      secret: room.secret,
      slots: room.cores + (bridge ? 1 : 0),
      name,
      // The roster's machine column: a lab machine's system as a browser on it would say it ("Linux x86_64").
      platform: `${os.type()} ${os.machine()}`,
      cores: os.availableParallelism(),
      signaling: room.signaling,
      spawn: (slot) => (bridge && slot === BRIDGE_SLOT ? bridge.spawn() : threads.spawn()),
      onChange: () => {
        changed();
        // Every membership ended, not by this machine: the host removed it, closed the room, or went silent.
        if (!leaving && joined.every((j) => j?.member.state.phase === 'left')) void leaveAll(1);
      },
    }).then((j) => (joined[i] = j)),
  );
  const failed = (await Promise.allSettled(joins)).find((r) => r.status === 'rejected');
  if (failed) {
    const err = failed.reason;
    const e = err instanceof RoomError ? err : new RoomError(String((err as Error).message ?? err), 'Try again.');
    process.stderr.write(`join: ${e.why} ${e.tryThis}\n`);
    return leaveAll(1);
  }
  draw();
}

if (isMainThread) void main(process.argv.slice(2));
else runThreadNode();
