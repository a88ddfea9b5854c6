// The job history and rq's status: scripted runs of the engine alone, and whole clusters in virtual
// time with in-thread nodes (feeders running rq's jobs, killed and hung workers, server crashes).
import { afterEach, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { advanceTo, ManualClock } from '../../src/engine/clock.ts';
import { Session } from '../../src/protocol/session.ts';
import { latin1, latin1Bytes } from '../../src/protocol/wire.ts';
import { elapsed, JobHistory, type JobRecord } from '../../src/history/history.ts';
import { stringify } from 'yaml';
import { exportCsv, exportYaml, importJobs, importSizeProblem, jobsYaml as jobsYamlList, MAX_IMPORT_BYTES, MAX_WHOLE_YAML_BYTES, parseCsv, readJobs, rqJob, rqStatus, writeYaml, yamlListItems, type FileProgress } from '../../src/history/status.ts';
import { FEEDER, RqShell } from '../../src/history/rq-commands.ts';
import { facets, filterJobs, NO_FILTER, sortJobs } from '../../src/history/table.ts';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';

/** An engine on a manual clock with a history listening, and clients that speak the wire protocol. */
function scripted() {
  const clock = new ManualClock(1000);
  const engine = new Engine({ clock, instanceId: '0000000000000001' });
  const history = new JobHistory(1000, (id) => {
    const j = engine.jobs.get(id);
    return j ? latin1(j.body) : null;
  });
  engine.subscribe((e) => history.apply(e));
  const client = (name: string) => {
    let out = '';
    const s = new Session(engine, { write: (b) => (out += latin1(b)), close: () => {} }, name);
    return {
      session: s,
      send(line: string, body?: string): string {
        out = '';
        s.receive(latin1Bytes(body === undefined ? `${line}\r\n` : `${line}\r\n${body}\r\n`));
        return out.split('\r\n')[0];
      },
    };
  };
  const at = (ms: number) => advanceTo(engine, clock, 1000 + ms);
  return { engine, history, client, at };
}

describe('a record for every job, from the event stream', () => {
  test('put, reserve, TTR expiry, reserve by another node, delete: the whole lifecycle with who did what', () => {
    const { history, client, at } = scripted();
    const producer = client('producer');
    const w2 = client('worker 2');
    const w4 = client('worker 4');
    expect(producer.send('put 5 0 2 4', 'busy')).toBe('INSERTED 1');
    at(100);
    expect(w2.send('reserve')).toBe('RESERVED 1 4');
    at(2100); // TTR of 2 s runs out
    at(2500);
    expect(w4.send('reserve')).toBe('RESERVED 1 4');
    at(2900);
    expect(w4.send('delete 1')).toBe('DELETED');
    const r = history.byJobId(1)!;
    expect(r.steps.map((s) => `${s.what}${s.node ? ` by ${s.node}` : ''}`)).toEqual([
      'put by producer',
      'reserved by worker 2',
      'TTR expired by worker 2',
      'reserved by worker 4',
      'deleted by worker 4',
    ]);
    expect(r).toMatchObject({ id: 1, pri: 5, tube: 'default', state: 'finished', queueState: 'deleted', submitter: 'producer', runner: 'worker 4' });
    expect(r).toMatchObject({ submitted: 0, started: 2500, finished: 2900, reserves: 2, timeouts: 1, releases: 0, returns: 0, command: 'busy' });
    expect(r.steps[2].at).toBe(2100);
  });

  test('a TTR shorter than the work: the worker still running deletes the job after another reserved it, and the record names it, with its own elapsed time', () => {
    // Lesson 4's `sleep 3000` with TTR 1: worker 1 runs 3 s; its job is handed to worker 2 at 1 s and is
    // ready again at 2 s, so worker 1's delete at 3 s removes it.
    const { history, client, at } = scripted();
    const console = client('console');
    const w1 = client('worker 1');
    const w2 = client('worker 2');
    expect(console.send('put 0 0 1 10', 'sleep 3000')).toBe('INSERTED 1');
    expect(w1.send('reserve')).toBe('RESERVED 1 10');
    at(1000);
    at(1006);
    expect(w2.send('reserve')).toBe('RESERVED 1 10');
    at(2006);
    at(3000);
    expect(w1.send('delete 1')).toBe('DELETED');
    expect(w2.send('delete 1')).toBe('NOT_FOUND');
    const r = history.byJobId(1)!;
    expect(r.steps.map((s) => `${s.what}${s.node ? ` by ${s.node}` : ''}`)).toEqual([
      'put by console',
      'reserved by worker 1',
      'TTR expired by worker 1',
      'reserved by worker 2',
      'TTR expired by worker 2',
      'deleted by worker 1',
    ]);
    expect(r).toMatchObject({ runner: 'worker 1', started: 0, finished: 3000, reserves: 2, timeouts: 2, state: 'finished' });
    expect(elapsed(r)).toBe(3000);
    // Each worker reports after its delete: the result is the runner's; worker 2's comes later, as a step.
    history.report('worker 1', { kind: 'task-done', job: 1, task: 'sleep', ms: 3000, units: 1, result: 'sleep 3000' }, 1000 + 3001);
    history.report('worker 2', { kind: 'task-done', job: 1, task: 'sleep', ms: 3000, units: 1, result: 'sleep 2999' }, 1000 + 4006);
    expect(r).toMatchObject({ runner: 'worker 1', exitStatus: 0, result: 'sleep 3000', finished: 3000 });
    expect(r.steps.slice(-2).map((s) => `${s.what} by ${s.node}`)).toEqual(['task done: sleep 3000 by worker 1', 'task done too: sleep 2999 by worker 2']);
  });

  test('states in rq\'s words: ready is pending, delayed and a buried job nobody reported failing are holding, reserved is running', () => {
    const { history, client } = scripted();
    const c = client('console');
    c.send('put 0 0 60 1', 'a');
    c.send('put 0 30 60 1', 'b');
    c.send('put 0 0 60 1', 'c');
    c.send('put 0 0 60 1', 'd');
    const w = client('worker 1');
    expect(w.send('reserve')).toBe('RESERVED 1 1');
    expect(w.send('reserve')).toBe('RESERVED 3 1');
    expect(w.send('bury 3 0')).toBe('BURIED');
    const states = history.records.map((r) => [r.id, r.state, r.queueState]);
    expect(states).toEqual([
      [1, 'running', 'reserved'],
      [2, 'holding', 'delayed'],
      [3, 'holding', 'buried'],
      [4, 'pending', 'ready'],
    ]);
  });

  test('a failed task makes its buried job dead, with its error; a kick brings it back to pending', () => {
    const { history, client, at } = scripted();
    client('rq').send('put 0 0 60 4', 'fail');
    const w = client('feeder 1');
    w.send('reserve');
    at(50);
    history.report('feeder 1', { kind: 'task-failed', job: 1, error: 'unknown kind "fail"' }, 1050);
    w.send('bury 1 0');
    let r = history.byJobId(1)!;
    expect(r).toMatchObject({ state: 'dead', queueState: 'buried', exitStatus: 1, result: 'unknown kind "fail"', finished: 50, runner: 'feeder 1' });
    expect(client('console').send('kick 1')).toBe('KICKED 1');
    r = history.byJobId(1)!;
    expect(r.state).toBe('pending');
    expect(r.steps.map((s) => s.what)).toEqual(['put', 'reserved', 'task failed: unknown kind "fail"', 'buried', 'kicked']);
  });

  test('a worker\'s connection closing returns its job: counted as a return, and the job runs again elsewhere', () => {
    const { history, client } = scripted();
    client('rq').send('put 0 0 60 4', 'busy');
    const w1 = client('worker 1');
    w1.send('reserve');
    w1.session.destroy();
    const w2 = client('worker 2');
    w2.send('reserve');
    history.report('worker 2', { kind: 'task-done', job: 1, task: 'busy', ms: 1, units: 1, result: 'busy 1' }, 1000);
    w2.send('delete 1');
    expect(history.byJobId(1)).toMatchObject({ reserves: 2, returns: 1, runner: 'worker 2', exitStatus: 0, result: 'busy 1', state: 'finished' });
  });

  test("the result check's verdicts reach a deleted job's record and its lifecycle, with who re-ran it", () => {
    const { history, client, at } = scripted();
    const producer = client('producer');
    for (let i = 0; i < 3; i++) producer.send('put 0 0 60 8', `pi 100 ${i}`);
    const w = client('remote 2.1');
    for (let id = 1; id <= 3; id++) {
      w.send('reserve');
      w.send(`delete ${id}`);
    }
    at(500);
    const [a, b, c] = [1, 2, 3].map((id) => history.byJobId(id)!.key);
    history.checked(a, { verdict: 'disagreed', by: 'remote 1.1', claimed: 'pi 100 100', rerun: 'pi 100 79' }, 1500);
    history.checked(b, { verdict: 'agreed', by: 'remote 3.1', claimed: 'pi 100 80', rerun: 'pi 100 80', overruled: { by: 'remote 1.1', rerun: 'pi 100 100' } }, 1500);
    history.checked(c, { verdict: 'unchecked', why: 'no other node to re-run it on' }, 1500);
    const told = (key: number) => history.get(key)!.steps.slice(3).map((s) => `${s.at} ${s.what}${s.node ? ` by ${s.node}` : ''}`);
    expect(told(a)).toEqual(['500 result disagreed: pi 100 100 given, pi 100 79 from a re-run by remote 1.1']);
    expect(told(b)).toEqual(['500 re-run by remote 1.1 disagreed: pi 100 100, not pi 100 80; a third re-run decides', '500 result verified: the same result from a re-run by remote 3.1']);
    expect(told(c)).toEqual(['500 result not checked: no other node to re-run it on']);
    expect(history.get(a)).toMatchObject({ state: 'finished', check: { verdict: 'disagreed', by: 'remote 1.1' } });
  });
});

describe('rq status', () => {
  /** Four jobs: two finished (0.3 s and 0.7 s), one dead, one still pending. */
  function run() {
    const { history, client, at } = scripted();
    const p = client('rq');
    for (const body of ['one', 'two', 'three', 'four']) p.send(`put 0 0 60 ${body.length}`, body);
    const w = client('worker 1');
    at(1000);
    w.send('reserve'); // job 1
    at(1300);
    history.report('worker 1', { kind: 'task-done', job: 1, task: 'busy', ms: 300, units: 1 }, 2300);
    w.send('delete 1');
    w.send('reserve'); // job 2
    at(2000);
    history.report('worker 1', { kind: 'task-done', job: 2, task: 'busy', ms: 700, units: 1 }, 3000);
    w.send('delete 2');
    w.send('reserve'); // job 3
    at(2100);
    history.report('worker 1', { kind: 'task-failed', job: 3, error: 'boom' }, 3100);
    w.send('bury 3 0');
    return history;
  }

  test('counts by state, temporal extremes, average time per job, recent jobs and exit statuses', () => {
    const history = run();
    const s = rqStatus(history.records, 2400);
    expect(s.jobs).toEqual({ pending: 1, holding: 0, running: 0, finished: 2, dead: 1, total: 4 });
    expect(s.temporal.pending.earliest).toEqual({ jid: 4, metric: 'submitted', time: 0 });
    expect(s.temporal.finished.earliest).toEqual({ jid: 1, metric: 'finished', time: 1.3 });
    expect(s.temporal.finished.latest).toEqual({ jid: 2, metric: 'finished', time: 2 });
    expect(s.temporal.finished.shortest).toEqual({ jid: 1, metric: 'elapsed', time: 0.3 });
    expect(s.temporal.finished.longest).toEqual({ jid: 2, metric: 'elapsed', time: 0.7 });
    expect(s.temporal.dead.earliest).toEqual({ jid: 3, metric: 'finished', time: 2.1 });
    expect(s.temporal.running).toEqual({ earliest: null, latest: null, shortest: null, longest: null });
    expect(s.performance.avg_time_per_job).toBe(0.5);
    // At 2.4 s, the job finished at 2.0 s is within the last second; the one at 1.3 s is not.
    expect(s.performance.n_jobs_in_last_1_s).toBe(1);
    expect(s.performance.n_jobs_in_last_10_s).toBe(2);
    expect(s.exit_status).toEqual({ successes: 2, failures: 1 });
  });

  test('export as YAML and CSV reads back to the same records, status and lifecycle included', () => {
    const history = run();
    const strip = (r: JobRecord) => {
      const { key, imported, ...rest } = r;
      void key;
      void imported;
      return rest;
    };
    const fromYaml = importJobs(exportYaml(history.records, 2100), 'jobs.yaml');
    expect(fromYaml).toEqual(history.records.map(strip));
    const fromCsv = importJobs(exportCsv(history.records), 'jobs.csv');
    expect(fromCsv).toEqual(history.records.map((r) => ({ ...strip(r), steps: [] })));
    const yaml = exportYaml(history.records, 2100);
    expect(yaml).toMatch(/^status:\n {2}jobs:\n {4}pending: 1\n/);
    expect(yaml).toContain('  - jid: 1\n');
    expect(exportCsv(history.records).split('\r\n')[0]).toBe('jid,id,priority,state,beanstalkd,tube,submitted,started,finished,elapsed,submitter,runner,exit_status,tag,ttr,reserves,timeouts,releases,returns,result,command');
  });

  test('CSV export: a text cell a spreadsheet would run as a formula starts with \' (OWASP), and import takes it off', () => {
    const { history, client } = scripted();
    const p = client('rq');
    const texts = ['=HYPERLINK("http://x","click")', '+1+2', "-2+3+cmd|' /C calc'!A0", '@SUM(A1)', '\tx', '\rx', "'quoted", '-3', '2.5e-3', 'pi darts=10'];
    for (const body of texts) p.send(`put 0 0 60 ${body.length}`, body);
    history.tag(1, '=tag');
    history.report('worker 1', { kind: 'task-done', job: 2, task: 'busy', ms: 1, units: 1, result: '-3' }, 1000);
    history.report('worker 1', { kind: 'task-failed', job: 3, error: '@error' }, 1000);
    const csv = exportCsv(history.records);
    const [header, ...rows] = parseCsv(csv);
    const column = (name: string) => rows.map((r) => r[header.indexOf(name)]);
    expect(column('command')).toEqual(["'=HYPERLINK(\"http://x\",\"click\")", "'+1+2", "'-2+3+cmd|' /C calc'!A0", "'@SUM(A1)", "'\tx", "'\rx", "''quoted", '-3', '2.5e-3', 'pi darts=10']);
    expect(column('tag')[0]).toBe("'=tag");
    // A plain number stays a number; so does every number column (a negative exit status too).
    expect(column('result').slice(0, 3)).toEqual(['', '-3', "'@error"]);
    // Escaped cells are quoted, so the quote is part of the text, not of the CSV.
    expect(csv).toContain(`,"'=HYPERLINK(""http://x"",""click"")"\r\n`);
    const back = importJobs(csv, 'jobs.csv');
    expect(back.map((r) => r.command)).toEqual(texts);
    expect(back[0].tag).toBe('=tag');
    expect(back.slice(0, 3).map((r) => r.result)).toEqual([null, '-3', '@error']);
  });

  test('bad files are refused with the reason, and nothing is read', () => {
    expect(() => importJobs('- jid: 1\n  id: [', 'x.yaml')).toThrow(/not valid YAML/);
    expect(() => importJobs('jobs: 3', 'x.yaml')).toThrow(/expected a YAML list of jobs/);
    expect(() => importJobs('- id: 1\n  state: sleeping\n  submitted: 0', 'x.yaml')).toThrow(/job 1: state must be one of pending, holding/);
    expect(() => importJobs('jid,id,colour\n1,1,red\n', 'x.csv')).toThrow(/unknown column "colour"/);
    expect(() => importJobs('jid,id,state,submitted\n1,1,pending\n', 'x.csv')).toThrow(/CSV row 2: 3 cells, the header has 4/);
  });

  test('import reads a job at a time, saying how far it got, so the page can draw between slices; nothing comes back before the last job', () => {
    const history = run();
    for (const [text, name] of [
      [exportYaml(history.records, 2100), 'jobs.yaml'],
      [exportCsv(history.records), 'jobs.csv'],
      [jobsYamlList(history.records), 'list.yaml'],
      [exportYaml(history.records, 2100).replace(/\n/g, '\r\n'), 'crlf.yaml'],
    ]) {
      const reading = readJobs(text, name);
      const steps: FileProgress[] = [];
      let step = reading.next();
      for (; !step.done; step = reading.next()) steps.push(step.value);
      expect(steps, name).toEqual([1, 2, 3, 4].map((done) => ({ done, total: 4 })));
      expect(step.value, name).toEqual(importJobs(text, name));
      expect(step.value.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    }
    expect(importJobs(exportYaml(history.records, 2100), 'jobs.yaml').map((r) => r.steps.length)).toEqual(history.records.map((r) => r.steps.length));
    // A bad job stops the reading there: the jobs read before it never come back.
    const bad = exportYaml(history.records, 2100).replace('  - jid: 3\n    id: 3\n', '  - jid: 3\n    id: three\n');
    const reading = readJobs(bad, 'bad.yaml');
    expect(reading.next().value).toEqual({ done: 1, total: 4 });
    expect(reading.next().value).toEqual({ done: 2, total: 4 });
    expect(() => reading.next()).toThrow('job 3: id must be a number, got "three"');
    // A YAML error names the job and its line in the file (the parser notices the unclosed [ a line later).
    const broken = exportYaml(history.records, 2100).replace('  - jid: 2\n', '  - jid: [2\n');
    const brokenLine = broken.split('\n').indexOf('  - jid: [2') + 1;
    expect(() => importJobs(broken, 'x.yaml')).toThrow(new RegExp(`^job 2: not valid YAML: .* at line ${brokenLine + 1}, column 5$`));
  });

  test('Export YAML writes a job at a time, saying how far it got, and gives the text the whole document gives', () => {
    const { history, client } = scripted();
    const p = client('rq');
    const bodies = ['line one\nline two', '  leading spaces', 'key: value', '- dash', `'quote" and \\`, '#hash', 'trailing\n\n  indented\n', 'x'];
    for (const body of bodies) p.send(`put 0 0 60 ${body.length}`, body);
    history.tag(2, 'a: b');
    const writing = writeYaml(history.records, 2100);
    const steps: FileProgress[] = [];
    let step = writing.next();
    for (; !step.done; step = writing.next()) steps.push(step.value);
    expect(steps).toEqual(bodies.map((_, i) => ({ done: i + 1, total: bodies.length })));
    const jobs = history.records.map((r) => ({ ...rqJob(r), lifecycle: r.steps.map((s) => ({ at: s.at / 1000, what: s.what, node: s.node })) }));
    expect(step.value).toBe(stringify({ status: rqStatus(history.records, 2100), jobs }, { nullStr: '', lineWidth: 0 }));
    expect(importJobs(step.value, 'jobs.yaml').map((r) => r.command)).toEqual(bodies);
    expect(exportYaml([], 0)).toBe(stringify({ status: rqStatus([], 0), jobs: [] }, { nullStr: '', lineWidth: 0 }));
  });

  test(`import refuses a file over ${MAX_IMPORT_BYTES / 2 ** 20} MiB, and a YAML over ${MAX_WHOLE_YAML_BYTES / 2 ** 20} MiB it would have to read in one piece, naming the limit`, () => {
    expect(importSizeProblem(MAX_IMPORT_BYTES)).toBeNull();
    expect(importSizeProblem(100 * 2 ** 20)).toBe('the file is 100.0 MiB; Import reads at most 64.0 MiB (100,000 jobs with their lifecycles)');
    const huge = '- ' + 'x'.repeat(MAX_IMPORT_BYTES);
    expect(() => importJobs(huge, 'huge.yaml')).toThrow('the file is 64.0 MiB; Import reads at most 64.0 MiB');
    // Laid out otherwise than Export YAML writes (a flow list; something after the jobs): read in one
    // piece, so only up to the smaller bound.
    const history = run();
    const job = (r: JobRecord) => `{ id: ${r.id}, state: ${r.state}, submitted: ${r.submitted / 1000}, command: "${'x'.repeat(300)}" }`;
    const flow = `[${Array.from({ length: 4000 }, (_, i) => job(history.records[i % 4])).join(', ')}]`;
    expect(flow.length).toBeGreaterThan(MAX_WHOLE_YAML_BYTES);
    expect(() => importJobs(flow, 'flow.yaml')).toThrow(/^this YAML is 1\.\d MiB and not laid out as Export YAML writes it .* that is allowed up to 1\.0 MiB\. Export it again, or as CSV$/);
    expect(importJobs(`[${job(history.records[0])}]`, 'flow.yaml')).toHaveLength(1);
    const trailing = `${exportYaml(history.records, 2100)}notes: read in one piece\n`;
    expect(yamlListItems(trailing)).toBeNull();
    expect(importJobs(trailing, 'x.yaml')).toHaveLength(4);
  });

  // How fast this is belongs to `npm run bench`; here, that 100,000 records come out right.
  test('100,000 jobs: recorded and summed up in the status', () => {
    const history = new JobHistory(0);
    for (let id = 1; id <= 100_000; id++) {
      history.apply({ kind: 'job', action: 'put', at: id, id, tube: 'rq', pri: 0, deadlineAt: 0, ttr: 60_000, bytes: 4, state: 'ready', conn: null });
      if (id % 2) {
        history.apply({ kind: 'job', action: 'reserved', at: id + 1, id, tube: 'rq', pri: 0, deadlineAt: 0, ttr: 60_000, bytes: 4, state: 'reserved', conn: null });
        history.apply({ kind: 'job', action: 'deleted', at: id + 5, id, tube: 'rq', pri: 0, deadlineAt: 0, ttr: 60_000, bytes: 4, state: 'deleted', conn: null });
      }
    }
    const s = rqStatus(history.records, 200_000);
    expect(s.jobs).toMatchObject({ pending: 50_000, finished: 50_000, total: 100_000 });
    expect(s.performance.avg_time_per_job).toBe(0.004);
  });
});

describe('the Jobs tab\'s view: filter, sort, facets', () => {
  /** Five jobs put by rq: three in default (tags a, a, b; one finished by w1, one failed on w2), two pending in tube other. */
  function table() {
    const { history, client, at } = scripted();
    const rq = client('rq');
    for (const body of ['one', 'two', 'three']) rq.send(`put 0 0 60 ${body.length}`, body);
    rq.send('use other');
    rq.send('put 9 0 60 1', 'x');
    rq.send('put 1 0 60 1', 'y');
    history.tag(1, 'a');
    history.tag(2, 'a');
    history.tag(3, 'b');
    const w1 = client('w1');
    const w2 = client('w2');
    w1.send('reserve');
    at(500);
    w1.send('delete 1');
    w2.send('reserve');
    at(700);
    history.report('w2', { kind: 'task-failed', job: 2, error: 'no' }, 1700);
    w2.send('bury 2 0');
    return history;
  }

  test('filters combine; node matches runner or submitter', () => {
    const h = table();
    const ids = (f: Partial<typeof NO_FILTER>) => filterJobs(h.records, { ...NO_FILTER, ...f }).map((r) => r.id);
    expect(ids({})).toEqual([1, 2, 3, 4, 5]);
    expect(ids({ state: 'pending' })).toEqual([3, 4, 5]);
    expect(ids({ node: 'w2' })).toEqual([2]);
    expect(ids({ node: 'rq', tag: 'a' })).toEqual([1, 2]);
    expect(ids({ tube: 'other', state: 'pending' })).toEqual([4, 5]);
    expect(ids({ state: 'dead', tag: 'b' })).toEqual([]);
  });

  test('sorting by a column, either way; unknown values last, ties in jid order', () => {
    const h = table();
    const ids = (key: Parameters<typeof sortJobs>[1], desc: boolean) => sortJobs(h.records.slice(), key, desc).map((r) => r.id);
    expect(ids('priority', false)).toEqual([1, 2, 3, 5, 4]);
    expect(ids('priority', true)).toEqual([4, 5, 1, 2, 3]);
    expect(ids('elapsed', false)).toEqual([2, 1, 3, 4, 5]);
    expect(ids('elapsed', true)).toEqual([1, 2, 3, 4, 5]);
    expect(ids('state', false)).toEqual([3, 4, 5, 1, 2]);
    expect(ids('jid', true)).toEqual([5, 4, 3, 2, 1]);
  });

  test('facets: counts by state and the nodes, tags and tubes to filter by', () => {
    expect(facets(table().records)).toEqual({
      counts: { pending: 3, holding: 0, running: 0, finished: 1, dead: 1 },
      nodes: ['rq', 'w1', 'w2'],
      tags: ['a', 'b'],
      tubes: ['default', 'other'],
    });
  });

  test('100,000 records filter and sort', () => {
    const history = new JobHistory(0);
    for (let id = 1; id <= 100_000; id++) {
      history.apply({ kind: 'job', action: 'put', at: id, id, tube: id % 3 ? 'a' : 'b', pri: (id * 7919) % 1000, deadlineAt: 0, ttr: 1000, bytes: 1, state: 'ready', conn: null });
    }
    const rows = sortJobs(filterJobs(history.records, { ...NO_FILTER, tube: 'a' }), 'priority', true);
    const f = facets(history.records);
    expect(rows).toHaveLength(66_667);
    expect(rows[0].pri).toBe(999);
    expect(f.counts.pending).toBe(100_000);
  });
});

describe('whole runs in virtual time', () => {
  const clusters: Cluster[] = [];
  afterEach(() => {
    for (const c of clusters.splice(0)) c.dispose();
  });
  const cluster = () => {
    const c = new Cluster({ seed: 9, mode: 'virtual', spawn: spawnInThread });
    clusters.push(c);
    return c;
  };
  const idle = (c: Cluster) => c.history.records.every((r) => r.state === 'finished' || r.state === 'dead');

  test('feeders run a batch: results and exit statuses reach the records, the failing job is dead', async () => {
    const c = cluster();
    const rq = new RqShell(() => c);
    rq.input('rq submit');
    for (const line of ['pi darts=200000 count=3 tag=batch', 'sleep ms=300 tag=batch', 'fail tag=broken']) rq.input(line);
    rq.input('.');
    rq.input('rq feed 2');
    await c.runUntil(() => idle(c) && c.history.records.every((r) => r.exitStatus !== null));
    const records = c.history.records;
    expect(records).toHaveLength(5);
    expect(records.map((r) => r.state)).toEqual(['finished', 'finished', 'finished', 'finished', 'dead']);
    expect(records.slice(0, 4).every((r) => r.exitStatus === 0 && r.submitter === 'rq' && /^feeder [12]$/.test(r.runner!))).toBe(true);
    expect(records[0].result).toMatch(/^pi 200000 \d+$/);
    expect(records[3]).toMatchObject({ command: 'sleep 300', result: 'sleep 300', tag: 'batch' });
    // A sleep of 300 ms on a reference node takes 0.3 s of virtual time between reserve and delete (plus the round trip).
    expect(records[3].finished! - records[3].started!).toBeGreaterThanOrEqual(300);
    expect(records[4]).toMatchObject({ tag: 'broken', queueState: 'buried', exitStatus: 1, reserves: 1 });
    expect(records[4].result).toMatch(/the task "fail" fails on purpose/);
    const s = rqStatus(records, c.now);
    expect(s.jobs).toMatchObject({ finished: 4, dead: 1, total: 5 });
    expect(s.exit_status).toEqual({ successes: 4, failures: 1 });
    // Feeders keep results in the history: no result jobs appear in the queue.
    expect(c.engine!.totalJobs).toBe(5);
  });

  test('a killed feeder: its job returns at once and another feeder finishes it', async () => {
    const c = cluster();
    const rq = new RqShell(() => c);
    rq.input('rq submit pi darts=2000000 count=2');
    rq.input('rq feed 2');
    const f1 = [...c.nodes.values()].find((n) => n.name === 'feeder 1')!;
    await c.runUntil(() => f1.status.state === 'working');
    const job = f1.status.job!;
    c.killNode(f1.id);
    await c.runUntil(() => idle(c) && c.history.byJobId(job)!.exitStatus !== null);
    const r = c.history.byJobId(job)!;
    expect(r).toMatchObject({ state: 'finished', reserves: 2, returns: 1, runner: 'feeder 2', exitStatus: 0 });
    expect(r.steps.map((s) => `${s.what}${s.node ? ` by ${s.node}` : ''}`).filter((s) => !s.startsWith('task'))).toEqual([
      'put by rq',
      'reserved by feeder 1',
      'returned (connection closed) by feeder 1',
      'reserved by feeder 2',
      'deleted by feeder 2',
    ]);
  });

  test('a server crash without a binlog loses the queued jobs: their records stay, marked lost (dead)', async () => {
    const c = cluster();
    c.binlogEnabled = false;
    const rq = new RqShell(() => c);
    rq.input('rq submit sleep ms=100 count=3');
    c.crashServer();
    await c.restartServer(false);
    expect(c.history.records.map((r) => [r.state, r.queueState])).toEqual([
      ['dead', 'lost'],
      ['dead', 'lost'],
      ['dead', 'lost'],
    ]);
    expect(c.history.records[0].steps.map((s) => s.what)).toEqual(['put', 'server crashed', 'lost (the server restarted without it)']);
    // beanstalkd starts its ids again at 1: the new job gets a record of its own.
    rq.input('rq submit sleep ms=100');
    expect(c.history.records).toHaveLength(4);
    expect(c.history.records[3]).toMatchObject({ id: 1, key: 4, state: 'pending' });
    expect(c.history.records[0].state).toBe('dead');
  });

  test('with the binlog the same records continue after the restart and finish', async () => {
    const c = cluster();
    const rq = new RqShell(() => c);
    rq.input('rq submit sleep ms=100 count=3');
    c.crashServer();
    await c.restartServer(true);
    expect(c.history.records.map((r) => r.state)).toEqual(['pending', 'pending', 'pending']);
    rq.input('rq feed 1');
    await c.runUntil(() => idle(c));
    expect(c.history.records).toHaveLength(3);
    expect(c.history.records.map((r) => r.state)).toEqual(['finished', 'finished', 'finished']);
    expect(c.history.records[0].steps.map((s) => s.what).slice(0, 3)).toEqual(['put', 'server crashed', 'recovered from the binlog']);
  });

  test('a job past the retry limit: the feeder buries it and the history shows it dead with the reason', async () => {
    const c = cluster();
    const rq = new RqShell(() => c);
    rq.input('rq submit sleep ms=10');
    // Three attempts that never finish (a worker reserving and releasing), then a feeder's turn: the fourth.
    let out = '';
    const s = new Session(c.engine!, { write: (b) => (out += latin1(b)), close: () => {} }, 'flaky#1');
    for (let i = 0; i < 3; i++) s.receive(latin1Bytes('watch rq\r\nreserve\r\nrelease 1 0 0\r\n'));
    expect(out.match(/RELEASED/g)).toHaveLength(3);
    rq.input('rq feed 1');
    await c.runUntil(() => c.history.records[0].state === 'dead');
    expect(c.history.records[0]).toMatchObject({ queueState: 'buried', reserves: 4, releases: 3, exitStatus: 1, runner: 'feeder 1', result: 'reserved 4 times, more than the retry limit of 3' });
  });

  test('the seed\'s workers run rq jobs put into their tube, and feeders are plain worker configs', async () => {
    const c = cluster();
    c.addNode('worker 1', { role: 'worker', worker: { watch: 'msg_for_worker', use: 'msg_for_client', onFailure: 'release-then-delete', reconnectEachJob: true } });
    const rq = new RqShell(() => c);
    rq.input('rq submit busy ms=50 tube=msg_for_worker');
    await c.runUntil(() => c.history.records[0].state === 'finished');
    // The seed's worker puts its result into msg_for_client: a second job, with its own record.
    expect(c.history.records.map((r) => [r.tube, r.submitter, r.state])).toEqual([
      ['msg_for_worker', 'rq', 'finished'],
      ['msg_for_client', 'worker 1', 'pending'],
    ]);
    expect(FEEDER).toMatchObject({ watch: 'rq', onFailure: 'bury', putResults: false, maxReserves: 3 });
  });
});
