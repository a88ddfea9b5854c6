// Differential tests for beanlab's command-line server (src/server/cli.ts run as a process, the way
// `npm run beanstalkd` runs it) against Debian's beanstalkd 1.12: option handling (stdout, stderr,
// exit status), host facts in stats, drain mode (SIGUSR1) and binlog recovery after a crash (-b).
import { afterAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BEANSTALKD,
  closeAllPairs,
  freePort,
  requireBeanstalkd,
  startBinlogPair,
  visible,
  withBinlogDirs,
  withPair,
} from '../support/servers.ts';

const L = (s: string) => `${s}\r\n`;
const put = (body: string, pri = 0, delay = 0, ttr = 60) => `put ${pri} ${delay} ${ttr} ${body.length}\r\n${body}\r\n`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ROOT = path.resolve(import.meta.dirname, '../..');

function field(yaml: string, key: string): string | undefined {
  return new RegExp(`^${key}: (.*)$`, 'm').exec(yaml)?.[1];
}

interface Run {
  status: number | string | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (or kills it after timeoutMs, status 'still running'; generous: several helpers share 2 cores). */
function run(cmd: string, args: string[], timeoutMs = 15000): Promise<Run> {
  return new Promise((resolve) => {
    // argv0 "beanstalkd": the real server names itself after argv[0] in its messages, as from a shell.
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], argv0: cmd === BEANSTALKD ? 'beanstalkd' : undefined });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ status: timedOut ? 'still running' : code, stdout, stderr });
    });
  });
}

const ourCli = (args: string[], timeoutMs?: number) => run(process.execPath, [path.join(ROOT, 'scripts/run-ts.mjs'), 'src/server/cli.ts', ...args], timeoutMs);

requireBeanstalkd();
afterAll(closeAllPairs);

describe.concurrent('differential CLI: options give the same stdout, stderr and exit status', () => {
  const cases: string[][] = [
    ['-v'],
    ['-h'],
    ['-hv'],
    ['-vh'],
    ['-x'],
    ['--'],
    ['-'],
    ['foo'],
    ['-p'],
    ['-l'],
    ['-b'],
    ['-u'],
    ['-z', 'abc'],
    ['-s', 'abc'],
    ['-f', 'x'],
    ['-c', '-v'],
    ['-n', '-v'],
    ['-VFVv'],
    ['-z', '2000000000', '-v'],
    ['-z2000000000', '-v'],
    ['-p', '99999', '-v'],
    // -z goes through parse_size_t, sscanf("%zu%c"): strtoul's sign, white space and overflow rules
    ['-z', '-1', '-v'],
    ['-z-1', '-v'],
    ['-z', '0', '-v'],
    ['-z', '99999999999', '-v'],
    ['-z', '99999999999999999999999', '-v'],
    ['-z', '-18446744073709551615', '-v'],
    ['-z', ' 5', '-v'],
    ['-z', '+5', '-v'],
    ['-z', '5 '],
    ['-z', '0x10'],
    ['-z', ''],
    ['-z', '- 5'],
    // -f goes through parse_size_t too (-f -1: a negative rate, so every write is synced)
    ['-f', '-1', '-v'],
    ['-f', ' 5', '-v'],
    ['-f', '+5', '-v'],
    ['-f', '5 '],
  ];
  for (const args of cases) {
    test(`beanstalkd ${args.join(' ')}`, async ({ expect }) => {
      const [real, ours] = await Promise.all([run(BEANSTALKD, args), ourCli(args)]);
      expect(real.status, 'the real server should exit by itself').not.toBe('still running');
      expect(ours).toEqual(real);
    });
  }

  // Failures at start-up: the real messages carry C source locations (net.c:104 ...), so only the
  // exit status and stdout are compared.
  const startup: [string, () => Promise<string[]>][] = [
    ['a port that is not a number (-p abc)', async () => ['-l', '127.0.0.1', '-p', 'abc']],
    ['an address that does not resolve', async () => ['-l', '999.1.1.1', '-p', String(await freePort())]],
  ];
  for (const [what, argsFor] of startup) {
    test(`beanstalkd with ${what}`, async ({ expect }) => {
      const args = await argsFor();
      const [real, ours] = await Promise.all([run(BEANSTALKD, args), ourCli(args)]);
      expect(real.status, 'the real server should exit by itself').not.toBe('still running');
      expect({ status: ours.status, stdout: ours.stdout }).toEqual({ status: real.status, stdout: real.stdout });
    });
  }

  test('beanstalkd with its port already in use', async ({ expect }) => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    try {
      const port = String((blocker.address() as { port: number }).port);
      const args = ['-l', '127.0.0.1', '-p', port];
      const [real, ours] = await Promise.all([run(BEANSTALKD, args), ourCli(args)]);
      expect(real.status).toBe(111);
      expect({ status: ours.status, stdout: ours.stdout }).toEqual({ status: real.status, stdout: real.stdout });
      expect(ours.stderr).toMatch(/Address already in use/);
    } finally {
      blocker.close();
    }
  });

  test('beanstalkd -b with a directory that does not exist', async ({ expect }) => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'beanlab-diff-'));
    try {
      const dir = path.join(base, 'missing');
      const [p1, p2] = [await freePort(), await freePort()];
      const real = await run(BEANSTALKD, ['-b', dir, '-l', '127.0.0.1', '-p', String(p1)]);
      const ours = await ourCli(['-b', path.join(base, 'missing2'), '-l', '127.0.0.1', '-p', String(p2)]);
      expect(real.status).toBe(10);
      expect({ status: ours.status, stdout: ours.stdout }).toEqual({ status: real.status, stdout: real.stdout });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('differential CLI: the running server', () => {
  test('the CLI with -z behaves like beanstalkd -z, and reports the same host facts in stats', async () => {
    await withPair({ maxJobSize: 10, ours: 'cli' }, async (p) => {
      const c = await p.connect();
      await c.same(put('0123456789'));
      await c.same(put('0123456789a') + L('list-tube-used'), 2);
      c.send(L('stats'));
      const r = await c.collect(1);
      expect(r.ours).toEqual(r.real);
      const [real, ours] = [r.raw.real[0].body!.toString('latin1'), r.raw.ours[0].body!.toString('latin1')];
      for (const k of ['hostname', 'os', 'platform', 'max-job-size', 'version']) {
        expect(field(ours, k), `stats ${k}: ours ${visible(String(field(ours, k)))} vs ${visible(String(field(real, k)))}`).toBe(field(real, k));
      }
      expect(Number(field(ours, 'pid'))).not.toBe(process.pid);
    });
  });

  test('-z -1 starts with the largest job size (a warning on stderr), as beanstalkd does; -z 0 allows only empty jobs', async () => {
    await withPair({ realFlags: ['-z', '-1'], ours: 'cli' }, async (p) => {
      expect(p.ours.stderr()).toBe('beanstalkd: maximum job size was set to 1073741824\n');
      expect(p.real.stderr()).toMatch(/: maximum job size was set to 1073741824\n$/);
      const c = await p.connect();
      c.send(L('stats'));
      const r = await c.collect(1);
      expect(field(r.raw.ours[0].body!.toString('latin1'), 'max-job-size')).toBe('1073741824');
      expect(r.ours).toEqual(r.real);
      await c.same(put('a job bigger than the default of 65535 bytes: '.padEnd(70000, '.')));
    });
    await withPair({ realFlags: ['-z', '0'], ours: 'cli' }, async (p) => {
      const c = await p.connect();
      expect(await c.same(put('') + put('x') + L('stats-job 1'), 3)).toEqual(['INSERTED 1', 'JOB_TOO_BIG', expect.stringMatching(/^OK /)]);
    });
  });

  test('SIGUSR1 switches on drain mode: put gets DRAINING (id used up), reserve still works', async () => {
    await withPair({ ours: 'cli' }, async (p) => {
      const c = await p.connect();
      await c.same(put('before'));
      await Promise.all([p.real.signal('SIGUSR1'), p.ours.signal('SIGUSR1')]);
      await sleep(200);
      expect(await c.same(put('during'))).toEqual(['DRAINING']);
      await c.same('put 0 0 10 3\r\nabcd\r\n', 0, { quietMs: 80 });
      await c.same(L('reserve-with-timeout 0') + L('stats-job 1') + L('stats'), 3);
      await c.same(put('still draining'));
    });
  });
});

describe('differential CLI: binlog (-b) recovery after SIGKILL (spec §10, v08)', () => {
  const start = (dirs: { real: string; ours: string }) => startBinlogPair(dirs);
  const withDirs = withBinlogDirs;

  test('reserved jobs come back ready, unlogged changes are lost, buries +1, ids continue, pause and counters reset', async () => {
    await withDirs(async (dirs) => {
      let s = await start(dirs);
      try {
        const a = await s.connect('a');
        const b = await s.connect('b');
        for (let i = 1; i <= 12; i++) await a.same(put(`job${i}`, i, i === 9 ? 1 : i === 10 ? 3600 : 0));
        await b.same(L('reserve-job 4'));
        await b.same(L('reserve-job 8') + L('release 8 99 0'), 2);
        for (const id of [3, 1, 2]) await b.same(L(`reserve-job ${id}`) + L(`bury ${id} 0`), 2);
        await b.same(L('reserve-job 5') + L('release 5 7 100'), 2);
        await b.same(L('reserve-job 6') + L('release 6 2 0') + L('reserve-job 6') + L('bury 6 1') + L('kick-job 6'), 5);
        await b.same(L('delete 12') + L('delete 11'), 2);
        await b.same(L('kick-job 10'));
        await a.same(L('use other') + put('other-job', 5) + L('pause-tube other 100'), 3);
        await a.same(L('stats'));
        await s.crash();
        await sleep(1200); // job 9's delay runs out while the servers are down
        s = await start(dirs);
        const c = await s.connect('c');
        for (let i = 1; i <= 13; i++) await c.same(L(`stats-job ${i}`));
        await c.same(L('peek-buried') + L('kick 10') + L('list-tubes') + L('stats-tube other') + L('stats'), 5);
        expect(await c.same(put('new'))).toEqual(['INSERTED 14']);
      } finally {
        await s.close();
      }
    });
  });

  test('when every job was deleted, an empty run later: beanstalkd hands out id 1 again, ours goes on (ids are never reused)', async () => {
    await withDirs(async (dirs) => {
      let s = await start(dirs);
      try {
        const a = await s.connect('a');
        for (let i = 0; i < 3; i++) await a.same(put(`j${i}`));
        await a.same(L('delete 1') + L('delete 2') + L('delete 3'), 3);
        await s.crash();
        s = await start(dirs);
        const b = await s.connect('b');
        await b.same(L('stats'));
        await s.crash();
        s = await start(dirs);
        const c = await s.connect('c');
        c.send(put('fresh'));
        const r = await c.collect(1);
        expect(r.real).toEqual(['INSERTED 1']);
        expect(r.ours).toEqual(['INSERTED 4']);
        await c.same(L('stats'));
      } finally {
        await s.close();
      }
    });
  });
});
