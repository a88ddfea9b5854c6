// Choosing and inspecting tubes: use, watch, ignore, list-*, stats-tube, pause-tube.
import type { Handler } from './index.ts';
import { formatTubeList, formatTubeStats } from '../stats.ts';

const text = new TextEncoder();

export const tubeCommands = {
  use: (e, c, cmd) => {
    const t = e.findOrMakeTube(cmd.tube);
    e.tubeRef(t); // held while the old tube is let go, as TUBE_ASSIGN does
    c.use.usingCount--;
    const old = c.use;
    c.use = t;
    e.tubeRef(t);
    e.tubeUnref(old);
    e.tubeUnref(t);
    t.usingCount++;
    e.reply(c, `USING ${t.name}`);
  },

  watch: (e, c, cmd) => {
    const t = e.findOrMakeTube(cmd.tube);
    e.tubeRef(t);
    if (!c.watch.contains(t)) c.watch.append(t);
    e.tubeUnref(t);
    e.reply(c, `WATCHING ${c.watch.length}`);
  },

  ignore: (e, c, cmd) => {
    const t = c.watch.items.find((w) => w.name === cmd.tube);
    if (t && c.watch.length < 2) return e.reply(c, 'NOT_IGNORED');
    if (t) c.watch.remove(t);
    e.reply(c, `WATCHING ${c.watch.length}`);
  },

  'list-tubes': (e, c) => {
    const body = text.encode(formatTubeList(e.tubes.items));
    e.reply(c, `OK ${body.length}`, body);
  },

  'list-tube-used': (e, c) => {
    e.reply(c, `USING ${c.use.name}`);
  },

  'list-tubes-watched': (e, c) => {
    const body = text.encode(formatTubeList(c.watch.items));
    e.reply(c, `OK ${body.length}`, body);
  },

  'stats-tube': (e, c, cmd) => {
    const t = e.findTube(cmd.tube);
    if (!t) return e.reply(c, 'NOT_FOUND');
    const body = text.encode(formatTubeStats(e, t));
    e.reply(c, `OK ${body.length}`, body);
  },

  'pause-tube': (e, c, cmd) => {
    if (!cmd.validName) return e.reply(c, 'BAD_FORMAT');
    const t = e.findTube(cmd.tube);
    if (!t) return e.reply(c, 'NOT_FOUND');
    // beanstalkd turns 0 into 1 ns so blocked workers wake at the next tick; 0 ms here does the same.
    e.pauseTube(t, cmd.delay);
    e.reply(c, 'PAUSED');
  },
} satisfies { [K in 'use' | 'watch' | 'ignore' | 'list-tubes' | 'list-tube-used' | 'list-tubes-watched' | 'stats-tube' | 'pause-tube']: Handler<K> };
