// Links an instructor hands out: a scenario in the query string (round trip, and every bad value named
// with the default used instead), and a lesson carried in the #fragment.
import { describe, expect, test } from 'vitest';
import { DEFAULT_SCENARIOS, type Scenario } from '../../src/sim/scenario.ts';
import { DEFAULT_SEED, parseScenarioLink, scenarioLinkParams, scenarioUrl, withoutLinkParams, type ScenarioLink } from '../../src/ui/scenario-link.ts';
import { decodeLessonText, encodeLessonText, MAX_LESSON_BYTES } from '../../src/lessons/lesson-link.ts';
import { parseLesson } from '../../src/lessons/loader.ts';
import { readFileSync } from 'node:fs';

const parse = (query: string) => parseScenarioLink(new URLSearchParams(query));

describe('scenario links', () => {
  const links: ScenarioLink[] = [
    { scenario: { kind: 'pi', darts: 123_456_789, jobs: 17, workers: 3, ttr: 5, autostart: false }, seed: 4_294_967_295, mode: 'virtual' },
    { scenario: { kind: 'pi', darts: 1, jobs: 1, workers: 0, ttr: 86_400, autostart: true }, seed: 0, mode: 'live' },
    { scenario: { kind: 'matrix', n: 64, granularity: 'cell', rowsPerJob: 4, workers: 64, ttr: 40, autostart: false }, seed: 9, mode: 'virtual' },
    { scenario: { kind: 'matrix', n: 200, granularity: 'row-block', rowsPerJob: 7, workers: 2, ttr: 40, autostart: false }, seed: 9, mode: 'virtual' },
    { scenario: { kind: 'sort', values: 1_000_000, buckets: 1000, workers: 8, ttr: 12, autostart: false }, seed: 77, mode: 'live' },
  ];
  test.each(links)('round trip: $scenario.kind $mode', (link) => {
    const query = scenarioLinkParams(link).toString();
    const back = parse(query);
    expect(back.problems).toEqual([]);
    expect(back.link).toEqual(link);
  });

  test('a link that names no scenario changes nothing (a plain address, or only a lesson)', () => {
    expect(parse('')).toEqual({ link: null, lesson: null, inLink: null, step: null, problems: [] });
    expect(parse('lesson=02-producer-consumer&step=3')).toEqual({ link: null, lesson: '02-producer-consumer', inLink: null, step: 3, problems: [] });
    expect(parse('lesson=https://example.org/my%20lesson.md').lesson).toBe('https://example.org/my lesson.md');
    expect(parse('utm_source=course&fbclid=x')).toEqual({ link: null, lesson: null, inLink: null, step: null, problems: [] });
  });

  test('the whole address: scenario, signaling server kept, lesson and step, a lesson in the fragment; read back alike', () => {
    const link = links[3];
    const page = 'http://lab:5173/beanlab/?signal=https%3A%2F%2Fsig%3A9000%2Fpeerjs&kind=sort&seed=2#old';
    const byId = new URL(scenarioUrl(page, link, { lesson: '06-matrix', step: 4 }));
    expect(byId.origin + byId.pathname).toBe('http://lab:5173/beanlab/');
    expect(byId.hash).toBe('');
    expect(parseScenarioLink(byId.searchParams, byId.hash)).toEqual({ link, lesson: '06-matrix', inLink: null, step: 4, problems: [] });
    expect(byId.searchParams.get('signal')).toBe('https://sig:9000/peerjs');
    const carried = new URL(scenarioUrl(page, link, { inLink: 'abc_-9', step: 2 }));
    expect(parseScenarioLink(carried.searchParams, carried.hash)).toEqual({ link, lesson: null, inLink: 'abc_-9', step: 2, problems: [] });
    // Once opened, the page's address forgets the link (a reload then resumes the student's progress).
    expect(withoutLinkParams(carried.href)).toBe('http://lab:5173/beanlab/?signal=https%3A%2F%2Fsig%3A9000%2Fpeerjs');
    expect(withoutLinkParams('http://lab/?join=ABC#SECRET')).toBe('http://lab/?join=ABC#SECRET');
  });

  test.each([
    ['kind=pi&seed=abc', 'seed=abc is not a whole number from 0 to 4,294,967,295; 1 is used.'],
    ['kind=pi&seed=-1', 'seed=-1 is not a whole number from 0 to 4,294,967,295; 1 is used.'],
    ['kind=pi&seed=4294967296', 'seed=4294967296 is not a whole number from 0 to 4,294,967,295; 1 is used.'],
    ['kind=pi&workers=2.5', 'workers=2.5 is not a whole number from 0 to 64; 4 is used.'],
    ['kind=pi&workers=65', 'workers=65 is not a whole number from 0 to 64; 4 is used.'],
    ['kind=pi&ttr=0', 'ttr=0 is not a whole number from 1 to 86,400; 40 is used.'],
    ['kind=pi&darts=1e6', 'darts=1e6 is not a whole number from 1 to 10,000,000,000; 40,000,000 is used.'],
    ['kind=pi&jobs=', 'jobs= is not a whole number from 1 to 100,000; 8 is used.'],
    ['kind=cube', 'kind=cube is not a scenario kind (pi, matrix, sort or queueing); a π scenario is used.'],
    ['seed=3', 'kind= is missing; a π scenario is used.'],
    ['kind=pi&mode=fast', 'mode=fast is not virtual or live; virtual time is used.'],
    ['kind=pi&autostart=yes', 'autostart=yes is not 0 or 1; 0 is used.'],
    ['kind=pi&n=4', 'n= belongs to a matrix scenario, not a π one; it was ignored.'],
    ['kind=pi&colour=red', 'colour= is not a scenario parameter; it was ignored.'],
    ['kind=matrix&granularity=diagonal', 'granularity=diagonal is not cell or row-block; cell is used.'],
    ['kind=matrix&n=65', 'n=65 is not a whole number from 1 to 64; 16 is used.'],
    ['kind=matrix&granularity=row-block&n=10&rows=11', 'rows=11 is not a whole number from 1 to 10; 4 is used.'],
    ['kind=matrix&rows=2', 'rows= counts the rows of a row-block job; it was ignored for one job per cell.'],
    ['kind=sort&buckets=0', 'buckets=0 is not a whole number from 1 to 1,000; 8 is used.'],
    ['lesson=01-first-contact&step=0', 'step=0 is not a whole number from 1 to 10,000; it was ignored.'],
    ['step=2', 'step= needs a lesson= to go with it; it was ignored.'],
  ])('bad value %s: a clear message, and the default', (query, problem) => {
    const parsed = parse(query);
    expect(parsed.problems).toEqual([problem]);
  });

  test('every bad value is reported, each field falling back to its own default while the good ones are kept', () => {
    const parsed = parse('kind=sort&seed=x&values=500&buckets=many&workers=99&ttr=30&mode=virtual');
    expect(parsed.problems).toHaveLength(3);
    const sort: Scenario = { ...DEFAULT_SCENARIOS.sort, values: 500, ttr: 30 };
    expect(parsed.link).toEqual({ scenario: sort, seed: DEFAULT_SEED, mode: 'virtual' });
  });
});

describe('a lesson carried in a link', () => {
  const lesson = readFileSync('lessons/01-first-contact/index.md', 'utf8');

  test('round trip: the same Markdown, which the loader parses into the same lesson; compressed to well under its size', async () => {
    const code = await encodeLessonText(lesson);
    expect(code).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(code.length).toBeLessThan(lesson.length * 0.7);
    const back = await decodeLessonText(code);
    expect(back).toBe(lesson);
    expect(parseLesson('x.md', back)).toEqual(parseLesson('x.md', lesson));
  });

  test('non-ASCII text survives (π, ×, “quotes”)', async () => {
    const text = '---\ntitle: π × “quotes” — ok\n---\n## Ωmega\n\nÆ 😀\n';
    expect(await decodeLessonText(await encodeLessonText(text))).toBe(text);
  });

  test('a damaged link is refused with a reason, never a wrong lesson', async () => {
    const code = await encodeLessonText(lesson);
    // Cut anywhere: a length base64 cannot have, or a deflate stream that ends too soon.
    for (const cut of [1, 2, 3, 4]) await expect(decodeLessonText(code.slice(0, (code.length >> 1) - cut))).rejects.toThrow('cut short (copy the whole link)');
    await expect(decodeLessonText(code + '%20')).rejects.toThrow('characters a lesson link never has');
    await expect(decodeLessonText('')).rejects.toThrow('characters a lesson link never has');
    await expect(decodeLessonText('A')).rejects.toThrow('cut short');
  });

  test(`a link inflating past ${MAX_LESSON_BYTES} bytes is refused`, async () => {
    const code = await encodeLessonText('#'.repeat(MAX_LESSON_BYTES + 1));
    await expect(decodeLessonText(code)).rejects.toThrow('larger than 1 MiB');
  });
});
