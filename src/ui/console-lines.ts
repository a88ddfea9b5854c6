// Which of the console's lines a run shows at an instant: time travel puts the run back at an earlier
// event, and the console then shows its output as it was there, not the lines written later (they come
// back as the run steps on along the same branch; a branch forked before them never shows them).

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
