// `npm run beanstalkd -- [OPTIONS]`: beanlab's engine behind beanstalkd's own command line.
// Same flags, defaults, messages and exit codes as beanstalkd 1.12 (util.c optparse, main.c).
import { Engine } from '../engine/engine.ts';
import { RealClock } from '../engine/clock.ts';
import { BINLOG_SIZE_DEFAULT, JOB_DATA_SIZE_LIMIT_DEFAULT, JOB_DATA_SIZE_LIMIT_MAX, VERSION } from '../engine/types.ts';
import { ListenRefused, startTcpServer, type ListenAddress } from './tcp.ts';
import { openFileBinlog } from './binlog-files.ts';
import { hostInfo } from './host-info.ts';

const USAGE = `Use: beanstalkd [OPTIONS]

Options:
 -b DIR   write-ahead log directory
 -f MS    fsync at most once every MS milliseconds (default is 50ms);
          use -f0 for "always fsync"
 -F       never fsync
 -l ADDR  listen on address (default is 0.0.0.0)
 -p PORT  listen on port (default is 11300)
 -u USER  become user and group
 -z BYTES set the maximum job size in bytes (default is 65535);
          max allowed is 1073741824 bytes
 -s BYTES set the size of each write-ahead log file (default is 10485760);
          will be rounded up to a multiple of 4096 bytes
 -v       show version information
 -V       increase verbosity
 -h       show this help
`;

export interface Options {
  binlogDir: string | null;
  fsyncMs: number; // -1 = never
  listen: string;
  /** As given: beanstalkd only interprets it when it binds (getaddrinfo), so a bad one fails there (exit 111). */
  port: string;
  user: string | null;
  maxJobSize: number;
  binlogSize: number;
  verbose: number;
}

export class UsageError extends Error {}

/** Parses argv like optparse: flags may be combined (-VV), a value may follow its flag or be the next word. */
export function parseOptions(argv: string[], warn: (msg: string) => void): Options | 'help' | 'version' {
  const o: Options = {
    binlogDir: null,
    fsyncMs: 50,
    listen: process.env.LISTEN_ADDR ?? '0.0.0.0',
    port: process.env.LISTEN_PORT ?? '11300',
    user: null,
    maxJobSize: JOB_DATA_SIZE_LIMIT_DEFAULT,
    binlogSize: BINLOG_SIZE_DEFAULT,
    verbose: 0,
  };
  const size = (v: string): number => {
    if (!/^\d+$/.test(v)) throw new UsageError(`invalid size: ${v}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg[0] !== '-' || arg.length < 2) throw new UsageError(`unknown argument: ${arg}`);
    for (let k = 1; k < arg.length; k++) {
      const flag = arg[k];
      const value = (): string => {
        const rest = arg.slice(k + 1);
        k = arg.length;
        if (rest) return rest;
        if (i + 1 >= argv.length) throw new UsageError(`flag requires an argument: -${flag}`);
        return argv[++i];
      };
      switch (flag) {
        case 'p':
          o.port = value();
          break;
        case 'l':
          o.listen = value();
          break;
        case 'z': {
          const z = parseSizeT(value());
          const capped = z > BigInt(JOB_DATA_SIZE_LIMIT_MAX);
          if (capped) warn(`maximum job size was set to ${JOB_DATA_SIZE_LIMIT_MAX}`);
          o.maxJobSize = capped ? JOB_DATA_SIZE_LIMIT_MAX : Number(z);
          break;
        }
        case 's':
          o.binlogSize = size(value());
          break;
        case 'f': {
          // beanstalkd keeps (int64)size ms: -f -1 (and past 2^63) is a negative rate, so every write is synced.
          const ms = BigInt.asIntN(64, parseSizeT(value()));
          o.fsyncMs = ms < 0n ? 0 : Number(ms);
          break;
        }
        case 'F':
          o.fsyncMs = -1;
          break;
        case 'u':
          o.user = value();
          break;
        case 'c':
          warn('-c flag was removed. binlog is always compacted.');
          break;
        case 'n':
          warn('-n flag was removed. binlog is always compacted.');
          break;
        case 'b':
          o.binlogDir = value();
          break;
        case 'h':
          return 'help';
        case 'v':
          return 'version';
        case 'V':
          o.verbose++;
          break;
        default:
          // util.c prints `arg-2`: from the byte before the bad flag, so -x gives "-x" but -Vx gives "Vx"
          throw new UsageError(`unknown flag: ${arg.slice(k - 1)}`);
      }
    }
  }
  return o;
}

/**
 * parse_size_t (util.c), which is sscanf(str, "%zu%c") == 1: white space, a sign, decimal digits and
 * nothing after them. As strtoul does, a minus sign negates modulo 2^64 (so -1 is the largest size)
 * and a number past 2^64-1 gives 2^64-1.
 */
export function parseSizeT(v: string): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(v);
  if (!m) throw new UsageError(`invalid size: ${v}`);
  const n = BigInt(m[2]);
  if (n >= 2n ** 64n) return 2n ** 64n - 1n;
  return m[1] === '-' ? BigInt.asUintN(64, -n) : n;
}

/** Where to listen; throws (like getaddrinfo) for a port that is not a number. Like beanstalkd, a number past 65535 wraps. */
export function listenAddress(o: Options): ListenAddress {
  if (o.listen.startsWith('unix:')) return { path: o.listen.slice(5) };
  if (!/^\d+$/.test(o.port)) throw new Error(`getaddrinfo(): invalid port: ${o.port}`);
  return { host: o.listen, port: Number(BigInt(o.port) % 65536n) };
}


async function main(): Promise<void> {
  const warn = (msg: string) => process.stderr.write(`beanstalkd: ${msg}\n`);
  let opts: Options | 'help' | 'version';
  try {
    opts = parseOptions(process.argv.slice(2), warn);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    warn(err.message);
    process.stderr.write(USAGE);
    process.exit(5);
  }
  if (opts === 'help') {
    // beanstalkd's usage() always writes to stderr, also for -h (exit 0)
    process.stderr.write(USAGE);
    return;
  }
  if (opts === 'version') {
    process.stdout.write(`beanstalkd ${VERSION}\n`);
    return;
  }
  if (opts.user) warn(`-u is not supported by beanlab's server; running as the current user`);
  const clock = new RealClock();
  const engine = new Engine({ clock, maxJobSize: opts.maxJobSize, host: hostInfo(), binlogMaxSize: opts.binlogSize });
  let binlog: Awaited<ReturnType<typeof openFileBinlog>> | null = null;
  if (opts.binlogDir) {
    try {
      binlog = await openFileBinlog(engine, opts.binlogDir, { fileSize: opts.binlogSize, fsyncMs: opts.fsyncMs, warn });
    } catch (err) {
      warn(String((err as Error).message ?? err));
      process.exit(10);
    }
  }
  const verbose = opts.verbose > 0 ? (msg: string) => process.stdout.write(`${msg}\n`) : undefined;
  let server;
  try {
    server = await startTcpServer(engine, listenAddress(opts), verbose, warn);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e instanceof ListenRefused) warn(e.message);
    else if (e.code === 'EADDRINUSE') warn(`bind(): Address already in use (${opts.listen.startsWith('unix:') ? opts.listen : `${opts.listen}:${opts.port}`})`);
    else warn(`listen: ${e.message}`);
    process.exit(111);
  }
  if (verbose) verbose(`beanlab beanstalkd ${VERSION} listening on ${server.address}`);
  process.on('SIGUSR1', () => {
    engine.draining = true;
  });
  process.on('SIGPIPE', () => {});
  const stop = async () => {
    await server.close();
    binlog?.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
