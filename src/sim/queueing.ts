// Queueing theory for lesson 12: the M/M/c queue's predictions (Erlang C) and the figures a run really
// shows, measured from the job history (put → first reserve is a job's wait in the queue). Times in the
// history are ms since the run started; what this module returns is in seconds, as a student reads it.
import type { JobRecord } from '../history/history.ts';
import type { NodeConfig, NodeReport } from '../nodes/messages.ts';
import type { Cluster } from './cluster.ts';

/** Offered load a = λS (in Erlangs) over c servers: the fraction of the time each worker is busy. */
export function utilisation(ratePerSecond: number, serviceSeconds: number, servers: number): number {
  return (ratePerSecond * serviceSeconds) / servers;
}

/**
 * Erlang's C formula: the probability that an arriving job finds all `servers` busy and waits, in an
 * M/M/c queue with offered load `load` = λS. 1 when ρ = load / c ≥ 1 (the queue grows without end).
 * Computed through Erlang B's recursion, B(k) = a·B(k−1) / (k + a·B(k−1)), which never forms the
 * factorials of the textbook sum, then C = B / (1 − ρ(1 − B)).
 */
export function erlangC(servers: number, load: number): number {
  if (!Number.isInteger(servers) || servers < 1) throw new Error(`Erlang C needs a whole number of servers ≥ 1, not ${servers}`);
  if (!Number.isFinite(load) || load < 0) throw new Error(`Erlang C needs an offered load ≥ 0, not ${load}`);
  const rho = load / servers;
  if (rho >= 1) return 1;
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (load * b) / (k + load * b);
  return b / (1 - rho * (1 - b));
}

/** The M/M/c mean wait in the queue, Wq = C(c, a) · S / (c − a), in seconds; Infinity when ρ ≥ 1. */
export function mmcMeanWait(ratePerSecond: number, serviceSeconds: number, servers: number): number {
  const load = ratePerSecond * serviceSeconds;
  if (load >= servers) return Infinity;
  return (erlangC(servers, load) * serviceSeconds) / (servers - load);
}

/** One job's passage through the queue: ms since the run started. */
export interface QueueVisit {
  put: number;
  /** Its first reserve: the end of its wait; null while it still waits. */
  reserved: number | null;
  /** Deleted (its work done); null until then. */
  deleted: number | null;
}

/** The visits of the jobs put into `tube`, in the order they were put (read from the job history). */
export function queueVisits(records: readonly JobRecord[], tube: string): QueueVisit[] {
  const out: QueueVisit[] = [];
  for (const r of records) {
    if (r.tube !== tube || r.imported) continue;
    const reserved = r.steps.find((s) => s.what === 'reserved')?.at ?? null;
    out.push({ put: r.submitted, reserved, deleted: r.queueState === 'deleted' ? r.finished : null });
  }
  return out.sort((a, b) => a.put - b.put);
}

/** What the run shows about its queue, up to `at` (ms since the start), from the first arrival on. */
export interface QueueFigures {
  /** Jobs put so far. */
  arrivals: number;
  /** Jobs reserved at least once (their wait is over). */
  served: number;
  /** Seconds from the first arrival to now: the window the averages cover. */
  seconds: number;
  /** Measured arrival rate λ: arrivals / seconds (per second). */
  arrivalRate: number;
  /** Mean wait W of the jobs served so far, put → first reserve (s); 0 before any. */
  meanWait: number;
  /** Time-averaged number of jobs waiting L over the window: the area under the queue length curve / seconds. */
  meanQueue: number;
  /** Mean service time as the queue saw it, first reserve → delete (s), of the jobs done; 0 before any. */
  meanService: number;
  /** The longest wait so far (s). */
  maxWait: number;
}

/**
 * The queue's figures at `at`. Little's law says L = λW; here it can be seen exactly: once every job
 * put has been served, the area under the queue-length curve is the sum of the waits, so L = λ·W to the
 * rounding. While jobs still wait the two differ by what those jobs have waited so far.
 */
export function queueFigures(visits: readonly QueueVisit[], at: number): QueueFigures {
  const arrived = visits.filter((v) => v.put <= at);
  const start = arrived[0]?.put ?? at;
  // Once every job that came has left, the window ends as the last one left: a finished run's figures
  // stay as they were while its clock runs on.
  let lastLeft = arrived.length ? 0 : Infinity;
  for (const v of arrived) lastLeft = Math.max(lastLeft, v.deleted !== null && v.deleted <= at ? v.deleted : Infinity);
  const now = Math.min(at, lastLeft);
  const span = Math.max(0, now - start);
  let area = 0;
  let waits = 0;
  let served = 0;
  let maxWait = 0;
  let service = 0;
  let done = 0;
  for (const v of arrived) {
    const end = v.reserved !== null && v.reserved <= now ? v.reserved : now;
    area += end - v.put;
    if (v.reserved !== null && v.reserved <= now) {
      served++;
      waits += v.reserved - v.put;
      maxWait = Math.max(maxWait, v.reserved - v.put);
      if (v.deleted !== null && v.deleted <= now) {
        done++;
        service += v.deleted - v.reserved;
      }
    }
  }
  const seconds = span / 1000;
  return {
    arrivals: arrived.length,
    served,
    seconds,
    arrivalRate: seconds > 0 ? arrived.length / seconds : 0,
    meanWait: served ? waits / served / 1000 : 0,
    meanQueue: span > 0 ? area / span : 0,
    meanService: done ? service / done / 1000 : 0,
    maxWait: maxWait / 1000,
  };
}

/** A finished queueing run, one point of the wait-against-ρ chart. */
export interface QueueingRunPoint {
  /** λ (per second), S (seconds), c: what the run was set up with. */
  rate: number;
  service: number;
  servers: number;
  /** ρ = λS / c. */
  rho: number;
  /** Measured mean wait (s) of its jobs. */
  meanWait: number;
  /** Its jobs, and the seed their times came from. */
  jobs: number;
  seed: number;
}

/** What a finished run of the Poisson producer measured, or null (another kind of run, or not done yet). */
export function queueingRunPoint(cluster: Cluster): QueueingRunPoint | null {
  let producer: { config: NodeConfig; reports: readonly NodeReport[] } | undefined;
  let servers = 0;
  for (const n of cluster.nodes.values()) {
    if (n.role === 'worker') servers++;
    else if ('poisson' in n.config) producer = n;
  }
  if (!producer || !('poisson' in producer.config) || !servers || !producer.reports.some((r) => r.kind === 'producer-done')) return null;
  const cfg = producer.config.poisson;
  const rate = cfg.perMinute / 60;
  const service = cfg.serviceMs / 1000;
  const figures = queueFigures(queueVisits(cluster.history.records, cfg.use), cluster.now);
  return { rate, service, servers, rho: utilisation(rate, service, servers), meanWait: figures.meanWait, jobs: cfg.jobs, seed: cfg.seed };
}

/** `runs` with `point` added, in place of an earlier run of the same set-up and seed (its latest measurement counts). */
export function withRunPoint(runs: readonly QueueingRunPoint[], point: QueueingRunPoint | null): QueueingRunPoint[] {
  if (!point) return [...runs];
  const same = (p: QueueingRunPoint) => p.rate === point.rate && p.service === point.service && p.servers === point.servers && p.jobs === point.jobs && p.seed === point.seed;
  return [...runs.filter((p) => !same(p)), point];
}
