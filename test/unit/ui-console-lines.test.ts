// The console after a seek shows its output as it was at that event: which lines a run shows at an
// instant of one of its branches.
import { describe, expect, test } from 'vitest';
import { seekReaches, writtenBy, type BranchPath, type LinePlace } from '../../src/ui/console-lines.ts';

const run = {};
// first run (0); a hang at event 40 of it (1); a kill at event 20 of the hang branch (2).
const branches: BranchPath[] = [
  { id: 0, parent: null, forkAt: null },
  { id: 1, parent: 0, forkAt: 40 },
  { id: 2, parent: 1, forkAt: 20 },
];
const at = (branch: number, n: number, r: object | null = run): LinePlace => ({ run: r, branch, n });

describe('writtenBy: the lines a run shows at an event of one of its branches', () => {
  test.each([
    { name: 'a line written earlier on the same branch', line: at(0, 10), now: at(0, 30), want: true },
    { name: 'a line written at the very event shown', line: at(0, 30), now: at(0, 30), want: true },
    { name: 'a line written later on the same branch (after a seek back)', line: at(0, 31), now: at(0, 30), want: false },
    { name: 'the parent’s line before the fork', line: at(0, 39), now: at(1, 60), want: true },
    { name: 'the parent’s line after the fork never shows on the branch', line: at(0, 41), now: at(1, 60), want: false },
    { name: 'the parent’s line before the fork, but after the event shown', line: at(0, 35), now: at(1, 30), want: false },
    { name: 'a grandparent’s line before both forks', line: at(0, 15), now: at(2, 90), want: true },
    { name: 'a grandparent’s line after the second fork (earlier than the first)', line: at(0, 30), now: at(2, 90), want: false },
    { name: 'a branch’s line never shows on its parent', line: at(1, 45), now: at(0, 100), want: false },
    { name: 'a sibling’s line does not show', line: at(2, 25), now: at(1, 100), want: false },
    { name: 'an earlier run’s line stays', line: at(0, 500, {}), now: at(0, 0), want: true },
  ])('$name', ({ line, now, want }) => {
    expect(writtenBy(line, now, branches)).toBe(want);
  });
});

describe('seekReaches: a seek on the branch shown gives back a lesson step’s start', () => {
  // The step began at event 30 of the first run, with 3 actions taken by then.
  const mark = { branch: 0, n: 30, actions: 3 };
  const setup = [{ n: 0 }, { n: 0 }, { n: 12 }];
  test.each([
    { name: 'the same branch, acted on later', shown: { branch: 0, end: 80 }, actions: [...setup, { n: 31 }], want: true },
    { name: 'the same branch, an action taken right at the step’s start (a seek would re-apply it)', shown: { branch: 0, end: 80 }, actions: [...setup, { n: 30 }], want: false },
    { name: 'a branch forked after the start', shown: { branch: 1, end: 90 }, actions: [...setup, { n: 40 }], want: true },
    { name: 'a branch forked before the start', shown: { branch: 2, end: 90 }, actions: [...setup.slice(0, 2), { n: 20 }], want: false },
    { name: 'the branch shown has not reached the start', shown: { branch: 0, end: 25 }, actions: setup, want: false },
  ])('$name', ({ shown, actions, want }) => {
    const branches = [
      { id: 0, parent: null, forkAt: null },
      { id: 1, parent: 0, forkAt: 40 },
      { id: 2, parent: 0, forkAt: 20 },
    ];
    expect(seekReaches(mark, shown, actions, branches)).toBe(want);
  });
});
