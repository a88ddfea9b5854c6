// The lab report a student hands in: one self-contained HTML file (inline CSS and SVG, no script, no
// external resource, printable) with the lessons done (each prediction: the student's answer and whether
// it was right), the speedup experiment's table and plot, the run's statistics (the server's `stats`)
// and the job summary (`rq status` and the jobs). Every text a student typed or a job carried is
// HTML-escaped: a job body "<script>" shows as text and never runs.
import { experimentAmdahl, type SpeedupPoint } from '../sim/experiment.ts';
import { amdahlSpeedup, describeAmdahl, type AmdahlFit } from '../sim/amdahl.ts';
import type { RqJob, RqStatus } from '../history/status.ts';
import { RQ_STATES } from '../history/history.ts';

/** A lesson as the report shows it: each step, whether done, and the student's (first) prediction. */
export interface LessonOutcome {
  title: string;
  finished: boolean;
  steps: { title: string; done: boolean; prediction: { question: string; answer: string; right: string; correct: boolean } | null }[];
}

export interface LabReportInput {
  /** The name the student typed (may be empty). */
  student: string;
  /** When the report was made, as shown (e.g. "2026-12-05 10:30 UTC"). */
  made: string;
  /** The scenario link of the run on screen: opening it starts the same run. */
  link: string;
  run: { scenario: string; seed: number; mode: 'virtual' | 'live'; time: string; events: number };
  lessons: LessonOutcome[];
  speedup: readonly SpeedupPoint[];
  /** What the experiment measured, in words (its scenario, seed, time, nodes, and a note on live cores). */
  speedupSetup: string;
  /** The queue server's `stats`, or null while it is down. */
  serverStats: string | null;
  status: RqStatus;
  /** The same status as `rq status` prints it. */
  statusYaml: string;
  jobs: readonly RqJob[];
}

/** Jobs listed one per row; a longer run's report says how many more there were (its YAML export has them all). */
export const REPORT_JOB_ROWS = 500;
/** A job's result or command longer than this is cut, with an ellipsis. */
const CELL_CHARS = 120;

/** Text for HTML, in an element or an attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const h = escapeHtml;
const cut = (s: string) => (s.length > CELL_CHARS ? `${s.slice(0, CELL_CHARS)}…` : s);
const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const cell = (v: string | number | null) => `<td>${v === null ? '' : h(cut(String(v)))}</td>`;

export function buildLabReport(r: LabReportInput): string {
  const title = r.student.trim() ? `beanlab lab report: ${r.student.trim()}` : 'beanlab lab report';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<header>
<h1>${h(title)}</h1>
<p>Made ${h(r.made)}. Run: ${h(r.run.scenario)}, seed ${r.run.seed}, ${r.run.mode} time.</p>
<p class="link">Open this run again: <a href="${h(r.link)}">${h(r.link)}</a></p>
</header>
${lessonsSection(r.lessons)}
${speedupSection(r.speedup, r.speedupSetup)}
${runSection(r)}
${jobsSection(r)}
</body>
</html>
`;
}

function lessonsSection(lessons: LessonOutcome[]): string {
  if (!lessons.length) return `<section><h2>Lessons</h2><p class="none">No lesson begun in this browser.</p></section>`;
  const parts = lessons.map((l) => {
    const done = l.steps.filter((s) => s.done).length;
    const predictions = l.steps.filter((s) => s.prediction);
    const right = predictions.filter((s) => s.prediction?.correct).length;
    const rows = l.steps
      .map((s, i) => {
        const p = s.prediction;
        const verdict = p ? `<td class="${p.correct ? 'right' : 'wrong'}">${p.correct ? 'right' : 'wrong'}</td>` : '<td></td>';
        return `<tr><td class="num">${i + 1}</td>${cell(s.title)}<td>${s.done ? 'done' : ''}</td>${cell(p?.question ?? null)}${cell(p?.answer ?? null)}${verdict}${cell(p && !p.correct ? p.right : null)}</tr>`;
      })
      .join('\n');
    return `<h3>${h(l.title)}</h3>
<p>${l.finished ? 'Finished' : 'Not finished'}: ${done} of ${l.steps.length} steps done; ${right} of ${predictions.length} predictions right (the first answer to each counts).</p>
<table><thead><tr><th>Step</th><th>Title</th><th>Outcome</th><th>Prediction asked</th><th>Answered</th><th></th><th>Right answer</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  });
  return `<section><h2>Lessons</h2>\n${parts.join('\n')}\n</section>`;
}

function speedupSection(points: readonly SpeedupPoint[], setup: string): string {
  if (!points.length) return `<section><h2>Speedup</h2><p class="none">No speedup experiment was run on this page (Speedup tab).</p></section>`;
  const rows = points
    .map((p) => `<tr><td class="num">${p.workers}</td><td>${p.kind}</td><td class="num">${fixed(p.seconds, 3)}</td><td class="num">${fixed(p.speedup, 2)}</td><td class="num">${fixed(p.efficiency * 100, 0)} %</td><td class="num">${p.jobs}</td><td class="num">${p.overheadMs === null ? '' : fixed(p.overheadMs, 1)}</td></tr>`)
    .join('\n');
  const fit = experimentAmdahl(points);
  const nodes = points.some((p) => p.kind === 'remote') ? 'nodes' : 'workers';
  return `<section><h2>Speedup</h2>
<p>Measured on ${h(setup)}. Speedup S(k) = T(1) / T(k) against the ideal S(k) = k; efficiency E(k) = S(k) / k.${fit ? ` Amdahl's law fitted to the runs: ${h(describeAmdahl(fit, nodes))}.` : ''}</p>
${speedupPlot(points, fit)}
<table><thead><tr><th>Workers</th><th>Nodes</th><th>Time (s)</th><th>Speedup</th><th>Efficiency</th><th>Jobs</th><th>Overhead per job (ms)</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</section>`;
}

/** Measured speedup against the ideal line (and Amdahl's law fitted, if given), as inline SVG (no script, no font files). */
export function speedupPlot(points: readonly SpeedupPoint[], fit: AmdahlFit | null = null): string {
  const W = 480;
  const H = 300;
  const m = { top: 14, right: 16, bottom: 42, left: 48 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const maxK = Math.max(2, ...points.map((p) => p.workers));
  const maxS = Math.max(maxK, ...points.map((p) => (Number.isFinite(p.speedup) ? p.speedup : 0)));
  const x = (k: number) => m.left + (k / maxK) * iw;
  const y = (s: number) => m.top + ih - (s / maxS) * ih;
  const ticks = [...new Set([0, ...points.map((p) => p.workers), maxK])].sort((a, b) => a - b);
  const yTicks = niceTicks(maxS);
  const line = (ps: readonly SpeedupPoint[]) => ps.map((p, i) => `${i ? 'L' : 'M'}${x(p.workers).toFixed(1)},${y(p.speedup).toFixed(1)}`).join('');
  const series = (['local', 'remote'] as const).map((kind) => points.filter((p) => p.kind === kind && Number.isFinite(p.speedup))).filter((ps) => ps.length);
  const amdahl = fit
    ? Array.from({ length: 51 }, (_, i) => 1 + ((maxK - 1) * i) / 50)
        .map((k, i) => `${i ? 'L' : 'M'}${x(k).toFixed(1)},${y(amdahlSpeedup(fit.f, k)).toFixed(1)}`)
        .join('')
    : '';
  const colour = (ps: readonly SpeedupPoint[]) => (ps[0].kind === 'remote' ? '#c2410c' : '#1d4ed8');
  return `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Measured speedup against the number of workers, with the ideal line">
<g class="axis">
<line x1="${m.left}" y1="${m.top + ih}" x2="${m.left + iw}" y2="${m.top + ih}"/>
<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ih}"/>
${ticks.map((k) => `<text x="${x(k).toFixed(1)}" y="${m.top + ih + 16}" text-anchor="middle">${k}</text>`).join('')}
${yTicks.map((s) => `<line class="grid" x1="${m.left}" x2="${m.left + iw}" y1="${y(s).toFixed(1)}" y2="${y(s).toFixed(1)}"/><text x="${m.left - 6}" y="${(y(s) + 4).toFixed(1)}" text-anchor="end">${s}</text>`).join('')}
<text x="${m.left + iw / 2}" y="${H - 6}" text-anchor="middle">workers k</text>
<text transform="translate(12 ${m.top + ih / 2}) rotate(-90)" text-anchor="middle">speedup</text>
</g>
<path class="ideal" d="M${x(0)},${y(0)}L${x(maxK).toFixed(1)},${y(maxK).toFixed(1)}"/>
<text class="ideal-label" x="${(x(maxK) - 4).toFixed(1)}" y="${(y(maxK) + 14).toFixed(1)}" text-anchor="end">ideal</text>
${fit ? `<path class="amdahl" d="${amdahl}"><title>Amdahl's law fitted: ${h(describeAmdahl(fit, points.some((p) => p.kind === 'remote') ? 'nodes' : 'workers'))}</title></path><text class="amdahl-label" x="${(x(maxK) - 4).toFixed(1)}" y="${(y(amdahlSpeedup(fit.f, maxK)) - 6).toFixed(1)}" text-anchor="end">Amdahl fit</text>` : ''}
${series.map((ps) => `<path class="measured" stroke="${colour(ps)}" d="${line(ps)}"/>${ps.map((p) => `<circle cx="${x(p.workers).toFixed(1)}" cy="${y(p.speedup).toFixed(1)}" r="4" fill="${colour(ps)}"><title>${p.workers} ${p.kind}: speedup ${fixed(p.speedup, 2)}</title></circle>`).join('')}`).join('\n')}
</svg>`;
}

/** Whole-number ticks from 0 to about `max`, at most 6 of them. */
function niceTicks(max: number): number[] {
  const step = Math.max(1, Math.ceil(max / 5));
  const out: number[] = [];
  for (let t = 0; t <= max; t += step) out.push(t);
  return out;
}

function runSection(r: LabReportInput): string {
  return `<section><h2>Run statistics</h2>
<table class="facts"><tbody>
<tr><th>Scenario</th>${cell(r.run.scenario)}</tr>
<tr><th>Seed</th><td>${r.run.seed}</td></tr>
<tr><th>Time</th><td>${h(r.run.time)} (${r.run.mode} time)</td></tr>
<tr><th>Protocol events</th><td>${r.run.events}</td></tr>
</tbody></table>
${r.serverStats === null ? '<p class="none">The queue server is down: no <code>stats</code>.</p>' : `<h3>The queue server's <code>stats</code></h3>\n<pre class="columns">${h(r.serverStats)}</pre>`}
</section>`;
}

function jobsSection(r: LabReportInput): string {
  const counts = [...RQ_STATES, 'total' as const].map((s) => `<th>${s}</th>`).join('');
  const values = [...RQ_STATES, 'total' as const].map((s) => `<td class="num">${r.status.jobs[s]}</td>`).join('');
  const shown = r.jobs.slice(0, REPORT_JOB_ROWS);
  const rows = shown.map((j) => `<tr><td class="num">${j.jid}</td>${cell(j.state)}${cell(j.tube)}${cell(j.tag)}${cell(j.runner)}<td class="num">${j.elapsed ?? ''}</td><td class="num">${j.exit_status ?? ''}</td><td class="num">${j.reserves}</td>${cell(j.result)}${cell(j.command)}</tr>`).join('\n');
  const more = r.jobs.length > shown.length ? `<p>${r.jobs.length - shown.length} more jobs are not listed (the Jobs tab's YAML export has every one).</p>` : '';
  return `<section><h2>Jobs</h2>
<table><thead><tr>${counts}</tr></thead><tbody><tr>${values}</tr></tbody></table>
<h3><code>rq status</code></h3>
<pre class="columns">${h(r.statusYaml)}</pre>
${
  r.jobs.length
    ? `<h3>Every job</h3>
<table class="jobs"><thead><tr><th>jid</th><th>state</th><th>tube</th><th>tag</th><th>runner</th><th>elapsed (s)</th><th>exit</th><th>reserves</th><th>result</th><th>command</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${more}`
    : '<p class="none">No jobs in this run.</p>'
}
</section>`;
}

export const REPORT_STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; color: #1f2328; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.3rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #1f2328; margin: 1.6rem 0 0.6rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.4rem; }
p { margin: 0.3rem 0; }
.link { font-size: 0.85rem; overflow-wrap: anywhere; }
.none { color: #59636e; font-style: italic; }
table { border-collapse: collapse; margin: 0.4rem 0 0.8rem; font-size: 0.88rem; }
th, td { border: 1px solid #c9ccd1; padding: 0.2rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #f1f3f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.right { color: #116329; font-weight: 600; }
td.wrong { color: #a40e26; font-weight: 600; }
table.jobs td { overflow-wrap: anywhere; max-width: 16rem; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.5rem 0.7rem; font-size: 0.8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
/* Short lines: two columns halve the page count of a printed report. */
pre.columns { columns: 2; column-gap: 2rem; }
.plot { display: block; max-width: 100%; height: auto; }
.plot .axis line { stroke: #1f2328; }
.plot .axis line.grid { stroke: #e5e7eb; }
.plot text { font: 12px system-ui, sans-serif; fill: #1f2328; }
.plot .ideal { stroke: #6b7280; stroke-dasharray: 5 4; fill: none; }
.plot .ideal-label { fill: #6b7280; }
.plot .amdahl { stroke: #1b7a4b; stroke-dasharray: 10 3 2 3; stroke-width: 2; fill: none; }
.plot .amdahl-label { fill: #1b7a4b; }
.plot .measured { fill: none; stroke-width: 2.5; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  section { break-inside: auto; }
  h2, h3 { break-after: avoid; }
  tr, .plot { break-inside: avoid; }
}
`;
