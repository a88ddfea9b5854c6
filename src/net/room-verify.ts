// The room's 'verify results' setting. The check itself belongs to the cluster (src/sim/verify.ts: it
// works on any node, local or remote); the room keeps the setting across runs, giving it to every fresh
// run of the lab, and excludes a joiner whose result disagreed with a re-run: by the host's click, or at
// once if the host asked for that.
import type { NodeLife, RemoteLink } from '../nodes/process.ts';
import type { JobCheck, ResultChecker } from '../sim/verify.ts';

/** The shares of the jobs the room panel offers to re-run (0: off). */
export const VERIFY_FRACTIONS = [0, 0.1, 0.25, 0.5, 1] as const;

/** What the setting needs of the lab's cluster. */
export interface VerifiedCluster {
  readonly checker: ResultChecker;
  readonly nodes: ReadonlyMap<number, { life: NodeLife; remote?: RemoteLink }>;
  /** Drops the results node `id` put and puts its finished tasks again. */
  undoWork(id: number): void;
}

interface Room {
  cluster(): VerifiedCluster;
  peers(): readonly { no: number; link: RemoteLink; state: string }[];
  kick(no: number, reason: string): void;
}

export class RoomVerification {
  /** Share of the jobs re-run on a second node. */
  fraction = 0;
  /** Exclude a joiner as soon as one of its results disagrees. */
  excludeOnDisagreement = false;

  constructor(private readonly room: Room) {}

  set(fraction: number): void {
    this.fraction = fraction;
    this.apply();
  }

  /** Gives the setting to the lab's current run (a fresh run starts with the check off). */
  apply(): void {
    const checker = this.room.cluster().checker;
    checker.fraction = this.fraction;
    checker.onDisagree = (c) => {
      if (this.excludeOnDisagreement) this.exclude(c.nodeId, c);
    };
  }

  /** The joiner whose slot is node `id` of the lab's run, while it is in the room. */
  joinerOf(id: number): number | null {
    const link = this.room.cluster().nodes.get(id)?.remote;
    return this.room.peers().find((p) => p.link === link && p.state !== 'gone')?.no ?? null;
  }

  /**
   * Removes the joiner of node `id` (its jobs come back at once), and undoes its nodes' work: the
   * producer drops their results and their finished tasks run again; false if the node is no joiner's.
   */
  exclude(id: number, why?: JobCheck): boolean {
    const no = this.joinerOf(id);
    if (no === null) return false;
    const cluster = this.room.cluster();
    const link = cluster.nodes.get(id)?.remote;
    for (const [slot, n] of cluster.nodes) if (n.remote === link) cluster.undoWork(slot);
    this.room.kick(no, why ? `excluded by the host: its result for job ${why.job} disagreed with a re-run on ${why.checker}` : 'excluded by the host: its results disagreed with re-runs');
    return true;
  }
}
