// The room protocol's messages: what each side accepts from the other, checked field by field.
import { describe, expect, test } from 'vitest';
import { decodeHostMessage, decodeJoinerMessage, encodeMessage, FRAME_CHARS, FrameReader, frames, MAX_DATA_BYTES, MAX_MESSAGE_CHARS, ROOM_PROTOCOL, splitData, type HostMessage } from '../../src/net/messages.ts';
import { CHANNEL_MAX_MESSAGE_BYTES } from './net-fake-channel.ts';
import { hostPeerId, joinCodeText, joinLink, linkSecret, newRoomCode, newRoomSecret, normaliseRoomCode, parseJoinCode, ROOM_CODE_LENGTH } from '../../src/net/room-code.ts';

describe('room codes', () => {
  test('are 12 base32 letters from the crypto RNG, different each time', () => {
    const codes = new Set(Array.from({ length: 200 }, () => newRoomCode()));
    expect(codes.size).toBe(200);
    for (const c of codes) expect(c).toMatch(new RegExp(`^[a-z2-7]{${ROOM_CODE_LENGTH}}$`));
  });

  test('typed codes are normalised; anything else is not a code', () => {
    expect(normaliseRoomCode('  ABCD-EFGH 2345 ')).toBe('abcdefgh2345');
    expect(normaliseRoomCode('abcdefgh234')).toBeNull();
    expect(normaliseRoomCode('abcdefgh2340')).toBeNull();
    expect(normaliseRoomCode('<img src=x>')).toBeNull();
    expect(hostPeerId('abcdefgh2345')).toBe('beanlab-abcdefgh2345');
  });
});

describe("join links and join codes carry the room's secret", () => {
  const code = 'abcdefgh2345';
  const secret = 'mnopqrstuvwx';

  test('secrets are 12 base32 letters from the crypto RNG, different each time', () => {
    const secrets = new Set(Array.from({ length: 200 }, () => newRoomSecret()));
    expect(secrets.size).toBe(200);
    for (const s of secrets) expect(s).toMatch(/^[a-z2-7]{12}$/);
  });

  test("the link holds the secret in its #fragment (never sent to a server) and keeps the page's ?signal=", () => {
    const link = joinLink('http://192.168.1.20:5173/lab/?signal=http%3A%2F%2Fsig%3A9000%2Fpeerjs&foo=1#old', code, secret);
    const u = new URL(link);
    expect(u.search).toBe('?join=abcdefgh2345&signal=http%3A%2F%2Fsig%3A9000%2Fpeerjs');
    expect(u.pathname).toBe('/lab/');
    expect(u.hash).toBe('#mnopqrstuvwx');
    expect(linkSecret(u.hash)).toBe(secret);
  });

  test('a join page without a secret, or with something else after #, has none', () => {
    expect(linkSecret('')).toBeNull();
    expect(linkSecret('#')).toBeNull();
    expect(linkSecret('#abc')).toBeNull();
    expect(linkSecret('#<img src=x>')).toBeNull();
    expect(linkSecret('#MNOP-QRST-UVWX')).toBe(secret);
  });

  test.each([
    ['as the panel shows it', joinCodeText(code, secret)],
    ['code#secret', `${code}#${secret}`],
    ['in groups of four, any case', ' ABCD efgh-2345 MNOP-qrst uvwx '],
    ['with no separator', `${code}${secret}`],
  ])('a join code typed %s gives the code and the secret', (_how, typed) => {
    expect(parseJoinCode(typed)).toEqual({ ok: true, code, secret });
  });

  test('a room code alone is not enough to join, and says so; anything else is not a join code', () => {
    expect(parseJoinCode(code)).toEqual({ ok: false, why: expect.stringContaining("only the room's code") });
    for (const typed of [`${code}-mnop`, `${code}-mnopqrstuvwx2`, `${code}-mnopqrstuvw0`, '<img src=x>', ''])
      expect(parseJoinCode(typed)).toEqual({ ok: false, why: expect.stringContaining('12 + 12 letters') });
  });
});

describe('joiner -> host', () => {
  test('wire bytes survive the trip, every byte value included', () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const text = encodeMessage({ t: 'node', s: 1, g: 4, m: { t: 'data', vt: 5, conn: 3, bytes } });
    const d = decodeJoinerMessage(text);
    expect(d.ok).toBe(true);
    if (!d.ok || d.msg.t !== 'node' || d.msg.m.t !== 'data') throw new Error('not a data message');
    expect([...d.msg.m.bytes]).toEqual([...bytes]);
    expect([d.msg.s, d.msg.g]).toEqual([1, 4]);
  });

  test("the worker's other messages pass: a failed task, a connection to the key-value store", () => {
    const failed = { t: 'node', s: 0, g: 0, m: { t: 'report', vt: 1, report: { kind: 'task-failed', job: 4, error: 'bad body' } } } as const;
    expect(decodeJoinerMessage(encodeMessage(failed))).toEqual({ ok: true, msg: failed });
    const store = { t: 'node', s: 0, g: 0, m: { t: 'connect', vt: 1, conn: 2, to: 'store' } } as const;
    expect(decodeJoinerMessage(encodeMessage(store))).toEqual({ ok: true, msg: store });
  });

  test("a re-run's answer passes: its result, or why the task could not run (result checking)", () => {
    const done = { t: 'node', s: 0, g: 0, m: { t: 'rerun-done', vt: 1, n: 3, ms: 12.5, result: 'pi 1000 785' } } as const;
    expect(decodeJoinerMessage(encodeMessage(done))).toEqual({ ok: true, msg: done });
    const failed = { t: 'node', s: 0, g: 0, m: { t: 'rerun-done', vt: 1, n: 4, ms: 0, error: 'pi task: darts must be a whole number >= 0, got -1' } } as const;
    expect(decodeJoinerMessage(encodeMessage(failed))).toEqual({ ok: true, msg: failed });
  });

  test("a hello round-trips, with the challenge's nonce and proof", () => {
    const hello = { t: 'hello', v: ROOM_PROTOCOL, room: 'abcdefgh2345', slots: 2, name: 'lab PC 7', nonce: '0f'.repeat(16), proof: 'a5'.repeat(32) } as const;
    expect(decodeJoinerMessage(encodeMessage(hello))).toEqual({ ok: true, msg: hello });
  });

  test("a hello round-trips with its tab's id (a reload rejoins as the same joiner); an id that is not 32 hex digits is malformed", () => {
    const hello = { t: 'hello', v: ROOM_PROTOCOL, room: 'abcdefgh2345', slots: 1, name: 'lab PC 7', nonce: '0f'.repeat(16), proof: 'a5'.repeat(32), tab: '7c'.repeat(16) } as const;
    expect(decodeJoinerMessage(encodeMessage(hello))).toEqual({ ok: true, msg: hello });
    expect(decodeJoinerMessage(encodeMessage({ ...hello, tab: 'joiner 1' }))).toEqual({ ok: false, why: 'tab is not 32 hex digits' });
  });

  test("a hello round-trips with the machine's platform and cores (the roster's machine column); both are optional and bounded", () => {
    const hello = { t: 'hello', v: ROOM_PROTOCOL, room: 'abcdefgh2345', slots: 2, name: 'lab PC 7', nonce: '0f'.repeat(16), proof: 'a5'.repeat(32), platform: 'Linux x86_64', cores: 8 } as const;
    expect(decodeJoinerMessage(encodeMessage(hello))).toEqual({ ok: true, msg: hello });
    expect(decodeJoinerMessage(encodeMessage({ ...hello, cores: 0 }))).toEqual({ ok: false, why: 'cores is not an integer in [1, 1024]' });
    expect(decodeJoinerMessage(encodeMessage({ ...hello, platform: 'x'.repeat(61) }))).toEqual({ ok: false, why: 'platform is not text of at most 60 chars' });
  });

  test("a shared lesson and step round-trip, and so does sharing nothing; a lesson that is no lesson is malformed", () => {
    const at = { t: 'lesson', at: { lesson: 'speedup', step: 2 } } as const;
    expect(decodeJoinerMessage(encodeMessage(at))).toEqual({ ok: true, msg: at });
    expect(decodeJoinerMessage(encodeMessage({ t: 'lesson', at: null }))).toEqual({ ok: true, msg: { t: 'lesson', at: null } });
    expect(decodeJoinerMessage('{"t":"lesson","at":{"lesson":"speedup","step":-1}}')).toEqual({ ok: false, why: 'step is not an integer in [0, 10000]' });
    expect(decodeJoinerMessage(`{"t":"lesson","at":{"lesson":"${'x'.repeat(201)}","step":1}}`)).toEqual({ ok: false, why: 'lesson is not text of at most 200 chars' });
    expect(decodeJoinerMessage('{"t":"lesson"}')).toEqual({ ok: false, why: 'at is not an object' });
  });

  test("the host's hello round-trips; an answer that is not a MAC is malformed", () => {
    const hello = { t: 'hello', answer: 'c3'.repeat(32) } as const;
    expect(decodeHostMessage(encodeMessage(hello))).toEqual({ ok: true, msg: hello });
    expect(decodeHostMessage('{"t":"hello","answer":"xyz"}')).toEqual({ ok: false, why: 'answer is not 64 hex digits' });
  });

  test.each([
    ['a binary message', new Uint8Array([1, 2, 3]), 'not a text message'],
    ['an oversized message', `{"t":"bye","pad":"${'x'.repeat(MAX_MESSAGE_CHARS)}"}`, 'over the limit'],
    ['text that is not JSON', 'garbage{', 'not JSON'],
    ['a JSON array', '[1,2]', 'not an object'],
    ['an unknown type', '{"t":"stats"}', 'unknown message type'],
    ['a hello offering no slots', '{"t":"hello","v":1,"room":"x","slots":0,"name":""}', 'slots'],
    ['a hello offering 17 slots', '{"t":"hello","v":1,"room":"x","slots":17,"name":""}', 'slots'],
    ['a hello whose nonce is not hex', '{"t":"hello","v":3,"room":"x","slots":1,"name":"","nonce":"zz","proof":""}', 'nonce is not 32 hex digits'],
    ['a hello whose proof is not a MAC', `{"t":"hello","v":3,"room":"x","slots":1,"name":"","nonce":"${'0'.repeat(32)}","proof":"${'0'.repeat(63)}"}`, 'proof is not 64 hex digits'],
    ['a slot out of range', '{"t":"node","s":99,"g":0,"m":{"t":"idle","vt":0}}', 's is not'],
    ['a producer report', '{"t":"node","s":0,"g":0,"m":{"t":"report","vt":0,"report":{"kind":"producer-done","job":1,"results":[],"seconds":1}}}', 'only task-done and task-failed'],
    ['a task that is not built in', '{"t":"node","s":0,"g":0,"m":{"t":"report","vt":0,"report":{"kind":"task-done","job":1,"task":"mine-bitcoin","ms":1,"units":1}}}', 'built-in'],
    ['bytes that are not bytes', '{"t":"node","s":0,"g":0,"m":{"t":"data","vt":0,"conn":1,"bytes":"\u0100"}}', 'not a byte'],
    ['a connection number of 0', '{"t":"node","s":0,"g":0,"m":{"t":"connect","vt":0,"conn":0}}', 'conn'],
    ['a status that is no state', '{"t":"node","s":0,"g":0,"m":{"t":"status","vt":0,"status":{"state":"<b>pwned</b>"}}}', 'state'],
    ['a connection to somewhere else', '{"t":"node","s":0,"g":0,"m":{"t":"connect","vt":0,"conn":1,"to":"host-os"}}', 'to is not one of store'],
    ['a node message that names no start', '{"t":"node","s":0,"m":{"t":"idle","vt":0}}', 'g is not'],
    ['a node message of a start numbered -1', '{"t":"node","s":0,"g":-1,"m":{"t":"idle","vt":0}}', 'g is not'],
    ['a time that is not a number', '{"t":"node","s":0,"g":0,"m":{"t":"idle","vt":"soon"}}', 'vt'],
    ['a re-run answer without a result', '{"t":"node","s":0,"g":0,"m":{"t":"rerun-done","vt":0,"n":1,"ms":1}}', 'result is not text'],
    ['a re-run answer with a result that is no text', '{"t":"node","s":0,"g":0,"m":{"t":"rerun-done","vt":0,"n":1,"ms":1,"result":[4,4]}}', 'result is not text'],
  ])('refuses %s', (_what, raw, why) => {
    const d = decodeJoinerMessage(raw);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.why).toContain(why);
  });
});

describe('host -> joiner', () => {
  test('a worker start is accepted and always runs in live time', () => {
    const start = { t: 'start', vt: 1, name: 'remote 1.1', seed: 9, virtual: true, config: { role: 'worker', worker: { watch: 'msg_for_worker', use: 'msg_for_client', onFailure: 'bury', reconnectEachJob: true } } };
    const d = decodeHostMessage(JSON.stringify({ t: 'node', s: 0, g: 3, m: start }));
    expect(d).toEqual({ ok: true, msg: { t: 'node', s: 0, g: 3, m: { ...start, virtual: false } } });
  });

  test('a producer (or anything but the worker program) never starts on a joiner', () => {
    const start = { t: 'start', vt: 1, name: 'x', seed: 9, virtual: false, config: { role: 'producer', producer: {} } };
    const d = decodeHostMessage(JSON.stringify({ t: 'node', s: 0, g: 0, m: start }));
    expect(d).toEqual({ ok: false, why: 'a remote node runs only the worker program' });
  });

  test('a worker config with a tube name beanstalkd would refuse is refused', () => {
    const start = { t: 'start', vt: 1, name: 'x', seed: 9, virtual: false, config: { role: 'worker', worker: { watch: '-bad', use: 'ok', onFailure: 'bury', reconnectEachJob: true } } };
    expect(decodeHostMessage(JSON.stringify({ t: 'node', s: 0, g: 0, m: start })).ok).toBe(false);
  });

  test('a stop names the start of the worker it stops', () => {
    expect(decodeHostMessage(encodeMessage({ t: 'stop', s: 1, g: 7 }))).toEqual({ ok: true, msg: { t: 'stop', s: 1, g: 7 } });
    expect(decodeHostMessage('{"t":"stop","s":1}')).toEqual({ ok: false, why: `g is not an integer in [0, ${Number.MAX_SAFE_INTEGER}]` });
  });

  test('a re-run asks for a built-in task, checked like a job body (result checking)', () => {
    const rerun = { t: 'rerun', vt: 1, n: 2, spec: { kind: 'pi', darts: 1000, seed: 7 } } as const;
    expect(decodeHostMessage(encodeMessage({ t: 'node', s: 0, g: 1, m: rerun }))).toEqual({ ok: true, msg: { t: 'node', s: 0, g: 1, m: rerun } });
    expect(decodeHostMessage(JSON.stringify({ t: 'node', s: 0, g: 1, m: { ...rerun, spec: { kind: 'mine-bitcoin' } } }))).toEqual({
      ok: false,
      why: 'spec: unknown task kind "mine-bitcoin": expected one of pi, matrix-block, matrix-cell, sort-chunk, busy, sleep',
    });
    expect(decodeHostMessage(JSON.stringify({ t: 'node', s: 0, g: 1, m: { ...rerun, spec: { kind: 'pi', darts: -1, seed: 7 } } }))).toEqual({
      ok: false,
      why: 'spec: pi task: darts must be a whole number >= 0, got -1',
    });
  });

  test("a welcome says whether the host reads shared lessons (an older host's welcome does not, and still decodes)", () => {
    const welcome: HostMessage = { t: 'welcome', room: 'abcdefgh2345', joiner: 2, nodes: [{ s: 0, name: 'remote 2.1' }] };
    expect(decodeHostMessage(encodeMessage(welcome))).toEqual({ ok: true, msg: welcome });
    expect(decodeHostMessage(encodeMessage({ ...welcome, lessons: true }))).toEqual({ ok: true, msg: { ...welcome, lessons: true } });
    expect(decodeHostMessage(JSON.stringify({ ...welcome, lessons: 'yes' }))).toEqual({ ok: false, why: 'lessons is not true' });
  });

  test('bye carries its reason as text', () => {
    expect(decodeHostMessage(encodeMessage({ t: 'bye', reason: 'removed by the host' }))).toEqual({ ok: true, msg: { t: 'bye', reason: 'removed by the host' } });
  });
});

describe('frames: what goes on the data channel', () => {
  /** The reply that hands a worker a 64 KiB job of control bytes (each is 6 chars of JSON: \u00XX). */
  const job = new Uint8Array(MAX_DATA_BYTES).map((_, i) => i % 8);
  const message = encodeMessage({ t: 'node', s: 0, g: 1, m: { t: 'data', vt: 0, conn: 1, bytes: job } });

  test("a 64 KiB job of control bytes, 6 times that as JSON, goes in frames Chromium's data channel carries and comes back whole", () => {
    expect(new TextEncoder().encode(message).length).toBeGreaterThan(CHANNEL_MAX_MESSAGE_BYTES);
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    const sent = frames(message);
    for (const f of sent) expect(new TextEncoder().encode(f).length).toBeLessThanOrEqual(CHANNEL_MAX_MESSAGE_BYTES);
    const reader = new FrameReader();
    const got = sent.map((f) => reader.read(f));
    expect(got.slice(0, -1)).toEqual(sent.slice(1).map(() => ({ ok: true, msg: null })));
    const d = decodeHostMessage((got.at(-1) as { msg: string }).msg);
    if (!d.ok || d.msg.t !== 'node' || d.msg.m.t !== 'data') throw new Error('not a data message');
    expect([...d.msg.m.bytes]).toEqual([...job]);
  });

  test('a frame never splits a surrogate pair (UTF-8 could not carry half of one)', () => {
    const text = JSON.stringify({ t: 'bye', reason: 'x'.repeat(FRAME_CHARS - 14) + '😀'.repeat(10) });
    const sent = frames(text);
    for (const f of sent) expect(f).toBe(new TextDecoder().decode(new TextEncoder().encode(f)));
    const reader = new FrameReader();
    expect(sent.map((f) => reader.read(f)).at(-1)).toEqual({ ok: true, msg: text });
  });

  test('wire bytes longer than a data message carries are split; the stream is the same', () => {
    const bytes = new Uint8Array(2 * MAX_DATA_BYTES + 5).map((_, i) => i);
    const parts = splitData({ t: 'data', vt: 0, conn: 3, bytes });
    expect(parts.map((p) => p.bytes.length)).toEqual([MAX_DATA_BYTES, MAX_DATA_BYTES, 5]);
    const joined = Buffer.concat(parts.map((p) => p.bytes));
    expect(joined.equals(bytes)).toBe(true);
    expect(decodeJoinerMessage(encodeMessage({ t: 'node', s: 0, g: 0, m: { t: 'data', vt: 0, conn: 1, bytes: new Uint8Array(MAX_DATA_BYTES + 1) } }))).toMatchObject({ ok: false });
  });

  test.each([
    ['a frame over the limit', () => ['{"t":"bye","pad":"' + 'x'.repeat(FRAME_CHARS) + '"}'], 'over the limit'],
    ['a message in 9 pieces', () => ['~0/9:{'], 'in 9 pieces'],
    ['pieces out of order', () => ['~1/2:{}'], 'out of order'],
    ['a piece of another message in between', () => ['~0/3:{', '~0/2:{'], 'out of order'],
    ['a whole message between two pieces', () => ['~0/2:{', '{"t":"bye"}'], 'came between the pieces'],
    ['an over-long piece', () => ['~0/2:' + 'x'.repeat(FRAME_CHARS + 1)], 'a piece of'],
    ['binary data', () => [new Uint8Array(4)], 'not a text message'],
  ])('a reader refuses %s', (_what, sent, why) => {
    const reader = new FrameReader();
    const got = (sent() as unknown[]).map((f) => reader.read(f));
    const last = got.at(-1)!;
    expect(last.ok).toBe(false);
    if (!last.ok) expect(last.why).toContain(why);
  });
});
