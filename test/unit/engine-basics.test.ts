import { describe, expect, test } from 'vitest';
import { lab, yamlField } from './helpers.ts';

describe('first contact: put, reserve, delete (the report\'s "testing the combination")', () => {
  test('a job goes in, comes out reserved, and is deleted', async () => {
    const l = lab();
    const c = l.connect();
    expect(await c.send('put 0 0 60 4', 'Job1')).toBe('INSERTED 1');
    expect(await c.send('reserve')).toBe('RESERVED 1 4\nJob1');
    expect(await c.send('delete 1')).toBe('DELETED');
    expect(await c.send('peek 1')).toBe('NOT_FOUND');
  });

  test('stats-job shows the layout of beanstalkd 1.12 byte for byte', async () => {
    const l = lab();
    const c = l.connect();
    await c.send('put 1500 0 30 3', 'abc');
    const r = await c.send('stats-job 1');
    expect(r).toBe(
      'OK 147\n---\nid: 1\ntube: default\nstate: ready\npri: 1500\nage: 0\ndelay: 0\nttr: 30\ntime-left: 0\nfile: 0\nreserves: 0\ntimeouts: 0\nreleases: 0\nburies: 0\nkicks: 0\n',
    );
  });

  test('stats-tube layout', async () => {
    const l = lab();
    const c = l.connect();
    await c.send('put 0 0 30 1', 'x');
    await c.send('reserve');
    expect(await c.send('stats-tube default')).toBe(
      'OK 265\n---\nname: default\ncurrent-jobs-urgent: 0\ncurrent-jobs-ready: 0\ncurrent-jobs-reserved: 1\ncurrent-jobs-delayed: 0\ncurrent-jobs-buried: 0\ntotal-jobs: 1\ncurrent-using: 1\ncurrent-watching: 1\ncurrent-waiting: 0\ncmd-delete: 0\ncmd-pause-tube: 0\npause: 0\npause-time-left: 0\n',
    );
  });

  test('TTR expiry returns the job to ready with timeouts +1', async () => {
    const l = lab();
    const c = l.connect();
    await c.send('put 0 0 1 1', 'x');
    expect(await c.send('reserve')).toBe('RESERVED 1 1\nx');
    l.advance(1000);
    const s = await c.send('stats-job 1');
    expect(yamlField(s, 'state')).toBe('ready');
    expect(yamlField(s, 'timeouts')).toBe('1');
    expect(await c.send('delete 1')).toBe('DELETED');
  });
});
