// rq's commands in the console, beside beanstalkd's: a line starting with `rq ` is rq's, not the
// server's. rq submits jobs through a real beanstalkd connection of its own (named `rq`), so workers
// run them like any other job; everything else it reports comes from the job history.
//
//   rq submit JOB                one job;  `rq submit` alone: one job per line (or a YAML list),
//                                ended by a line holding only `.` (or an empty line)
//   rq status                    counts by state, temporal statistics, performance, exit status (YAML)
//   rq list [STATE]              the records in a state (rq's or beanstalkd's word), or all
//   rq query FIELD=VALUE ...     the records matching every condition
//   rq delete JID ...            deletes jobs (from the queue if still there) and forgets their records;
//                                piped: `rq query exit_status=0 | rq delete`
//   rq feed [N]                  starts N feeder nodes (default 2) that run rq's jobs and bury failures
//                                (a failing task, or more reserves than the retry limit)
import { parse as parseYaml } from 'yaml';
import type { Engine } from '../engine/engine.ts';
import { Session } from '../protocol/session.ts';
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import { encodeTask } from '../tasks/index.ts';
import type { NodeConfig, WorkerConfig } from '../nodes/messages.ts';
import type { NodeLife } from '../nodes/process.ts';
import { QUEUE_STATES, RQ_STATES, type JobHistory, type JobRecord } from './history.ts';
import { jobsYaml, RQ_FIELDS, rqJob, rqStatus, statusYaml, type RqField } from './status.ts';

/** rq's tube: the one `rq submit` puts into unless told `tube=`, and the one feeders watch. */
export const RQ_TUBE = 'rq';

/** Feeders run rq's jobs: they keep results in the history (no result tube) and bury a job whose task fails or that was tried too often. */
export const FEEDER: WorkerConfig = { watch: RQ_TUBE, use: RQ_TUBE, onFailure: 'bury', reconnectEachJob: false, putResults: false, maxReserves: 3 };

/**
 * The most jobs one `rq submit` puts. Each is put at once, in the page's own thread, through rq's
 * connection, the engine, the binlog, the job history and the run's trace: about 40 µs a job in Node,
 * so 10,000 jobs hold the page for about half a second; a million held it for half a minute.
 */
export const MAX_SUBMIT = 10_000;

export const RQ_HELP = `rq commands (a line starting with "rq " is rq's, not beanstalkd's):
  rq submit JOB             submit one job
  rq submit                 then one job per line, or a YAML list; end with a line holding only "." (or an empty line)
  rq status                 counts by state, earliest/latest/shortest/longest, performance, exit status (YAML)
  rq list [STATE]           jobs in a state: pending holding running finished dead (or ready delayed reserved buried deleted lost, or all)
  rq query FIELD=VALUE ...  jobs matching every condition, e.g. rq query state=dead tag=batch1
  rq delete JID ...         delete jobs by jid; or piped: rq query exit_status=0 | rq delete
  rq feed [N]               start N feeder nodes (default 2) that run jobs from tube "${RQ_TUBE}"; a job that fails,
                            or is reserved more than ${FEEDER.maxReserves} times, is buried: dead
A job line is a task and options:
  pi [darts=1000000] [seed=N]    throw darts for π
  busy [ms=200]                  keep a CPU busy
  sleep [ms=500]                 wait without using the CPU
  fail                           a job no worker can run: its task fails
  options: tag=WORD pri=N tube=NAME ttr=SECONDS delay=SECONDS count=N (that many copies)
One submit puts at most ${MAX_SUBMIT.toLocaleString('en')} jobs.
Jobs go to tube "${RQ_TUBE}" unless tube= says otherwise. Times are seconds since the run started.
Query fields: ${RQ_FIELDS.join(', ')}`;

/** What one console line printed: text, and whether it is an error. */
export interface RqOutput {
  text: string;
  error?: boolean;
}

/** One job to put: its body and its put options. */
interface Submission {
  body: string;
  pri: number;
  delay: number;
  ttr: number;
  tube: string;
  tag: string | null;
}

const LIST_LIMIT = 200;
const DEFAULT_TTR_S = 60;

const tooMany = (n: number) =>
  `rq submit: ${n.toLocaleString('en')} jobs is more than one submit may put (${MAX_SUBMIT.toLocaleString('en')}: each is put at once, and more would freeze the page); submit them in parts; nothing submitted`;

/** A bad command: its message is shown as an error and nothing has changed. */
class RqError extends Error {}

/** rq's own connection to the queue server: a beanstalkd session named `rq`, replies read at once. */
class RqConnection {
  constructor(
    /** Tells the cluster what rq sends, so a replayed run sends it again. */
    private readonly record: (bytes: Uint8Array) => void,
  ) {}

  private engine: Engine | null = null;
  private session: Session | null = null;
  private reply = '';
  private usedTube = 'default';

  command(engine: Engine, line: string, body?: string): string {
    if (engine !== this.engine || !this.session) this.connect(engine);
    this.reply = '';
    const bytes = latin1Bytes(body === undefined ? `${line}\r\n` : `${line}\r\n${body}\r\n`);
    this.record(bytes);
    (this.session as Session).receive(bytes);
    const first = this.reply.split('\r\n')[0];
    if (!first) throw new RqError(`the queue server did not answer "${line}"`);
    return first;
  }

  use(engine: Engine, tube: string): void {
    if (engine === this.engine && this.session && this.usedTube === tube) return;
    const r = this.command(engine, `use ${tube}`);
    if (!r.startsWith('USING ')) throw new RqError(`use ${tube}: ${r}`);
    this.usedTube = tube;
  }

  private connect(engine: Engine): void {
    this.engine = engine;
    this.usedTube = 'default';
    const session: Session = new Session(
      engine,
      {
        write: (bytes) => (this.reply += latin1(bytes)),
        close: () => {
          if (this.session === session) this.session = null;
        },
      },
      'rq',
    );
    this.session = session;
  }
}

/** What rq needs of the cluster (the simulator's Cluster is one): its queue server, job history, nodes and clock. */
export interface RqCluster {
  readonly engine: Engine | null;
  readonly history: JobHistory;
  readonly nodes: ReadonlyMap<number, { readonly name: string; readonly life: NodeLife; readonly config: NodeConfig }>;
  /** Cluster time, ms. */
  readonly now: number;
  /** Records bytes one of the page's connections sent to the queue server, so a replay sends them again. */
  recordPageInput(conn: string, bytes: Uint8Array): void;
  /** Live time: arms the timer for what its page input made due. */
  armLive(): void;
  addNode(name: string, config: NodeConfig): number;
}

export class RqShell {
  /** Lines of a multi-line `rq submit` being typed; null when not collecting. */
  collecting: string[] | null = null;
  private readonly conn = new RqConnection((bytes) => this.cluster().recordPageInput('rq', bytes));
  private submitted = 0;

  constructor(private readonly cluster: () => RqCluster) {}

  /** Is this console line rq's (a command, or a line of a multi-line submit)? */
  owns(line: string): boolean {
    return this.collecting !== null || /^\s*rq(\s|$)/.test(line);
  }

  /** Runs one console line that `owns` accepted. */
  input(line: string): RqOutput[] {
    if (this.collecting !== null) {
      if (line.trim() !== '' && line.trim() !== '.') {
        this.collecting.push(line);
        return [];
      }
      const lines = this.collecting;
      this.collecting = null;
      return this.guard(() => this.submitText(lines.join('\n')));
    }
    return this.guard(() => this.pipeline(line));
  }

  private guard(run: () => RqOutput[]): RqOutput[] {
    try {
      return run();
    } catch (e) {
      if (e instanceof RqError) return [{ text: e.message, error: true }];
      throw e;
    }
  }

  private pipeline(line: string): RqOutput[] {
    const stages = line.split(/\|(?=\s*rq(?:\s|$))/).map((s) => s.trim());
    const words = stages.map((s) => s.split(/\s+/).slice(1));
    for (const [i, w] of words.entries()) {
      if (i > 0 && w[0] !== 'delete' && w[0] !== 'submit') throw new RqError(`rq ${w[0] ?? ''}: only rq delete and rq submit read jobs from a pipe`);
    }
    let piped: JobRecord[] | null = null;
    let out: RqOutput[] = [];
    for (const [i, w] of words.entries()) {
      const [cmd, ...args] = w;
      const last = i === words.length - 1;
      switch (cmd) {
        case undefined:
        case 'help':
          out = [{ text: RQ_HELP }];
          break;
        case 'submit':
          if (piped) {
            out = this.submit(piped.map(resubmission));
            piped = null;
          } else if (args.length) out = this.submitText(stages[i].replace(/^rq\s+submit\s+/, ''));
          else {
            this.collecting = [];
            out = [{ text: 'Type one job per line (or a YAML list); end with a line holding only "." (or an empty line).' }];
          }
          break;
        case 'status':
          if (args.length) throw new RqError(`rq status takes no arguments (got "${args.join(' ')}"); use rq query to pick jobs`);
          out = [{ text: statusYaml(rqStatus(this.history.records, this.cluster().now)) }];
          break;
        case 'list':
          piped = this.list(args);
          break;
        case 'query':
          piped = this.query(args);
          break;
        case 'delete':
          out = this.delete(piped ?? this.byJid(args));
          piped = null;
          break;
        case 'feed':
          out = this.feed(args);
          break;
        default:
          throw new RqError(`unknown rq command "${cmd}": try rq help`);
      }
      if (last && piped) out = [{ text: listing(piped) }];
    }
    return out;
  }

  private get history() {
    return this.cluster().history;
  }

  // ---- list and query -----------------------------------------------------------------------------

  private list(args: string[]): JobRecord[] {
    if (args.length > 1) throw new RqError(`rq list takes one state, got "${args.join(' ')}"`);
    const state = args[0] ?? 'all';
    if (state === 'all') return this.history.records.slice();
    if ((RQ_STATES as readonly string[]).includes(state)) return this.history.records.filter((r) => r.state === state);
    if ((QUEUE_STATES as readonly string[]).includes(state)) return this.history.records.filter((r) => r.queueState === state);
    throw new RqError(`unknown state "${state}": use one of ${RQ_STATES.join(', ')} (rq), ${QUEUE_STATES.join(', ')} (beanstalkd) or all`);
  }

  private query(args: string[]): JobRecord[] {
    if (!args.length) throw new RqError('rq query needs at least one FIELD=VALUE, e.g. rq query exit_status=0');
    const conditions = args.map((a) => {
      const eq = a.indexOf('=');
      if (eq <= 0) throw new RqError(`rq query: "${a}" is not FIELD=VALUE`);
      const field = a.slice(0, eq);
      if (!(RQ_FIELDS as readonly string[]).includes(field)) throw new RqError(`rq query: unknown field "${field}"; fields are ${RQ_FIELDS.join(', ')}`);
      return { field: field as RqField, value: a.slice(eq + 1) };
    });
    return this.history.records.filter((r) => {
      const j = rqJob(r);
      return conditions.every((c) => String(j[c.field] ?? '') === c.value);
    });
  }

  private byJid(args: string[]): JobRecord[] {
    if (!args.length) throw new RqError('rq delete needs job ids (jids), or jobs piped in: rq query exit_status=0 | rq delete');
    return args.map((a) => {
      const r = /^\d+$/.test(a) ? this.history.get(Number(a)) : undefined;
      if (!r) throw new RqError(`rq delete: no job with jid ${a} (rq list shows each job's jid)`);
      return r;
    });
  }

  // ---- delete -------------------------------------------------------------------------------------

  private delete(records: JobRecord[]): RqOutput[] {
    const engine = this.cluster().engine;
    const gone: number[] = [];
    const problems: string[] = [];
    for (const r of records) {
      if (this.history.isLive(r)) {
        if (!engine) {
          problems.push(`jid ${r.key}: the queue server is down, job ${r.id} cannot be deleted now`);
          continue;
        }
        if (r.queueState === 'reserved') {
          problems.push(`jid ${r.key}: job ${r.id} is running on ${r.runner ?? 'a worker'}; only its runner may delete it`);
          continue;
        }
        const reply = this.conn.command(engine, `delete ${r.id}`);
        if (reply !== 'DELETED') {
          problems.push(`jid ${r.key}: delete ${r.id} answered ${reply}`);
          continue;
        }
      }
      gone.push(r.key);
    }
    this.history.remove(gone);
    this.cluster().armLive();
    const out: RqOutput[] = [{ text: `deleted: ${gone.length}\n${gone.length && gone.length <= 50 ? `jids: [${gone.join(', ')}]\n` : ''}` }];
    for (const p of problems) out.push({ text: p, error: true });
    return out;
  }

  // ---- feed ---------------------------------------------------------------------------------------

  private feed(args: string[]): RqOutput[] {
    const n = args.length ? Number(args[0]) : 2;
    if (args.length > 1 || !Number.isInteger(n) || n < 1 || n > 64) throw new RqError(`rq feed N: N must be a whole number from 1 to 64, got "${args.join(' ')}"`);
    const cluster = this.cluster();
    const names = new Set([...cluster.nodes.values()].map((x) => x.name));
    const started: string[] = [];
    for (let i = 1; started.length < n; i++) {
      const name = `feeder ${i}`;
      if (names.has(name)) continue;
      cluster.addNode(name, { role: 'worker', worker: FEEDER });
      started.push(name);
    }
    return [{ text: `started: [${started.join(', ')}]\nwatching: ${RQ_TUBE}\n` }];
  }

  // ---- submit -------------------------------------------------------------------------------------

  /** Parses every job first: one bad line and nothing is submitted. */
  private submitText(text: string): RqOutput[] {
    const trimmed = text.trim();
    if (!trimmed) throw new RqError('rq submit: no jobs given');
    if (/^(-|---)(\s|$)/.test(trimmed) || trimmed.startsWith('[')) return this.submit(this.parseYamlJobs(trimmed));
    const jobs: Submission[] = [];
    for (const [i, line] of trimmed.split('\n').entries()) {
      if (!line.trim()) continue;
      const { copies, count } = this.parseJobLine(line, `line ${i + 1}`);
      if (jobs.length + count > MAX_SUBMIT) throw new RqError(tooMany(jobs.length + count));
      for (let copy = 0; copy < count; copy++) jobs.push(copies(jobs.length));
    }
    return this.submit(jobs);
  }

  private parseYamlJobs(text: string): Submission[] {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw new RqError(`rq submit: not valid YAML (${(e as Error).message.split('\n')[0]}); nothing submitted`);
    }
    if (!Array.isArray(doc)) throw new RqError('rq submit: the YAML must be a list of jobs; nothing submitted');
    let index = 0;
    return doc.flatMap((item, i) => {
      const where = `item ${i + 1}`;
      if (typeof item === 'string') {
        const { copies, count } = this.parseJobLine(item, where);
        if (count > MAX_SUBMIT) throw new RqError(tooMany(count));
        return Array.from({ length: count }, () => copies(index++));
      }
      if (item && typeof item === 'object' && !Array.isArray(item) && typeof (item as { command?: unknown }).command === 'string') {
        const o = item as Record<string, unknown>;
        const opt = (k: string, def: number) => {
          if (o[k] === undefined || o[k] === null) return def;
          if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k]) || (o[k] as number) < 0) throw new RqError(`rq submit: ${where}: ${k} must be a whole number >= 0; nothing submitted`);
          return o[k] as number;
        };
        index++;
        return [{ body: o.command as string, pri: opt('priority', 0), delay: 0, ttr: opt('ttr', DEFAULT_TTR_S), tube: typeof o.tube === 'string' ? o.tube : RQ_TUBE, tag: o.tag === null || o.tag === undefined ? null : String(o.tag) }];
      }
      throw new RqError(`rq submit: ${where}: expected a job line or a map with a "command" (as rq list prints); nothing submitted`);
    });
  }

  /**
   * `KIND [key=value ...]`: a task and its put options, and how many copies (count=). A copy is made
   * for its place in the whole submission: a `pi` job without seed= gets one of its own, so the lines
   * of one batch are independent samples too.
   */
  private parseJobLine(line: string, where: string): { copies: (index: number) => Submission; count: number } {
    const [kind, ...words] = line.trim().split(/\s+/);
    if (!['pi', 'busy', 'sleep', 'fail'].includes(kind)) throw new RqError(`rq submit: ${where}: unknown task "${kind}"; a job line starts with pi, busy, sleep or fail; nothing submitted`);
    const opts = new Map<string, string>();
    for (const w of words) {
      const eq = w.indexOf('=');
      if (eq <= 0) throw new RqError(`rq submit: ${where}: "${w}" is not KEY=VALUE; nothing submitted`);
      opts.set(w.slice(0, eq), w.slice(eq + 1));
    }
    const take = (key: string, def: number, max = Number.MAX_SAFE_INTEGER): number => {
      const v = opts.get(key);
      opts.delete(key);
      if (v === undefined) return def;
      if (!/^\d+$/.test(v) || Number(v) > max) throw new RqError(`rq submit: ${where}: ${key} must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got "${v}"; nothing submitted`);
      return Number(v);
    };
    const seq = this.submitted;
    let body: (index: number) => string;
    switch (kind) {
      case 'pi': {
        const darts = take('darts', 1_000_000);
        const seed = opts.has('seed') ? take('seed', 0) : null;
        body = (index) => encodeTask({ kind: 'pi', darts, seed: seed ?? (seq + index + 1) });
        break;
      }
      case 'busy':
      case 'sleep': {
        const ms = take('ms', kind === 'busy' ? 200 : 500);
        body = () => encodeTask({ kind, ms });
        break;
      }
      default:
        body = () => 'fail';
    }
    const pri = take('pri', 0, 4294967295);
    const ttr = take('ttr', DEFAULT_TTR_S);
    const delay = take('delay', 0);
    const count = take('count', 1);
    const tube = opts.get('tube') ?? RQ_TUBE;
    const tag = opts.get('tag') ?? null;
    opts.delete('tube');
    opts.delete('tag');
    if (opts.size) throw new RqError(`rq submit: ${where}: unknown option "${[...opts.keys()][0]}" for ${kind}; nothing submitted`);
    if (!/^[A-Za-z0-9\-+/;.$_()]{1,200}$/.test(tube) || tube.startsWith('-')) throw new RqError(`rq submit: ${where}: "${tube}" is not a tube name; nothing submitted`);
    if (count < 1) throw new RqError(`rq submit: ${where}: count must be at least 1; nothing submitted`);
    return { copies: (index) => ({ body: body(index), pri, delay, ttr: Math.max(1, ttr), tube, tag }), count };
  }

  private submit(jobs: Submission[]): RqOutput[] {
    const engine = this.cluster().engine;
    if (!engine) throw new RqError('rq submit: the queue server is down: restart it and submit again; nothing submitted');
    if (jobs.length > MAX_SUBMIT) throw new RqError(tooMany(jobs.length));
    const keys: number[] = [];
    let problem: string | null = null;
    for (const job of jobs) {
      this.conn.use(engine, job.tube);
      const reply = this.conn.command(engine, `put ${job.pri} ${job.delay} ${job.ttr} ${latin1Bytes(job.body).length}`, job.body);
      const m = /^INSERTED (\d+)$/.exec(reply);
      if (!m) {
        problem = `rq submit: the server answered ${reply} after ${keys.length} of ${jobs.length} jobs; the rest were not submitted`;
        break;
      }
      this.submitted++;
      const id = Number(m[1]);
      if (job.tag !== null) this.history.tag(id, job.tag);
      const r = this.history.byJobId(id);
      if (r) keys.push(r.key);
    }
    this.cluster().armLive();
    const records = keys.map((k) => this.history.get(k)).filter((r): r is JobRecord => r !== undefined);
    const out: RqOutput[] = [{ text: records.length <= 10 ? jobsYaml(records) : `submitted: ${records.length}\njids: ${records[0].key}-${records[records.length - 1].key}\n` }];
    if (problem) out.push({ text: problem, error: true });
    const tubes = new Set(jobs.map((j) => j.tube));
    for (const tube of tubes) {
      if (!this.workerWatches(tube)) out.push({ text: `nobody runs jobs from tube "${tube}" yet: rq feed 3 starts three feeders that do` });
    }
    return out;
  }

  /** Is a worker node (running, or about to connect) meant to reserve from this tube? */
  private workerWatches(tube: string): boolean {
    for (const n of this.cluster().nodes.values()) if (n.life !== 'dead' && n.config.role === 'worker' && n.config.worker.watch === tube) return true;
    return false;
  }
}

/** rq list prints records as YAML; a long list is cut short (the Jobs tab and its export show them all). */
function listing(records: JobRecord[]): string {
  if (records.length <= LIST_LIMIT) return jobsYaml(records);
  return `${jobsYaml(records.slice(0, LIST_LIMIT))}# … and ${records.length - LIST_LIMIT} more: narrow it with rq query, or export the list from the Jobs tab\n`;
}

/** A record submitted again (`rq list dead | rq submit`): its body, priority, tube and tag. */
function resubmission(r: JobRecord): Submission {
  return { body: r.command, pri: r.pri, delay: 0, ttr: Math.max(1, Math.round(r.ttr / 1000)), tube: r.tube, tag: r.tag };
}
