// The instructor's roster of a room: one row per joiner (name, machine, cores and nodes, state, jobs done,
// round trip, lesson and step if shared), built from the host's state, and its sorting. Pure: the class
// view renders it, the class results export writes it.
import type { LessonAt } from './messages.ts';
import type { PeerState, RoomPeer } from './room-host.ts';

/** What the roster needs to know of a lesson, by id (the host's own lessons). */
export interface LessonInfo {
  title: string;
  steps: number;
}

export interface RosterRow {
  /** Joiner number (its nodes are "remote N.k"). */
  no: number;
  name: string;
  /** The machine's platform from its hello, or null if it did not say. */
  machine: string | null;
  /** The machine's cores, if it said. */
  cores: number | null;
  /** Worker nodes it offers the room. */
  nodes: number;
  state: PeerState;
  /** The state in words ("in the room", "waiting for approval", "left: …"). */
  status: string;
  /** Jobs its nodes finished in this room. */
  jobsDone: number;
  /**
   * Its data channel's round trip, ms (null until measured, or once it left). Every node of a joiner
   * shares that one channel, so this is also the median of its nodes' round trips.
   */
  rttMs: number | null;
  /** What it shares of its lessons (null: nothing). */
  lesson: LessonAt | null;
  /** That in words: "Speedup — step 3 of 7" (the id when the host does not know the lesson). */
  lessonText: string | null;
}

export type RosterColumn = 'no' | 'name' | 'machine' | 'nodes' | 'state' | 'jobsDone' | 'rttMs' | 'lesson';

const STATUS: Record<PeerState, string> = { hello: 'saying hello', pending: 'waiting for approval', admitted: 'in the room', gone: 'left' };

function lessonText(at: LessonAt, info: LessonInfo | undefined): string {
  return info ? `${info.title} — step ${at.step + 1} of ${info.steps}` : `${at.lesson} — step ${at.step + 1}`;
}

/**
 * The roster's rows, in joiner order: everyone who said hello (whoever left says why). Browsers that never
 * said hello (or were turned away before it) are not students of the class.
 */
export function rosterRows(peers: readonly RoomPeer[], lessons: (id: string) => LessonInfo | undefined = () => undefined): RosterRow[] {
  return peers
    .filter((p) => p.state !== 'hello' && p.name !== '')
    .map((p) => ({
      no: p.no,
      name: p.name,
      machine: p.platform ?? null,
      cores: p.cores ?? null,
      nodes: p.slots,
      state: p.state,
      status: p.state === 'gone' && p.reason ? `left: ${p.reason}` : STATUS[p.state],
      jobsDone: p.jobsDone,
      rttMs: p.state === 'gone' ? null : p.link.rtt,
      lesson: p.state === 'gone' ? null : p.lesson,
      lessonText: p.state === 'gone' || !p.lesson ? null : lessonText(p.lesson, lessons(p.lesson.lesson)),
    }));
}

/** Those in the room first, then those waiting, then those who left. */
const STATE_ORDER: Record<PeerState, number> = { admitted: 0, pending: 1, hello: 2, gone: 3 };

function compare(a: RosterRow, b: RosterRow, column: RosterColumn): number {
  switch (column) {
    case 'no':
      return a.no - b.no;
    case 'name':
      return a.name.localeCompare(b.name, undefined, { sensitivity: 'base', numeric: true });
    case 'machine':
      return (a.machine ?? '').localeCompare(b.machine ?? '') || (a.cores ?? 0) - (b.cores ?? 0);
    case 'nodes':
      return a.nodes - b.nodes;
    case 'state':
      return STATE_ORDER[a.state] - STATE_ORDER[b.state];
    case 'jobsDone':
      return a.jobsDone - b.jobsDone;
    case 'rttMs':
      return (a.rttMs ?? 0) - (b.rttMs ?? 0);
    case 'lesson':
      return (a.lesson?.lesson ?? '').localeCompare(b.lesson?.lesson ?? '') || (a.lesson?.step ?? 0) - (b.lesson?.step ?? 0);
  }
}

/** Whether a row has nothing in `column` (no machine, round trip or lesson): such rows go last either way. */
function missing(r: RosterRow, column: RosterColumn): boolean {
  return (column === 'machine' && r.machine === null) || (column === 'rttMs' && r.rttMs === null) || (column === 'lesson' && r.lesson === null);
}

/** The rows sorted by a column, ascending or descending; rows without a value last, ties in joiner order. */
export function sortRoster(rows: readonly RosterRow[], column: RosterColumn, descending = false): RosterRow[] {
  return [...rows].sort((a, b) => {
    const gap = Number(missing(a, column)) - Number(missing(b, column));
    if (gap !== 0) return gap;
    const c = compare(a, b, column);
    return (descending ? -c : c) || a.no - b.no;
  });
}

/** The whole class, in numbers: joiners in the room, their nodes and the jobs everyone's nodes did. */
export function rosterTotals(rows: readonly RosterRow[]): { joiners: number; nodes: number; jobsDone: number } {
  const inRoom = rows.filter((r) => r.state === 'admitted');
  return { joiners: inRoom.length, nodes: inRoom.reduce((k, r) => k + r.nodes, 0), jobsDone: rows.reduce((k, r) => k + r.jobsDone, 0) };
}
