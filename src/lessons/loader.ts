// Lesson files: read and check them. A lesson is one Markdown file (lessons/NN-name/index.md): YAML
// frontmatter with its title and the scenario it starts from, then one `## ` section per step, each
// with its text and, optionally, a ```step block saying what the step checks, asks or does (see
// lessons/README.md). Anything wrong is reported with the file, the line and what to change; one bad
// file never stops the others from loading.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { DEFAULT_SCENARIO, DEFAULT_SCENARIOS, OPTIONAL_SCENARIO_FIELDS, type Scenario } from '../sim/scenario.ts';
import { CHECKS, isCheckName, parseCheck, type Check } from './checks.ts';
import { ACTIONS, isActionName, parseAction, type Action } from './actions.ts';
import { parseMarkdown, type Block } from './markdown.ts';

export interface Prediction {
  question: string;
  choices: string[];
  /** Index into `choices` of the right answer. */
  answer: number;
  /** Shown once the student has answered. */
  explain: Block[];
}

export interface LessonStep {
  title: string;
  /** Line of the step's heading in the lesson file. */
  line: number;
  body: Block[];
  /** All must hold (at some moment during the step) before Next is enabled. */
  checks: Check[];
  predict: Prediction | null;
  /** Offered as "Do it for me". */
  actions: Action[];
  /** Run when the step is entered. */
  auto: Action[];
  /**
   * The text of a button that puts the run back at the step's start (as its automatic actions leave it),
   * the prediction kept, to try the other choice; null: no such button.
   */
  rewind: string | null;
}

export interface Lesson {
  /** Folder name (or file name, for a file opened in the browser): the key of its saved progress. */
  id: string;
  file: string;
  title: string;
  summary: string;
  scenario: Scenario;
  seed: number;
  steps: LessonStep[];
}

/** Something wrong in a lesson file, at a line. */
export class LessonError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'LessonError';
  }
}

/** A YAML block of a lesson file: where it starts, to give errors the file's own line numbers. */
class Yaml {
  private readonly lines = new LineCounter();
  readonly root: YamlNode | null;

  constructor(
    readonly file: string,
    text: string,
    /** File line of the block's first line, minus one. */
    private readonly offset: number,
  ) {
    const doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
    const err = doc.errors[0];
    if (err) throw new LessonError(file, offset + this.lines.linePos(err.pos[0]).line, `YAML: ${err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
    this.root = (doc.contents as YamlNode | null) ?? null;
  }

  line(node: YamlNode | Pair | null | undefined, fallback = 1): number {
    const range = node && 'range' in node ? node.range : node && 'key' in node ? (node.key as YamlNode | null)?.range : undefined;
    return this.offset + (range ? this.lines.linePos(range[0]).line : fallback);
  }

  fail(node: YamlNode | Pair | null | undefined, problem: string): never {
    throw new LessonError(this.file, this.line(node), problem);
  }

  /** The fields of a map node, in order, with their key nodes. */
  fields(node: YamlNode | null, what: string, allowed: readonly string[]): { key: string; pair: Pair; value: YamlNode | null }[] {
    if (!isMap(node)) this.fail(node, `${what} must be a map of fields (${allowed.join(', ')})`);
    return node.items.map((pair) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.includes(key)) this.fail(pair, `unknown field "${key}" in ${what} (allowed: ${allowed.join(', ')})`);
      return { key, pair, value: (pair.value as YamlNode | null) ?? null };
    });
  }
}

const plain = (node: YamlNode | null): unknown => (node === null ? null : isScalar(node) ? node.value : node.toJSON());

function textField(y: Yaml, node: YamlNode | null, what: string): string {
  const v = plain(node);
  if (typeof v !== 'string' || !v.trim()) y.fail(node, `${what} must be some text`);
  return v.trim();
}

function wholeField(y: Yaml, node: YamlNode | null, what: string, min: number, max: number): number {
  const v = plain(node);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) y.fail(node, `${what} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return v;
}

// ---- frontmatter ------------------------------------------------------------------------------

/** Bounds of a scenario's numeric fields; a field not listed is a whole number from 0 up. */
const SCENARIO_LIMITS: Record<string, [number, number]> = {
  darts: [1, 1e10],
  jobs: [1, 100_000],
  workers: [0, 64],
  ttr: [1, 86_400],
  n: [1, 512],
  rowsPerJob: [1, 512],
  values: [1, 10_000_000],
  buckets: [1, 10_000],
  rate: [1, 60_000],
  service: [1, 3_600_000],
  arrivals: [1, 100_000],
};
/** The values a scenario's text field may take. */
const SCENARIO_CHOICES: Record<string, readonly string[]> = { granularity: ['cell', 'row-block'] };

/** A scenario: `kind` picks the defaults (src/sim/scenario.ts); the other fields override them. */
function scenario(y: Yaml, node: YamlNode | null): Scenario {
  const kinds = Object.keys(DEFAULT_SCENARIOS) as Scenario['kind'][];
  const kindPair = isMap(node) ? node.items.find((p) => isScalar(p.key) && p.key.value === 'kind') : undefined;
  const kind = kindPair ? plain((kindPair.value as YamlNode | null) ?? null) : 'pi';
  if (!kinds.includes(kind as Scenario['kind'])) y.fail(kindPair ?? node, `scenario kind must be one of ${kinds.join(', ')}, not ${JSON.stringify(kind)}`);
  const s: Record<string, unknown> = { ...DEFAULT_SCENARIOS[kind as Scenario['kind']] };
  const optional = OPTIONAL_SCENARIO_FIELDS[kind as Scenario['kind']] ?? {};
  for (const f of y.fields(node, `a ${kind} scenario`, [...Object.keys(s), ...Object.keys(optional)])) {
    if (f.key === 'kind') continue;
    const v = plain(f.value);
    const was = s[f.key];
    if (typeof was === 'boolean') {
      if (typeof v !== 'boolean') y.fail(f.value, `${f.key} must be true or false`);
      s[f.key] = v;
    } else if (typeof was === 'number') {
      const [min, max] = SCENARIO_LIMITS[f.key] ?? [0, 1e10];
      s[f.key] = wholeField(y, f.value, `scenario ${f.key}`, min, max);
    } else {
      const choices = SCENARIO_CHOICES[f.key] ?? optional[f.key];
      if (typeof v !== 'string' || (choices && !choices.includes(v))) y.fail(f.value, `scenario ${f.key} must be ${choices ? `one of ${choices.join(', ')}` : 'some text'}, not ${JSON.stringify(v)}`);
      s[f.key] = v;
    }
  }
  return s as unknown as Scenario;
}

interface Front {
  title: string;
  summary: string;
  scenario: Scenario;
  seed: number;
}

function frontmatter(y: Yaml): Front {
  const front: Partial<Front> = { summary: '', seed: 1, scenario: { ...DEFAULT_SCENARIO } };
  for (const f of y.fields(y.root, 'the frontmatter', ['title', 'summary', 'scenario', 'seed'])) {
    if (f.key === 'title') front.title = textField(y, f.value, 'title');
    else if (f.key === 'summary') front.summary = textField(y, f.value, 'summary');
    else if (f.key === 'seed') front.seed = wholeField(y, f.value, 'seed', 0, 2 ** 32 - 1);
    else front.scenario = scenario(y, f.value);
  }
  if (!front.title) y.fail(y.root, 'the frontmatter needs a title');
  return front as Front;
}

// ---- steps ------------------------------------------------------------------------------------

function checks(y: Yaml, node: YamlNode | null): Check[] {
  const entries: { key: string; pair: Pair; value: YamlNode | null }[] = [];
  const known = Object.keys(CHECKS);
  const add = (map: YamlNode | null) => {
    if (!isMap(map)) y.fail(map, `a check is written "name: argument", e.g. "console-reply: INSERTED" (checks: ${known.join(', ')})`);
    for (const pair of map.items) entries.push({ key: isScalar(pair.key) ? String(pair.key.value) : '', pair, value: (pair.value as YamlNode | null) ?? null });
  };
  if (isSeq(node)) for (const item of node.items) add(item as YamlNode);
  else add(node);
  return entries.map(({ key, pair, value }) => {
    if (!isCheckName(key)) y.fail(pair, `unknown check "${key}" (checks: ${known.join(', ')})`);
    try {
      return { name: key, ...parseCheck(key, plain(value)), line: y.line(pair) };
    } catch (e) {
      if (e instanceof LessonError) throw e;
      y.fail(value ?? pair, `check ${key}: ${(e as Error).message}`);
    }
  });
}

function actions(y: Yaml, node: YamlNode | null): Action[] {
  const items = isSeq(node) ? (node.items as YamlNode[]) : [node];
  const known = Object.keys(ACTIONS);
  return items.map((item) => {
    let op: string;
    let arg: YamlNode | null = null;
    let at: YamlNode | Pair | null = item;
    if (isScalar(item)) op = String(item.value);
    else if (isMap(item) && item.items.length === 1) {
      const pair = item.items[0];
      op = isScalar(pair.key) ? String(pair.key.value) : '';
      arg = (pair.value as YamlNode | null) ?? null;
      at = pair;
    } else y.fail(item, `an action is a name ("play") or "name: argument" ("kill: worker 1") (actions: ${known.join(', ')})`);
    if (!isActionName(op)) y.fail(at, `unknown action "${op}" (actions: ${known.join(', ')})`);
    try {
      return parseAction(op, plain(arg));
    } catch (e) {
      y.fail(arg ?? at, `action ${op}: ${(e as Error).message}`);
    }
  });
}

function prediction(y: Yaml, node: YamlNode | null, at: Pair): Prediction {
  const p: Partial<Prediction> = { explain: [] };
  let answerNode: YamlNode | null = null;
  let answer: unknown;
  for (const f of y.fields(node, 'predict', ['question', 'choices', 'answer', 'explain'])) {
    if (f.key === 'question') p.question = textField(y, f.value, 'question');
    else if (f.key === 'explain') p.explain = parseMarkdown(textField(y, f.value, 'explain'));
    else if (f.key === 'answer') {
      answerNode = f.value;
      answer = plain(f.value);
    } else {
      const v = plain(f.value);
      if (!Array.isArray(v) || v.length < 2 || !v.every((c) => typeof c === 'string' || typeof c === 'number')) y.fail(f.value, 'choices must be a list of at least two answers');
      p.choices = v.map(String);
    }
  }
  if (!p.question) y.fail(at, 'predict needs a question');
  if (!p.choices) y.fail(at, 'predict needs choices');
  if (answerNode === null) y.fail(at, 'predict needs an answer: the number of the right choice (1 for the first) or its text');
  const byText = p.choices.indexOf(String(answer));
  const index = typeof answer === 'number' && Number.isInteger(answer) && answer >= 1 && answer <= p.choices.length ? answer - 1 : byText;
  if (index < 0) y.fail(answerNode, `answer must be a choice's number (1 to ${p.choices.length}) or its text, not ${JSON.stringify(answer)}`);
  p.answer = index;
  return p as Prediction;
}

function stepBlock(y: Yaml, step: LessonStep): void {
  if (y.root === null) return;
  for (const f of y.fields(y.root, 'the step block', ['check', 'predict', 'do', 'auto', 'rewind'])) {
    if (f.key === 'check') step.checks = checks(y, f.value);
    else if (f.key === 'predict') step.predict = prediction(y, f.value, f.pair);
    else if (f.key === 'do') step.actions = actions(y, f.value);
    else if (f.key === 'rewind') step.rewind = textField(y, f.value, 'rewind (the text of the button that rewinds to the step’s start)');
    else step.auto = actions(y, f.value);
  }
}

/** Parses one lesson file. Throws a LessonError naming the file, the line and the problem. */
export function parseLesson(file: string, source: string, id = lessonId(file)): Lesson {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  if (lines[0].trim() !== '---') throw new LessonError(file, 1, 'a lesson starts with a frontmatter block: a line "---", the title and scenario in YAML, and "---" again');
  const close = lines.indexOf('---', 1);
  if (close < 0) throw new LessonError(file, 1, 'the frontmatter is not closed: add a line "---" after it');
  const front = frontmatter(new Yaml(file, lines.slice(1, close).join('\n'), 1));

  const steps: LessonStep[] = [];
  let text: string[] = [];
  let block: { start: number; lines: string[] } | null = null;
  let current: LessonStep | null = null;
  /** Inside a code fence of the step's text, where "## " is code, not a new step. */
  let fenced = false;
  const finish = () => {
    if (current) current.body = parseMarkdown(text.join('\n'));
    text = [];
  };
  for (let i = close + 1; i < lines.length; i++) {
    const line = lines[i];
    const n = i + 1;
    const heading = fenced ? null : /^##\s+(.*)$/.exec(line);
    if (heading) {
      finish();
      current = { title: heading[1].trim(), line: n, body: [], checks: [], predict: null, actions: [], auto: [], rewind: null };
      steps.push(current);
      continue;
    }
    if (!fenced && /^```\s*step\s*$/.test(line)) {
      if (!current) throw new LessonError(file, n, 'a step block must come after a step heading ("## Title")');
      if (block || current.checks.length || current.predict || current.actions.length || current.auto.length || current.rewind) throw new LessonError(file, n, 'a step has at most one ```step block');
      block = { start: n, lines: [] };
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) block.lines.push(lines[i]);
      if (i >= lines.length) throw new LessonError(file, block.start, 'the ```step block is not closed: add a line ``` after it');
      stepBlock(new Yaml(file, block.lines.join('\n'), block.start), current);
      block = null;
      continue;
    }
    if (!current) {
      if (line.trim()) throw new LessonError(file, n, 'text before the first step: start each step with a heading "## Title"');
      continue;
    }
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    text.push(line);
  }
  finish();
  if (steps.length === 0) throw new LessonError(file, lines.length, 'the lesson has no steps: add at least one "## Title" section');
  for (const s of steps) if (!s.title) throw new LessonError(file, s.line, 'a step heading needs a title');
  return { id, file, ...front, steps };
}

/** lessons/03-speedup/index.md → 03-speedup; my-lesson.md → my-lesson. */
export function lessonId(file: string): string {
  const parts = file.split('/').filter(Boolean);
  const last = parts.at(-1) ?? file;
  return last === 'index.md' && parts.length > 1 ? parts[parts.length - 2] : last.replace(/\.md$/, '');
}

/** Loads every file it can, in file order, and says what is wrong with the others. */
export function loadLessons(files: Record<string, string>): { lessons: Lesson[]; errors: LessonError[] } {
  const lessons: Lesson[] = [];
  const errors: LessonError[] = [];
  for (const file of Object.keys(files).sort()) {
    try {
      lessons.push(parseLesson(file, files[file]));
    } catch (e) {
      errors.push(e instanceof LessonError ? e : new LessonError(file, 1, (e as Error).message));
    }
  }
  return { lessons, errors };
}
