// The Jobs tab's picture of the history: filtering, sorting and the facets (states with their counts,
// nodes, tags, tubes) to filter by. Pure, so 100,000 records can be tested for speed in Node.
import { elapsed, RQ_STATES, type JobRecord, type RqState } from './history.ts';

export interface JobFilter {
  state: RqState | null;
  /** Matches the job's runner or its submitter. */
  node: string | null;
  tag: string | null;
  tube: string | null;
}

/** The beanstalkd state each rq state is drawn as (its colour and glyph in every view). */
export const RQ_STATE_FILL: Record<RqState, 'ready' | 'delayed' | 'reserved' | 'buried' | 'done'> = {
  pending: 'ready',
  holding: 'delayed',
  running: 'reserved',
  finished: 'done',
  dead: 'buried',
};

export const NO_FILTER: JobFilter = { state: null, node: null, tag: null, tube: null };

export const SORT_KEYS = ['jid', 'id', 'state', 'tube', 'priority', 'tag', 'submitted', 'elapsed', 'submitter', 'runner', 'tries', 'exit'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface Facets {
  counts: Record<RqState, number>;
  nodes: string[];
  tags: string[];
  tubes: string[];
}

type Value = number | string | null;

const SORT_VALUE: Record<SortKey, (r: JobRecord) => Value> = {
  jid: (r) => r.key,
  id: (r) => r.id,
  state: (r) => RQ_STATES.indexOf(r.state),
  tube: (r) => r.tube,
  priority: (r) => r.pri,
  tag: (r) => r.tag,
  submitted: (r) => r.submitted,
  elapsed: (r) => elapsed(r),
  submitter: (r) => r.submitter,
  runner: (r) => r.runner,
  tries: (r) => r.reserves,
  exit: (r) => r.exitStatus,
};

/** Unknowns (null) sort last in either direction; ties keep jid order. */
function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

export function filterJobs(records: readonly JobRecord[], f: JobFilter): JobRecord[] {
  if (!f.state && !f.node && !f.tag && !f.tube) return records.slice();
  return records.filter((r) => (!f.state || r.state === f.state) && (!f.node || r.runner === f.node || r.submitter === f.node) && (!f.tag || r.tag === f.tag) && (!f.tube || r.tube === f.tube));
}

export function sortJobs(records: JobRecord[], key: SortKey, descending: boolean): JobRecord[] {
  if (key === 'jid') return descending ? records.reverse() : records;
  const value = SORT_VALUE[key];
  // Decorate once: reading the key inside the comparator would repeat it n log n times.
  const decorated = records.map((r) => ({ r, v: value(r) }));
  decorated.sort((a, b) => {
    const c = a.v === null || b.v === null ? compare(a.v, b.v) : descending ? compare(b.v, a.v) : compare(a.v, b.v);
    return c || a.r.key - b.r.key;
  });
  return decorated.map((d) => d.r);
}

export function facets(records: readonly JobRecord[]): Facets {
  const counts = { pending: 0, holding: 0, running: 0, finished: 0, dead: 0 };
  const nodes = new Set<string>();
  const tags = new Set<string>();
  const tubes = new Set<string>();
  for (const r of records) {
    counts[r.state]++;
    if (r.runner) nodes.add(r.runner);
    if (r.submitter) nodes.add(r.submitter);
    if (r.tag) tags.add(r.tag);
    tubes.add(r.tube);
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { counts, nodes: sorted(nodes), tags: sorted(tags), tubes: sorted(tubes) };
}
