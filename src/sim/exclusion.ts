// What excluding a cheater undoes. When the result check (verify.ts) catches a node, every result it
// gave is suspect, not only the one caught: the producer must drop all the result jobs the node put, and
// the tasks it finished must run again on honest nodes. This book keeps, from the engine's events, each
// node's finished tasks (their bodies, read when it reserved them) and the jobs it put; a task it still
// holds comes back by itself when its connections close.
import type { EngineEvent } from '../engine/events.ts';

/** A task to put again: the job as it was put. */
export interface RequeuedTask {
  tube: string;
  pri: number;
  ttr: number;
  body: Uint8Array;
}

interface NodeWork {
  /** Jobs the node put (a worker's are its results). */
  put: number[];
  /** Tasks it reserved and deleted: finished. */
  finished: RequeuedTask[];
}

/**
 * Kept as flat lists of records that never change once written, so time travel's checkpoints share them
 * from one checkpoint to the next (checkpoint.ts) instead of copying every node's whole work each time.
 */
export class WorkBook {
  /** Jobs put, and by which node. */
  private puts: { node: number; job: number }[] = [];
  /** Tasks finished, and by which node. */
  private finished: { node: number; task: RequeuedTask }[] = [];
  /** Jobs reserved now, by job id: the node holding it and the task. */
  private held = new Map<number, { node: number; task: RequeuedTask }>();

  /** The engine's event; `node` names the node behind a connection, `body` reads a job the engine holds. */
  apply(e: EngineEvent, node: (conn: number) => number | undefined, body: (id: number) => Uint8Array | null): void {
    if (e.kind !== 'job') return;
    const by = e.conn === null ? undefined : node(e.conn);
    switch (e.action) {
      case 'put':
        if (by !== undefined) this.puts.push({ node: by, job: e.id });
        return;
      case 'reserved': {
        const bytes = body(e.id);
        if (by !== undefined && bytes) this.held.set(e.id, { node: by, task: { tube: e.tube, pri: e.pri, ttr: e.ttr, body: bytes.slice() } });
        return;
      }
      case 'deleted': {
        const h = this.held.get(e.id);
        this.held.delete(e.id);
        if (h && h.node === by) this.finished.push(h);
        return;
      }
      case 'released':
      case 'buried':
      case 'timed-out':
      case 'returned':
        this.held.delete(e.id);
        return;
    }
  }

  /** The queue server restarted: the jobs it held are gone or recovered without their holders. */
  serverRestarted(): void {
    this.held.clear();
  }

  /** Node `node`'s work, taken out of the book: the jobs it put and the tasks it finished. */
  take(node: number): NodeWork {
    const w: NodeWork = { put: this.puts.filter((p) => p.node === node).map((p) => p.job), finished: this.finished.filter((f) => f.node === node).map((f) => f.task) };
    this.puts = this.puts.filter((p) => p.node !== node);
    this.finished = this.finished.filter((f) => f.node !== node);
    return w;
  }
}
