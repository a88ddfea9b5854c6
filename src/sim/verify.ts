// Result checking. A node can give any result it likes (a joined tab that answers hits = darts for every
// π job makes π ≈ 4) and the queue cannot tell: beanstalkd carries bytes, not truth. Volunteer-computing
// projects (BOINC, SETI@home) answer with redundancy: run some jobs twice, on different machines, and
// compare. The checker does that for a chosen fraction of the jobs. It takes the job's task from the
// queue server (the body the engine held, not the node's word) and the node's result from what the node
// put into the results tube while it held the job (or, for a worker that puts none, what it reported);
// it asks another node, on another machine where there is one, to compute the same task outside the
// queue — nothing is put, so the producer sums nothing twice — and compares the two exactly (π jobs are
// seeded: the same darts land in the same places). Each job is picked with probability `fraction`,
// seeded by the run's seed and the job's id: the chance of catching one bad job is the fraction
// verified, and the price, node time spent re-running, is about that fraction of the work.
import type { EngineEvent } from '../engine/events.ts';
import type { JobHistory, ResultVerdict } from '../history/history.ts';
import type { NodeReport } from '../nodes/messages.ts';
import { latin1 } from '../protocol/wire.ts';
import { decodeResult, decodeTask, encodeResult, type TaskSpec } from '../tasks/index.ts';
import { mulberry32 } from './rng.ts';
import type { NodeView } from './cluster.ts';

/** A node's answer to a rerun: the result text, as a worker puts it, or why it could not compute it. */
export type RerunAnswer = { ms: number; result: string } | { ms: number; error: string };

/** What the checker needs of the cluster. */
export interface CheckedCluster {
  readonly nodes: ReadonlyMap<number, NodeView>;
  readonly history: JobHistory;
  readonly clock: { now(): number };
  /** Asks node `id` to compute `spec` outside the queue; `answer` is called when it answers (or cannot). */
  rerun(id: number, spec: TaskSpec, answer: (a: RerunAnswer) => void): void;
  /** Told of a node caught by two other nodes' re-runs (the simulator's verify setting excludes it). */
  excludeCheater?(check: JobCheck): void;
}

/** One picked job's check. */
export interface JobCheck {
  /** beanstalkd's job id, and its record in the history. */
  job: number;
  record: number | null;
  /** The node whose result is checked. */
  node: string;
  nodeId: number;
  /** Its result: what it put into the results tube (or reported). */
  claimed: string;
  /** The node that re-ran the task, and what it got. */
  checker: string | null;
  rerun: string | null;
  verdict: 'pending' | 'agreed' | 'disagreed' | 'unchecked';
  /** Why it could not be checked. */
  why?: string;
  /** The re-run's computing time, ms (virtual ms in virtual time). */
  ms: number;
}

/** One node's checks: of its results, and re-runs it did for others. */
export interface NodeChecks {
  agreed: number;
  disagreed: number;
  reruns: number;
  rerunMs: number;
}

/** A picked job the checker follows from its reserve to its delete. */
interface Held {
  job: number;
  record: number | null;
  /** The engine connection that holds it. */
  conn: number | null;
  node: NodeView;
  body: string;
  /** What that connection put meanwhile (the job's result, for the seed's worker). */
  put: string | null;
}

/** Whether job `job` of a run seeded `seed` is re-run at `fraction`: independent of the order jobs come in. */
export function pickedForCheck(seed: number, job: number, fraction: number): boolean {
  return fraction > 0 && mulberry32(Math.imul(seed >>> 0, 0x9e3779b1) ^ job)() < fraction;
}

/** The result text in the one form a worker writes it; text that is no result stays as it is (and matches none). */
function canonical(result: string): string {
  try {
    return encodeResult(decodeResult(result));
  } catch {
    return result;
  }
}

export class ResultChecker {
  /** Share of the jobs re-run on a second node (0: off). */
  fraction = 0;
  /** Told of every disagreement (the room can exclude the node). */
  onDisagree: ((check: JobCheck) => void) | null = null;
  /** Every picked job's check, in the order their results came. */
  readonly checks: JobCheck[] = [];
  /** The price: jobs done, and the re-runs with their computing time (ms; virtual ms in virtual time). */
  readonly work = { jobs: 0, reruns: 0, rerunMs: 0 };
  private readonly nodes = new Map<number, NodeChecks>();
  private readonly held = new Map<number, Held>();
  /** Picked jobs deleted without a result put: their node's report brings it. */
  private readonly awaitingReport = new Map<number, Held>();
  /** Round robin over the nodes that can re-run a job. */
  private turn = 0;

  constructor(
    private readonly cluster: CheckedCluster,
    private readonly seed: number,
    private readonly changed: () => void,
  ) {}

  /** A node's checks (all zero if it has none). */
  node(id: number): NodeChecks {
    return this.nodes.get(id) ?? { agreed: 0, disagreed: 0, reruns: 0, rerunMs: 0 };
  }

  /** Checks by verdict. */
  get totals(): Record<JobCheck['verdict'], number> {
    const t = { pending: 0, agreed: 0, disagreed: 0, unchecked: 0 };
    for (const c of this.checks) t[c.verdict]++;
    return t;
  }

  /** The queue server restarted: its connection numbers start again, and the jobs it held are another story. */
  serverRestarted(): void {
    this.held.clear();
  }

  /** The engine's event (after the history has it); `body` reads a job the engine still holds. */
  apply(e: EngineEvent, body: (id: number) => Uint8Array | null): void {
    if (e.kind !== 'job' || (this.fraction === 0 && this.held.size === 0)) return;
    switch (e.action) {
      case 'reserved': {
        if (!pickedForCheck(this.seed, e.id, this.fraction)) return;
        const record = this.cluster.history.byJobId(e.id);
        const node = this.nodeNamed(record?.runner ?? null);
        const bytes = body(e.id);
        // The producer reserves results too: only a worker's job is a task to check.
        if (node?.role !== 'worker' || !bytes) return;
        this.held.set(e.id, { job: e.id, record: record?.key ?? null, conn: e.conn, node, body: latin1(bytes), put: null });
        return;
      }
      case 'put': {
        if (e.conn === null) return;
        const bytes = body(e.id);
        for (const h of this.held.values()) if (h.conn === e.conn && h.put === null && bytes) h.put = latin1(bytes);
        return;
      }
      case 'deleted': {
        const h = this.held.get(e.id);
        if (!h || h.conn !== e.conn) return;
        this.held.delete(e.id);
        if (h.put !== null) this.check(h, h.put);
        else this.awaitingReport.set(e.id, h);
        return;
      }
      case 'released':
      case 'buried':
      case 'timed-out':
      case 'returned':
        // This attempt gave no result; a later one may be picked again.
        this.held.delete(e.id);
        return;
    }
  }

  /** A node's report (after the history has it): jobs done, for the price, and the result of a job that put none. */
  report(node: NodeView, r: NodeReport): void {
    if (r.kind === 'task-failed') this.awaitingReport.delete(r.job);
    if (r.kind !== 'task-done') return;
    this.work.jobs++;
    const h = this.awaitingReport.get(r.job);
    if (h?.node !== node) return;
    this.awaitingReport.delete(r.job);
    this.check(h, r.result ?? '');
  }

  private nodeNamed(name: string | null): NodeView | undefined {
    if (name === null) return undefined;
    for (const n of this.cluster.nodes.values()) if (n.name === name) return n;
    return undefined;
  }

  private count(id: number): NodeChecks {
    let c = this.nodes.get(id);
    if (!c) this.nodes.set(id, (c = { agreed: 0, disagreed: 0, reruns: 0, rerunMs: 0 }));
    return c;
  }

  /**
   * A node to re-run a job of `producer` on: a running worker on none of the machines of `producer` and
   * `besides` (a joiner's slots share its browser), never one caught disagreeing; remote nodes first (the
   * room spares the host's cores), taken in turn.
   */
  private checkerFor(producer: NodeView, besides: NodeView[] = []): NodeView | null {
    const apart = [producer, ...besides];
    const others = [...this.cluster.nodes.values()].filter(
      (n) => n.role === 'worker' && n.life === 'running' && this.node(n.id).disagreed === 0 && apart.every((x) => x.id !== n.id && !(x.remote && n.remote?.peer === x.remote.peer)),
    );
    const remote = others.filter((n) => n.remote);
    const pool = remote.length ? remote : others;
    return pool.length ? pool[this.turn++ % pool.length] : null;
  }

  /**
   * Re-runs `spec` on `on`, counting the price; `then` gets the answer as the cluster handles it, not a
   * microtask later, so what follows (a third re-run, an exclusion) falls at the same event in a replay.
   */
  private rerunOn(on: NodeView, spec: TaskSpec, then: (answer: RerunAnswer) => void): void {
    this.cluster.rerun(on.id, spec, (answer) => {
      this.work.reruns++;
      this.work.rerunMs += answer.ms;
      const by = this.count(on.id);
      by.reruns++;
      by.rerunMs += answer.ms;
      then(answer);
    });
  }

  private check(h: Held, claimed: string): void {
    const c: JobCheck = { job: h.job, record: h.record, node: h.node.name, nodeId: h.node.id, claimed, checker: null, rerun: null, verdict: 'pending', ms: 0 };
    this.checks.push(c);
    let spec: TaskSpec;
    try {
      spec = decodeTask(h.body);
    } catch (err) {
      return this.unchecked(c, `its body is not a task another node can run alone (${(err as Error).message})`);
    }
    const other = this.checkerFor(h.node);
    if (!other) return this.unchecked(c, 'no other node to re-run it on');
    c.checker = other.name;
    this.changed();
    this.rerunOn(other, spec, (answer) => {
      c.ms = answer.ms;
      if ('error' in answer) return this.unchecked(c, `${other.name} could not re-run it: ${answer.error}`);
      c.rerun = answer.result;
      const given = canonical(claimed);
      if (given === answer.result) return this.verdict(c, 'agreed', { verdict: 'agreed', by: other.name, claimed, rerun: answer.result });
      // One of the two is wrong, and a re-run can lie as well as a result: a third machine's re-run, where
      // there is one, says which.
      const third = this.checkerFor(h.node, [other]);
      const disagreed = (confirmedBy?: string) => {
        this.verdict(c, 'disagreed', { verdict: 'disagreed', by: other.name, claimed, rerun: answer.result, confirmedBy });
        // Two results that disagree do not say which is wrong: a node is excluded only when a third agrees.
        if (confirmedBy) this.cluster.excludeCheater?.(c);
      };
      if (!third) return disagreed();
      this.rerunOn(third, spec, (tie) => {
        if ('error' in tie) return disagreed();
        if (tie.result === answer.result) return disagreed(third.name);
        if (tie.result !== given) return disagreed();
        c.checker = third.name;
        c.rerun = tie.result;
        c.ms += tie.ms;
        this.verdict(c, 'agreed', { verdict: 'agreed', by: third.name, claimed, rerun: tie.result, overruled: { by: other.name, rerun: answer.result } });
        // The first re-run was the bad result: its node is caught.
        const lie: JobCheck = { ...c, node: other.name, nodeId: other.id, claimed: answer.result, verdict: 'disagreed' };
        this.count(other.id).disagreed++;
        this.onDisagree?.(lie);
        this.cluster.excludeCheater?.(lie);
        this.changed();
      });
    });
  }

  private verdict(c: JobCheck, verdict: 'agreed' | 'disagreed', v: ResultVerdict): void {
    c.verdict = verdict;
    this.count(c.nodeId)[verdict]++;
    if (c.record !== null) this.cluster.history.checked(c.record, v, this.cluster.clock.now());
    if (verdict === 'disagreed') this.onDisagree?.(c);
    this.changed();
  }

  private unchecked(c: JobCheck, why: string): void {
    c.verdict = 'unchecked';
    c.why = why;
    if (c.record !== null) this.cluster.history.checked(c.record, { verdict: 'unchecked', why }, this.cluster.clock.now());
    this.changed();
  }
}
