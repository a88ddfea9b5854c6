// The programs nodes run: the seed report's worker.py and client.py, line for line in spirit, written
// against a small runtime so the same code runs in a Web Worker, in a test, or in a remote tab.
import { bodyText, type Body, type Reply } from '../protocol/client.ts';
import { decodeResult, decodeTask, encodeResult, encodeTask, piEstimate, type TaskResult, type TaskSpec } from '../tasks/index.ts';
import type { NodeReport, NodeStatus, ProducerConfig, WorkerConfig } from './messages.ts';
import { parseMatrixJob, runMatrixJob } from './matrix.ts';

/** The connection was closed under the program (server crash, network drop, kicked out). */
export class ConnectionLost extends Error {}

export interface NodeConnection {
  command(line: string, body?: Body): Promise<Reply>;
  close(): void;
}

/** A connection to the key-value store (the report's `memcache.Client`). */
export interface StoreConnection {
  /** The values the store holds for `keys`, in one round trip. */
  get(keys: string[]): Promise<Map<string, string>>;
  set(key: string, value: string): Promise<void>;
  close(): void;
}

export interface NodeRuntime {
  readonly name: string;
  /** Milliseconds on the node's clock (virtual or real). */
  now(): number;
  connect(): Promise<NodeConnection>;
  connectStore(): Promise<StoreConnection>;
  compute(spec: TaskSpec): Promise<TaskResult>;
  sleep(ms: number): Promise<void>;
  status(s: NodeStatus): void;
  report(r: NodeReport): void;
  log(text: string): void;
}

function expect(r: Reply, prefix: string, what: string): Reply {
  if (!r.line.startsWith(prefix)) throw new Error(`${what}: expected ${prefix}, got ${r.line}`);
  return r;
}

/** worker.py: connect, watch/ignore, reserve, run the task, put the result, delete, close — for ever. */
export async function workerProgram(rt: NodeRuntime, cfg: WorkerConfig): Promise<never> {
  let conn: NodeConnection | null = null;
  /** A pipelined worker's next reserve, sent with the delete of the job before. */
  let nextReserve: Promise<Reply> | null = null;
  for (;;) {
    try {
      if (!conn) {
        rt.status({ state: 'connecting' });
        conn = await rt.connect();
        await conn.command(`watch ${cfg.watch}`);
        if (cfg.watch !== 'default') await conn.command('ignore default');
        if (cfg.pipelined && cfg.putResults !== false) await conn.command(`use ${cfg.use}`);
      }
      rt.status({ state: 'waiting' });
      const r = await (nextReserve ?? conn.command('reserve'));
      nextReserve = null;
      if (!r.line.startsWith('RESERVED ')) {
        // DEADLINE_SOON: this worker holds nothing by design, so just ask again.
        continue;
      }
      const id = Number(r.line.split(' ')[1]);
      if (cfg.maxReserves !== undefined) {
        // A job that keeps coming back (its workers die or hang on it) is given up on, not tried for ever.
        const reserves = Number(/^reserves: (\d+)$/m.exec(bodyText(await conn.command(`stats-job ${id}`)))?.[1] ?? 0);
        if (reserves > cfg.maxReserves) {
          rt.report({ kind: 'task-failed', job: id, error: `reserved ${reserves} times, more than the retry limit of ${cfg.maxReserves}` });
          await conn.command(`bury ${id} 0`);
          rt.status({ state: 'idle', detail: `buried job ${id}: retry limit` });
          continue;
        }
      }
      rt.status({ state: 'working', job: id });
      const started = rt.now();
      let result: TaskResult | null = null;
      let spec: TaskSpec | null = null;
      /** What a matrix job puts in the results tube: its result itself stays in the key-value store. */
      let confirmation: string | null = null;
      try {
        const body = bodyText(r);
        const matrixJob = parseMatrixJob(body);
        if (matrixJob) {
          ({ spec, result, confirmation } = await runMatrixJob(rt, matrixJob));
        } else {
          spec = decodeTask(body);
          result = await rt.compute(spec);
        }
      } catch (err) {
        if (err instanceof ConnectionLost) throw err;
        rt.log(`job ${id} failed: ${(err as Error).message}`);
        rt.report({ kind: 'task-failed', job: id, error: (err as Error).message });
        if (cfg.onFailure === 'bury') {
          await conn.command(`bury ${id} 0`);
          rt.status({ state: 'idle', detail: `buried job ${id}` });
          continue;
        }
        // The seed's bug, kept on purpose for lesson 4: release the failed job, then carry on and delete it.
        await conn.command(`release ${id} 0 0`);
      }
      rt.status({ state: 'sending', job: id });
      const out = confirmation ?? (result ? encodeResult(result) : 'failed');
      if (cfg.putResults !== false) {
        if (!cfg.pipelined) await conn.command(`use ${cfg.use}`);
        expect(await conn.command(`put 0 0 60 ${new TextEncoder().encode(out).length}`, out), 'INSERTED', 'put result');
      }
      const deleted = conn.command(`delete ${id}`);
      if (cfg.pipelined && !cfg.reconnectEachJob) {
        nextReserve = conn.command('reserve');
        // Awaited at the top of the loop; if the connection is lost first, the catch below starts over.
        nextReserve.catch(() => {});
      }
      await deleted;
      if (spec && result) rt.report({ kind: 'task-done', job: id, task: spec.kind, ms: rt.now() - started, units: 1, result: out });
      if (cfg.reconnectEachJob) {
        conn.close();
        conn = null;
      }
    } catch (err) {
      conn = null;
      nextReserve = null;
      rt.status({ state: 'failed', detail: (err as Error).message });
      rt.log(`connection lost: ${(err as Error).message}; reconnecting in 1 s`);
      await rt.sleep(1000);
    }
  }
}

/**
 * client.py: wait while the job tube still holds work from before a crash (the resume logic), put the
 * jobs unless resuming, then collect one result per job and combine them.
 */
export async function producerProgram(rt: NodeRuntime, cfg: ProducerConfig): Promise<void> {
  const started = rt.now();
  rt.status({ state: 'connecting' });
  const conn = await rt.connect();
  await conn.command(`use ${cfg.use}`);
  await conn.command(`watch ${cfg.watch}`);
  await conn.command('ignore default');
  let queueWasFull = false;
  while (cfg.resume) {
    const r = await conn.command(`stats-tube ${cfg.use}`);
    const text = bodyText(r);
    const count = (k: string) => Number(text.match(new RegExp(`^${k}: (\\d+)$`, 'm'))?.[1] ?? 0);
    if (count('current-jobs-ready') + count('current-jobs-reserved') === 0) break;
    queueWasFull = true;
    rt.status({ state: 'sleeping', detail: 'waiting for the jobs left from before to finish' });
    await rt.sleep(cfg.pollMs);
  }
  if (!queueWasFull) {
    rt.status({ state: 'sending', detail: `putting ${cfg.tasks.length} jobs` });
    for (const spec of cfg.tasks) {
      const body = encodeTask(spec);
      expect(await conn.command(`put ${cfg.pri} 0 ${cfg.ttr} ${new TextEncoder().encode(body).length}`, body), 'INSERTED', 'put job');
    }
  }
  const results: string[] = [];
  let darts = 0;
  let hits = 0;
  for (let i = 0; i < cfg.tasks.length; i++) {
    rt.status({ state: 'waiting', detail: `received ${i}/${cfg.tasks.length} results` });
    const r = expect(await conn.command('reserve'), 'RESERVED ', 'reserve result');
    const id = Number(r.line.split(' ')[1]);
    const text = bodyText(r);
    results.push(text);
    try {
      const res = decodeResult(text);
      if (res.kind === 'pi') {
        darts += res.darts;
        hits += res.hits;
        rt.report({ kind: 'pi-progress', darts, hits, received: i + 1, expected: cfg.tasks.length });
      }
    } catch {
      rt.log(`result ${id} is not a task result: ${text}`);
    }
    // Said now, not at the next reserve, so the card never lags behind the π estimate it shows.
    rt.status({ state: 'sending', detail: `received ${i + 1}/${cfg.tasks.length} results` });
    await conn.command(`delete ${id}`);
  }
  const estimate = darts ? piEstimate([{ darts, hits }]) : undefined;
  const seconds = (rt.now() - started) / 1000;
  rt.report({ kind: 'producer-done', estimate, results, seconds });
  rt.status({ state: 'done', detail: estimate !== undefined ? `π ≈ ${estimate.toFixed(6)} in ${seconds.toFixed(2)} s` : `${results.length} results` });
  conn.close();
}
