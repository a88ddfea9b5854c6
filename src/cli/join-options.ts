// `npm run join`'s command line: which room (a join link, or a join code and a signaling server), how
// many worker nodes (and joiners), and under what name. Pure, so every error message is tested.
import { chosenSignalingServer, parseSignalingUrl, type SignalingServer } from '../net/peer-link.ts';
import { MAX_SLOTS } from '../net/messages.ts';
import { MAX_JOINERS, MAX_OPEN_CONNECTIONS } from '../net/room-host.ts';
import { linkSecret, normaliseRoomCode, parseJoinCode } from '../net/room-code.ts';

export interface JoinOptions {
  code: string;
  secret: string;
  signaling: SignalingServer;
  /** Worker nodes this machine offers. */
  cores: number;
  /** What the host calls this machine. */
  name: string;
  /** Joiners this process makes, each with its own peer and data channel (a big room on one machine). */
  joiners: number;
  /** Where the bridge node listens for beanstalkd clients of this machine (--bridge), or null. */
  bridge: { host: string; port: number } | null;
}

/** The longest name the room protocol carries (messages.ts checks a hello's name against it). */
export const MAX_NAME_LENGTH = 60;

export class JoinUsageError extends Error {}

export function joinUsage(defaults: { cores: number; name: string }): string {
  return `usage: npm run join -- LINK|CODE [--cores N] [--name NAME] [--signal URL] [--joiners K]
                             [--bridge PORT [--bridge-host HOST]]

Joins a beanlab room from this terminal as worker nodes: each runs the worker program (and the π
kernel) in a thread of its own and takes jobs from the host's queue over WebRTC, as a classmate's
browser tab does.

  LINK          the join link from the host's Room panel, http://HOST:PORT/?join=CODE#SECRET
                (quote it: the shell may read ? and # otherwise)
  CODE          or the join code from the same panel (CODE-SECRET); it needs --signal
  --cores N     worker nodes to offer, 1..${MAX_SLOTS} (default ${defaults.cores}: this machine's cores)
  --name NAME   what the host's approval prompt and roster call this machine (default ${defaults.name})
  --signal URL  the room's signaling server, http://HOST:PORT/peerjs on the host's \`npm start\`
                (default: the join link's; a join code alone does not say where the room is)
  --joiners K   join as K joiners (NAME-1 … NAME-K), each with --cores nodes, 1..${MAX_JOINERS} (default 1):
                a big room from one machine, for tests and benchmarks
  --bridge PORT one more node, a bridge: a beanstalkd client of this machine (worker.py with
                beanstalkc, node-beanstalk, any other) connects to 127.0.0.1:PORT as to beanstalkd, and its
                commands reach the host's queue as that node's, under the room's rules (only the worker's
                commands unless the host allows all); at most ${MAX_OPEN_CONNECTIONS} clients at once. --cores 0: the bridge alone
  --bridge-host HOST
                the address the bridge listens on (default 127.0.0.1, this machine only; 0.0.0.0 lets
                every machine that can reach this one use the room's queue through it)
  -h, --help    this text

Ctrl-C leaves the room: the host puts any job these nodes hold back in its queue at once.
Exit status: 0 after leaving, 1 if the join failed or the host ended it, 2 for a bad argument.
`;
}

/** The room a join link names: its code (?join=), its secret (#) and, by default, its signaling server. */
function fromLink(link: URL): { code: string; secret: string; signaling: SignalingServer } {
  const code = normaliseRoomCode(link.searchParams.get('join') ?? '');
  if (!code) throw new JoinUsageError(`${link.href} is not a join link: it has no ?join= room code (12 letters and digits). Copy the whole link from the host's Room panel.`);
  const secret = linkSecret(link.hash);
  if (!secret) throw new JoinUsageError("This join link has no room secret (# and 12 letters and digits at its end): copy the whole link, and quote it in the shell so that # is not read as a comment.");
  return { code, secret, signaling: chosenSignalingServer(link, null) };
}

/** Parses `argv` (after `npm run join --`); throws JoinUsageError saying what is wrong. */
export function parseJoinArgs(argv: string[], defaults: { cores: number; name: string }): JoinOptions | 'help' {
  let room: string | undefined;
  let cores: string | undefined;
  let name = defaults.name.slice(0, MAX_NAME_LENGTH);
  let signal: string | undefined;
  let joiners = '1';
  let bridgePort: string | undefined;
  let bridgeHost: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return 'help';
    const flag = /^(--[a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!flag) {
      if (room !== undefined) throw new JoinUsageError(`one room at a time: got ${JSON.stringify(room)} and ${JSON.stringify(arg)}`);
      room = arg;
      continue;
    }
    const value = (): string => {
      if (flag[2] !== undefined) return flag[2];
      if (i + 1 >= argv.length) throw new JoinUsageError(`${flag[1]} needs a value`);
      return argv[++i];
    };
    switch (flag[1]) {
      case '--cores':
        cores = value();
        break;
      case '--name':
        name = value().trim();
        break;
      case '--signal':
        signal = value();
        break;
      case '--joiners':
        joiners = value();
        break;
      case '--bridge':
        bridgePort = value();
        break;
      case '--bridge-host':
        bridgeHost = value().trim();
        break;
      default:
        throw new JoinUsageError(`unknown option ${flag[1]}`);
    }
  }
  if (room === undefined) throw new JoinUsageError('which room? Give the join link (or the join code and --signal) from the host\'s Room panel');
  let bridge: JoinOptions['bridge'] = null;
  if (bridgePort !== undefined) {
    if (!/^\d+$/.test(bridgePort) || Number(bridgePort) < 1 || Number(bridgePort) > 65535) throw new JoinUsageError(`--bridge must be a TCP port, 1..65535 (got ${JSON.stringify(bridgePort)})`);
    if (bridgeHost === '') throw new JoinUsageError('--bridge-host must be an address such as 127.0.0.1 or 0.0.0.0');
    bridge = { host: bridgeHost ?? '127.0.0.1', port: Number(bridgePort) };
  } else if (bridgeHost !== undefined) throw new JoinUsageError('--bridge-host says where the bridge listens: give --bridge PORT too');
  // The bridge is one of the joiner's slots.
  const maxCores = bridge ? MAX_SLOTS - 1 : MAX_SLOTS;
  cores ??= String(Math.min(defaults.cores, maxCores));
  if (!/^\d+$/.test(cores) || Number(cores) < (bridge ? 0 : 1) || Number(cores) > maxCores) {
    throw new JoinUsageError(bridge ? `--cores must be 0..${maxCores} with --bridge, which takes one of a joiner's ${MAX_SLOTS} nodes (got ${JSON.stringify(cores)})` : `--cores must be 1..${MAX_SLOTS} (got ${JSON.stringify(cores)})`);
  }
  if (!/^\d+$/.test(joiners) || Number(joiners) < 1 || Number(joiners) > MAX_JOINERS) throw new JoinUsageError(`--joiners must be 1..${MAX_JOINERS} (got ${JSON.stringify(joiners)})`);
  if (bridge && Number(joiners) > 1) throw new JoinUsageError('--bridge opens one port for one joiner: leave out --joiners');
  if (name.length < 1 || name.length > MAX_NAME_LENGTH) throw new JoinUsageError(`--name must be 1 to ${MAX_NAME_LENGTH} characters (got ${name.length})`);
  let signaling: SignalingServer | null = null;
  if (signal !== undefined) {
    signaling = parseSignalingUrl(signal);
    if (!signaling) throw new JoinUsageError(`--signal must be an http(s) address such as http://HOST:PORT/peerjs (got ${JSON.stringify(signal)})`);
  }
  let where: { code: string; secret: string; signaling: SignalingServer | null };
  if (/^https?:\/\//i.test(room)) {
    let link: URL;
    try {
      link = new URL(room);
    } catch {
      throw new JoinUsageError(`${JSON.stringify(room)} is not a join link: copy the whole link from the host's Room panel`);
    }
    where = fromLink(link);
  } else {
    const typed = parseJoinCode(room);
    if (!typed.ok) throw new JoinUsageError(typed.why);
    where = { code: typed.code, secret: typed.secret, signaling: null };
  }
  const server = signaling ?? where.signaling;
  if (!server) throw new JoinUsageError("A join code does not say where the room is: add --signal http://HOST:PORT/peerjs (the host's `npm start` address), or give the join link instead.");
  return { code: where.code, secret: where.secret, signaling: server, cores: Number(cores), name, joiners: Number(joiners), bridge };
}
