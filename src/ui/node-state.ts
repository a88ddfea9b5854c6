// What a node is doing, in the words a student reads on its card and in the inspector.
import type { Cluster, NodeView } from '../sim/cluster.ts';
import type { TraceEntry } from '../sim/run-record.ts';
import type { NodeReport } from '../nodes/messages.ts';

/** A short phrase for a compact card, one that fits beside the name on a full card, and (for the
 * inspector) what it means. */
export interface NodeStateText {
  short: string;
  long: string;
  explain?: string;
  /** The kind of activity, for the card's styling. */
  tone: 'busy' | 'waiting' | 'idle' | 'dead' | 'hung' | 'done' | 'failed';
}

const lastByCluster = new WeakMap<Cluster, { seen: number; last: Map<number, TraceEntry> }>();

/** Each node's latest protocol message in the run so far (kept up to date incrementally). */
export function lastMessages(cluster: Cluster): Map<number, TraceEntry> {
  let index = lastByCluster.get(cluster);
  if (!index) {
    index = { seen: 0, last: new Map() };
    lastByCluster.set(cluster, index);
  }
  const trace = cluster.trace;
  for (let i = index.seen; i < trace.length; i++) {
    const e = trace.get(i)!;
    if (e.node !== undefined) index.last.set(e.node, e);
  }
  index.seen = trace.length;
  return index.last;
}

/**
 * What the node is doing at the cluster's current (virtual) instant. A node reports its status as
 * soon as it changes in real time, which in virtual time can be ahead of the clock: a worker whose
 * modelled computation still runs has already said it is sending the result. Its messages, though,
 * are processed at their virtual instants, so while the last one it got is still the RESERVED of
 * that job, it is working on it. `holdsJob`: the job in its status is still reserved by it (a hung
 * node's job goes back to the queue when its TTR runs out).
 */
export function nodeState(n: NodeView, last?: TraceEntry, holdsJob = true): NodeStateText {
  const { job, detail } = n.status;
  let state = n.status.state;
  if (state === 'sending' && job !== undefined && last?.kind === 'to-node' && last.job === job) state = 'working';
  if (n.life === 'dead') {
    return {
      short: 'dead',
      long: detail && detail !== 'killed' ? `dead: ${detail}` : 'dead (killed)',
      explain: 'Its process is gone and its connections closed, so the server put any job it held back in the ready queue at once.',
      tone: 'dead',
    };
  }
  if (n.life === 'hung') {
    return {
      short: 'hung',
      long: job !== undefined && holdsJob ? `hung, holding job ${job}` : 'hung',
      explain: 'It stopped making progress but its connection stays open: the server gives its job to another worker only when the TTR runs out.',
      tone: 'hung',
    };
  }
  const producer = n.role === 'producer';
  switch (state) {
    case 'starting':
      return { short: 'starting', long: 'starting', tone: 'idle' };
    case 'connecting':
      return { short: 'connecting', long: 'connecting', tone: 'idle' };
    case 'idle':
      return { short: 'idle', long: detail ? `idle (${detail})` : 'idle', tone: 'idle' };
    case 'waiting':
      if (producer) return { short: 'waiting', long: detail ?? 'waiting for results', explain: 'Blocked in `reserve` on the results tube, collecting one result per job.', tone: 'waiting' };
      return { short: 'reserve…', long: 'waiting in reserve', explain: 'Blocked in `reserve` until the server hands it a job.', tone: 'waiting' };
    case 'working':
      return { short: `job ${job}`, long: `working on job ${job}`, tone: 'busy' };
    case 'sending':
      if (producer) return { short: 'putting', long: detail ?? 'putting jobs', tone: 'busy' };
      return { short: `job ${job} ✓`, long: `finishing job ${job}`, explain: 'It puts the result in the results tube, then deletes the job.', tone: 'busy' };
    case 'sleeping':
      return { short: 'sleeping', long: detail ? `sleeping: ${detail}` : 'sleeping', tone: 'waiting' };
    case 'done':
      return { short: 'done', long: 'done', tone: 'done' };
    case 'failed':
      return { short: 'failed', long: detail ? `failed: ${detail}` : 'failed', tone: 'failed' };
  }
}

/** Whether the server still has job `id` reserved by one of the node's connections. */
export function holdsJob(cluster: Cluster, n: NodeView): boolean {
  const id = n.status.job;
  const reserver = id === undefined ? null : cluster.engine?.jobs.get(id)?.reserver;
  return !!reserver && cluster.ownerOf(reserver.id)?.node === n.id;
}

/** The π estimate a producer shows: its final line once done ("π ≈ 3.141612" + "in 1.52 s"), else the running estimate. */
export function piText(n: NodeView): { value: string; rest: string } | null {
  const final = n.status.state === 'done' ? /^(π ≈ \S+) (.*)$/.exec(n.status.detail ?? '') : null;
  if (final) return { value: final[1], rest: final[2] };
  let last: Extract<NodeReport, { kind: 'pi-progress' }> | null = null;
  for (let i = n.reports.length - 1; i >= 0 && !last; i--) {
    const r = n.reports[i];
    if (r.kind === 'pi-progress') last = r;
  }
  if (!last || last.darts === 0) return null;
  return { value: `π ≈ ${((4 * last.hits) / last.darts).toFixed(6)}`, rest: `(${last.received} of ${last.expected} results)` };
}

/** A producer's verdict on its combined result (C = A×B, the output sorted), once it has one, and how long the run took. */
export function resultCheck(n: NodeView): { ok: boolean; text: string; took: string } | null {
  for (let i = n.reports.length - 1; i >= 0; i--) {
    const r = n.reports[i];
    if (r.kind === 'producer-done') return r.check ? { ...r.check, took: `${r.results.length} jobs in ${r.seconds.toFixed(2)} s` } : null;
  }
  return null;
}

/** Sample sort's load balance: the smallest and largest bucket, and the largest against the mean. */
export function bucketText(n: NodeView): string | null {
  const r = n.reports.find((x): x is Extract<NodeReport, { kind: 'sort-buckets' }> => x.kind === 'sort-buckets');
  if (!r || !r.sizes.length) return null;
  const total = r.sizes.reduce((a, b) => a + b, 0);
  const largest = Math.max(...r.sizes);
  const mean = total / r.sizes.length;
  const fmt = (x: number) => x.toLocaleString('en-US');
  return `buckets: ${fmt(Math.min(...r.sizes))}–${fmt(largest)} values, largest ${mean ? (largest / mean).toFixed(2) : '–'}× the mean`;
}
