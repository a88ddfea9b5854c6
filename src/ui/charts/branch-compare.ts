// Two branches of a run side by side, as plain data: what each run did, read from its record alone (a
// branch that is not on screen has no cluster, only its trace), and the rows the comparison panel shows.
import type { TraceEntry } from '../../sim/run-record.ts';

/** The failure injections a branch's actions count (restarts are recoveries, adding a node is not a failure). */
const FAILURES: ReadonlySet<string> = new Set(['kill', 'hang', 'slow', 'latency', 'drop', 'crash-server']);

/** What the comparison reads of a branch: its record, or the cluster extending it (its eventCount and trace). */
export interface BranchRun {
  readonly events: number;
  readonly trace: Iterable<TraceEntry>;
}

export interface BranchSummary {
  events: number;
  /** When the producer had deleted as many results as it put jobs (cluster ms), null if it has not. */
  completion: number | null;
  /** Jobs the workers reserved more than once (run again after a kill, a hang, a TTR). */
  rerun: number;
  /** Results the producer took from the queue. */
  results: number;
  /** 4 × hits / darts over the π results the producer took, null without any. */
  pi: number | null;
  /** The failures injected, as the branch list labels them ("hang worker 1"). */
  failures: string[];
}

/** What a branch's trace says it did; the producer is the node added with the producer's role. */
export function summarize(run: BranchRun): BranchSummary {
  const producers = new Set<number>();
  const reserved = new Map<number, number>();
  const failures: string[] = [];
  let jobs = 0;
  let deleted = 0;
  let results = 0;
  let darts = 0;
  let hits = 0;
  let completion: number | null = null;
  const fromProducer = (e: TraceEntry) => e.node !== undefined && producers.has(e.node);
  for (const e of run.trace) {
    if (e.kind === 'action') {
      if (e.action?.op === 'add-node' && e.action.config.role === 'producer' && e.node !== undefined) producers.add(e.node);
      if (e.action && FAILURES.has(e.action.op)) failures.push(e.text);
    } else if (e.kind === 'to-node' && fromProducer(e)) {
      if (e.text.startsWith('INSERTED ')) jobs++;
      else if (e.text === 'DELETED' && ++deleted === jobs && completion === null) completion = e.at;
      else if (e.job !== undefined) {
        results++;
        const pi = /⏎pi (\d+) (\d+)$/.exec(e.text);
        if (pi) {
          darts += Number(pi[1]);
          hits += Number(pi[2]);
        }
      }
    } else if (e.kind === 'to-node' && e.job !== undefined) {
      reserved.set(e.job, (reserved.get(e.job) ?? 0) + 1);
    }
  }
  let rerun = 0;
  for (const times of reserved.values()) if (times > 1) rerun++;
  return { events: run.events, completion, rerun, results, pi: darts > 0 ? (4 * hits) / darts : null, failures };
}

export interface CompareRow {
  /** What the row measures. */
  name: string;
  a: string;
  b: string;
  /** b − a, signed, in the row's unit; '' where there is nothing to subtract. */
  diff: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const signed = (x: number, text: (v: number) => string) => (x === 0 ? 'same' : `${x > 0 ? '+' : '−'}${text(Math.abs(x))}`);
const count = (n: number) => n.toLocaleString('en-US');

/** A numeric row: each side as text (a missing value as `missing`) and their difference when both are there. */
function row(name: string, a: number | null, b: number | null, text: (v: number) => string, missing: string): CompareRow {
  return { name, a: a === null ? missing : text(a), b: b === null ? missing : text(b), diff: a === null || b === null ? '' : signed(b - a, text) };
}

/** The comparison panel's rows for branches `a` and `b`: each one's figures and b − a (the π row once either has π results). */
export function compareRows(a: BranchSummary, b: BranchSummary): CompareRow[] {
  const failures = (s: BranchSummary) => (s.failures.length ? `${s.failures.length}: ${s.failures.join(', ')}` : 'none');
  return [
    row('producer done at', a.completion, b.completion, seconds, 'not done'),
    row('jobs run more than once', a.rerun, b.rerun, count, ''),
    ...(a.pi === null && b.pi === null ? [] : [row('π estimate', a.pi, b.pi, (v) => v.toFixed(6), 'no results')]),
    row('results received', a.results, b.results, count, ''),
    row('events', a.events, b.events, count, ''),
    { name: 'failures injected', a: failures(a), b: failures(b), diff: signed(b.failures.length - a.failures.length, count) },
  ];
}
