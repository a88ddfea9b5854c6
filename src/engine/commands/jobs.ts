// Commands on one job that a worker owns or any client can remove: delete, release, bury, touch.
import type { Handler } from './index.ts';

export const jobCommands = {
  delete: (e, c, cmd) => {
    const found = e.jobs.get(cmd.id);
    const j = e.removeReservedJob(c, found) ?? e.removeReadyJob(found) ?? e.removeBuriedJob(found) ?? e.removeDelayedJob(found);
    if (!j) return e.reply(c, 'NOT_FOUND');
    j.tube.totalDeleteCount++;
    if (e.log) {
      e.log.write(j, true);
      e.log.maintain();
    }
    e.emitJob('deleted', j, c, 'deleted');
    e.freeJob(j);
    e.reply(c, 'DELETED');
  },

  release: (e, c, cmd) => {
    const j = e.reservedBy(c, cmd.id);
    if (!j) return e.reply(c, 'NOT_FOUND');
    // A delay is logged: without binlog space the job stays reserved (beanstalkd loses it).
    if (cmd.delay > 0 && !e.reserveUpdate()) return e.reply(c, 'OUT_OF_MEMORY');
    e.removeReservedJob(c, j);
    j.pri = cmd.pri;
    j.delay = cmd.delay;
    j.releaseCount++;
    e.enqueueJob(j, cmd.delay, cmd.delay > 0, 'released', c);
    e.reply(c, 'RELEASED');
  },

  bury: (e, c, cmd) => {
    const j = e.reservedBy(c, cmd.id);
    if (!j) return e.reply(c, 'NOT_FOUND');
    // Without binlog space the job stays reserved (beanstalkd answers INTERNAL_ERROR and loses it).
    if (!e.reserveUpdate()) return e.reply(c, 'OUT_OF_MEMORY');
    e.removeReservedJob(c, j);
    j.pri = cmd.pri;
    e.buryJob(j, true);
    e.emitJob('buried', j, c);
    e.reply(c, 'BURIED');
  },

  touch: (e, c, cmd) => {
    const j = e.reservedBy(c, cmd.id);
    if (!j) return e.reply(c, 'NOT_FOUND');
    j.deadlineAt = e.now() + j.ttr;
    c.soonest = null;
    e.emitJob('touched', j, c);
    e.reply(c, 'TOUCHED');
  },
} satisfies Partial<{ [K in 'delete' | 'release' | 'bury' | 'touch']: Handler<K> }>;
