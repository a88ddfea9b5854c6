// rq's views of the job history: a job as rq prints it, `rq status` (counts, temporal statistics,
// performance, exit status), and the job list as YAML or CSV files, both ways. Times are seconds since
// the run started (the simulator's clock), where rq prints wall-clock dates.
import { Document, isMap, parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { elapsed, QUEUE_STATES, RQ_STATES, rqState, seconds, type JobRecord, type LifecycleStep, type QueueState, type RqState } from './history.ts';

/** A job as rq prints it (rq's fields first, then beanstalkd's), one flat map: a YAML entry or a CSV row. */
export interface RqJob {
  jid: number;
  id: number;
  priority: number;
  state: RqState;
  beanstalkd: QueueState;
  tube: string;
  submitted: number;
  started: number | null;
  finished: number | null;
  elapsed: number | null;
  submitter: string | null;
  runner: string | null;
  exit_status: number | null;
  tag: string | null;
  ttr: number;
  reserves: number;
  timeouts: number;
  releases: number;
  returns: number;
  result: string | null;
  command: string;
}

export const RQ_FIELDS = [
  'jid',
  'id',
  'priority',
  'state',
  'beanstalkd',
  'tube',
  'submitted',
  'started',
  'finished',
  'elapsed',
  'submitter',
  'runner',
  'exit_status',
  'tag',
  'ttr',
  'reserves',
  'timeouts',
  'releases',
  'returns',
  'result',
  'command',
] as const satisfies readonly (keyof RqJob)[];

export type RqField = (typeof RQ_FIELDS)[number];

export function rqJob(r: JobRecord): RqJob {
  return {
    jid: r.key,
    id: r.id,
    priority: r.pri,
    state: r.state,
    beanstalkd: r.queueState,
    tube: r.tube,
    submitted: seconds(r.submitted) as number,
    started: seconds(r.started),
    finished: seconds(r.finished),
    elapsed: seconds(elapsed(r)),
    submitter: r.submitter,
    runner: r.runner,
    exit_status: r.exitStatus,
    tag: r.tag,
    ttr: r.ttr / 1000,
    reserves: r.reserves,
    timeouts: r.timeouts,
    releases: r.releases,
    returns: r.returns,
    result: r.result,
    command: r.command,
  };
}

// ---- rq status ------------------------------------------------------------------------------------

interface Moment {
  jid: number;
  metric: string;
  time: number;
}

interface Temporal {
  earliest: Moment | null;
  latest: Moment | null;
  shortest: Moment | null;
  longest: Moment | null;
}

export interface RqStatus {
  jobs: Record<RqState | 'total', number>;
  temporal: Record<RqState, Temporal>;
  performance: Record<string, number>;
  exit_status: { successes: number; failures: number };
}

/** The periods `rq status` counts finished jobs over (rq uses hours; a simulated run lasts seconds to minutes). */
export const PERIODS_S = [1, 10, 60, 600] as const;

/** Which time each state's earliest/latest is measured by (rq: pending by submitted, running by started…). */
const METRIC: Record<RqState, 'submitted' | 'started' | 'finished'> = {
  pending: 'submitted',
  holding: 'submitted',
  running: 'started',
  finished: 'finished',
  dead: 'finished',
};

/** `rq status` of these records at `now` (ms since the run started). */
export function rqStatus(records: readonly JobRecord[], now: number): RqStatus {
  const jobs = { pending: 0, holding: 0, running: 0, finished: 0, dead: 0, total: records.length };
  const temporal = Object.fromEntries(RQ_STATES.map((s) => [s, { earliest: null, latest: null, shortest: null, longest: null }])) as Record<RqState, Temporal>;
  let successes = 0;
  let failures = 0;
  let finishedTime = 0;
  let finishedCount = 0;
  const recent = PERIODS_S.map(() => 0);
  for (const r of records) {
    jobs[r.state]++;
    const t = temporal[r.state];
    const metric = METRIC[r.state];
    const at = r[metric];
    if (at !== null) {
      if (!t.earliest || at < t.earliest.time * 1000) t.earliest = { jid: r.key, metric, time: seconds(at) as number };
      if (!t.latest || at > t.latest.time * 1000) t.latest = { jid: r.key, metric, time: seconds(at) as number };
    }
    const took = r.state === 'finished' || r.state === 'dead' ? elapsed(r) : null;
    if (took !== null) {
      if (!t.shortest || took < t.shortest.time * 1000) t.shortest = { jid: r.key, metric: 'elapsed', time: seconds(took) as number };
      if (!t.longest || took > t.longest.time * 1000) t.longest = { jid: r.key, metric: 'elapsed', time: seconds(took) as number };
    }
    if (r.state === 'finished') {
      if (took !== null) {
        finishedTime += took;
        finishedCount++;
      }
      if (r.finished !== null) PERIODS_S.forEach((p, i) => (recent[i] += now - (r.finished as number) <= p * 1000 ? 1 : 0));
    }
    if (r.exitStatus === 0 && r.state === 'finished') successes++;
    else if (r.exitStatus !== null && r.exitStatus !== 0) failures++;
  }
  const performance: Record<string, number> = { avg_time_per_job: finishedCount ? Math.round(finishedTime / finishedCount) / 1000 : 0 };
  PERIODS_S.forEach((p, i) => (performance[`n_jobs_in_last_${p}_s`] = recent[i]));
  return { jobs, temporal, performance, exit_status: { successes, failures } };
}

// ---- YAML and CSV -------------------------------------------------------------------------------

/** rq prints an unknown value as nothing (`started:`), not `null`. */
const YAML_OPTIONS = { nullStr: '', lineWidth: 0 } as const;

/** rq's layout: blocks, except each temporal moment on one line (`earliest: { jid: 3, metric: submitted, time: 0.5 }`). */
export function statusYaml(status: RqStatus): string {
  const doc = new Document(status);
  const temporal = doc.get('temporal');
  if (isMap(temporal)) {
    for (const state of temporal.items) {
      if (!isMap(state.value)) continue;
      for (const moment of state.value.items) if (isMap(moment.value)) moment.value.flow = true;
    }
  }
  return doc.toString(YAML_OPTIONS);
}

export function jobsYaml(records: readonly JobRecord[]): string {
  return records.length ? stringifyYaml(records.map(rqJob), YAML_OPTIONS) : '[]\n';
}

/** The export file: the status and every job with its lifecycle. */
export function exportYaml(records: readonly JobRecord[], now: number): string {
  const writing = writeYaml(records, now);
  for (;;) {
    const step = writing.next();
    if (step.done) return step.value;
  }
}

/**
 * The export file, written a job at a time, saying how far it got after each (the YAML writer takes
 * most of a millisecond a job: 100,000 jobs held the page for many seconds). The jobs are copied
 * before the first step, so a run going on meanwhile does not change what is written. Each job is
 * written as a list of one and indented under `jobs:`, which is the text the whole document gives.
 */
export function* writeYaml(records: readonly JobRecord[], now: number): Generator<FileProgress, string> {
  const status = stringifyYaml({ status: rqStatus(records, now) }, YAML_OPTIONS);
  if (!records.length) return `${status}jobs: []\n`;
  const jobs = records.map((r) => ({ ...rqJob(r), lifecycle: r.steps.map((s) => ({ at: seconds(s.at), what: s.what, node: s.node })) }));
  const parts = [status, 'jobs:\n'];
  for (const job of jobs) {
    parts.push(stringifyYaml([job], YAML_OPTIONS).replace(/^(?=.)/gm, '  '));
    yield { done: parts.length - 2, total: jobs.length };
  }
  return parts.join('');
}

// A job's command, tag and result are anyone's text (a classmate's node puts jobs and reports
// results): a cell starting with =, +, -, @, tab or CR is a formula to a spreadsheet. As OWASP
// advises, such a text cell gets a leading ' and is quoted. A text that is a plain number (a result of
// -3) stays as it is: a spreadsheet reads it as the number, and number columns are never escaped. A
// text already starting with ' gets one more, so the importer can take exactly one off every text cell
// that starts with ' and read back what was exported.
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
const CSV_TEXT_ESCAPE = "'";

const csvCell = (v: unknown) => {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && (s.startsWith(CSV_TEXT_ESCAPE) || (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)))) s = CSV_TEXT_ESCAPE + s;
  return /[",\r\n]/.test(s) || s.startsWith(CSV_TEXT_ESCAPE) ? `"${s.replace(/"/g, '""')}"` : s;
};

const csvText = (cell: string) => (cell.startsWith(CSV_TEXT_ESCAPE) ? cell.slice(CSV_TEXT_ESCAPE.length) : cell);

export function exportCsv(records: readonly JobRecord[]): string {
  const rows = [RQ_FIELDS.join(',')];
  for (const r of records) {
    const j = rqJob(r);
    rows.push(RQ_FIELDS.map((f) => csvCell(j[f])).join(','));
  }
  return rows.join('\r\n') + '\r\n';
}

/** RFC 4180 rows: quoted cells may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') endCell();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endCell();
      rows.push(row);
      row = [];
    } else cell += c;
  }
  if (quoted) throw new Error('CSV: a quoted cell is not closed');
  if (cell !== '' || row.length) {
    endCell();
    rows.push(row);
  }
  return rows;
}

export type ImportedRecord = Omit<JobRecord, 'key' | 'imported'>;

/**
 * The largest file Import reads: 64 MiB holds 100,000 jobs with their lifecycles as YAML (about
 * 400 bytes a job), and the page must hold the text, the records and the table at once.
 */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

/**
 * The largest YAML read in one piece: one that is not laid out as Export YAML writes it (a list of
 * `- ` items, or `jobs:` then such a list) cannot be read a job at a time, and the YAML parser reads
 * about 1.6 MB a second in Chromium: 1 MiB holds the page for over half a second.
 */
export const MAX_WHOLE_YAML_BYTES = 1024 * 1024;

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/** Why a file of this many bytes is not imported, or null. */
export function importSizeProblem(bytes: number): string | null {
  return bytes > MAX_IMPORT_BYTES ? `the file is ${mib(bytes)}; Import reads at most ${mib(MAX_IMPORT_BYTES)} (100,000 jobs with their lifecycles)` : null;
}

/** How far reading or writing a file has got: `done` of `total` jobs. */
export interface FileProgress {
  done: number;
  total: number;
}

/** Reads job records from an exported file (YAML or CSV, detected); throws an Error naming the first problem. */
export function importJobs(text: string, fileName = ''): ImportedRecord[] {
  const reading = readJobs(text, fileName);
  for (;;) {
    const step = reading.next();
    if (step.done) return step.value;
  }
}

/**
 * Reads job records a job at a time, saying how far it got after each, so a big file can be read in
 * slices between which the page draws (a 33 MB YAML export took 20 s in one piece). Nothing is
 * returned until every job has been read: a bad job stops the import with nothing imported.
 */
export function* readJobs(text: string, fileName = ''): Generator<FileProgress, ImportedRecord[]> {
  const tooBig = importSizeProblem(text.length);
  if (tooBig) throw new Error(tooBig);
  const csv = /\.csv$/i.test(fileName) || (!/\.ya?ml$/i.test(fileName) && text.startsWith(RQ_FIELDS[0] + ','));
  return csv ? yield* readCsv(text) : yield* readYaml(text);
}

function* readYaml(text: string): Generator<FileProgress, ImportedRecord[]> {
  const items = yamlListItems(text);
  if (!items) {
    if (text.length > MAX_WHOLE_YAML_BYTES) {
      throw new Error(
        `this YAML is ${mib(text.length)} and not laid out as Export YAML writes it (a list of "- " items, or "jobs:" then such a list), so it would be read in one piece; that is allowed up to ${mib(MAX_WHOLE_YAML_BYTES)}. Export it again, or as CSV`,
      );
    }
    const list = yamlJobList(parseYamlText(text));
    return list.map((x, i) => toRecord(jobMap(x, i), `job ${i + 1}`));
  }
  const records: ImportedRecord[] = [];
  for (const item of items) {
    const where = `job ${records.length + 1}`;
    const parsed = parseYamlText(item.text, `${where}: `, item.line - 1);
    if (!Array.isArray(parsed)) throw new Error(`${where}: expected a list item`);
    for (const x of parsed) records.push(toRecord(jobMap(x, records.length), `job ${records.length + 1}`));
    yield { done: records.length, total: items.length };
  }
  return records;
}

/** Parses YAML; an error names the line in the file (a list item starts `linesBefore` lines into it). */
function parseYamlText(text: string, where = '', linesBefore = 0): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    const first = (e as Error).message.split('\n')[0].replace(/ at line (\d+)/, (_, n: string) => ` at line ${Number(n) + linesBefore}`);
    throw new Error(`${where}not valid YAML: ${first.replace(/:$/, '')}`);
  }
}

function yamlJobList(doc: unknown): unknown[] {
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && Array.isArray((doc as { jobs?: unknown }).jobs) ? (doc as { jobs: unknown[] }).jobs : null;
  if (!list) throw new Error('expected a YAML list of jobs, or a document with a `jobs:` list (as Export YAML writes)');
  return list;
}

function jobMap(x: unknown, i: number): Record<string, unknown> {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`job ${i + 1}: expected a map of fields`);
  return x as Record<string, unknown>;
}

/**
 * The items of the job list, each its own YAML text, when the file is laid out as Export YAML writes
 * it: a list of `- ` items (from the first line), or a `jobs:` line at the left margin (after the
 * status) followed by the list to the end of the file. Null for any other layout (then the file is read
 * in one piece), e.g. when something other than the list's items and comments follows the list.
 */
export function yamlListItems(text: string): { text: string; line: number }[] | null {
  const lf = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  if (/^(---|\.\.\.)(\s|$)/m.test(lf)) return null;
  const jobs = /^jobs:[ \t]*\n/m.exec(lf);
  const list = /^-(\s|$)/.test(lf) ? lf : jobs ? lf.slice(jobs.index + jobs[0].length) : null;
  if (list === null) return null;
  const indent = /^( *)-(\s|$)/.exec(list.replace(/^(\s*(#.*)?\n)*/, ''))?.[1].length;
  if (indent === undefined) return null;
  // A line (not blank, not a comment) less indented than the items, or an item's own line, at the list's
  // indent but not starting one: the list ends there, or is not one.
  const outside = indent ? new RegExp(`\n {0,${indent - 1}}[^ \n#]|\n {${indent}}[^-\n #]`) : /\n[^-\n #]/;
  if (outside.test('\n' + list)) return null;
  // Split before each item; what comes before the first one is blank lines and comments.
  const itemStart = new RegExp(`^ {${indent}}-(\\s|$)`);
  let line = lf.slice(0, lf.length - list.length).split('\n').length;
  const items: { text: string; line: number }[] = [];
  for (const piece of list.split(new RegExp(`\n(?= {${indent}}-(?:\\s|$))`))) {
    if (itemStart.test(piece)) items.push({ text: piece, line });
    line += piece.split('\n').length;
  }
  return items;
}

function* readCsv(text: string): Generator<FileProgress, ImportedRecord[]> {
  const rows = parseCsv(text).filter((r) => r.some((c) => c !== ''));
  if (!rows.length) throw new Error('CSV: the file is empty');
  const header = rows[0];
  const unknown = header.filter((h) => !(RQ_FIELDS as readonly string[]).includes(h));
  if (unknown.length) throw new Error(`CSV: unknown column ${JSON.stringify(unknown[0])}; columns are ${RQ_FIELDS.join(', ')}`);
  const records: ImportedRecord[] = [];
  for (const [i, row] of rows.slice(1).entries()) {
    if (row.length !== header.length) throw new Error(`CSV row ${i + 2}: ${row.length} cells, the header has ${header.length}`);
    const o: Record<string, unknown> = {};
    header.forEach((h, k) => (o[h] = row[k] === '' ? null : NUMERIC.has(h) ? Number(row[k]) : csvText(row[k])));
    records.push(toRecord(o, `CSV row ${i + 2}`));
    yield { done: records.length, total: rows.length - 1 };
  }
  return records;
}

const NUMERIC = new Set(['jid', 'id', 'priority', 'submitted', 'started', 'finished', 'elapsed', 'exit_status', 'ttr', 'reserves', 'timeouts', 'releases', 'returns']);

function toRecord(o: Record<string, unknown>, where: string): ImportedRecord {
  const num = (f: string, optional: boolean): number | null => {
    const v = o[f];
    if ((v === null || v === undefined) && optional) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: ${f} must be a number, got ${JSON.stringify(v ?? null)}`);
    return v;
  };
  const str = (f: string): string | null => (o[f] === null || o[f] === undefined ? null : String(o[f]));
  const ms = (f: string, optional = true) => {
    const v = num(f, optional);
    return v === null ? null : Math.round(v * 1000);
  };
  const id = num('id', false) as number;
  const state = o.state;
  if (!(RQ_STATES as readonly unknown[]).includes(state)) throw new Error(`${where}: state must be one of ${RQ_STATES.join(', ')}, got ${JSON.stringify(state ?? null)}`);
  const queueState = (o.beanstalkd ?? null) as QueueState | null;
  if (queueState !== null && !QUEUE_STATES.includes(queueState)) throw new Error(`${where}: beanstalkd must be one of ${QUEUE_STATES.join(', ')}, got ${JSON.stringify(queueState)}`);
  const exitStatus = num('exit_status', true);
  const q: QueueState = queueState ?? ({ pending: 'ready', holding: 'delayed', running: 'reserved', finished: 'deleted', dead: 'buried' } as const)[state as RqState];
  if (rqState(q, exitStatus) !== state && !(q === 'buried' && state === 'dead')) throw new Error(`${where}: state ${String(state)} does not match beanstalkd state ${q}`);
  const steps: LifecycleStep[] = Array.isArray(o.lifecycle)
    ? o.lifecycle.map((s: unknown, k: number) => {
        const step = (s ?? {}) as Record<string, unknown>;
        if (typeof step.at !== 'number' || typeof step.what !== 'string') throw new Error(`${where}: lifecycle step ${k + 1} needs a number \`at\` and a text \`what\``);
        return { at: Math.round(step.at * 1000), what: step.what, node: step.node === null || step.node === undefined ? null : String(step.node) };
      })
    : [];
  return {
    id,
    pri: num('priority', true) ?? 0,
    tube: str('tube') ?? 'default',
    ttr: ms('ttr') ?? 0,
    queueState: q,
    state: state as RqState,
    submitted: ms('submitted', false) as number,
    started: ms('started'),
    finished: ms('finished'),
    submitter: str('submitter'),
    runner: str('runner'),
    reserves: num('reserves', true) ?? 0,
    timeouts: num('timeouts', true) ?? 0,
    releases: num('releases', true) ?? 0,
    returns: num('returns', true) ?? 0,
    exitStatus,
    result: str('result'),
    tag: str('tag'),
    command: str('command') ?? '',
    steps,
  };
}
