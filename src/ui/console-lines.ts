// Where an instant lies among a run's branches. The console shows its output as it was at the event
// shown, not the lines written later (they come back as the run steps on along the same branch; a
// branch forked before them never shows them), and a lesson step's start is come back to by a seek
// only when the branch shown passes through it.

/** Where a line was written: on which run (a TimeTravel), which of its branches, after how many events. */
export interface LinePlace {
  run: object | null;
  branch: number;
  n: number;
}

/** What the test reads of a run's branches (a Branch fits). */
export interface BranchPath {
  id: number;
  parent: number | null;
  forkAt: number | null;
}

/**
 * Whether a line written at `at` belongs to the run shown at `now`: written on the current branch at or
 * before its position, or on a branch it forked from, up to the fork. An earlier run's lines stay
 * (they are above the console's "New run" note).
 */
export function writtenBy(at: LinePlace, now: LinePlace, branches: readonly BranchPath[]): boolean {
  if (at.run !== now.run) return true;
  let limit = now.n;
  for (let b: BranchPath | undefined = branches[now.branch]; b; b = b.parent === null ? undefined : branches[b.parent]) {
    if (b.id === at.branch) return at.n <= limit;
    limit = Math.min(limit, b.forkAt ?? 0);
  }
  return false;
}

/**
 * Whether a seek on the branch shown gives back the run as it was at `mark` (a lesson step's start): the
 * mark is on the branch's path, and the branch took no more actions up to that event than the mark had
 * (an action taken right at the mark's event would be re-applied by the seek). `actions`: the branch's
 * recorded actions, each at the event count it was taken at.
 */
export function seekReaches(mark: { branch: number; n: number; actions: number }, shown: { branch: number; end: number }, actions: readonly { n: number }[], branches: readonly BranchPath[]): boolean {
  const run = {};
  if (!writtenBy({ run, branch: mark.branch, n: mark.n }, { run, branch: shown.branch, n: shown.end }, branches)) return false;
  return actions.filter((a) => a.n <= mark.n).length === mark.actions;
}
