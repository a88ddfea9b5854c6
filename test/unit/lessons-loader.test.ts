// Lesson files: the loader reads good files into steps, checks and actions, and says for every kind
// of mistake which file, which line and what is wrong. The bundled lessons themselves must all load.
import { describe, expect, test } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LessonError, lessonId, loadLessons, parseLesson } from '../../src/lessons/loader.ts';
import { parseInline, parseMarkdown } from '../../src/lessons/markdown.ts';

const GOOD = `---
title: First contact
summary: Put, reserve, delete.
seed: 7
scenario:
  workers: 0
  jobs: 4
  darts: 1000000
---

## Put a job

Open the **Console** tab and type \`put 0 0 60 4\`, then \`Job1\`.

    put 0 0 60 4
    Job1

\`\`\`step
check:
  - console-reply: INSERTED
  - job-state: { job: 1, state: ready }
do:
  - console: [put 0 0 60 4, Job1]
\`\`\`

## Guess

What happens next?

\`\`\`step
predict:
  question: Which state is job 1 in after reserve?
  choices: [ready, reserved, buried]
  answer: reserved
  explain: A reserved job belongs to one connection until it is deleted, released or its *TTR* runs out.
auto: [pause, { speed: 10 }]
\`\`\`

## Read

Just text: no checks, Next is free.
`;

/** The error a bad lesson gives. */
function errorOf(source: string, file = 'lessons/99-bad/index.md'): LessonError {
  try {
    parseLesson(file, source);
  } catch (e) {
    expect(e).toBeInstanceOf(LessonError);
    return e as LessonError;
  }
  throw new Error('the lesson loaded, but it should not have');
}

/** GOOD with one piece replaced. */
const bad = (from: string, to: string) => {
  expect(GOOD).toContain(from);
  return GOOD.replace(from, to);
};
const lineOf = (source: string, needle: string) => source.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('a good lesson file', () => {
  test('loads its frontmatter, scenario, steps, checks, prediction and actions', () => {
    const lesson = parseLesson('lessons/01-first-contact/index.md', GOOD);
    expect(lesson.id).toBe('01-first-contact');
    expect(lesson.title).toBe('First contact');
    expect(lesson.summary).toBe('Put, reserve, delete.');
    expect(lesson.seed).toBe(7);
    expect(lesson.scenario).toEqual({ kind: 'pi', darts: 1_000_000, jobs: 4, workers: 0, ttr: 40, autostart: false });
    expect(lesson.steps.map((s) => s.title)).toEqual(['Put a job', 'Guess', 'Read']);
    const [put, guess, read] = lesson.steps;
    expect(put.line).toBe(lineOf(GOOD, '## Put a job'));
    expect(put.checks.map((c) => [c.name, c.text, c.line])).toEqual([
      ['console-reply', 'the console has seen the reply INSERTED', lineOf(GOOD, 'console-reply')],
      ['job-state', 'job 1 is ready', lineOf(GOOD, 'job-state')],
    ]);
    expect(put.actions).toEqual([{ op: 'console', lines: ['put 0 0 60 4', 'Job1'] }]);
    expect(put.body[0]).toEqual({
      kind: 'p',
      inlines: [
        { kind: 'text', text: 'Open the ' },
        { kind: 'strong', text: 'Console' },
        { kind: 'text', text: ' tab and type ' },
        { kind: 'code', text: 'put 0 0 60 4' },
        { kind: 'text', text: ', then ' },
        { kind: 'code', text: 'Job1' },
        { kind: 'text', text: '.' },
      ],
    });
    expect(put.body[1]).toEqual({ kind: 'code', text: 'put 0 0 60 4\nJob1' });
    expect(guess.predict?.answer).toBe(1);
    expect(guess.predict?.choices).toEqual(['ready', 'reserved', 'buried']);
    expect(guess.auto).toEqual([{ op: 'pause' }, { op: 'speed', value: 10 }]);
    expect(read.checks).toEqual([]);
    expect(read.predict).toBeNull();
  });

  test('an answer may be given by its number, counting from 1', () => {
    const lesson = parseLesson('x.md', bad('answer: reserved', 'answer: 3'));
    expect(lesson.id).toBe('x');
    expect(lesson.steps[1].predict?.answer).toBe(2);
  });

  test('a code fence in a step may contain "## " without starting a new step', () => {
    const lesson = parseLesson('x.md', bad('Just text: no checks, Next is free.', '```\n## not a heading\n```'));
    expect(lesson.steps).toHaveLength(3);
    expect(lesson.steps[2].body).toEqual([{ kind: 'code', text: '## not a heading' }]);
  });

  test('rewind: gives a step a button that rewinds to its start, by its text; a step without one has none', () => {
    const lesson = parseLesson('x.md', bad('do:\n', 'rewind: Rewind and try the other choice\ndo:\n'));
    expect(lesson.steps.map((s) => s.rewind).filter(Boolean)).toEqual(['Rewind and try the other choice']);
    expect(parseLesson('x.md', GOOD).steps.every((s) => s.rewind === null)).toBe(true);
  });

  test('Windows line endings load the same', () => {
    expect(parseLesson('x.md', GOOD.replace(/\n/g, '\r\n'))).toEqual(parseLesson('x.md', GOOD));
  });
});

describe('a malformed lesson file: the error names the file, the line and the problem', () => {
  const cases: { name: string; source: string; line: number | string; problem: RegExp }[] = [
    { name: 'no frontmatter', source: '## Step\ntext\n', line: 1, problem: /starts with a frontmatter block/ },
    { name: 'frontmatter not closed', source: '---\ntitle: x\n## Step\n', line: 1, problem: /frontmatter is not closed/ },
    { name: 'YAML syntax error in the frontmatter', source: bad('summary: Put, reserve, delete.', 'summary: "Put, reserve'), line: 'summary', problem: /^YAML: / },
    { name: 'no title', source: bad('title: First contact\n', ''), line: 2, problem: /needs a title/ },
    { name: 'unknown frontmatter field', source: bad('seed: 7', 'sead: 7'), line: 'sead: 7', problem: /unknown field "sead" in the frontmatter/ },
    { name: 'scenario number out of range', source: bad('jobs: 4', 'jobs: -2'), line: 'jobs: -2', problem: /scenario jobs must be a whole number from 1 to 100000, not -2/ },
    { name: 'unknown scenario kind', source: bad('  workers: 0', '  kind: tsp\n  workers: 0'), line: 'kind: tsp', problem: /scenario kind must be one of pi, .*, not "tsp"/ },
    { name: 'unknown scenario field', source: bad('  workers: 0', '  worker: 0'), line: 'worker: 0', problem: /unknown field "worker" in a pi scenario/ },
    { name: 'text before the first step', source: bad('\n## Put a job', '\nHello\n## Put a job'), line: 'Hello', problem: /text before the first step/ },
    { name: 'no steps', source: '---\ntitle: x\n---\n\n', line: 5, problem: /no steps/ },
    { name: 'unknown check', source: bad('console-reply: INSERTED', 'console-replied: INSERTED'), line: 'console-replied', problem: /unknown check "console-replied" \(checks: console-reply, / },
    { name: 'bad check argument', source: bad('{ job: 1, state: ready }', '{ job: 1, state: finished }'), line: 'state: finished', problem: /check job-state: state must be one of ready, delayed, reserved, buried, deleted, not "finished"/ },
    { name: 'check argument missing a field', source: bad('{ job: 1, state: ready }', '{ job: 1 }'), line: '{ job: 1 }', problem: /check job-state: missing field "state"/ },
    { name: 'unknown action', source: bad('- console: [put 0 0 60 4, Job1]', '- type: hello'), line: 'type: hello', problem: /unknown action "type"/ },
    { name: 'bad action argument', source: bad('{ speed: 10 }', '{ speed: 3 }'), line: 'speed: 3', problem: /action speed: speed must be one of 0.1, 0.25, 0.5, 1, 2, 5, 10, not 3/ },
    { name: 'unknown step field', source: bad('do:\n', 'doo:\n'), line: 'doo:', problem: /unknown field "doo" in the step block \(allowed: check, predict, do, auto, rewind\)/ },
    { name: 'rewind without its button’s text', source: bad('do:\n', 'rewind: ""\ndo:\n'), line: 'rewind:', problem: /rewind \(the text of the button that rewinds to the step’s start\) must be some text/ },
    { name: 'answer not among the choices', source: bad('answer: reserved', 'answer: deleted'), line: 'answer: deleted', problem: /answer must be a choice's number \(1 to 3\) or its text, not "deleted"/ },
    { name: 'prediction without choices', source: bad('  choices: [ready, reserved, buried]\n', ''), line: 'predict:', problem: /predict needs choices/ },
    { name: 'two step blocks in one step', source: bad('## Read\n', '## Read\n\n```step\ncheck: { server: up }\n```\n```step\ncheck: { server: down }\n```\n'), line: -1, problem: /at most one ```step block/ },
    { name: 'YAML error inside a step block', source: bad('  - job-state: { job: 1, state: ready }', '  - job-state: { job: 1, state: ready'), line: 'state: ready', problem: /^YAML: / },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const err = errorOf(c.source);
      // -1: the line of the last ```step fence.
      const line = c.line === -1 ? c.source.split('\n').lastIndexOf('```step') + 1 : typeof c.line === 'number' ? c.line : lineOf(c.source, c.line);
      expect(err.file).toBe('lessons/99-bad/index.md');
      expect(err.problem).toMatch(c.problem);
      // A YAML parser may point at the line where it noticed the problem: the one given or the next.
      if (/^YAML/.test(err.problem)) expect(err.line).toBeGreaterThanOrEqual(line - 1);
      else expect(err.line).toBe(line);
      expect(err.message).toBe(`lessons/99-bad/index.md:${err.line}: ${err.problem}`);
    });
  }

  test('an unclosed step block is reported at the line that opens it', () => {
    const source = GOOD.replace(/auto: \[pause, \{ speed: 10 \}\]\n```[\s\S]*$/, 'auto: [pause]\n');
    const err = errorOf(source);
    const opening = source.split('\n').lastIndexOf('```step') + 1;
    expect(err.line).toBe(opening);
    expect(err.problem).toMatch(/the ```step block is not closed/);
  });
});

describe('loading many files', () => {
  test('a bad file is reported and the others still load, in file order', () => {
    const { lessons, errors } = loadLessons({
      'lessons/02-b/index.md': GOOD.replace('First contact', 'Second'),
      'lessons/01-a/index.md': GOOD,
      'lessons/03-c/index.md': bad('jobs: 4', 'jobs: many'),
    });
    expect(lessons.map((l) => [l.id, l.title])).toEqual([
      ['01-a', 'First contact'],
      ['02-b', 'Second'],
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe(`lessons/03-c/index.md:${lineOf(GOOD, 'jobs: 4')}: scenario jobs must be a whole number from 1 to 100000, not "many"`);
  });

  test('ids come from the folder, or from the file name', () => {
    expect(lessonId('lessons/05-server-failure/index.md')).toBe('05-server-failure');
    expect(lessonId('my-lesson.md')).toBe('my-lesson');
  });

  test('every lesson in lessons/ loads without error', () => {
    const root = path.resolve('lessons');
    const files: Record<string, string> = {};
    for (const dir of readdirSync(root, { withFileTypes: true })) {
      if (dir.isDirectory()) files[`lessons/${dir.name}/index.md`] = readFileSync(path.join(root, dir.name, 'index.md'), 'utf8');
    }
    const { lessons, errors } = loadLessons(files);
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(lessons.length).toBeGreaterThanOrEqual(7);
    for (const l of lessons) expect(l.steps.length).toBeGreaterThanOrEqual(3);
  });

  test('no shipped lesson places a control by a side or corner of the screen: the layout moves them with the window width (800, 1280, 1920 px)', () => {
    const root = path.resolve('lessons');
    const found: string[] = [];
    for (const dir of readdirSync(root, { withFileTypes: true })) {
      if (!dir.isDirectory()) continue;
      readFileSync(path.join(root, dir.name, 'index.md'), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const m = /\b(?:on the (?:left|right)|(?:top|bottom) (?:left|right)|(?:top|bottom) of the screen)\b/i.exec(line);
          if (m) found.push(`lessons/${dir.name}/index.md:${i + 1}: ${m[0]}`);
        });
    }
    expect(found).toEqual([]);
  });
});

describe('lesson Markdown', () => {
  test('lists, headings and code blocks', () => {
    expect(parseMarkdown('### Why\n\n- one\n- two\n  continued\n\n1. first\n2. second\n\n```\nput 0 0 1 1\n```')).toEqual([
      { kind: 'h', inlines: [{ kind: 'text', text: 'Why' }] },
      { kind: 'ul', items: [[{ kind: 'text', text: 'one' }], [{ kind: 'text', text: 'two continued' }]] },
      { kind: 'ol', items: [[{ kind: 'text', text: 'first' }], [{ kind: 'text', text: 'second' }]] },
      { kind: 'code', text: 'put 0 0 1 1' },
    ]);
  });

  test('links are kept only to web addresses; anything else stays text', () => {
    expect(parseInline('[spec](https://example.org/a) and [x](javascript:alert(1))')).toEqual([
      { kind: 'link', text: 'spec', href: 'https://example.org/a' },
      { kind: 'text', text: ' and ' },
      { kind: 'text', text: 'x' },
      { kind: 'text', text: ')' },
    ]);
  });

  test('HTML in a lesson is text, not markup', () => {
    expect(parseMarkdown('<img src=x onerror=alert(1)>')).toEqual([{ kind: 'p', inlines: [{ kind: 'text', text: '<img src=x onerror=alert(1)>' }] }]);
  });
});
