// Taking work: reserve, reserve-with-timeout, reserve-job (prot.c OP_RESERVE*, wait_for_job).
import type { Engine } from '../engine.ts';
import type { Connection } from '../connection.ts';
import type { Handler } from './index.ts';

function reserveOrWait(e: Engine, c: Connection, timeout: number): void {
  e.setWorker(c);
  // In its last second of TTR, with nothing ready in a watched tube, the worker is warned instead.
  if (e.deadlineSoon(c) && !e.hasReadyWatched(c)) {
    e.emitConn('deadline-soon', c);
    return e.reply(c, 'DEADLINE_SOON');
  }
  e.enqueueWaitingConn(c, timeout);
  e.processQueue();
}

export const reserveCommands = {
  reserve: (e, c) => reserveOrWait(e, c, -1),

  'reserve-with-timeout': (e, c, cmd) => reserveOrWait(e, c, cmd.timeout),

  'reserve-job': (e, c, cmd) => {
    const found = e.jobs.get(cmd.id);
    if (!found || found.state === 'reserved') return e.reply(c, 'NOT_FOUND');
    const j = e.removeReadyJob(found) ?? e.removeBuriedJob(found) ?? (e.removeDelayedJob(found) as NonNullable<typeof found>);
    e.setWorker(c);
    e.reserveJob(c, j);
    e.emitJob('reserved', j, c);
    e.reply(c, `RESERVED ${j.id} ${j.body.length}`, j.body);
  },
} satisfies { [K in 'reserve' | 'reserve-with-timeout' | 'reserve-job']: Handler<K> };
