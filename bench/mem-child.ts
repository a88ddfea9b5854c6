// Memory per queued job, in a fresh process started with --expose-gc (see run.ts).
// Usage: node --expose-gc scripts/run-ts.mjs bench/mem-child.ts N BODY_SIZE
// Each job's body arrives in its own buffer (body + CRLF), as from a client writing one put per packet.
// Prints one JSON line: heap, array-buffer and RSS growth for N jobs.
import { Engine } from '../src/engine/engine.ts';
import { RealClock } from '../src/engine/clock.ts';
import type { Command } from '../src/engine/command.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('mem-child: run with node --expose-gc\n');
  process.exit(2);
}
const n = Number(process.argv[2] ?? 1_000_000);
const bodySize = Number(process.argv[3] ?? 16);

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage();
}

const engine = new Engine({ clock: new RealClock() });
let last = '';
const c = engine.connect('mem', (line) => {
  last = line;
});
const cmd: Extract<Command, { op: 'put' }> = { op: 'put', pri: 0, delay: 0, ttr: 60_000, bytes: bodySize, trailingGarbage: false };
const put = () => {
  const data = new Uint8Array(bodySize + 2);
  data.fill(120, 0, bodySize);
  data[bodySize] = 13;
  data[bodySize + 1] = 10;
  const r = engine.putHeader(c, cmd);
  if (r.kind === 'body') engine.putBody(c, r.id, cmd, data);
};
// Warm the code paths (and the engine's maps) before the first reading, then empty the tube again.
for (let i = 0; i < 1000; i++) put();
for (let i = 0; i < 1000; i++) {
  engine.execute(c, { op: 'reserve-with-timeout', timeout: 0 });
  engine.execute(c, { op: 'delete', id: Number(last.split(' ')[1]) });
}

const before = settle();
for (let i = 0; i < n; i++) put();
const after = settle();
if (engine.readyCount !== n) throw new Error(`expected ${n} ready jobs, found ${engine.readyCount}`);

process.stdout.write(
  JSON.stringify({
    n,
    bodySize,
    heapUsed: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    external: after.external - before.external,
    rss: after.rss - before.rss,
  }) + '\n',
);
