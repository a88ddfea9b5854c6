// The lab report: one self-contained HTML file with every section, and every student- or job-typed
// text escaped (a job body "<script>" must never run in the report).
import { describe, expect, test } from 'vitest';
import { buildLabReport, escapeHtml, REPORT_JOB_ROWS, type LabReportInput } from '../../src/ui/lab-report.ts';
import { rqJob, rqStatus, statusYaml } from '../../src/history/status.ts';
import { Cluster } from '../../src/sim/cluster.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { setUp, type PiScenario } from '../../src/sim/scenario.ts';
import { runSpeedup } from '../../src/sim/experiment.ts';
import { formatStats } from '../../src/engine/stats.ts';

const EVIL = `<script>alert("x")</script><img src=x onerror=alert(1)>&'`;

/** A real run: π with 2 workers to the end (4 work jobs, 4 result jobs), its history, stats and a speedup experiment. */
async function input(over: Partial<LabReportInput> = {}): Promise<LabReportInput> {
  const scenario: PiScenario = { kind: 'pi', darts: 20_000, jobs: 4, workers: 2, ttr: 40, autostart: true };
  const cluster = new Cluster({ seed: 3, mode: 'virtual', spawn: spawnInThread });
  try {
    setUp(cluster, scenario, 3);
    await cluster.runUntil(() => cluster.history.records.length === 8 && cluster.history.records.every((r) => r.state === 'finished'), 600_000);
    const records = cluster.history.records;
    const status = rqStatus(records, cluster.now);
    const speedup = await runSpeedup({ scenario, seed: 3, mode: 'virtual', workers: [1, 2, 4], spawn: spawnInThread });
    return {
      student: 'Ada',
      made: '2026-12-05 10:30 UTC',
      link: 'http://127.0.0.1:5173/?kind=pi&seed=3',
      run: { scenario: '20,000 darts in 4 jobs', seed: 3, mode: 'virtual', time: '00:01.2', events: cluster.eventCount },
      lessons: [
        {
          title: 'First contact',
          finished: false,
          steps: [
            { title: 'A queue server', done: true, prediction: null },
            { title: 'Reserve it', done: true, prediction: { question: 'After you type reserve, what state is job 1 in?', answer: 'ready', right: 'reserved', correct: false } },
            { title: 'Delete it', done: false, prediction: { question: 'Q2', answer: 'deleted', right: 'deleted', correct: true } },
          ],
        },
      ],
      speedup,
      speedupSetup: '20,000 darts in 4 jobs, seed 3, virtual time, local Web Workers',
      serverStats: cluster.engine ? formatStats(cluster.engine) : null,
      status,
      statusYaml: statusYaml(status),
      jobs: records.map(rqJob),
      ...over,
    };
  } finally {
    cluster.dispose();
  }
}

describe('lab report', () => {
  test('one HTML file holding every section: lessons with predictions, speedup table and plot, server stats, rq status and jobs', async () => {
    const html = buildLabReport(await input());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const heading of ['<h2>Lessons</h2>', '<h2>Speedup</h2>', '<h2>Run statistics</h2>', '<h2>Jobs</h2>']) expect(html).toContain(heading);
    // Lessons: the answer given, whether right, the right answer when it was wrong.
    expect(html).toContain('<h3>First contact</h3>');
    expect(html).toContain('Not finished: 2 of 3 steps done; 1 of 2 predictions right');
    expect(html).toMatch(/<td>After you type reserve, what state is job 1 in\?<\/td><td>ready<\/td><td class="wrong">wrong<\/td><td>reserved<\/td>/);
    expect(html).toMatch(/<td>deleted<\/td><td class="right">right<\/td>/);
    // Speedup: a row per worker count, and an inline SVG plot with the ideal line.
    expect(html).toMatch(/<tr><td class="num">1<\/td><td>local<\/td><td class="num">[\d.]+<\/td><td class="num">1\.00<\/td><td class="num">100 %<\/td>/);
    expect(html).toContain('<p>Measured on 20,000 darts in 4 jobs, seed 3, virtual time, local Web Workers. Speedup S(k)');
    expect(html).toMatch(/<svg class="plot"[^>]*>[\s\S]*class="ideal"[\s\S]*<circle[\s\S]*<\/svg>/);
    expect(html.match(/<circle /g)).toHaveLength(3);
    // Run statistics: the server's own stats.
    expect(html).toContain('current-jobs-ready: 0');
    expect(html).toContain('total-jobs: 8');
    // Jobs: rq's counts and every job.
    expect(html).toContain('<th>finished</th>');
    expect(html).toContain('finished: 8');
    expect(html.match(/<tr><td class="num">\d+<\/td><td>finished<\/td>/g)).toHaveLength(8);
  });

  test("the speedup plot draws Amdahl's law fitted to the runs, and the text names f and the limit 1/f", async () => {
    const html = buildLabReport(await input());
    expect(html).toMatch(/<path class="amdahl" d="M[^"]+">/);
    expect(html).toMatch(/Amdahl's law fitted to the runs: serial fraction [\d.]+%: no more than [\d.]+× however many workers|no limit from a serial part/);
  });

    test('self-contained: nothing loaded from elsewhere, no script', async () => {
    const html = buildLabReport(await input());
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/\ssrc=/i);
  });

  test('every student- and job-typed text is escaped: a <script> body shows as text', async () => {
    const base = await input();
    const evilJob = { ...base.jobs[0], result: EVIL, command: EVIL, tag: EVIL, runner: EVIL, tube: EVIL };
    const html = buildLabReport({
      ...base,
      student: EVIL,
      lessons: [{ title: EVIL, finished: true, steps: [{ title: EVIL, done: true, prediction: { question: EVIL, answer: EVIL, right: EVIL, correct: false } }] }],
      serverStats: EVIL,
      speedupSetup: EVIL,
      statusYaml: EVIL,
      jobs: [evilJob],
      link: `http://x/?a="><script>`,
    });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('href="http://x/?a=&quot;&gt;&lt;script&gt;"');
    expect(html).toContain(escapeHtml(EVIL));
    expect(escapeHtml(EVIL)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&#39;');
  });

  test('a page with nothing done says so in each section, and a server that is down has no stats', async () => {
    const status = rqStatus([], 0);
    const html = buildLabReport({ ...(await input()), lessons: [], speedup: [], serverStats: null, jobs: [], status, statusYaml: statusYaml(status) });
    expect(html).toContain('No lesson begun in this browser.');
    expect(html).toContain('No speedup experiment was run on this page');
    expect(html).toContain('The queue server is down');
    expect(html).toContain('No jobs in this run.');
  });

  test(`a long run lists its first ${REPORT_JOB_ROWS} jobs and says how many more there are`, async () => {
    const base = await input();
    const jobs = Array.from({ length: REPORT_JOB_ROWS + 7 }, (_, i) => ({ ...base.jobs[0], jid: i + 1 }));
    const html = buildLabReport({ ...base, jobs });
    expect(html.match(/<tr><td class="num">\d+<\/td><td>finished<\/td>/g)).toHaveLength(REPORT_JOB_ROWS);
    expect(html).toContain('7 more jobs are not listed');
  });
});
