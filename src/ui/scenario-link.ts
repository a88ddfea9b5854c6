// Scenario links: the query string of a URL that reproduces a run's starting point (kind, seed, sizes,
// workers, TTR, time mode, and the open lesson and step). A link is typed by people and passed through
// chat and learning platforms, so it is read strictly: each value that is not one the lab can run is
// named in a problem, and its field takes the default instead; the page never breaks on a link.
import { DEFAULT_SCENARIOS, SCENARIO_NAMES, type Scenario } from '../sim/scenario.ts';
import { LIMITS } from './scenario-form.ts';

export type Mode = 'virtual' | 'live';

/** What a scenario link carries. */
export interface ScenarioLink {
  scenario: Scenario;
  seed: number;
  mode: Mode;
}

/** The lab's seed when a page opens without one. */
export const DEFAULT_SEED = 1;

/** Each kind's fields in a link, beside kind, seed, mode, workers, ttr and autostart. */
const KIND_FIELDS = {
  pi: ['darts', 'jobs', 'backups'],
  matrix: ['n', 'granularity', 'rows'],
  sort: ['values', 'buckets'],
  queueing: ['rate', 'service', 'arrivals'],
} as const;

/** Parameters other parts of the page read (a lesson and its step, a signaling server, a room to join). */
const OTHER_PARAMS = new Set(['lesson', 'step', 'signal', 'join']);
const COMMON_PARAMS = ['kind', 'seed', 'mode', 'workers', 'ttr', 'autostart'];
const SCENARIO_PARAMS = new Set<string>([...COMMON_PARAMS, ...Object.values(KIND_FIELDS).flat()]);

/** The query parameters of a link to this scenario, seed and mode (a lesson and step are added by the caller). */
export function scenarioLinkParams(link: ScenarioLink): URLSearchParams {
  const s = link.scenario;
  const p = new URLSearchParams({ kind: s.kind, seed: String(link.seed), mode: link.mode });
  switch (s.kind) {
    case 'pi':
      p.set('darts', String(s.darts));
      p.set('jobs', String(s.jobs));
      if (s.backupTasks) p.set('backups', s.backupTasks);
      break;
    case 'matrix':
      p.set('n', String(s.n));
      p.set('granularity', s.granularity);
      if (s.granularity === 'row-block') p.set('rows', String(s.rowsPerJob));
      break;
    case 'sort':
      p.set('values', String(s.values));
      p.set('buckets', String(s.buckets));
      break;
    case 'queueing':
      p.set('rate', String(s.rate));
      p.set('service', String(s.service));
      p.set('arrivals', String(s.arrivals));
      break;
  }
  p.set('workers', String(s.workers));
  p.set('ttr', String(s.ttr));
  if (s.autostart) p.set('autostart', '1');
  return p;
}

/** The lesson a link opens: by id or URL (`lesson`), or its whole text carried in the #fragment (`inLink`); `step` from 1. */
export interface LessonLink {
  lesson?: string;
  inLink?: string;
  step: number;
}

/**
 * The address of this page that reproduces a run: `page` (the current address, whose signaling server
 * is kept) with the scenario's parameters, and the lesson and step, if one is open.
 */
export function scenarioUrl(page: string, link: ScenarioLink, lesson: LessonLink | null): string {
  const url = new URL(page);
  const params = scenarioLinkParams(link);
  const signal = url.searchParams.get('signal');
  if (signal) params.set('signal', signal);
  if (lesson?.lesson) params.set('lesson', lesson.lesson);
  if (lesson) params.set('step', String(lesson.step));
  url.search = params.toString();
  url.hash = lesson?.inLink ? `lesson=${lesson.inLink}` : '';
  return url.href;
}

/** The page's address without what a link asked for once (kept: a room to join, the signaling server). */
export function withoutLinkParams(page: string): string {
  const url = new URL(page);
  const kept = new URLSearchParams([...url.searchParams].filter(([k]) => k === 'signal' || k === 'join'));
  url.search = kept.toString();
  if (new URLSearchParams(url.hash.slice(1)).has('lesson')) url.hash = '';
  return url.href;
}

export interface ParsedScenarioLink {
  /** The scenario the link asks for, or null when it names none (no scenario parameter at all). */
  link: ScenarioLink | null;
  /** The lesson parameter as given (a bundled lesson's id, or the URL of a lesson file). */
  lesson: string | null;
  /** A lesson's text carried in the #fragment (`#lesson=…`, see src/lessons/lesson-link.ts). */
  inLink: string | null;
  /** The step to open the lesson at, counted from 1 as the lesson pane shows it. */
  step: number | null;
  /** What was wrong with the link, one sentence each, naming the parameter and what was used instead. */
  problems: string[];
}

/** Reads a link's query parameters (and its #fragment, which may carry a lesson); never throws. */
export function parseScenarioLink(params: URLSearchParams, fragment = ''): ParsedScenarioLink {
  const problems: string[] = [];
  const inLink = new URLSearchParams(fragment.replace(/^#/, '')).get('lesson') || null;
  const lesson = inLink ? null : params.get('lesson') || null;
  const anyLesson = lesson !== null || inLink !== null;
  if (inLink && params.get('lesson')) problems.push('lesson= is ignored: this link carries a lesson of its own.');
  const step = params.has('step') ? whole(params, 'step', { min: 1, max: 10_000 }, null, problems) : null;
  if (step !== null && !anyLesson) problems.push('step= needs a lesson= to go with it; it was ignored.');
  const lessonPart = { lesson, inLink, step: anyLesson ? step : null };
  // Only a link that names some scenario parameter is a scenario link: a course page's own additions
  // (utm_source=…) to a plain address change nothing.
  const named = [...params.keys()].filter((k) => !OTHER_PARAMS.has(k));
  if (!named.some((k) => SCENARIO_PARAMS.has(k))) return { link: null, ...lessonPart, problems };

  const kindText = params.get('kind');
  let kind: Scenario['kind'] = 'pi';
  if (kindText === null) problems.push('kind= is missing; a π scenario is used.');
  else if (kindText in KIND_FIELDS) kind = kindText as Scenario['kind'];
  else problems.push(`kind=${kindText} is not a scenario kind (pi, matrix, sort or queueing); a π scenario is used.`);

  const known = new Set<string>([...COMMON_PARAMS, ...KIND_FIELDS[kind]]);
  for (const k of new Set(named)) {
    if (known.has(k)) continue;
    const owner = (Object.keys(KIND_FIELDS) as Scenario['kind'][]).find((other) => (KIND_FIELDS[other] as readonly string[]).includes(k));
    problems.push(owner ? `${k}= belongs to a ${SCENARIO_NAMES[owner]} scenario, not a ${SCENARIO_NAMES[kind]} one; it was ignored.` : `${k}= is not a scenario parameter; it was ignored.`);
  }

  const modeText = params.get('mode');
  let mode: Mode = 'virtual';
  if (modeText === 'live' || modeText === 'virtual') mode = modeText;
  else if (modeText !== null) problems.push(`mode=${modeText} is not virtual or live; virtual time is used.`);

  const seed = whole(params, 'seed', LIMITS.seed, DEFAULT_SEED, problems);
  const d = DEFAULT_SCENARIOS[kind];
  const base = {
    workers: whole(params, 'workers', LIMITS.workers, d.workers, problems),
    ttr: whole(params, 'ttr', LIMITS.ttr, d.ttr, problems),
    autostart: flag(params, 'autostart', problems),
  };
  let scenario: Scenario;
  switch (kind) {
    case 'pi': {
      const { darts, jobs } = DEFAULT_SCENARIOS.pi;
      scenario = { kind, darts: whole(params, 'darts', LIMITS.darts, darts, problems), jobs: whole(params, 'jobs', LIMITS.jobs, jobs, problems), ...base };
      const backups = params.get('backups');
      if (backups === 'off' || backups === 'on') scenario.backupTasks = backups;
      else if (backups !== null) problems.push(`backups=${backups} is not off or on; the producer has no backup tasks.`);
      break;
    }
    case 'matrix': {
      const dm = DEFAULT_SCENARIOS.matrix;
      const g = params.get('granularity');
      let granularity = dm.granularity;
      if (g === 'cell' || g === 'row-block') granularity = g;
      else if (g !== null) problems.push(`granularity=${g} is not cell or row-block; ${dm.granularity} is used.`);
      const n = whole(params, 'n', granularity === 'cell' ? LIMITS.nPerCell : LIMITS.n, dm.n, problems);
      const rowsPerJob = whole(params, 'rows', { min: LIMITS.rowsPerJob.min, max: n }, Math.min(n, dm.rowsPerJob), problems);
      if (granularity === 'cell' && params.has('rows')) problems.push('rows= counts the rows of a row-block job; it was ignored for one job per cell.');
      scenario = { kind, n, granularity, rowsPerJob, ...base };
      break;
    }
    case 'sort': {
      const ds = DEFAULT_SCENARIOS.sort;
      scenario = { kind, values: whole(params, 'values', LIMITS.values, ds.values, problems), buckets: whole(params, 'buckets', LIMITS.buckets, ds.buckets, problems), ...base };
      break;
    }
    case 'queueing': {
      const dq = DEFAULT_SCENARIOS.queueing;
      scenario = {
        kind,
        rate: whole(params, 'rate', LIMITS.rate, dq.rate, problems),
        service: whole(params, 'service', LIMITS.service, dq.service, problems),
        arrivals: whole(params, 'arrivals', LIMITS.jobs, dq.arrivals, problems),
        ...base,
      };
      break;
    }
  }
  return { link: { scenario, seed, mode }, ...lessonPart, problems };
}

/** A parameter that must be a whole number in range (digits only: no sign, point or exponent). */
function whole<T extends number | null>(params: URLSearchParams, name: string, range: { min: number; max: number }, fallback: T, problems: string[]): number | T {
  const text = params.get(name);
  if (text === null) return fallback;
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (n >= range.min && n <= range.max) return n;
  const instead = fallback === null ? 'it was ignored' : `${fallback.toLocaleString('en-US')} is used`;
  problems.push(`${name}=${text} is not a whole number from ${range.min.toLocaleString('en-US')} to ${range.max.toLocaleString('en-US')}; ${instead}.`);
  return fallback;
}

function flag(params: URLSearchParams, name: string, problems: string[]): boolean {
  const text = params.get(name);
  if (text === null || text === '0') return false;
  if (text === '1') return true;
  problems.push(`${name}=${text} is not 0 or 1; 0 is used.`);
  return false;
}
