// What a remote node may ask the queue server: what the worker program (src/nodes/programs.ts) sends
// and nothing else, unless the host allows more. The host parses every command line with the shared
// codec (src/protocol/parse.ts) before the engine sees it, and asks the node's rules (one set per
// start of a remote node: the jobs it holds outlive its connections, since the seed's worker opens a
// new connection for every job).
// - `use` only the results tube, `watch` only the work tube; `ignore`, `reserve`,
//   `reserve-with-timeout` and `quit` as usual.
// - `delete`, `release`, `bury`, `touch` and `stats-job` only a job this connection holds reserved. The
//   one exception is the seed's failure path, kept for lesson 4: release a failed job, then delete it;
//   a connection may delete the job it released as long as nobody has reserved it since.
// - `put` only into the results tube, and at most one result per job the node has reserved.
// - Nothing else: `reserve-job`, `peek*`, `kick*`, `stats*`, `list-*`, `pause-tube` are the producer's
//   or the instructor's.
// A refused command about a job is answered NOT_FOUND, as beanstalkd answers a connection about a job
// another connection holds (so a worker sees what it would see from a real server whose job moved on,
// after its TTR say); any other refused command is answered UNKNOWN_COMMAND, and a refused put first
// has its body read and thrown away (see CommandPolicy).
import type { Command } from '../engine/command.ts';
import type { Connection } from '../engine/connection.ts';
import type { Job } from '../engine/job.ts';
import type { WorkerConfig } from '../nodes/messages.ts';

const ALWAYS: ReadonlySet<Command['op']> = new Set([
  'ignore',
  'reserve',
  'reserve-with-timeout',
  'quit',
  // Lines that do not parse still get beanstalkd's own answer.
  'bad-format',
  'unknown-command',
]);

const ON_HELD_JOB: ReadonlySet<Command['op']> = new Set(['delete', 'release', 'bury', 'touch', 'stats-job']);

/** One job the node has reserved: what it has done with it so far. */
interface Claim {
  job: Job;
  /** The job's reserve count when this node last reserved it: a new reservation changes it. */
  reserves: number;
  /** Released by this node (and not reserved by it again since). */
  released: boolean;
  deleted: boolean;
  /** Its task's outcome was reported, for this reservation. */
  reported: boolean;
  /** Its one result was put. */
  resultPut: boolean;
}

/** Claims one node keeps at most: a worker holds one job at a time; the oldest settled ones go first. */
const MAX_CLAIMS = 64;

/** The rules of one start of a remote worker node, and the jobs it has reserved (its claims). */
export class RemoteNodeRules {
  /** The node's connections to the queue server (each has sent at least one command). */
  private readonly conns = new Set<Connection>();
  /** By job id, oldest first. */
  private readonly claims = new Map<number, Claim>();

  constructor(private readonly worker: WorkerConfig) {}

  /**
   * The CommandPolicy of the node's connections: true runs the command, NOT_FOUND or false
   * (UNKNOWN_COMMAND) refuses it. `all`: the host lets remote nodes run every command.
   */
  allows(cmd: Command, conn: Connection, all: boolean): boolean | 'NOT_FOUND' {
    this.conns.add(conn);
    this.noteReservations();
    if (all) return true;
    if (ALWAYS.has(cmd.op)) return true;
    if (ON_HELD_JOB.has(cmd.op)) {
      const id = (cmd as { id: number }).id;
      const claim = this.claims.get(id);
      const held = claim !== undefined && claim.job.state === 'reserved' && claim.job.reserver === conn;
      if (cmd.op === 'delete' && claim && (held || this.releasedUntouched(claim))) {
        claim.deleted = true;
        this.settle(id, claim);
        return true;
      }
      if (!held) return 'NOT_FOUND';
      if (cmd.op === 'release') claim.released = true;
      return true;
    }
    switch (cmd.op) {
      case 'use':
        return cmd.tube === this.worker.use;
      case 'watch':
        return cmd.tube === this.worker.watch;
      case 'put':
        return conn.use.name === this.worker.use && this.worker.putResults !== false && this.takeResult(conn);
      default:
        return false;
    }
  }

  /**
   * Takes note of the jobs the node's connections hold now. Called on every command and every reply
   * the node is sent, so each reservation is seen when its RESERVED goes out, even if its TTR runs out
   * before the node's next command.
   */
  noteReservations(): void {
    for (const c of this.conns) {
      for (const job of c.reserved) {
        const claim = this.claims.get(job.id);
        if (claim?.job === job && claim.reserves === job.reserveCount) continue;
        if (claim?.job === job) {
          // This node reserved the same job again (it was released, or its TTR ran out): a new attempt, the same one result.
          Object.assign(claim, { reserves: job.reserveCount, released: false, deleted: false, reported: false });
        } else {
          this.claims.delete(job.id);
          this.claims.set(job.id, { job, reserves: job.reserveCount, released: false, deleted: false, reported: false, resultPut: false });
        }
      }
      if (c.closed) this.conns.delete(c);
    }
    if (this.claims.size > MAX_CLAIMS) {
      for (const [id, claim] of this.claims) {
        if (this.claims.size <= MAX_CLAIMS) break;
        if (claim.job.state !== 'reserved' || !this.conns.has(claim.job.reserver!)) this.claims.delete(id);
      }
    }
  }

  /** Why a report of job `id`'s outcome is refused, or null: only for a job the node reserved, once per reservation. */
  refuseReport(id: number): string | null {
    this.noteReservations();
    const claim = this.claims.get(id);
    if (!claim) return `reported job ${id}, which its node did not reserve`;
    if (claim.reported) return `reported job ${id} twice`;
    claim.reported = true;
    this.settle(id, claim);
    return null;
  }

  /** The job was released by this node and nobody has reserved it since (the seed's release-then-delete). */
  private releasedUntouched(claim: Claim): boolean {
    return claim.released && !claim.deleted && claim.job.state !== 'reserved' && claim.job.reserveCount === claim.reserves;
  }

  /** A result for a job of the node's that has none yet: the one `conn` holds, if it has none yet. */
  private takeResult(conn: Connection): boolean {
    const open = [...this.claims].filter(([, c]) => !c.resultPut);
    const [id, claim] = open.find(([, c]) => c.job.reserver === conn) ?? open[0] ?? [];
    if (!claim) return false;
    claim.resultPut = true;
    this.settle(id!, claim);
    return true;
  }

  /** A job deleted and reported has nothing left to claim (its result, if any, comes before its delete). */
  private settle(id: number, claim: Claim): void {
    if (claim.deleted && claim.reported && (claim.resultPut || this.worker.putResults === false)) this.claims.delete(id);
  }
}
