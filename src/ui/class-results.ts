// The class results an instructor keeps after a lab: one file with everyone's contributions (the roster:
// each joiner's machine, nodes, jobs done, round trip, lesson and step) and the room's speedup experiment
// with each machine's share of the jobs and Amdahl's law fitted to it. As JSON (for a spreadsheet or a
// script) or as one self-contained HTML page in the lab report's style (no script, every name escaped).
import type { RosterRow } from '../net/roster.ts';
import { rosterTotals } from '../net/roster.ts';
import { experimentAmdahl, type SpeedupPoint, type SpeedupSetup } from '../sim/experiment.ts';
import { describeAmdahl, type AmdahlFit } from '../sim/amdahl.ts';
import { escapeHtml, REPORT_STYLE, speedupPlot } from './lab-report.ts';

export interface ClassResultsInput {
  /** The room's code. */
  room: string;
  /** When the file was made, as shown (e.g. "2026-12-05 10:30 UTC"). */
  made: string;
  roster: readonly RosterRow[];
  /** The room's speedup experiment (empty if none was run). */
  points: readonly SpeedupPoint[];
  setup: SpeedupSetup | null;
}

/** One machine's part of a run: a joiner's nodes together, or the host's own worker. */
export interface MachineShare {
  /** Joiner number, or null for the host's own (local) worker. */
  joiner: number | null;
  /** Its name on the roster ("host" for the host's own worker). */
  machine: string;
  nodes: number;
  jobs: number;
  /** Its part of the run's jobs, 0–1. */
  share: number;
}

export interface ClassResults {
  format: 'beanlab-class-results';
  version: 1;
  room: string;
  made: string;
  totals: { joiners: number; nodes: number; jobsDone: number };
  joiners: {
    no: number;
    name: string;
    machine: string | null;
    cores: number | null;
    nodes: number;
    status: string;
    jobsDone: number;
    rttMs: number | null;
    /** The lesson shared (its id), and its step counted from 1 as the lesson pane shows it. */
    lesson: { id: string; step: number; text: string } | null;
  }[];
  experiment: {
    setup: SpeedupSetup | null;
    /** Amdahl's law fitted to the runs; its `limit` is null when f is 0 (no limit). */
    amdahl: AmdahlFit | null;
    amdahlText: string | null;
    runs: (SpeedupPoint & { machines: MachineShare[] })[];
  } | null;
}

const REMOTE_NODE = /^remote (\d+)\.\d+$/;

/** Which machine a run's node is on: nodes named "remote N.k" are joiner N's (by its roster name); the rest are the host's. */
function machineOf(node: SpeedupPoint['nodes'][number], roster: readonly RosterRow[]): { joiner: number | null; machine: string } {
  const m = REMOTE_NODE.exec(node.name);
  const joiner = node.kind === 'remote' && m ? Number(m[1]) : null;
  return { joiner, machine: joiner === null ? 'host' : (roster.find((r) => r.no === joiner)?.name ?? `joiner ${joiner}`) };
}

/** A run's jobs by machine: a joiner's nodes together. */
export function machineShares(point: SpeedupPoint, roster: readonly RosterRow[]): MachineShare[] {
  const byMachine = new Map<number | null, MachineShare>();
  for (const n of point.nodes) {
    const { joiner, machine } = machineOf(n, roster);
    const s = byMachine.get(joiner) ?? { joiner, machine, nodes: 0, jobs: 0, share: 0 };
    s.nodes++;
    s.jobs += n.jobs;
    byMachine.set(joiner, s);
  }
  const shares = [...byMachine.values()];
  for (const s of shares) s.share = point.jobs > 0 ? s.jobs / point.jobs : 0;
  return shares;
}

export function classResults(r: ClassResultsInput): ClassResults {
  const fit = experimentAmdahl(r.points);
  return {
    format: 'beanlab-class-results',
    version: 1,
    room: r.room,
    made: r.made,
    totals: rosterTotals(r.roster),
    joiners: r.roster.map((j) => ({
      no: j.no,
      name: j.name,
      machine: j.machine,
      cores: j.cores,
      nodes: j.nodes,
      status: j.status,
      jobsDone: j.jobsDone,
      rttMs: j.rttMs,
      lesson: j.lesson && j.lessonText ? { id: j.lesson.lesson, step: j.lesson.step + 1, text: j.lessonText } : null,
    })),
    experiment: r.points.length
      ? { setup: r.setup, amdahl: fit, amdahlText: fit ? describeAmdahl(fit) : null, runs: r.points.map((p) => ({ ...p, machines: machineShares(p, r.roster) })) }
      : null,
  };
}

export function classResultsJson(r: ClassResultsInput): string {
  return JSON.stringify(classResults(r), null, 2) + '\n';
}

const h = escapeHtml;
const td = (v: string | number | null, num = false) => `<td${num ? ' class="num"' : ''}>${v === null ? '—' : h(String(v))}</td>`;

/** The same results as one self-contained HTML page (inline CSS and SVG, no script). */
export function classResultsHtml(r: ClassResultsInput): string {
  const c = classResults(r);
  const joiners = c.joiners
    .map((j) => `<tr>${td(j.no, true)}${td(j.name)}${td(j.machine === null ? null : `${j.machine}${j.cores ? `, ${j.cores} cores` : ''}`)}${td(j.nodes, true)}${td(j.status)}${td(j.jobsDone, true)}${td(j.rttMs === null ? null : `${j.rttMs.toFixed(0)} ms`, true)}${td(j.lesson?.text ?? null)}</tr>`)
    .join('\n');
  const e = c.experiment;
  const runs = e
    ? e.runs
        .map((p) => `<tr>${td(`${p.workers} ${p.kind}`)}${td(p.seconds.toFixed(3), true)}${td(p.speedup.toFixed(2), true)}${td(`${(p.efficiency * 100).toFixed(0)} %`, true)}${td(p.machines.map((m) => `${m.machine}: ${m.jobs} (${(m.share * 100).toFixed(0)} %)`).join('; '))}</tr>`)
        .join('\n')
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>beanlab class results: room ${h(c.room)}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<h1>beanlab class results</h1>
<p>Room ${h(c.room)}, ${h(c.made)}: ${c.totals.joiners} joiner${c.totals.joiners === 1 ? '' : 's'} in the room with ${c.totals.nodes} node${c.totals.nodes === 1 ? '' : 's'}; ${c.totals.jobsDone} jobs done by the class.</p>
<section><h2>Roster</h2>
${
  c.joiners.length
    ? `<table><thead><tr><th>#</th><th>Name</th><th>Machine</th><th>Nodes</th><th>State</th><th>Jobs done</th><th>Round trip</th><th>Lesson</th></tr></thead>
<tbody>
${joiners}
</tbody></table>`
    : '<p class="none">Nobody joined the room.</p>'
}
</section>
<section><h2>Class speedup</h2>
${
  e
    ? `<p>1 local worker (the baseline), then k of the room's nodes spread over the machines.${e.amdahlText ? ` Amdahl's law fitted to the runs: ${h(e.amdahlText)}.` : ''}</p>
${speedupPlot(e.runs, e.amdahl)}
<table><thead><tr><th>Run</th><th>Time (s)</th><th>Speedup</th><th>Efficiency</th><th>Jobs by machine</th></tr></thead>
<tbody>
${runs}
</tbody></table>`
    : '<p class="none">No speedup experiment was run over the room (Speedup tab, the room\'s remote nodes).</p>'
}
</section>
</body>
</html>
`;
}
