// rq's console commands against a real cluster in virtual time: each command, piping, and bad input
// (a clear error, nothing changed).
import { afterEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { MAX_SUBMIT, RQ_HELP, RqShell, type RqOutput } from '../../src/history/rq-commands.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

function lab() {
  const cluster = new Cluster({ seed: 4, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  const rq = new RqShell(() => cluster);
  /** Runs console lines; returns the last line's output as one text (errors prefixed "!"). */
  const run = (...lines: string[]) => {
    let out: RqOutput[] = [];
    for (const l of lines) out = rq.input(l);
    return out.map((o) => (o.error ? `! ${o.text}` : o.text)).join('');
  };
  const settle = () => cluster.runUntil(() => cluster.history.records.every((r) => (r.state === 'finished' || r.state === 'dead') && r.exitStatus !== null));
  return { cluster, rq, run, settle };
}

/** A finished batch: three π jobs tagged a, one sleep tagged b, one failing job tagged c. */
async function batch() {
  const l = lab();
  l.run('rq submit', 'pi darts=100000 count=3 tag=a', 'sleep ms=200 tag=b', 'fail tag=c', '');
  l.run('rq feed 2');
  await l.settle();
  return l;
}

describe('rq submit', () => {
  test('one job on the command line: put through rq\'s own connection, printed as rq prints a job', () => {
    const { cluster, run } = lab();
    const text = run('rq submit pi darts=5000 seed=3 tag=first pri=7 ttr=30');
    expect(text).toMatch(/\nnobody runs jobs from tube "rq" yet/);
    const out = parse(text.split('nobody')[0]);
    expect(out).toEqual([
      expect.objectContaining({ jid: 1, id: 1, priority: 7, state: 'pending', beanstalkd: 'ready', tube: 'rq', submitter: 'rq', tag: 'first', ttr: 30, command: 'pi 5000 3', started: null }),
    ]);
    expect(cluster.engine!.jobs.get(1)!.tube.name).toBe('rq');
  });

  test('multi-line: job lines until "." (or an empty line); count= repeats a job; a hint when nobody runs the tube', () => {
    const { cluster, rq, run } = lab();
    expect(run('rq submit')).toMatch(/one job per line/);
    expect(rq.owns('busy ms=10')).toBe(true);
    expect(run('busy ms=10 count=2')).toBe('');
    expect(run('sleep ms=20 tube=other')).toBe('');
    const out = run('.');
    expect(rq.collecting).toBeNull();
    expect(parse(out.split('nobody')[0]).map((j: { command: string; tube: string }) => `${j.command}@${j.tube}`)).toEqual(['busy 10@rq', 'busy 10@rq', 'sleep 20@other']);
    expect(out).toMatch(/nobody runs jobs from tube "rq" yet: rq feed 3/);
    expect(cluster.engine!.totalJobs).toBe(3);
  });

  test('a YAML list, as rq accepts: job lines or maps with a command (what rq list prints)', () => {
    const { cluster, run } = lab();
    run('rq submit', '- pi darts=1000 seed=1', '- command: sleep 5', '  priority: 3', '  tag: yaml', '.');
    expect(cluster.history.records.map((r) => [r.command, r.pri, r.tag])).toEqual([
      ['pi 1000 1', 0, null],
      ['sleep 5', 3, 'yaml'],
    ]);
  });

  test('pi jobs without seed= are independent samples: each job of a batch gets its own seed, in lines, count= and YAML, and later submits go on', () => {
    const { cluster, run } = lab();
    run('rq submit', 'pi darts=1000 tag=e', 'pi darts=1000 tag=e', 'pi darts=1000 count=2', 'pi darts=1000 seed=9', '.');
    run('rq submit', '- pi darts=1000', '- pi darts=1000', '.');
    run('rq submit pi darts=1000');
    expect(cluster.history.records.map((r) => r.command)).toEqual(['pi 1000 1', 'pi 1000 2', 'pi 1000 3', 'pi 1000 4', 'pi 1000 9', 'pi 1000 6', 'pi 1000 7', 'pi 1000 8']);
  });

  test('more than ten jobs print a summary', () => {
    const { run } = lab();
    expect(run('rq submit sleep ms=1 count=12')).toMatch(/^submitted: 12\njids: 1-12\n/);
  });

  test('bad input: malformed YAML, an unknown task, a bad option — a clear error and nothing submitted', () => {
    const { cluster, run } = lab();
    expect(run('rq submit', '- pi darts=10', '- [unclosed', '.')).toMatch(/^! rq submit: not valid YAML .*nothing submitted/);
    expect(run('rq submit', 'pi darts=10', 'compile everything', '.')).toBe('! rq submit: line 2: unknown task "compile"; a job line starts with pi, busy, sleep or fail; nothing submitted');
    expect(run('rq submit pi darts=ten')).toMatch(/^! rq submit: line 1: darts must be a whole number, got "ten"/);
    expect(run('rq submit pi colour=red')).toMatch(/unknown option "colour" for pi/);
    expect(run('rq submit busy 200')).toMatch(/"200" is not KEY=VALUE/);
    expect(run('rq submit sleep tube=-bad')).toMatch(/"-bad" is not a tube name/);
    expect(cluster.engine!.totalJobs).toBe(0);
    expect(cluster.history.records).toHaveLength(0);
  });

  test(`one submit puts at most ${MAX_SUBMIT} jobs (each is put at once in the page's thread): more is refused up front, naming the limit, nothing submitted`, () => {
    const { cluster, run } = lab();
    const refused = (n: number) => `! rq submit: ${n.toLocaleString('en')} jobs is more than one submit may put (10,000: each is put at once, and more would freeze the page); submit them in parts; nothing submitted`;
    expect(run('rq submit pi count=1000000')).toBe(refused(1_000_000));
    expect(run('rq submit', 'busy ms=1 count=6000', 'sleep ms=1 count=4001', '.')).toBe(refused(10_001));
    expect(run('rq submit', '- busy ms=1 count=10001', '.')).toBe(refused(10_001));
    expect(cluster.engine!.totalJobs).toBe(0);
    expect(cluster.history.records).toHaveLength(0);
    expect(run(`rq submit busy ms=1 count=${MAX_SUBMIT}`)).toMatch(/^submitted: 10000\njids: 1-10000\n/);
    expect(run('rq submit busy ms=1')).toMatch(/^- jid: 10001\n/);
    // Piped: what rq list gives is counted the same way.
    expect(run('rq list all | rq submit')).toBe(refused(10_001));
    expect(cluster.engine!.totalJobs).toBe(10_001);
  });

  test('the server down: refused, nothing submitted', () => {
    const { cluster, run } = lab();
    cluster.crashServer();
    expect(run('rq submit sleep')).toMatch(/^! rq submit: the queue server is down/);
    expect(cluster.history.records).toHaveLength(0);
  });
});

describe('rq status, list and query', () => {
  test('rq status: rq\'s layout in YAML, with the numbers of the run', async () => {
    const { run, cluster } = await batch();
    const text = run('rq status');
    expect(text).toMatch(/^jobs:\n {2}pending: 0\n {2}holding: 0\n {2}running: 0\n {2}finished: 4\n {2}dead: 1\n {2}total: 5\ntemporal:\n {2}pending:\n {4}earliest:\n/);
    const s = parse(text);
    expect(s.exit_status).toEqual({ successes: 4, failures: 1 });
    const finished = cluster.history.records.filter((r) => r.state === 'finished');
    const mean = finished.reduce((a, r) => a + (r.finished! - r.started!), 0) / finished.length;
    expect(s.performance.avg_time_per_job).toBeCloseTo(mean / 1000, 2);
    expect(s.temporal.dead.earliest.jid).toBe(5);
    expect(text).toMatch(/\n {2}dead:\n {4}earliest: \{ jid: 5, metric: finished, time: [\d.]+ \}\n/);
    expect(Object.keys(s.performance)).toEqual(['avg_time_per_job', 'n_jobs_in_last_1_s', 'n_jobs_in_last_10_s', 'n_jobs_in_last_60_s', 'n_jobs_in_last_600_s']);
  });

  test('rq list STATE takes rq\'s and beanstalkd\'s words', async () => {
    const { run } = await batch();
    expect(parse(run('rq list finished')).map((j: { jid: number }) => j.jid)).toEqual([1, 2, 3, 4]);
    const dead = parse(run('rq list dead'));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ jid: 5, state: 'dead', beanstalkd: 'buried', exit_status: 1, tag: 'c', command: 'fail' });
    expect(parse(run('rq list buried')).map((j: { jid: number }) => j.jid)).toEqual([5]);
    expect(parse(run('rq list'))).toHaveLength(5);
    expect(run('rq list pending')).toBe('[]\n');
  });

  test('rq query FIELD=VALUE, several conditions all holding', async () => {
    const { run } = await batch();
    expect(parse(run('rq query tag=a')).map((j: { jid: number }) => j.jid)).toEqual([1, 2, 3]);
    expect(parse(run('rq query exit_status=0 tag=b')).map((j: { command: string }) => j.command)).toEqual(['sleep 200']);
    expect(parse(run('rq query runner=nobody'))).toEqual([]);
  });

  test('bad input: an unknown state, field or command names what is allowed', () => {
    const { run } = lab();
    expect(run('rq list sleeping')).toBe('! unknown state "sleeping": use one of pending, holding, running, finished, dead (rq), ready, delayed, reserved, buried, deleted, lost (beanstalkd) or all');
    expect(run('rq query colour=red')).toMatch(/^! rq query: unknown field "colour"; fields are jid, id, priority/);
    expect(run('rq query tag')).toBe('! rq query: "tag" is not FIELD=VALUE');
    expect(run('rq frobnicate')).toBe('! unknown rq command "frobnicate": try rq help');
    expect(run('rq status now')).toMatch(/^! rq status takes no arguments/);
    expect(run('rq list finished | rq status')).toMatch(/only rq delete and rq submit read jobs from a pipe/);
  });

  test('rq help documents the commands and the job lines', () => {
    const { run } = lab();
    const help = run('rq help');
    expect(help).toBe(RQ_HELP);
    for (const word of ['rq submit', 'rq status', 'rq list', 'rq query', 'rq delete', 'rq feed', 'pi [darts=', 'fail', 'tag=WORD']) expect(help).toContain(word);
  });
});

describe('rq delete', () => {
  test('piped: rq query exit_status=0 | rq delete forgets the successful jobs and keeps the dead one', async () => {
    const { run, cluster } = await batch();
    expect(run('rq query exit_status=0 | rq delete')).toBe('deleted: 4\njids: [1, 2, 3, 4]\n');
    expect(cluster.history.records.map((r) => r.key)).toEqual([5]);
    // The dead job is still buried in the server; deleting it removes it there too.
    expect(cluster.engine!.jobs.get(5)!.state).toBe('buried');
    expect(run('rq delete 5')).toBe('deleted: 1\njids: [5]\n');
    expect(cluster.engine!.jobs.get(5)).toBeUndefined();
    expect(cluster.history.records).toHaveLength(0);
  });

  test('piping rq list dead into rq submit submits the dead job again (a waiting feeder takes it at once)', async () => {
    const { run, cluster } = await batch();
    const again = parse(run('rq list dead | rq submit').split('nobody')[0]);
    expect(again).toEqual([expect.objectContaining({ jid: 6, command: 'fail', tag: 'c', state: 'running', runner: expect.stringMatching(/^feeder/) })]);
    expect(cluster.history.records).toHaveLength(6);
  });

  test('a running job is not deleted; an unknown jid is an error and nothing is deleted', async () => {
    const { run, cluster, rq } = lab();
    rq.input('rq submit pi darts=4000000');
    rq.input('rq feed 1');
    await cluster.runUntil(() => cluster.history.records[0].state === 'running');
    expect(run('rq delete 1')).toMatch(/^deleted: 0\n! jid 1: job 1 is running on feeder 1; only its runner may delete it/);
    expect(run('rq delete 1 99')).toBe('! rq delete: no job with jid 99 (rq list shows each job\'s jid)');
    expect(run('rq delete')).toMatch(/^! rq delete needs job ids/);
    expect(cluster.history.records).toHaveLength(1);
  });
});

describe('rq feed', () => {
  test('starts feeder nodes with the next free names; a bad count is refused', () => {
    const { run, cluster } = lab();
    expect(run('rq feed 2')).toBe('started: [feeder 1, feeder 2]\nwatching: rq\n');
    expect(run('rq feed')).toBe('started: [feeder 3, feeder 4]\nwatching: rq\n');
    expect(run('rq feed lots')).toMatch(/^! rq feed N: N must be a whole number from 1 to 64/);
    expect([...cluster.nodes.values()].map((n) => n.name)).toEqual(['feeder 1', 'feeder 2', 'feeder 3', 'feeder 4']);
  });
});
