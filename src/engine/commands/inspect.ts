// Looking at and reviving jobs: peek*, kick, kick-job, stats, stats-job; and the non-commands.
import type { Handler } from './index.ts';
import type { Job } from '../job.ts';
import type { Engine } from '../engine.ts';
import type { Connection } from '../connection.ts';
import { formatJobStats, formatStats } from '../stats.ts';

const text = new TextEncoder();

function found(e: Engine, c: Connection, j: Job | undefined): void {
  if (!j) return e.reply(c, 'NOT_FOUND');
  e.reply(c, `FOUND ${j.id} ${j.body.length}`, j.body);
}

function firstBuried(set: Set<Job>): Job | undefined {
  for (const j of set) return j;
  return undefined;
}

export const inspectCommands = {
  peek: (e, c, cmd) => {
    found(e, c, e.jobs.get(cmd.id));
  },
  'peek-ready': (e, c) => {
    found(e, c, c.use.ready.peek());
  },
  'peek-delayed': (e, c) => {
    found(e, c, c.use.delay.peek());
  },
  'peek-buried': (e, c) => {
    found(e, c, firstBuried(c.use.buried));
  },

  kick: (e, c, cmd) => {
    const t = c.use;
    let i = 0;
    // Buried jobs first, and only them; delayed jobs only when nothing is buried (kick_jobs). Kicking
    // stops when the binlog has no space for another kick (beanstalkd counts those it failed too).
    if (t.buried.size) {
      for (; i < cmd.bound && t.buried.size; i++) if (!e.kickBuriedJob(firstBuried(t.buried) as Job, c)) break;
    } else {
      for (; i < cmd.bound && t.delay.length; i++) if (!e.kickDelayedJob(t.delay.peek() as Job, c)) break;
    }
    e.reply(c, `KICKED ${i}`);
  },

  'kick-job': (e, c, cmd) => {
    const j = e.jobs.get(cmd.id);
    if (j?.state !== 'buried' && j?.state !== 'delayed') return e.reply(c, 'NOT_FOUND');
    // No binlog space for the kick: the job stays as it was (beanstalkd answers NOT_FOUND).
    if (!(j.state === 'buried' ? e.kickBuriedJob(j, c) : e.kickDelayedJob(j, c))) return e.reply(c, 'OUT_OF_MEMORY');
    e.reply(c, 'KICKED');
  },

  stats: (e, c) => {
    const body = text.encode(formatStats(e));
    e.reply(c, `OK ${body.length}`, body);
  },

  'stats-job': (e, c, cmd) => {
    const j = e.jobs.get(cmd.id);
    if (!j) return e.reply(c, 'NOT_FOUND');
    const body = text.encode(formatJobStats(e, j));
    e.reply(c, `OK ${body.length}`, body);
  },

  quit: (e, c) => e.close(c),
  'bad-format': (e, c) => e.reply(c, 'BAD_FORMAT'),
  'unknown-command': (e, c) => e.reply(c, 'UNKNOWN_COMMAND'),
} satisfies {
  [K in 'peek' | 'peek-ready' | 'peek-delayed' | 'peek-buried' | 'kick' | 'kick-job' | 'stats' | 'stats-job' | 'quit' | 'bad-format' | 'unknown-command']: Handler<K>;
};
