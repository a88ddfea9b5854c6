// The room protocol between a host tab and a joiner tab, over one data channel. It wraps the same
// plain node messages a local Web Worker node exchanges with the page (src/nodes/messages.ts), with
// the beanstalkd wire bytes inside them, so a remote node is a local one with a longer cable.
// On the channel every message is one JSON text; wire bytes travel as latin1 strings (one char per byte).
// A message longer than a data channel carries goes in pieces (frames), put back together on the other
// side up to a bounded size (see frames, FrameReader); short messages sent together go together, as a
// batch: one frame holding a JSON array of them, read in order (see batchFrames). A room of a hundred
// nodes sends thousands of small messages a second, and each data channel message has a fixed cost.
// Everything received is checked here, field by field: whoever sends something else is dropped.
// The joiner's hello and the host's answering hello carry the room's challenge (challenge.ts).
// Every message about a slot's node names the start of the slot's worker it belongs to (`g`, its
// generation): a stopped worker's last messages may still be on their way when the slot starts again,
// in another run, and neither side lets them reach the new one.
import type { FromNode, NodeReport, NodeStatus, ToNode, WorkerConfig } from '../nodes/messages.ts';
import { isValidTubeName } from '../protocol/parse.ts';
import { latin1, latin1Bytes } from '../protocol/wire.ts';
import { checkTask, isTaskKind, type TaskSpec } from '../tasks/spec.ts';
import { MAC_HEX, NONCE_HEX } from './challenge.ts';

export const ROOM_PROTOCOL = 4;
/**
 * Largest text sent on the data channel at once (a frame), chars. Chromium refuses a message over
 * 256 KiB (and PeerJS then closes the channel); a char takes at most 3 bytes of UTF-8, so a frame of
 * 64 Ki chars and its header always fit.
 */
export const FRAME_CHARS = 64 * 1024;
/** Frames one message may take. */
const MAX_FRAMES = 8;
/**
 * Largest message either side accepts, chars of JSON (at most 8 frames): a data message of
 * MAX_DATA_BYTES fits even if every byte is escaped (a control byte becomes the 6 chars of \u00XX).
 */
export const MAX_MESSAGE_CHARS = MAX_FRAMES * FRAME_CHARS;
/** Wire bytes one data message carries at most: longer runs go as several (the wire is a byte stream). */
export const MAX_DATA_BYTES = 64 * 1024;
/** Longest result text a worker reports: a result is what it put, at most beanstalkd's largest job (64 KiB - 1). */
export const MAX_RESULT_CHARS = 64 * 1024;
/** A tab's id (JoinerHello.tab) is a random nonce's size. */
export const TAB_HEX = NONCE_HEX;
/** Worker nodes one joiner may offer (one per core). */
export const MAX_SLOTS = 16;
const MAX_TEXT = 500;
const MAX_CONN = 1_000_000_000;

export interface JoinerHello {
  t: 'hello';
  v: number;
  room: string;
  /** Worker nodes this browser offers. */
  slots: number;
  /** What the joiner calls its machine (shown on the host, as text). */
  name: string;
  /** The challenge (challenge.ts): a fresh nonce, and the joiner's proof that it knows the room's secret. */
  nonce?: string;
  proof?: string;
  /** This tab's id in the room, kept across reloads: a reloaded tab gets its old joiner number and seat back. */
  tab?: string;
  /** The machine's system as its browser names it ("Linux x86_64"), for the host's roster. */
  platform?: string;
  /** The machine's cores (navigator.hardwareConcurrency), for the host's roster. */
  cores?: number;
}

/** Where a student is in the lessons: the open lesson's id and its step (0-based). */
export interface LessonAt {
  lesson: string;
  step: number;
}

/** Most cores a joiner may say its machine has. */
export const MAX_CORES = 1024;
/** Longest lesson id a joiner may share (a lesson from a file or a link has a longer id than a bundled one). */
const MAX_LESSON_ID = 200;
/** Most steps a lesson may have, as far as the room is concerned. */
const MAX_STEP = 10_000;

export type JoinerMessage =
  | JoinerHello
  | { t: 'node'; s: number; g: number; m: FromNode }
  | { t: 'pong'; n: number }
  /** The student's current lesson and step (null: none open, or it stopped sharing); sent only to a host that welcomed it with `lessons`. */
  | { t: 'lesson'; at: LessonAt | null }
  | { t: 'bye' };

export type HostMessage =
  /** The host's answer to the hello's nonce: it knows the room's secret (challenge.ts). */
  | { t: 'hello'; answer: string }
  /** Admitted: you are joiner `joiner`; your slots became these nodes; `lessons`: this host reads lesson messages (an older one drops them). */
  | { t: 'welcome'; room: string; joiner: number; nodes: { s: number; name: string }[]; lessons?: true }
  /** The host must approve this joiner first. */
  | { t: 'waiting' }
  /** To slot `s`'s worker of start `g` (a 'start' message begins start `g`). */
  | { t: 'node'; s: number; g: number; m: ToNode }
  /** The node in slot `s` was killed: stop its worker (if it still runs start `g`). */
  | { t: 'stop'; s: number; g: number }
  | { t: 'ping'; n: number }
  /** The host ends the membership (refused, kicked, room closed, a bad message): why, as text. */
  | { t: 'bye'; reason: string };

export type Decoded<T> = { ok: true; msg: T } | { ok: false; why: string };

// ---- encoding -------------------------------------------------------------------------------------

type WithBytes = { t: string; bytes?: Uint8Array };

function plainNodeMessage(m: WithBytes): object {
  return m.bytes ? { ...m, bytes: latin1(m.bytes) } : m;
}

export function encodeMessage(msg: JoinerMessage | HostMessage): string {
  if (msg.t === 'node') return JSON.stringify({ ...msg, m: plainNodeMessage(msg.m as WithBytes) });
  return JSON.stringify(msg);
}

const cut = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s);

/** A node's message with its texts cut to what the host accepts (a worker's error quotes a job's body, escaped). */
export function withinLimits(m: FromNode): FromNode {
  if (m.t === 'log') return { ...m, text: cut(m.text) };
  if (m.t === 'status' && m.status.detail !== undefined) return { ...m, status: { ...m.status, detail: cut(m.status.detail) } };
  if (m.t === 'report' && m.report.kind === 'task-failed') return { ...m, report: { ...m.report, error: cut(m.report.error) } };
  return m;
}

/** A message carrying wire bytes, as data messages of at most MAX_DATA_BYTES each. */
export function splitData<T extends { bytes: Uint8Array }>(m: T): T[] {
  if (m.bytes.length <= MAX_DATA_BYTES) return [m];
  const parts: T[] = [];
  for (let i = 0; i < m.bytes.length; i += MAX_DATA_BYTES) parts.push({ ...m, bytes: m.bytes.subarray(i, i + MAX_DATA_BYTES) });
  return parts;
}

// ---- frames ---------------------------------------------------------------------------------------
// A message of at most FRAME_CHARS goes as it is (JSON: it starts with "{"); a longer one as pieces
// "~i/n:" + text, i = 0 … n-1, sent one after another (the channel is ordered, so nothing comes between
// them). A piece never ends between the two halves of a surrogate pair, which UTF-8 could not carry.

/** The frames that carry message text `text` (from encodeMessage). */
export function frames(text: string): string[] {
  if (text.length <= FRAME_CHARS) return [text];
  if (text.length > MAX_MESSAGE_CHARS) throw new Error(`a room message of ${text.length} chars, over the limit of ${MAX_MESSAGE_CHARS}`);
  const chunks: string[] = [];
  for (let from = 0; from < text.length; ) {
    let to = Math.min(from + FRAME_CHARS, text.length);
    const last = text.charCodeAt(to - 1);
    if (to < text.length && last >= 0xd800 && last <= 0xdbff) to--;
    chunks.push(text.slice(from, to));
    from = to;
  }
  return chunks.map((c, i) => `~${i}/${chunks.length}:${c}`);
}

/**
 * The frames that carry the message texts `texts` (from encodeMessage), in order: as many as fit in a
 * frame go as one batch (a JSON array; a batch of one is the message itself), and a message longer than
 * a frame goes alone, in pieces.
 */
export function batchFrames(texts: readonly string[]): string[] {
  const out: string[] = [];
  let batch: string[] = [];
  let chars = 2;
  const close = () => {
    if (batch.length) out.push(batch.length === 1 ? batch[0] : `[${batch.join(',')}]`);
    batch = [];
    chars = 2;
  };
  for (const text of texts) {
    if (text.length + 2 > FRAME_CHARS) {
      close();
      out.push(...frames(text));
      continue;
    }
    if (chars + text.length + 1 > FRAME_CHARS) close();
    batch.push(text);
    chars += text.length + 1;
  }
  close();
  return out;
}

/**
 * Silence ends a membership only once the side that judges has itself run this many heartbeats (the
 * host's pings, the joiner's watches) since it last heard the other. A side whose thread was busy for
 * seconds (a flood of puts to take in, a run's node threads starting) first hears what waited for it:
 * judged by the clock alone, a busy host let up to half of a 128-node class go at once, none of them silent.
 */
export const SILENCE_BEATS = 3;

/**
 * Runs `fn` when this turn's work is done, so that what several events send goes in one batch: in Node
 * (a terminal joiner, a host in Node) after this round of I/O (setImmediate), as each data channel send
 * there is a synchronous call into wrtc's network thread; in a browser at the end of the task.
 */
export function afterTurn(fn: () => void): void {
  const { setImmediate } = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (setImmediate) setImmediate(fn);
  else queueMicrotask(fn);
}

const PIECE = /^~(\d)\/(\d):/;

/** Puts one side's frames back together into messages; holds at most one message's pieces. */
export class FrameReader {
  private pieces: string[] = [];
  private of = 0;

  /** A frame as received: the message text it completes, null while pieces are missing, or why it is refused. */
  read(raw: unknown): Decoded<string | null> {
    if (typeof raw !== 'string') return { ok: false, why: 'not a text message' };
    const piece = PIECE.exec(raw);
    if (!piece) {
      if (this.pieces.length) return { ok: false, why: 'a message came between the pieces of another' };
      if (raw.length > FRAME_CHARS) return { ok: false, why: `a frame of ${raw.length} chars, over the limit of ${FRAME_CHARS}` };
      return { ok: true, msg: raw };
    }
    const [i, n] = [Number(piece[1]), Number(piece[2])];
    if (n < 2 || n > MAX_FRAMES) return { ok: false, why: `a message in ${n} pieces (at most ${MAX_FRAMES})` };
    if (i !== this.pieces.length || (i > 0 && n !== this.of)) return { ok: false, why: `piece ${i}/${n} out of order` };
    const text = raw.slice(piece[0].length);
    if (text.length > FRAME_CHARS) return { ok: false, why: `a piece of ${text.length} chars, over the limit of ${FRAME_CHARS}` };
    this.of = n;
    this.pieces.push(text);
    if (this.pieces.length < n) return { ok: true, msg: null };
    const whole = this.pieces.join('');
    this.pieces = [];
    return { ok: true, msg: whole };
  }
}

// ---- validation -----------------------------------------------------------------------------------

class Invalid extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Invalid(`${what} is not an object`);
  return v as Obj;
}

function int(o: Obj, k: string, min: number, max: number): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Invalid(`${k} is not an integer in [${min}, ${max}]`);
  return v;
}

function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid(`${k} is not a number`);
  return v;
}

function text(o: Obj, k: string, max = MAX_TEXT): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > max) throw new Invalid(`${k} is not text of at most ${max} chars`);
  return v;
}

function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new Invalid(`${k} is not true or false`);
  return v;
}

function bytes(o: Obj, k: string): Uint8Array {
  const s = text(o, k, MAX_DATA_BYTES);
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) throw new Invalid(`${k} holds a char that is not a byte`);
  return latin1Bytes(s);
}

function hexText(o: Obj, k: string, length: number): string {
  const v = o[k];
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${length}}$`).test(v)) throw new Invalid(`${k} is not ${length} hex digits`);
  return v;
}

function oneOf<T extends string>(o: Obj, k: string, values: readonly T[]): T {
  const v = o[k];
  if (!values.includes(v as T)) throw new Invalid(`${k} is not one of ${values.join(', ')}`);
  return v as T;
}

function tube(o: Obj, k: string): string {
  const v = text(o, k, 200);
  if (!isValidTubeName(v)) throw new Invalid(`${k} is not a tube name`);
  return v;
}

const NODE_STATES: readonly NodeStatus['state'][] = ['starting', 'connecting', 'idle', 'waiting', 'working', 'sending', 'sleeping', 'done', 'failed'];

function status(v: unknown): NodeStatus {
  const o = obj(v, 'status');
  const s: NodeStatus = { state: oneOf(o, 'state', NODE_STATES) };
  if (o.job !== undefined) s.job = int(o, 'job', 0, Number.MAX_SAFE_INTEGER);
  if (o.detail !== undefined) s.detail = text(o, 'detail');
  return s;
}

/** What a worker node may send (a remote node is always a worker: no producer reports). */
function fromNode(v: unknown): FromNode {
  const o = obj(v, 'node message');
  const vt = num(o, 'vt');
  switch (o.t) {
    case 'connect': {
      const m: FromNode = { t: 'connect', vt, conn: int(o, 'conn', 1, MAX_CONN) };
      // The matrix worker also reads and writes the key-value store.
      if (o.to !== undefined) m.to = oneOf(o, 'to', ['store'] as const);
      return m;
    }
    case 'close':
      return { t: 'close', vt, conn: int(o, 'conn', 1, MAX_CONN) };
    case 'data':
      return { t: 'data', vt, conn: int(o, 'conn', 1, MAX_CONN), bytes: bytes(o, 'bytes') };
    case 'compute':
    case 'sleep':
      return { t: o.t, vt, until: num(o, 'until') };
    case 'idle':
      return { t: 'idle', vt };
    case 'status':
      return { t: 'status', vt, status: status(o.status) };
    case 'log':
      return { t: 'log', vt, text: text(o, 'text') };
    case 'report': {
      const r = obj(o.report, 'report');
      const job = int(r, 'job', 0, Number.MAX_SAFE_INTEGER);
      if (r.kind === 'task-failed') return { t: 'report', vt, report: { kind: 'task-failed', job, error: text(r, 'error') } };
      if (r.kind !== 'task-done') throw new Invalid('a worker reports only task-done and task-failed');
      const task = text(r, 'task', 40);
      if (!isTaskKind(task)) throw new Invalid('task is not a built-in task kind');
      const report: NodeReport = { kind: 'task-done', job, task, ms: num(r, 'ms'), units: num(r, 'units') };
      if (r.result !== undefined) report.result = text(r, 'result', MAX_RESULT_CHARS);
      return { t: 'report', vt, report };
    }
    case 'rerun-done': {
      const n = int(o, 'n', 0, Number.MAX_SAFE_INTEGER);
      const ms = num(o, 'ms');
      if (o.error !== undefined) return { t: 'rerun-done', vt, n, ms, error: text(o, 'error') };
      return { t: 'rerun-done', vt, n, ms, result: text(o, 'result', MAX_RESULT_CHARS) };
    }
    default:
      throw new Invalid('unknown node message type');
  }
}

/** A built-in task, checked as a job body's task is. */
function task(v: unknown): TaskSpec {
  try {
    return checkTask(v);
  } catch (err) {
    throw new Invalid(`spec: ${(err as Error).message}`);
  }
}

function workerConfig(v: unknown): WorkerConfig {
  const o = obj(v, 'worker config');
  const config: WorkerConfig = {
    watch: tube(o, 'watch'),
    use: tube(o, 'use'),
    onFailure: oneOf(o, 'onFailure', ['release-then-delete', 'bury'] as const),
    reconnectEachJob: bool(o, 'reconnectEachJob'),
  };
  if (o.pipelined !== undefined) config.pipelined = bool(o, 'pipelined');
  if (o.putResults !== undefined) config.putResults = bool(o, 'putResults');
  if (o.maxReserves !== undefined) config.maxReserves = int(o, 'maxReserves', 0, 1_000_000);
  return config;
}

/** What the host may send a remote node: only worker programs start there. */
function toNode(v: unknown): ToNode {
  const o = obj(v, 'node message');
  switch (o.t) {
    case 'start': {
      const config = obj(o.config, 'config');
      if (config.role !== 'worker') throw new Invalid('a remote node runs only the worker program');
      return { t: 'start', vt: num(o, 'vt'), name: text(o, 'name', 80), seed: int(o, 'seed', 0, 2 ** 32 - 1), config: { role: 'worker', worker: workerConfig(config.worker) }, virtual: false };
    }
    case 'open':
    case 'refused':
    case 'closed':
      return { t: o.t, vt: num(o, 'vt'), conn: int(o, 'conn', 1, MAX_CONN) };
    case 'data':
      return { t: 'data', vt: num(o, 'vt'), conn: int(o, 'conn', 1, MAX_CONN), bytes: bytes(o, 'bytes') };
    case 'wake':
      return { t: 'wake', vt: num(o, 'vt') };
    case 'hang':
      return { t: 'hang' };
    case 'slow': {
      const factor = num(o, 'factor');
      if (factor < 1 || factor > 1000) throw new Invalid('factor is out of range');
      return { t: 'slow', factor };
    }
    case 'rerun':
      return { t: 'rerun', vt: num(o, 'vt'), n: int(o, 'n', 0, Number.MAX_SAFE_INTEGER), spec: task(o.spec) };
    default:
      throw new Invalid('unknown node message type');
  }
}

function parse(raw: unknown): unknown {
  if (typeof raw !== 'string') throw new Invalid('not a text message');
  if (raw.length > MAX_MESSAGE_CHARS) throw new Invalid(`${raw.length} chars, over the limit of ${MAX_MESSAGE_CHARS}`);
  try {
    return JSON.parse(raw);
  } catch {
    throw new Invalid('not JSON');
  }
}

function decodeWith<T>(raw: unknown, read: (o: Obj) => T): Decoded<T> {
  try {
    return { ok: true, msg: read(obj(parse(raw), 'message')) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, why: err.message };
    throw err;
  }
}

/** A message or a batch of them (batchFrames), each checked: one bad message refuses the whole batch. */
function decodeBatchWith<T>(raw: unknown, read: (o: Obj) => T): Decoded<T[]> {
  try {
    const v = parse(raw);
    if (!Array.isArray(v)) return { ok: true, msg: [read(obj(v, 'message'))] };
    if (v.length < 2) throw new Invalid(`a batch of ${v.length} message${v.length === 1 ? '' : 's'} (a batch holds at least 2)`);
    return { ok: true, msg: v.map((x, i) => read(obj(x, `message ${i + 1} of the batch`))) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, why: err.message };
    throw err;
  }
}

/** A frame's message or batch from a joiner, checked (on the host), in the order sent. */
export function decodeJoinerMessages(raw: unknown): Decoded<JoinerMessage[]> {
  return decodeBatchWith(raw, joinerMessage);
}

/** A frame's message or batch from the host, checked (on a joiner), in the order sent. */
export function decodeHostMessages(raw: unknown): Decoded<HostMessage[]> {
  return decodeBatchWith(raw, hostMessage);
}

/** A message from a joiner, checked (on the host). */
export function decodeJoinerMessage(raw: unknown): Decoded<JoinerMessage> {
  return decodeWith(raw, joinerMessage);
}

/** A message from the host, checked (on a joiner). */
export function decodeHostMessage(raw: unknown): Decoded<HostMessage> {
  return decodeWith(raw, hostMessage);
}

function joinerMessage(o: Obj): JoinerMessage {
  switch (o.t) {
    case 'hello': {
      const hello: JoinerHello = { t: 'hello', v: int(o, 'v', 0, 1000), room: text(o, 'room', 40), slots: int(o, 'slots', 1, MAX_SLOTS), name: text(o, 'name', 60) };
      // Optional here, so that a hello without them is refused by the host with its reason.
      if (o.nonce !== undefined) hello.nonce = hexText(o, 'nonce', NONCE_HEX);
      if (o.proof !== undefined) hello.proof = hexText(o, 'proof', MAC_HEX);
      if (o.tab !== undefined) hello.tab = hexText(o, 'tab', TAB_HEX);
      if (o.platform !== undefined) hello.platform = text(o, 'platform', 60);
      if (o.cores !== undefined) hello.cores = int(o, 'cores', 1, MAX_CORES);
      return hello;
    }
    case 'node':
      return { t: 'node', s: int(o, 's', 0, MAX_SLOTS - 1), g: int(o, 'g', 0, Number.MAX_SAFE_INTEGER), m: fromNode(o.m) };
    case 'pong':
      return { t: 'pong', n: int(o, 'n', 0, Number.MAX_SAFE_INTEGER) };
    case 'lesson': {
      if (o.at === null) return { t: 'lesson', at: null };
      const at = obj(o.at, 'at');
      return { t: 'lesson', at: { lesson: text(at, 'lesson', MAX_LESSON_ID), step: int(at, 'step', 0, MAX_STEP) } };
    }
    case 'bye':
      return { t: 'bye' };
    default:
      throw new Invalid('unknown message type');
  }
}

function hostMessage(o: Obj): HostMessage {
  switch (o.t) {
    case 'hello':
      return { t: 'hello', answer: hexText(o, 'answer', MAC_HEX) };
    case 'welcome': {
      if (!Array.isArray(o.nodes) || o.nodes.length > MAX_SLOTS) throw new Invalid('nodes is not a list of slots');
      const nodes = o.nodes.map((n: unknown) => {
        const x = obj(n, 'node');
        return { s: int(x, 's', 0, MAX_SLOTS - 1), name: text(x, 'name', 80) };
      });
      const welcome: HostMessage = { t: 'welcome', room: text(o, 'room', 40), joiner: int(o, 'joiner', 1, Number.MAX_SAFE_INTEGER), nodes };
      if (o.lessons !== undefined) {
        if (o.lessons !== true) throw new Invalid('lessons is not true');
        welcome.lessons = true;
      }
      return welcome;
    }
    case 'waiting':
      return { t: 'waiting' };
    case 'node':
      return { t: 'node', s: int(o, 's', 0, MAX_SLOTS - 1), g: int(o, 'g', 0, Number.MAX_SAFE_INTEGER), m: toNode(o.m) };
    case 'stop':
      return { t: 'stop', s: int(o, 's', 0, MAX_SLOTS - 1), g: int(o, 'g', 0, Number.MAX_SAFE_INTEGER) };
    case 'ping':
      return { t: 'ping', n: int(o, 'n', 0, Number.MAX_SAFE_INTEGER) };
    case 'bye':
      return { t: 'bye', reason: text(o, 'reason') };
    default:
      throw new Invalid('unknown message type');
  }
}
