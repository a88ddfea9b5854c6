// The programs nodes run: the seed report's worker.py and client.py, line for line in spirit, written
// against a small runtime so the same code runs in a Web Worker, in a test, or in a remote tab.
import { bodyText, type Body, type Reply } from '../protocol/client.ts';
import { decodeResult, decodeTask, encodeResult, encodeTask, piEstimate, taskAt, taskCount, type TaskResult, type TaskSpec } from '../tasks/index.ts';
import type { NodeReport, NodeStatus, ProducerConfig, WorkerConfig } from './messages.ts';
import { parseMatrixJob, runMatrixJob } from './matrix.ts';
import { taskResult, untagTask } from './backup-tasks.ts';
import { ResultLedger } from './verify-results.ts';

/** The connection was closed under the program (server crash, network drop, kicked out). */
export class ConnectionLost extends Error {}

export interface NodeConnection {
  /** The runtime's number for it (what a resume point names it by). */
  readonly id?: number;
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
  /** Result jobs the host said to drop (their node was caught cheating); none by default. */
  readonly discarded?: ReadonlySet<number>;
  /**
   * A resume point (virtual time, for time travel's checkpoints): the program's whole state is
   * `state`, plain data, holding the connections `conns` and awaiting nothing. A program started with
   * that state (and adopting those connections) goes on exactly as this one does from here. Optional:
   * a program that never marks one is restored by re-running it from its start.
   */
  mark?(state: unknown, conns: number[]): void;
  /** Connection `id`, open since before the resume point the program is started at. */
  adopt?(id: number): NodeConnection;
}

function expect(r: Reply, prefix: string, what: string): Reply {
  if (!r.line.startsWith(prefix)) throw new Error(`${what}: expected ${prefix}, got ${r.line}`);
  return r;
}

/** Where a worker takes up again: between two jobs, its whole state is its connection. */
export interface WorkerResume {
  conn: number | null;
}

/** worker.py: connect, watch/ignore, reserve, run the task, put the result, delete, close — for ever. `from`: a resume point. */
export async function workerProgram(rt: NodeRuntime, cfg: WorkerConfig, from?: WorkerResume): Promise<never> {
  let conn: NodeConnection | null = from?.conn != null && rt.adopt ? rt.adopt(from.conn) : null;
  /** A pipelined worker's next reserve, sent with the delete of the job before. */
  let nextReserve: Promise<Reply> | null = null;
  for (;;) {
    // A pipelined worker's reserve in flight is not in the state: it marks no resume point then.
    if (!nextReserve && (!conn || conn.id !== undefined)) rt.mark?.({ conn: conn?.id ?? null } satisfies WorkerResume, conn ? [conn.id as number] : []);
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
      // A job that names its task (a producer with backup tasks) gets an answer naming it, this job and its time.
      const tagged = untagTask(bodyText(r));
      try {
        const body = tagged?.body ?? bodyText(r);
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
      const answer = confirmation ?? (result ? encodeResult(result) : 'failed');
      const out = tagged && result ? taskResult(tagged.task, id, rt.now() - started, answer) : answer;
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
 * Where a producer takes up again: before putting job `i`, while collecting results (with the result
 * jobs filed so far, by id, and the last π result's hits for client.py as printed), or done.
 */
export type ProducerResume =
  | { phase: 'put'; conn: number; started: number; i: number }
  | { phase: 'collect'; conn: number; started: number; filedJobs: number[]; filedTexts: string[]; lastHits: number }
  | { phase: 'done' };

/**
 * Resume points every this many jobs: each copies the results so far, so marking every job would copy
 * O(jobs²) strings in a run; a restore replays at most this many jobs' messages.
 */
const PRODUCER_MARK_EVERY = 16;

/**
 * client.py: wait while the job tube still holds work from before a crash (the resume logic), put the
 * jobs unless resuming, then collect one result per job and combine them. `from`: a resume point.
 */
export async function producerProgram(rt: NodeRuntime, cfg: ProducerConfig, from?: ProducerResume): Promise<void> {
  if (from?.phase === 'done') return;
  const started = from ? from.started : rt.now();
  const tasks = taskCount(cfg.tasks);
  const marking = (i: number, id: number | undefined): id is number => id !== undefined && i % PRODUCER_MARK_EVERY === 0;
  let conn: NodeConnection;
  let queueWasFull = false;
  if (from && rt.adopt) conn = rt.adopt(from.conn);
  else {
    rt.status({ state: 'connecting' });
    conn = await rt.connect();
    await conn.command(`use ${cfg.use}`);
    await conn.command(`watch ${cfg.watch}`);
    await conn.command('ignore default');
  }
  while (cfg.resume && !from) {
    const r = await conn.command(`stats-tube ${cfg.use}`);
    const text = bodyText(r);
    const count = (k: string) => Number(text.match(new RegExp(`^${k}: (\\d+)$`, 'm'))?.[1] ?? 0);
    if (count('current-jobs-ready') + count('current-jobs-reserved') === 0) break;
    queueWasFull = true;
    rt.status({ state: 'sleeping', detail: 'waiting for the jobs left from before to finish' });
    await rt.sleep(cfg.pollMs);
  }
  if (!queueWasFull && from?.phase !== 'collect') {
    if (!from) rt.status({ state: 'sending', detail: `putting ${tasks} jobs` });
    const puts: Promise<Reply>[] = [];
    for (let i = from?.i ?? 0; i < tasks; i++) {
      if (!cfg.pipelined && marking(i, conn.id)) rt.mark?.({ phase: 'put', conn: conn.id, started, i } satisfies ProducerResume, [conn.id]);
      const body = encodeTask(taskAt(cfg.tasks, i));
      const put = conn.command(`put ${cfg.pri} 0 ${cfg.ttr} ${new TextEncoder().encode(body).length}`, body);
      if (cfg.pipelined) {
        // Awaited in order below: if the connection is lost, the first of them fails the program.
        put.catch(() => {});
        puts.push(put);
      } else expect(await put, 'INSERTED', 'put job');
    }
    for (const put of puts) expect(await put, 'INSERTED', 'put job');
  }
  // One result per task; a result the host discards (its node cheated) is waited for again.
  const ledger = new ResultLedger(rt.discarded ?? new Set());
  const collected = from?.phase === 'collect' ? from : null;
  collected?.filedJobs.forEach((job, i) => ledger.add(job, collected.filedTexts[i]));
  // client.py as printed: `total_count = total_circle_count + int(job.body)` keeps only the last result's hits.
  let lastHits = collected?.lastHits ?? 0;
  const asPrinted = (sums: { darts: number; hits: number }) => (cfg.totalCountBug ? { darts: sums.darts, hits: lastHits } : sums);
  /** A pipelined producer's next reserve, sent with the delete of the result before. */
  let nextReserve: Promise<Reply> | null = null;
  while (ledger.counted < tasks) {
    if (!cfg.pipelined && marking(ledger.counted, conn.id)) {
      const { jobs, texts } = ledger.filed;
      rt.mark?.({ phase: 'collect', conn: conn.id, started, filedJobs: jobs, filedTexts: texts, lastHits } satisfies ProducerResume, [conn.id]);
    }
    rt.status({ state: 'waiting', detail: `received ${ledger.counted}/${tasks} results` });
    const r = expect(await (nextReserve ?? conn.command('reserve')), 'RESERVED ', 'reserve result');
    nextReserve = null;
    const id = Number(r.line.split(' ')[1]);
    const text = bodyText(r);
    ledger.add(id, text);
    try {
      const res = decodeResult(text);
      if (res.kind === 'pi') {
        lastHits = res.hits;
        rt.report({ kind: 'pi-progress', ...asPrinted(ledger.sums), received: ledger.counted, expected: tasks });
      }
    } catch {
      rt.log(`result ${id} is not a task result: ${text}`);
    }
    // Said now, not at the next reserve, so the card never lags behind the π estimate it shows.
    rt.status({ state: 'sending', detail: `received ${ledger.counted}/${tasks} results` });
    const deleted = conn.command(`delete ${id}`);
    if (cfg.pipelined && ledger.counted < tasks) {
      nextReserve = conn.command('reserve');
      // Awaited at the top of the loop; if the delete fails first, the program fails with it.
      nextReserve.catch(() => {});
    }
    await deleted;
  }
  const results = ledger.texts;
  const { darts, hits } = asPrinted(ledger.sums);
  const estimate = darts ? piEstimate([{ darts, hits }]) : undefined;
  const seconds = (rt.now() - started) / 1000;
  rt.report({ kind: 'producer-done', estimate, results, seconds });
  rt.status({ state: 'done', detail: estimate !== undefined ? `π ≈ ${estimate.toFixed(6)} in ${seconds.toFixed(2)} s` : `${results.length} results` });
  conn.close();
  rt.mark?.({ phase: 'done' } satisfies ProducerResume, []);
}
