// The CLI as a process (`npm run beanstalkd -- FLAGS`), next to the reference beanstalkd 1.12 run
// the same way: messages, streams and exit codes for flag handling, then a served port, a Unix
// socket, -z, SIGUSR1 drain mode and SIGTERM.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { REAL_BEANSTALKD, connectRefused, field, freePort, rawClient, waitForListen } from './server-harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OURS = [path.join(ROOT, 'scripts/run-ts.mjs'), 'src/server/cli.ts'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const live = new Set<ChildProcess>();

function spawnServer(which: 'ours' | 'real', args: string[]): ChildProcess {
  const p = which === 'ours' ? spawn(process.execPath, [...OURS, ...args], { cwd: ROOT }) : spawn(REAL_BEANSTALKD, args);
  live.add(p);
  p.once('exit', () => live.delete(p));
  return p;
}

/** Runs to completion (killed after timeoutMs) and collects both streams. */
function run(which: 'ours' | 'real', args: string[], timeoutMs = 10000): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawnServer(which, args);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Both servers' output, with the program name that prefixes messages (argv[0] for beanstalkd) replaced by PROG. */
async function both(args: string[]): Promise<{ ours: Run; real: Run }> {
  const [ours, real] = await Promise.all([run('ours', args), run('real', args)]);
  const norm = (r: Run, prog: string): Run => ({
    ...r,
    stderr: r.stderr
      .split('\n')
      .map((l) => (l.startsWith(`${prog}: `) ? `PROG: ${l.slice(prog.length + 2)}` : l.startsWith(`Use: ${prog} `) ? `Use: PROG ${l.slice(prog.length + 6)}` : l))
      .join('\n'),
  });
  return { ours: norm(ours, 'beanstalkd'), real: norm(real, REAL_BEANSTALKD) };
}

/** Starts a server process and waits until it accepts connections. */
async function serve(args: string[], ep: number | { path: string }) {
  const p = spawnServer('ours', args);
  let stderr = '';
  let stdout = '';
  p.stderr!.on('data', (d) => (stderr += d));
  p.stdout!.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => p.once('exit', (code, signal) => resolve({ code, signal })));
  await Promise.race([
    waitForListen(ep, 10000),
    exited.then((e) => {
      throw new Error(`server exited early (${JSON.stringify(e)}): ${stderr}`);
    }),
  ]);
  return { proc: p, exited, output: () => ({ stdout, stderr }) };
}

const tmp = mkdtempSync(path.join(tmpdir(), 'beanlab-cli-'));

beforeAll(async () => {
  // run-ts builds and caches the bundle on first use; do it once before processes race for it
  const r = await run('ours', ['-v'], 30000);
  expect(r.code).toBe(0);
}, 40000);

afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('cli: flags, messages and exit codes (compared with beanstalkd 1.12)', () => {
  test('-v prints the version on stdout and exits 0', async () => {
    const { ours, real } = await both(['-v']);
    expect(ours).toEqual({ code: 0, signal: null, stdout: 'beanstalkd 1.12\n', stderr: '' });
    expect(real).toEqual(ours);
  });

  test('-h prints the usage on stderr and exits 0', async () => {
    const { ours, real } = await both(['-h']);
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe('');
    expect(ours.stderr).toMatch(/^Use: PROG \[OPTIONS\]\n\nOptions:\n -b DIR/);
    expect(ours.stderr).toContain(' -z BYTES set the maximum job size in bytes (default is 65535);');
    expect(real).toEqual(ours);
  });

  test('an unknown flag is named on stderr, followed by the usage, exit 5', async () => {
    const { ours, real } = await both(['-x']);
    expect(ours.code).toBe(5);
    expect(ours.stdout).toBe('');
    expect(ours.stderr.split('\n')[0]).toBe('PROG: unknown flag: -x');
    expect(ours.stderr).toContain('Use: PROG [OPTIONS]');
    expect(real).toEqual(ours);
  });

  test('an unknown flag inside a group is reported the way util.c does (-Vx -> "Vx")', async () => {
    for (const args of [['-Vx'], ['-VVx'], ['-xV'], ['-V', '-q']]) {
      const { ours, real } = await both(args);
      expect(ours.code, args.join(' ')).toBe(5);
      expect(ours.stderr.split('\n')[0], args.join(' ')).toBe(real.stderr.split('\n')[0]);
      expect(ours, args.join(' ')).toEqual(real);
    }
  });

  test('a word that is not a flag -> "unknown argument", exit 5', async () => {
    for (const args of [['foo'], ['-'], ['-V', 'bar']]) {
      const { ours, real } = await both(args);
      expect(ours.code).toBe(5);
      expect(ours.stderr.split('\n')[0]).toBe(`PROG: unknown argument: ${args[args.length - 1]}`);
      expect(ours).toEqual(real);
    }
  });

  test('-p (and the other flags with a value) at the end without one -> "flag requires an argument", exit 5', async () => {
    for (const flag of ['-p', '-l', '-z', '-s', '-f', '-u']) {
      const { ours, real } = await both([flag]);
      expect(ours.code, flag).toBe(5);
      expect(ours.stderr.split('\n')[0], flag).toBe(`PROG: flag requires an argument: ${flag}`);
      expect(ours, flag).toEqual(real);
    }
  });

  test('a bad size for -z / -f -> "invalid size", exit 5', async () => {
    for (const args of [['-z', 'abc'], ['-zabc'], ['-f', '1x', '-v']]) {
      const { ours, real } = await both(args);
      expect(ours.code).toBe(5);
      expect(ours.stderr.split('\n')[0]).toMatch(/^PROG: invalid size: /);
      expect(ours).toEqual(real);
    }
  });

  test('warnings that do not stop it: -c/-n removed, -z above the cap', async () => {
    for (const args of [['-c', '-v'], ['-n', '-v'], ['-z', '2000000000', '-v']]) {
      const { ours, real } = await both(args);
      expect(ours.code).toBe(0);
      expect(ours.stdout).toBe('beanstalkd 1.12\n');
      expect(ours.stderr).not.toBe('');
      expect(ours).toEqual(real);
    }
  });

  test('combined flags: -VV -v, -vV, -Vv, -VFV -v all print the version; a value may be glued on (-p15005x is not checked until bind)', async () => {
    for (const args of [['-VV', '-v'], ['-vV'], ['-Vv'], ['-VFV', '-v'], ['-Vl127.0.0.1', '-v'], ['-p15005x', '-v']]) {
      const { ours, real } = await both(args);
      expect(ours, args.join(' ')).toEqual({ code: 0, signal: null, stdout: 'beanstalkd 1.12\n', stderr: '' });
      expect(real, args.join(' ')).toEqual(ours);
    }
  });

  test('a port that is not a number fails when binding: exit 111 like beanstalkd', async () => {
    const ours = await run('ours', ['-l', '127.0.0.1', '-p', 'abc']);
    const real = await run('real', ['-l', '127.0.0.1', '-p', 'abc']);
    expect(real.code).toBe(111);
    expect(ours.code).toBe(111);
    expect(ours.stderr).toMatch(/^beanstalkd: .*abc/);
  });

  test('a busy port: exit 111 with "Address already in use", like beanstalkd', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const args = ['-l', '127.0.0.1', '-p', String(port)];
      const [ours, real] = await Promise.all([run('ours', args), run('real', args)]);
      expect(real.code).toBe(111);
      expect(real.stderr).toContain('bind(): Address already in use');
      expect(ours.code).toBe(111);
      expect(ours.stdout).toBe('');
      expect(ours.stderr).toBe(`beanstalkd: bind(): Address already in use (127.0.0.1:${port})\n`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe('cli: serving', () => {
  test('-l 127.0.0.1 -p PORT accepts connections and speaks the protocol; stats shows the process', async () => {
    const port = await freePort();
    const s = await serve(['-l', '127.0.0.1', '-p', String(port)], port);
    try {
      const c = await rawClient(port);
      expect(await c.send('put 5 0 60 5', 'hello')).toBe('INSERTED 1');
      expect(await c.send('reserve-with-timeout 0')).toBe('RESERVED 1 5\nhello');
      expect(await c.send('delete 1')).toBe('DELETED');
      const st = await c.send('stats');
      expect(field(st, 'pid')).toBe(String(s.proc.pid));
      expect(field(st, 'version')).toBe('"1.12"');
      expect(field(st, 'max-job-size')).toBe('65535');
      expect(field(st, 'current-connections')).toBe('1');
      c.close();
    } finally {
      s.proc.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
    }
  });

  test('glued values and combined flags start a server too: -Vl127.0.0.1 -pPORT -z5', async () => {
    const port = await freePort();
    const s = await serve(['-Vl127.0.0.1', `-p${port}`, '-z5'], port);
    try {
      const c = await rawClient(port);
      expect(await c.send('put 0 0 60 5', '12345')).toBe('INSERTED 1');
      expect(await c.send('put 0 0 60 6', '123456')).toBe('JOB_TOO_BIG');
      c.close();
      // -V: verbose output goes to stdout
      await expect.poll(() => s.output().stdout.length).toBeGreaterThan(0);
    } finally {
      s.proc.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
    }
  });

  test('-l unix:PATH serves over a Unix socket', async () => {
    const sock = path.join(tmp, 'b.sock');
    const s = await serve(['-l', `unix:${sock}`], { path: sock });
    try {
      expect(existsSync(sock)).toBe(true);
      const c = await rawClient({ path: sock });
      expect(await c.send('use over-unix')).toBe('USING over-unix');
      expect(await c.send('put 0 0 60 2', 'hi')).toBe('INSERTED 1');
      expect(await c.send('peek 1')).toBe('FOUND 1 2\nhi');
      expect(await c.send('list-tube-used')).toBe('USING over-unix');
      c.close();
    } finally {
      s.proc.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
    }
    expect(await connectRefused({ path: sock })).toBe(true);
  });

  test('-l unix:PATH where PATH is a regular file: the file is kept and the server refuses, exit 111, like beanstalkd', async () => {
    const runs: Record<'ours' | 'real', Run> = {} as never;
    for (const which of ['ours', 'real'] as const) {
      const file = path.join(tmp, `notes-${which}.txt`);
      writeFileSync(file, 'a student\'s notes\n');
      runs[which] = await run(which, ['-l', `unix:${file}`]);
      expect(readFileSync(file, 'utf8'), which).toBe('a student\'s notes\n');
    }
    const { ours, real } = runs;
    expect(real.code).toBe(111);
    // beanstalkd: "net.c:177 in make_unix_socket: another file already exists in the given path", then "main.c:99 in main: make_server_socket()"
    expect(real.stderr).toContain('another file already exists in the given path\n');
    expect(ours.code).toBe(111);
    expect(ours.stdout).toBe('');
    expect(ours.stderr).toBe(`beanstalkd: another file already exists in the given path (unix:${path.join(tmp, 'notes-ours.txt')})\n`);
  });

  test('-l unix:PATH with a path past 107 bytes is refused (Node would cut it short), exit 111, like beanstalkd', async () => {
    const runs: Record<'ours' | 'real', Run> = {} as never;
    for (const which of ['ours', 'real'] as const) {
      const long = path.join(tmp, `${which}-${'s'.repeat(120)}.sock`);
      runs[which] = await run(which, ['-l', `unix:${long}`]);
      expect(runs[which].code, which).toBe(111);
      expect(runs[which].stderr.split('\n')[0], which).toBe(`${which === 'ours' ? 'beanstalkd' : REAL_BEANSTALKD}: socket path ${long} is too long (${Buffer.byteLength(long)} characters), where maximum allowed is 107`);
    }
  });

  test('a socket already at -l unix:PATH, stale or live, is replaced with a warning, like beanstalkd', async () => {
    /** A socket file nobody listens on: its server was killed (SIGKILL leaves the file). */
    const staleSocket = async (sock: string) => {
      const holder = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", sock]);
      await new Promise((r) => holder.stdout.once('data', r));
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      expect(existsSync(sock)).toBe(true);
      expect(await connectRefused({ path: sock })).toBe(true);
    };
    for (const which of ['ours', 'real'] as const) {
      const prog = which === 'ours' ? 'beanstalkd' : REAL_BEANSTALKD;
      for (const kind of ['stale', 'live'] as const) {
        const sock = path.join(tmp, `${which}-${kind}.sock`);
        const live = net.createServer((c) => c.destroy());
        if (kind === 'stale') await staleSocket(sock);
        else await new Promise<void>((resolve) => live.listen(sock, () => resolve()));
        const p = spawnServer(which, ['-l', `unix:${sock}`]);
        let stderr = '';
        p.stderr!.on('data', (d) => (stderr += d));
        try {
          await expect.poll(() => stderr, { timeout: 10000 }).toBe(`${prog}: removing existing local socket to replace it\n`);
          await new Promise((r) => setTimeout(r, 200));
          await waitForListen({ path: sock }, 10000);
          const c = await rawClient({ path: sock });
          expect(await c.send('list-tube-used'), `${which}, ${kind} socket`).toBe('USING default');
          c.close();
          expect(p.exitCode).toBeNull();
        } finally {
          p.kill('SIGKILL');
          await new Promise<void>((resolve) => live.close(() => resolve()));
        }
      }
    }
  });

  test('-z 10: a 10-byte put is INSERTED, an 11-byte put is JOB_TOO_BIG and its body is skipped', async () => {
    const port = await freePort();
    const s = await serve(['-l', '127.0.0.1', '-p', String(port), '-z', '10'], port);
    try {
      const c = await rawClient(port);
      expect(await c.send('put 0 0 60 10', '0123456789')).toBe('INSERTED 1');
      expect(await c.send('put 0 0 60 11', '0123456789A')).toBe('JOB_TOO_BIG');
      expect(await c.send('list-tube-used')).toBe('USING default');
      expect(field(await c.send('stats'), 'max-job-size')).toBe('10');
      c.close();
    } finally {
      s.proc.kill('SIGTERM');
      await s.exited;
    }
  });

  test('SIGUSR1: drain mode -- put says DRAINING, stats says draining: true, other commands still work', async () => {
    const port = await freePort();
    const s = await serve(['-l', '127.0.0.1', '-p', String(port)], port);
    try {
      const c = await rawClient(port);
      expect(await c.send('put 0 0 60 1', 'a')).toBe('INSERTED 1');
      expect(field(await c.send('stats'), 'draining')).toBe('false');
      s.proc.kill('SIGUSR1');
      await expect.poll(async () => field(await c.send('stats'), 'draining')).toBe('true');
      expect(await c.send('put 0 0 60 1', 'b')).toBe('DRAINING');
      expect(await c.send('reserve-with-timeout 0')).toBe('RESERVED 1 1\na');
      expect(await c.send('delete 1')).toBe('DELETED');
      // the DRAINING put used up id 2 (spec §12.2)
      const c2 = await rawClient(port);
      expect(await c2.send('put 0 0 60 1', 'c')).toBe('DRAINING');
      expect(await c2.send('stats-job 2')).toBe('NOT_FOUND');
      expect(s.proc.exitCode).toBeNull(); // SIGUSR1 did not stop it
      c.close();
      c2.close();
    } finally {
      s.proc.kill('SIGTERM');
      await s.exited;
    }
  });

  test('SIGTERM: exits 0 promptly even with clients connected (one blocked in reserve), and the port is free again', async () => {
    const port = await freePort();
    const s = await serve(['-l', '127.0.0.1', '-p', String(port)], port);
    const idle = await rawClient(port);
    const blocked = await rawClient(port);
    blocked.socket.write('reserve\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const t = Date.now();
    s.proc.kill('SIGTERM');
    const e = await s.exited;
    expect(e).toEqual({ code: 0, signal: null });
    expect(Date.now() - t).toBeLessThan(2000);
    await expect.poll(() => idle.closed).toBe(true);
    await expect.poll(() => blocked.closed).toBe(true);
    expect(await connectRefused(port)).toBe(true);
    // and the port can be bound again at once
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });
});
