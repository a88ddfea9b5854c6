// In-process throughput: the engine API directly, and the same workload through the wire codec.
//
// Steady state at a given queue depth: the tube is prefilled to `depth` ready jobs, then the loop
// alternates CHUNK puts and CHUNK reserve+delete pairs, so the depth stays within [depth, depth+CHUNK].
// Put time and reserve+delete time are accumulated separately (one clock read per chunk).
import { Engine } from '../src/engine/engine.ts';
import { RealClock } from '../src/engine/clock.ts';
import type { Command } from '../src/engine/command.ts';
import type { Connection } from '../src/engine/connection.ts';
import { connectLocal } from '../src/protocol/local.ts';
import type { Client, Reply } from '../src/protocol/client.ts';

export const BODY_SIZE = 16;
const CHUNK = 100;
const TTR_MS = 60_000;

type PutCommand = Extract<Command, { op: 'put' }>;

export interface SteadyResult {
  depth: number;
  /** Puts per second. */
  put: number;
  /** reserve+delete pairs per second. */
  rd: number;
  /** All commands (put, reserve, delete) per second of total time. */
  commands: number;
  /** Depth at the end (sanity check: within [depth, depth+CHUNK]). */
  endDepth: number;
}

function bodyWithCrlf(): Uint8Array {
  const data = new Uint8Array(BODY_SIZE + 2);
  for (let i = 0; i < BODY_SIZE; i++) data[i] = 97 + (i % 26);
  data[BODY_SIZE] = 13;
  data[BODY_SIZE + 1] = 10;
  return data;
}

/** The id in "RESERVED <id> <bytes>" (-1 for any other reply). */
function reservedId(line: string): number {
  if (line.charCodeAt(0) !== 82 /* R */ || line.charCodeAt(2) !== 83 /* S */) return -1;
  let id = 0;
  for (let i = 9; i < line.length; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    id = id * 10 + d;
  }
  return id;
}

/** A tube of `depth` ready jobs and a connection that talks to the engine API directly. */
export class EngineRig {
  readonly engine = new Engine({ clock: new RealClock() });
  private last = '';
  private readonly c: Connection;
  private readonly data = bodyWithCrlf();
  private readonly putCmd: PutCommand = { op: 'put', pri: 0, delay: 0, ttr: TTR_MS, bytes: BODY_SIZE, trailingGarbage: false };
  private readonly reserveCmd = { op: 'reserve-with-timeout', timeout: 0 } as const;
  errors = 0;

  constructor() {
    this.c = this.engine.connect('bench', (line) => {
      this.last = line;
    });
  }

  put(): void {
    const r = this.engine.putHeader(this.c, this.putCmd);
    if (r.kind === 'body') this.engine.putBody(this.c, r.id, this.putCmd, this.data);
    if (this.last.charCodeAt(0) !== 73 /* INSERTED */) this.errors++;
  }

  reserveDelete(): void {
    this.engine.execute(this.c, this.reserveCmd);
    const id = reservedId(this.last);
    if (id < 0) {
      this.errors++;
      return;
    }
    this.engine.execute(this.c, { op: 'delete', id });
    if (this.last !== 'DELETED') this.errors++;
  }

  get depth(): number {
    return this.engine.readyCount;
  }

  fill(depth: number): void {
    while (this.engine.readyCount < depth) this.put();
  }

  /** Alternates CHUNK puts and CHUNK reserve+delete pairs for `ms` (after `warmMs` unmeasured). */
  steady(warmMs: number, ms: number): SteadyResult {
    const depth = this.engine.readyCount;
    const run = (dur: number) => {
      let tPut = 0;
      let tRd = 0;
      let n = 0;
      const end = performance.now() + dur;
      let t0 = performance.now();
      while (t0 < end) {
        for (let i = 0; i < CHUNK; i++) this.put();
        const t1 = performance.now();
        for (let i = 0; i < CHUNK; i++) this.reserveDelete();
        const t2 = performance.now();
        tPut += t1 - t0;
        tRd += t2 - t1;
        n += CHUNK;
        t0 = t2;
      }
      return { tPut, tRd, n };
    };
    run(warmMs);
    const { tPut, tRd, n } = run(ms);
    if (this.errors) throw new Error(`engine bench: ${this.errors} unexpected replies (last: ${this.last})`);
    return { depth, put: (n / tPut) * 1e3, rd: (n / tRd) * 1e3, commands: ((3 * n) / (tPut + tRd)) * 1e3, endDepth: this.engine.readyCount };
  }
}

/** The same steady state through connectLocal: client codec -> Session -> engine -> Session -> client. */
export async function codecSteady(engine: Engine, warmMs: number, ms: number): Promise<SteadyResult> {
  const { client } = connectLocal(engine, 'bench-codec');
  const body = bodyWithCrlf().subarray(0, BODY_SIZE);
  const putLine = `put 0 0 ${TTR_MS / 1000} ${BODY_SIZE}`;
  let errors = 0;
  const depth = engine.readyCount;
  const batch = async (make: (i: number) => Promise<Reply>): Promise<Reply[]> => {
    const ps: Promise<Reply>[] = new Array(CHUNK);
    for (let i = 0; i < CHUNK; i++) ps[i] = make(i);
    return Promise.all(ps);
  };
  const cycle = async (c: Client) => {
    const t0 = performance.now();
    const ins = await batch(() => c.command(putLine, body));
    const t1 = performance.now();
    const res = await batch(() => c.command('reserve-with-timeout 0'));
    const ids = res.map((r) => reservedId(r.line));
    const del = await batch((i) => c.command(`delete ${ids[i]}`));
    const t2 = performance.now();
    for (let i = 0; i < CHUNK; i++) {
      if (ins[i].line.charCodeAt(0) !== 73) errors++;
      if (ids[i] < 0 || del[i].line !== 'DELETED') errors++;
    }
    return [t1 - t0, t2 - t1];
  };
  const run = async (dur: number) => {
    let tPut = 0;
    let tRd = 0;
    let n = 0;
    const end = performance.now() + dur;
    while (performance.now() < end) {
      const [a, b] = await cycle(client);
      tPut += a;
      tRd += b;
      n += CHUNK;
    }
    return { tPut, tRd, n };
  };
  await run(warmMs);
  const { tPut, tRd, n } = await run(ms);
  if (errors) throw new Error(`codec bench: ${errors} unexpected replies`);
  return { depth, put: (n / tPut) * 1e3, rd: (n / tRd) * 1e3, commands: ((3 * n) / (tPut + tRd)) * 1e3, endDepth: engine.readyCount };
}
