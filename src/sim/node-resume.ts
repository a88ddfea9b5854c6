// A node's part of a checkpoint, kept by the page: its last resume point (the program's state as data,
// see NodeRuntime.mark) and every message its process was given since, with how many messages it sent
// since (the page has those already). A node is restored by a new process that starts at the resume
// point and is given those messages again (host.ts, `resume`). Worker and producer programs mark a
// resume point between jobs, so a restore re-runs a job at most; a program that marks none (matrix,
// sample sort) is restored from its start.
import type { NodeMark, StartMessage, ToNode } from '../nodes/messages.ts';
import { joinChunks } from './checkpoint.ts';

/** A node's process at a checkpoint: what makes the message that restores it (resumeMessage). */
export interface NodeResume {
  start: StartMessage;
  /** Its resume point, long lists in its state kept as chunks (see compact). */
  mark: NodeMark | null;
  inputs: ToNode[];
  sent: number;
}

/** A long list of plain values in a resume point's state, in chunks of CHUNK. */
interface Chunked {
  chunked: unknown[][];
}

const CHUNK = 256;

/**
 * `state` with each long list of plain values (a producer's results so far) as chunks, sharing the
 * chunks of `before`'s list where the values are the same: a producer marks a resume point every few
 * jobs with all its results, and checkpoints keep a mark each.
 */
function compact(state: unknown, before: unknown): unknown {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return state;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) {
    if (!Array.isArray(v) || v.length <= CHUNK) {
      out[k] = v;
      continue;
    }
    const last = (before as Record<string, Chunked | undefined> | null)?.[k]?.chunked;
    const chunks: unknown[][] = [];
    for (let i = 0, c = 0; i < v.length; i += CHUNK, c++) {
      const old = last?.[c];
      const piece = v.slice(i, i + CHUNK);
      chunks.push(old && old.length === piece.length && old.every((x, j) => x === piece[j]) ? old : piece);
    }
    out[k] = { chunked: chunks } satisfies Chunked;
  }
  return out;
}

function expand(state: unknown): unknown {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return state;
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, typeof v === 'object' && v !== null && 'chunked' in v ? joinChunks((v as Chunked).chunked) : v]));
}

/** The message that makes a new process the one a checkpoint recorded. */
export function resumeMessage(r: NodeResume): Extract<ToNode, { t: 'resume' }> {
  return { t: 'resume', start: r.start, mark: r.mark && { ...r.mark, state: expand(r.mark.state) }, inputs: r.inputs, sent: r.sent };
}

export class NodeInputs {
  private start: StartMessage | null = null;
  private mark: NodeMark | null = null;
  /** What the process was given since its resume point (since its start, before it marked one). */
  private given: ToNode[] = [];
  /** Messages it had been given before `given[0]`. */
  private base = 0;
  /** Messages it sent since its resume point. */
  private sent = 0;

  /** Its process as a checkpoint keeps it (null before its start). */
  state(): NodeResume | null {
    return this.start && { start: this.start, mark: this.mark, inputs: this.given.slice(), sent: this.sent };
  }

  /** A new process (a restart): nothing given yet. */
  restarted(): void {
    this.start = null;
    this.mark = null;
    this.given = [];
    this.base = 0;
    this.sent = 0;
  }

  /** Takes up a checkpoint's state. */
  restore(s: NodeResume): void {
    this.start = s.start;
    this.mark = s.mark;
    this.given = s.inputs.slice();
    this.base = s.mark?.consumed ?? 0;
    this.sent = s.sent;
  }

  /** `m` was given to the process (a copy is kept: data bytes travel transferred). */
  log(m: ToNode): void {
    if (m.t === 'start') this.start = m;
    this.given.push(m.t === 'data' ? { ...m, bytes: m.bytes.slice() } : m);
  }

  /** The process sent something (neither an idle notice nor a resume point). */
  heard(): void {
    this.sent++;
  }

  /** The process marked resume point `m`: what it was given before it is no longer needed. */
  marked(m: NodeMark): void {
    const drop = m.consumed - this.base;
    // A mark can only count messages the page gave; anything else is ignored rather than trusted.
    if (drop < 0 || drop > this.given.length) return;
    this.given = this.given.slice(drop);
    this.base = m.consumed;
    this.mark = { ...m, state: compact(m.state, this.mark?.state ?? null) };
    this.sent = 0;
  }
}
