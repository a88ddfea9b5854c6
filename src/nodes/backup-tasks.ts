// Backup tasks (MapReduce, Dean and Ghemawat, OSDI 2004): near the end of a run, a task that has been
// running much longer than the others gets a second copy, and whichever copy finishes first wins.
// beanstalkd has no such feature; this producer builds it from put, reserve, delete, stats-tube and
// stats-job. Each job's body carries its task number (`task 3 pi 2000000 3003`), and the worker's
// result says which task and which job it answers and how long it took (`task 3 job 17 ms 5000 pi …`),
// so the producer keeps exactly one result per task and counts the late copy's result as wasted work.
import { bodyText, type Reply } from '../protocol/client.ts';
import { decodeResult, encodeTask, piEstimate, taskAt, taskCount, type TaskResult } from '../tasks/index.ts';
import type { BackupStats, ProducerConfig } from './messages.ts';
import type { NodeConnection, NodeRuntime } from './programs.ts';

/** A copy is put for a task reserved longer than this many times the median of the finished tasks' times. */
export const BACKUP_AFTER_MEDIANS = 3;
/** How long the producer waits for a result before it looks for stragglers again, seconds (reserve-with-timeout). */
export const BACKUP_POLL_S = 1;

const TASK_BODY = /^task (\d+) ([\s\S]*)$/;
const TASK_RESULT = /^task (\d+) job (\d+) ms (\d+(?:\.\d+)?) ([\s\S]*)$/;

/** A job body naming its task: `task N <the task's body>`. */
export const taskBody = (task: number, body: string) => `task ${task} ${body}`;

/** The task number and the task's own body, if `body` names its task. */
export function untagTask(body: string): { task: number; body: string } | null {
  const m = TASK_BODY.exec(body);
  return m ? { task: Number(m[1]), body: m[2] } : null;
}

/** What a worker puts for a job that named its task: the task, the job it ran, its time and its result. */
export const taskResult = (task: number, job: number, ms: number, result: string) => `task ${task} job ${job} ms ${Math.round(ms)} ${result}`;

export interface TaskAnswer {
  task: number;
  job: number;
  ms: number;
  result: TaskResult;
}

/** Reads a worker's answer to a job that named its task; throws an Error saying what is wrong. */
export function parseTaskResult(text: string): TaskAnswer {
  const m = TASK_RESULT.exec(text);
  if (!m) throw new Error(`not a task's result (task N job ID ms MS RESULT): ${JSON.stringify(text.slice(0, 60))}`);
  return { task: Number(m[1]), job: Number(m[2]), ms: Number(m[3]), result: decodeResult(m[4]) };
}

export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A job put for a task: the original, or its backup copy. */
interface Copy {
  job: number;
  backup: boolean;
  /** Its result came (first or late), or the producer deleted it before any worker ran it. */
  settled: boolean;
}

/**
 * The producer's bookkeeping: the jobs put for each task, the first result of each (the one that counts),
 * and the price of the copies (late results thrown away, their computing time).
 */
export class BackupBook {
  private readonly copies: Copy[][];
  private readonly first: (TaskAnswer | null)[];
  private readonly byJob = new Map<number, { task: number; copy: Copy }>();
  private done = 0;
  readonly stats: BackupStats = { copies: 0, late: 0, cancelled: 0, wastedMs: 0 };

  constructor(
    readonly tasks: number,
    private readonly afterMedians = BACKUP_AFTER_MEDIANS,
  ) {
    this.copies = Array.from({ length: tasks }, () => []);
    this.first = Array<TaskAnswer | null>(tasks).fill(null);
  }

  /** Job `job` was put for task `task` (a backup copy when `backup`). */
  put(task: number, job: number, backup = false): void {
    const copy = { job, backup, settled: false };
    this.copies[task].push(copy);
    this.byJob.set(job, { task, copy });
    if (backup) this.stats.copies++;
  }

  /** Every task has its result. */
  get complete(): boolean {
    return this.done === this.tasks;
  }

  /** The first result of each task, in task order (null for a task still running). */
  get results(): readonly (TaskAnswer | null)[] {
    return this.first;
  }

  /**
   * A result came: `first` counts (and `others` are the task's other jobs still out, which the producer
   * tries to delete); `late` is a second result for a task already done, thrown away and counted;
   * `unknown` names a task or job this producer never put.
   */
  result(a: TaskAnswer): { kind: 'first'; others: number[] } | { kind: 'late' } | { kind: 'unknown' } {
    const put = this.byJob.get(a.job);
    if (a.task < 0 || a.task >= this.tasks || put?.task !== a.task) return { kind: 'unknown' };
    put.copy.settled = true;
    if (this.first[a.task]) {
      this.stats.late++;
      this.stats.wastedMs += a.ms;
      return { kind: 'late' };
    }
    this.first[a.task] = a;
    this.done++;
    return { kind: 'first', others: this.copies[a.task].filter((c) => !c.settled).map((c) => c.job) };
  }

  /** The producer deleted job `job` before a worker reserved it: it will never give a result. */
  cancelled(job: number): void {
    const put = this.byJob.get(job);
    if (!put || put.copy.settled) return;
    put.copy.settled = true;
    this.stats.cancelled++;
  }

  /** Results still to come for tasks already done: copies a worker is running (or ran) after the winner. */
  get lateToCome(): number {
    let n = 0;
    for (let t = 0; t < this.tasks; t++) if (this.first[t]) n += this.copies[t].filter((c) => !c.settled).length;
    return n;
  }

  /** How long a task may be reserved before it gets a copy, ms: a multiple of the median finished task's time (none before one finishes). */
  threshold(): number | null {
    const m = median(this.first.flatMap((a) => (a ? [a.ms] : [])));
    return m === null ? null : m * this.afterMedians;
  }

  /** Tasks still without a result and without a copy: the only ones that may get one, by their original job. */
  candidates(): { task: number; job: number }[] {
    return this.copies.flatMap((cs, task) => (!this.first[task] && cs.length === 1 ? [{ task, job: cs[0].job }] : []));
  }

  /** Whether a task whose job has been reserved `reservedMs` gets a copy now: only when the work tube is empty, only past the threshold. */
  wantsCopy(task: number, reservedMs: number, tubeEmpty: boolean): boolean {
    const limit = this.threshold();
    return tubeEmpty && limit !== null && reservedMs > limit && this.candidates().some((c) => c.task === task);
  }

  /** π from exactly one result per task (the first), once every task has one. */
  piEstimate(): number | undefined {
    const pis = this.first.flatMap((a) => (a?.result.kind === 'pi' ? [{ darts: a.result.darts, hits: a.result.hits }] : []));
    return pis.length ? piEstimate(pis) : undefined;
  }
}

function expectReply(r: Reply, prefix: string, what: string): Reply {
  if (!r.line.startsWith(prefix)) throw new Error(`${what}: expected ${prefix}, got ${r.line}`);
  return r;
}

const field = (text: string, k: string) => {
  const m = new RegExp(`^${k}: (\\S+)$`, 'm').exec(text);
  return m ? m[1] : undefined;
};

/** stats-tube: the work tube holds no job waiting for a worker (every task is being run or done). */
async function tubeEmpty(conn: NodeConnection, tube: string): Promise<boolean> {
  const text = bodyText(await conn.command(`stats-tube ${tube}`));
  return Number(field(text, 'current-jobs-ready') ?? 0) + Number(field(text, 'current-jobs-delayed') ?? 0) === 0;
}

/** stats-job: how long the job has been reserved, ms (its TTR less its time left, to beanstalkd's whole second); null if it is not reserved. */
async function reservedFor(conn: NodeConnection, job: number): Promise<number | null> {
  const text = bodyText(await conn.command(`stats-job ${job}`));
  if (field(text, 'state') !== 'reserved') return null;
  return (Number(field(text, 'ttr')) - Number(field(text, 'time-left'))) * 1000;
}

/**
 * The report's client.py with backup tasks: put one job per task, collect one result per task, and while
 * `cfg.backups.on` (switched at run time), whenever the work tube is empty, put a copy of each task
 * reserved longer than the threshold. The first result wins; the other copy is deleted if no worker has
 * it yet, or its result is awaited after the final answer and thrown away.
 */
export async function backupProducerProgram(rt: NodeRuntime, cfg: ProducerConfig & { backups: { on: boolean } }): Promise<void> {
  const started = rt.now();
  rt.status({ state: 'connecting' });
  const conn = await rt.connect();
  await conn.command(`use ${cfg.use}`);
  await conn.command(`watch ${cfg.watch}`);
  await conn.command('ignore default');
  const tasks = taskCount(cfg.tasks);
  const book = new BackupBook(tasks);
  const put = async (task: number, backup: boolean) => {
    const body = taskBody(task, encodeTask(taskAt(cfg.tasks, task)));
    const r = expectReply(await conn.command(`put ${cfg.pri} 0 ${cfg.ttr} ${new TextEncoder().encode(body).length}`, body), 'INSERTED', backup ? 'put backup copy' : 'put job');
    book.put(task, Number(r.line.split(' ')[1]), backup);
  };
  rt.status({ state: 'sending', detail: `putting ${tasks} jobs` });
  for (let t = 0; t < tasks; t++) await put(t, false);

  const results: string[] = [];
  let darts = 0;
  let hits = 0;
  /** Takes one result from the results tube (waiting at most `timeout` seconds); false if none came. */
  const collect = async (timeout: number | null): Promise<boolean> => {
    const r = await conn.command(timeout === null ? 'reserve' : `reserve-with-timeout ${timeout}`);
    if (!r.line.startsWith('RESERVED ')) return false;
    const id = Number(r.line.split(' ')[1]);
    const text = bodyText(r);
    let answer: TaskAnswer | null = null;
    try {
      answer = parseTaskResult(text);
    } catch (err) {
      rt.log(`result ${id} ignored: ${(err as Error).message}`);
    }
    const got = answer ? book.result(answer) : { kind: 'unknown' as const };
    if (got.kind === 'first' && answer) {
      results.push(text);
      if (answer.result.kind === 'pi') {
        darts += answer.result.darts;
        hits += answer.result.hits;
        rt.report({ kind: 'pi-progress', darts, hits, received: results.length, expected: tasks });
      }
      // The other copy is not needed any more: gone at once if no worker holds it (DELETED), else its result will come late.
      for (const other of got.others) if ((await conn.command(`delete ${other}`)).line.startsWith('DELETED')) book.cancelled(other);
    } else if (got.kind === 'late') rt.log(`late result of task ${answer?.task} (job ${answer?.job}) thrown away`);
    else if (got.kind === 'unknown' && answer) rt.log(`result ${id} names task ${answer.task}, job ${answer.job}, which this producer did not put`);
    await conn.command(`delete ${id}`);
    rt.report({ kind: 'backup-tasks', ...book.stats });
    return true;
  };

  while (!book.complete) {
    rt.status({ state: 'waiting', detail: `received ${results.length}/${tasks} results${book.stats.copies ? `, ${book.stats.copies} backup ${book.stats.copies === 1 ? 'copy' : 'copies'}` : ''}` });
    await collect(BACKUP_POLL_S);
    if (!cfg.backups.on || book.complete || book.threshold() === null || !(await tubeEmpty(conn, cfg.use))) continue;
    for (const { task, job } of book.candidates()) {
      const ms = await reservedFor(conn, job);
      if (ms !== null && book.wantsCopy(task, ms, true)) await put(task, true);
    }
  }
  const estimate = book.piEstimate();
  const seconds = (rt.now() - started) / 1000;
  rt.report({ kind: 'producer-done', estimate, results, seconds, backups: { ...book.stats } });
  const summary = estimate !== undefined ? `π ≈ ${estimate.toFixed(6)} in ${seconds.toFixed(2)} s` : `${results.length} results`;
  while (book.lateToCome > 0) {
    rt.status({ state: 'waiting', detail: `${summary}; waiting for ${book.lateToCome} late ${book.lateToCome === 1 ? 'result' : 'results'} to throw away` });
    await collect(null);
  }
  const { copies, late, wastedMs } = book.stats;
  rt.status({ state: 'done', detail: copies ? `${summary}; ${copies} backup ${copies === 1 ? 'copy' : 'copies'}, ${late} late ${late === 1 ? 'result' : 'results'} thrown away (${(wastedMs / 1000).toFixed(1)} s of work)` : summary });
  conn.close();
}
