// Backpressure (issue 11): beanstalkd reads a connection's next command only once its reply is
// written, so a client that pipelines commands and never reads its replies costs the server a
// bounded amount of memory and delays nobody else. First the Session's seam with a fake transport
// (no sockets), then both servers as processes under a client that never reads.
import { afterAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { lab, yamlField } from './helpers.ts';
import { Session } from '../../src/protocol/session.ts';
import { latin1 } from '../../src/protocol/wire.ts';
import { RawConn, closeAllPairs, requireBeanstalkd, startOursCli, startReal, type RunningServer } from '../support/servers.ts';

const JOB = 'j'.repeat(65535); // the largest job by default
const put = (body: string, tube = '') => `${tube ? `use ${tube}\r\n` : ''}put 0 0 60 ${body.length}\r\n${body}\r\n`;

/**
 * A transport that holds what the session writes until the test drains it, backed up while it
 * holds more than `bound` bytes (a socket whose client does not read).
 */
function slowTransportSession(engine: ConstructorParameters<typeof Session>[0], bound = 256 * 1024) {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let delivered = '';
  let closed = false;
  let forcedFull = false;
  const session: Session = new Session(
    engine,
    {
      write: (b) => {
        held.push(b.slice());
        heldBytes += b.length;
      },
      close: () => {
        closed = true;
      },
      backedUp: () => forcedFull || heldBytes > bound,
    },
    'slow reader',
  );
  return {
    session,
    get heldBytes() {
      return heldBytes;
    },
    get closed() {
      return closed;
    },
    /** What reached the client so far. */
    get delivered() {
      return delivered;
    },
    /** Backed up regardless of what it holds (or not any more). */
    setFull(full: boolean) {
      forcedFull = full;
    },
    /** The client reads everything held; the transport tells the session it drained. */
    drain() {
      for (const b of held) delivered += latin1(b);
      held = [];
      heldBytes = 0;
      session.resume();
    },
  };
}

/** What a transport without backpressure receives for the same input (today's behaviour). */
function replyOf(setup: string, input: string): string {
  const l = lab();
  l.raw('setup').write(setup);
  return l.raw('reference').write(input);
}

const count = (text: string, what: string) => text.split(what).length - 1;

describe('Session backpressure (Transport.backedUp / Session.resume)', () => {
  test('stops running commands while the transport is backed up, resumes on drain; replies byte-identical and in order', () => {
    const input = 'peek 1\r\n'.repeat(300) + 'stats-job 1\r\n' + put('after');
    const reference = replyOf(put(JOB), input);
    const l = lab();
    l.raw('setup').write(put(JOB));
    const t = slowTransportSession(l.engine);
    t.session.receive(Buffer.from(input, 'latin1'));
    // 300 pipelined peeks of a 64 KiB job: only about bound/64 KiB of them ran, the rest wait.
    const ranFirst = Number(yamlField(l.raw('probe').write('stats\r\n'), 'cmd-peek'));
    expect(ranFirst).toBeGreaterThan(0);
    expect(ranFirst).toBeLessThan(10);
    expect(t.heldBytes).toBeLessThan(10 * (JOB.length + 20));
    let drains = 0;
    while (t.heldBytes > 0) {
      t.drain();
      drains++;
      expect(t.heldBytes).toBeLessThan(10 * (JOB.length + 20));
    }
    expect(drains).toBeGreaterThan(30);
    expect(t.delivered === reference, 'replies after draining equal those of a transport that never backs up').toBe(true);
    expect(t.closed).toBe(false);
  });

  test('a transport without backedUp keeps today\'s behaviour: every command of a chunk runs at once', () => {
    const l = lab();
    l.raw('setup').write(put(JOB));
    const out = l.raw('fast').write('peek 1\r\n'.repeat(200));
    expect(count(out, 'FOUND 1 65535\r\n')).toBe(200);
  });

  test('end of input while backed up: the commands already read still run, then the connection closes', () => {
    const input = 'peek 1\r\n'.repeat(100) + 'list-tube-used\r\n';
    const l = lab();
    l.raw('setup').write(put(JOB));
    const t = slowTransportSession(l.engine);
    t.session.receive(Buffer.from(input, 'latin1'));
    t.session.end();
    expect(t.closed).toBe(false);
    for (let i = 0; i < 1000 && !t.closed; i++) t.drain();
    t.drain();
    expect(t.closed).toBe(true);
    expect(count(t.delivered, 'FOUND 1 65535\r\n')).toBe(100);
    expect(t.delivered.endsWith('USING default\r\n')).toBe(true);
  });

  test('quit after backed-up output: earlier replies all go out, then it closes; nothing after quit runs', () => {
    const l = lab();
    l.raw('setup').write(put(JOB));
    const t = slowTransportSession(l.engine);
    t.session.receive(Buffer.from('peek 1\r\n'.repeat(50) + 'quit\r\n' + put('never'), 'latin1'));
    expect(t.closed).toBe(false);
    for (let i = 0; i < 1000 && !t.closed; i++) t.drain();
    t.drain();
    expect(t.closed).toBe(true);
    expect(t.delivered).toBe('FOUND 1 65535\r\n'.concat(JOB, '\r\n').repeat(50));
    expect(l.raw('probe').write('peek 2\r\n')).toBe('NOT_FOUND\r\n');
  });

  test('a blocked reserve answers while the transport is backed up (a job, or TIMED_OUT); the next command waits for the drain', () => {
    const l = lab();
    const t = slowTransportSession(l.engine);
    t.session.receive(Buffer.from('watch w\r\nreserve\r\nreserve-with-timeout 1\r\nlist-tubes-watched\r\n', 'latin1'));
    t.drain();
    expect(t.delivered).toBe('WATCHING 2\r\n');
    t.setFull(true);
    l.raw('producer').write(put('job', 'w'));
    t.drain(); // reads what was written; the transport stays backed up
    expect(t.delivered).toBe('WATCHING 2\r\nRESERVED 1 3\r\njob\r\n');
    // reserve-with-timeout is the next command: it waits for the drain, so it has not blocked yet.
    l.advance(5000);
    t.drain();
    expect(t.delivered).toBe('WATCHING 2\r\nRESERVED 1 3\r\njob\r\n');
    t.setFull(false);
    t.drain();
    l.advance(1000);
    t.drain();
    const watched = '---\n- default\n- w\n';
    expect(t.delivered).toBe(`WATCHING 2\r\nRESERVED 1 3\r\njob\r\nTIMED_OUT\r\nOK ${watched.length}\r\n${watched}\r\n`);
  });

  test('destroy while backed up: output and unread input are dropped, the engine forgets the connection', () => {
    const l = lab();
    l.raw('setup').write(put(JOB));
    const t = slowTransportSession(l.engine);
    t.session.receive(Buffer.from('reserve\r\n' + 'peek 1\r\n'.repeat(100), 'latin1'));
    const probe = l.raw('probe');
    expect(yamlField(probe.write('stats\r\n'), 'current-connections')).toBe('3');
    t.session.destroy();
    const st = probe.write('stats\r\n');
    expect(yamlField(st, 'current-connections')).toBe('2');
    expect(yamlField(st, 'current-jobs-ready')).toBe('1'); // the reserved job came back
    t.drain();
    expect(count(t.delivered, 'FOUND')).toBeLessThan(10);
  });
});

// ---- both servers as processes ------------------------------------------------------------------

requireBeanstalkd();
afterAll(closeAllPairs);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/**
 * Sends `unit` repeated to `bytes` on a connection that never reads, while another client (on its
 * own tube) does put/reserve/delete round trips for measureMs: the server's peak RSS growth and the
 * slowest round trip. Then waits (up to 20 s) until the server stops running the hog's commands
 * (`counter`, a stats field, unchanged for a second), and disconnects the hog.
 */
async function flood(server: RunningServer, setup: string, unit: string, bytes: number, counter: string, measureMs = 2500) {
  const pid = server.pid!;
  const other = await RawConn.open(server.port, `${server.side}:other`);
  other.send(setup + 'use other\r\nwatch other\r\nignore default\r\n');
  expect(await other.waitReplies(count(setup, 'put ') + 3, 5000)).toBe(true);
  other.take();
  const stat = async (key: string) => {
    other.send('stats\r\n');
    expect(await other.waitReplies(1, 10000)).toBe(true);
    return yamlField(other.take()[0].body!.toString('latin1'), key);
  };
  await sleep(300);
  const before = rssMB(pid);
  const hog = await RawConn.open(server.port, `${server.side}:hog`);
  hog.socket.pause(); // never reads
  // Piece by piece, each once the last is handed to the kernel (not all of it queued at once in this process).
  const piece = Buffer.from(unit.repeat(Math.ceil((256 * 1024) / unit.length)), 'latin1');
  void (async () => {
    for (let sent = 0; sent < bytes && !hog.socket.destroyed; sent += piece.length) await new Promise((r) => hog.socket.write(piece, r));
  })();
  let peak = before;
  let maxMs = 0;
  const start = performance.now();
  while (performance.now() - start < measureMs) {
    const t = performance.now();
    other.send(put('z') + 'reserve-with-timeout 0\r\n');
    expect(await other.waitReplies(2, 10000), `${server.side}: the other client got its replies`).toBe(true);
    const [, reserved] = other.take();
    other.send(`delete ${/^RESERVED (\d+)/.exec(reserved.line)?.[1]}\r\n`);
    expect(await other.waitReplies(1, 10000)).toBe(true);
    expect(other.take()[0].line).toBe('DELETED');
    maxMs = Math.max(maxMs, performance.now() - t);
    peak = Math.max(peak, rssMB(pid));
    await sleep(10);
  }
  let ran = Number(await stat(counter));
  for (let last = -1; ran !== last && performance.now() - start < 20000; ) {
    last = ran;
    await sleep(1000);
    ran = Number(await stat(counter));
    peak = Math.max(peak, rssMB(pid));
  }
  const ranLater = Number(await stat(counter));
  hog.destroy();
  await sleep(300);
  const connectionsAfter = await stat('current-connections');
  other.destroy();
  return { growthMB: peak - before, maxMs, ran, ranLater, connectionsAfter };
}

/** The server held the hog back: bounded memory, another client served fast, the hog's commands stopped before its last, its connection let go. */
function expectHeldBack(r: Awaited<ReturnType<typeof flood>>, sent: number): void {
  expect(r.growthMB).toBeLessThan(200);
  expect(r.maxMs).toBeLessThan(500);
  expect(r.ranLater, 'it stopped running the hog\'s commands').toBe(r.ran);
  expect(r.ran).toBeLessThan(sent);
  expect(r.connectionsAfter).toBe('1');
}

describe.each([
  ['real', startReal],
  ['ours', startOursCli],
] as const)('%s server, a client that pipelines and never reads its replies', (_side, start) => {
  test('480 KB of `peek 1` of a 64 KiB job: memory stays bounded, another client stays fast, the hog\'s connection is let go', async () => {
    const server = await start();
    try {
      const sent = 480 * 128; // 480 KB of `peek 1\r\n`
      const r = await flood(server, put(JOB), 'peek 1\r\n', sent * 8, 'cmd-peek');
      // Without backpressure: 61,440 replies of 64 KiB, gigabytes, and seconds of waiting.
      expectHeldBack(r, sent);
    } finally {
      await server.close();
    }
  }, 120000);

  test('a client that reads only later gets every reply in order, a blocked reserve\'s TIMED_OUT among them, up to quit, then the close', async () => {
    const server = await start();
    try {
      const setup = await RawConn.open(server.port, `${server.side}:setup`);
      setup.send(put(JOB));
      expect(await setup.waitReplies(1, 5000)).toBe(true);
      const late = await RawConn.open(server.port, `${server.side}:late`);
      late.socket.pause();
      // (Nothing after quit: beanstalkd closes with it unread, so the kernel resets the connection and
      // the client loses the replies it had not read yet.)
      late.send('watch t\r\nignore default\r\n' + 'peek 1\r\n'.repeat(300) + 'reserve-with-timeout 1\r\n' + 'list-tube-used\r\n' + 'quit\r\n');
      await sleep(1500);
      late.socket.resume();
      expect(await late.waitClosed(10000)).toBe(true);
      const lines = late.take().map((r) => r.line);
      expect(lines.length).toBe(304);
      expect(lines.slice(0, 2)).toEqual(['WATCHING 2', 'WATCHING 1']);
      expect(new Set(lines.slice(2, 302))).toEqual(new Set(['FOUND 1 65535']));
      expect(lines.slice(302)).toEqual(['TIMED_OUT', 'USING default']);
      expect(late.leftover).toBe('');
      setup.destroy();
    } finally {
      await server.close();
    }
  }, 60000);

  test('30 MB of small puts: the server stops reading once its replies back up', async () => {
    const server = await start();
    try {
      const sent = 1_200_000;
      const r = await flood(server, '', put('0123456789'), sent * put('0123456789').length, 'cmd-put');
      // Without backpressure every put is stored: over a million jobs, hundreds of megabytes.
      expectHeldBack(r, sent);
    } finally {
      await server.close();
    }
  }, 120000);
});
