// What a joiner's page shares of the lessons: the open lesson and step from the lesson pane's saved progress.
import { describe, expect, test } from 'vitest';
import { openLessonAt } from '../../src/lessons/shared-progress.ts';

describe('openLessonAt', () => {
  test.each<[string, string | null, { lesson: string; step: number } | null]>([
    ['the open lesson at its saved step', JSON.stringify({ current: 'speedup', lessons: { speedup: { step: 3, completed: [0, 1, 2] } }, finished: [] }), { lesson: 'speedup', step: 3 }],
    ['a lesson opened but not yet moved in: its first step', JSON.stringify({ current: 'first-contact', lessons: {}, finished: [] }), { lesson: 'first-contact', step: 0 }],
    ['no lesson open', JSON.stringify({ current: null, lessons: { speedup: { step: 3 } }, finished: [] }), null],
    ['nothing saved', null, null],
    ['unreadable progress', '{oops', null],
    ['a step that is no step', JSON.stringify({ current: 'speedup', lessons: { speedup: { step: -2 } } }), { lesson: 'speedup', step: 0 }],
  ])('%s', (_what, saved, expected) => {
    expect(openLessonAt(saved)).toEqual(expected);
  });
});
