// The engine's event stream: what every picture in the app is drawn from.
import { describe, expect, test } from 'vitest';
import { lab } from './helpers.ts';
import type { EngineEvent, JobEvent } from '../../src/engine/events.ts';
import { QueueModel } from '../../src/sim/queue-model.ts';

function recorder(l: ReturnType<typeof lab>) {
  const events: EngineEvent[] = [];
  l.engine.subscribe((e) => events.push(e));
  const jobs = () => events.filter((e): e is JobEvent => e.kind === 'job').map((e) => `${e.action}:${e.id}:${e.state}`);
  return { events, jobs };
}

describe('engine events', () => {
  test('a job\'s whole life: put, reserved, released with delay, delay ended, reserved, buried, kicked, deleted', async () => {
    const l = lab();
    const r = recorder(l);
    const c = l.connect();
    await c.send('put 5 0 10 1', 'x');
    await c.send('reserve');
    await c.send('release 1 5 2');
    l.advance(2000);
    await c.send('reserve');
    await c.send('bury 1 0');
    await c.send('kick 1');
    await c.send('delete 1');
    expect(r.jobs()).toEqual([
      'put:1:ready',
      'reserved:1:reserved',
      'released:1:delayed',
      'delay-ended:1:ready',
      'reserved:1:reserved',
      'buried:1:buried',
      'kicked:1:ready',
      'deleted:1:deleted',
    ]);
  });

  test('TTR expiry and connection close are reported with the connection that lost the job', async () => {
    const l = lab();
    const r = recorder(l);
    const a = l.connect('worker a');
    const b = l.connect('worker b');
    await a.send('put 0 0 1 1', 'x');
    await a.send('put 0 0 60 1', 'y');
    await a.send('reserve-job 1');
    await b.send('reserve-job 2');
    l.advance(1000);
    b.session.destroy();
    const lost = r.events.filter((e): e is JobEvent => e.kind === 'job' && (e.action === 'timed-out' || e.action === 'returned'));
    expect(lost.map((e) => [e.action, e.id, e.conn])).toEqual([
      ['timed-out', 1, a.session.conn.id],
      ['returned', 2, b.session.conn.id],
    ]);
  });

  test('a job handed straight to a waiting worker is reported put before reserved', async () => {
    const l = lab();
    const r = recorder(l);
    const w = l.connect('worker');
    const p = l.connect('producer');
    const reserved = w.send('reserve');
    await p.send('put 0 0 60 1', 'z');
    expect(await reserved).toBe('RESERVED 1 1\nz');
    expect(r.jobs()).toEqual(['put:1:ready', 'reserved:1:reserved']);
    expect(r.events.filter((e) => e.kind === 'conn').map((e) => (e.kind === 'conn' ? e.action : ''))).toContain('wait-ended');
  });

  test('tubes, connections and wire lines are reported too', async () => {
    const l = lab();
    const r = recorder(l);
    const c = l.connect('console');
    expect(r.events).toEqual([{ kind: 'conn', action: 'opened', at: l.clock.now(), conn: c.session.conn.id, name: 'console' }]);
    r.events.length = 0;
    await c.send('use jobs');
    await c.send('pause-tube jobs 3');
    l.advance(3000);
    await c.send('use default');
    c.session.destroy();
    const kinds = r.events.map((e) => (e.kind === 'tube' ? `tube ${e.action} ${e.tube}` : e.kind === 'conn' ? `conn ${e.action}` : e.kind === 'wire' ? `${e.direction} ${e.line}` : ''));
    expect(kinds).toEqual([
      'in use jobs',
      'tube created jobs',
      'out USING jobs',
      'in pause-tube jobs 3',
      'tube paused jobs',
      'out PAUSED',
      'tube unpaused jobs',
      'in use default',
      'tube destroyed jobs',
      'out USING default',
      'conn closed',
    ]);
  });

  test('a QueueModel fed only by events agrees with the engine\'s own counts', async () => {
    const l = lab();
    const model = new QueueModel();
    l.engine.subscribe((e) => model.apply(e));
    const c = l.connect();
    for (let i = 0; i < 20; i++) await c.send(`put ${i % 3} ${i % 4 === 0 ? 5 : 0} 10 1`, 'j');
    for (let i = 0; i < 6; i++) await c.send('reserve-with-timeout 0');
    await c.send('bury 2 1');
    await c.send('delete 3');
    l.advance(5000);
    const stats = await c.send('stats');
    const n = (k: string) => Number(stats.match(new RegExp(`^${k}: (\\d+)$`, 'm'))![1]);
    expect(model.totals()).toEqual({ ready: n('current-jobs-ready'), delayed: n('current-jobs-delayed'), reserved: n('current-jobs-reserved'), buried: n('current-jobs-buried') });
    expect(model.list('default', 'ready').map((j) => j.pri)).toEqual([...model.list('default', 'ready').map((j) => j.pri)].sort((a, b) => a - b));
  });
});
