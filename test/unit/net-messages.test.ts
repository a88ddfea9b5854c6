// The room protocol's messages: what each side accepts from the other, checked field by field.
import { describe, expect, test } from 'vitest';
import { decodeHostMessage, decodeJoinerMessage, encodeMessage, MAX_MESSAGE_CHARS, ROOM_PROTOCOL } from '../../src/net/messages.ts';
import { hostPeerId, newRoomCode, normaliseRoomCode, ROOM_CODE_LENGTH } from '../../src/net/room-code.ts';

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

  test('a hello round-trips', () => {
    const hello = { t: 'hello', v: ROOM_PROTOCOL, room: 'abcdefgh2345', slots: 2, name: 'lab PC 7' } as const;
    expect(decodeJoinerMessage(encodeMessage(hello))).toEqual({ ok: true, msg: hello });
  });

  test.each([
    ['a binary message', new Uint8Array([1, 2, 3]), 'not a text message'],
    ['an oversized message', `{"t":"bye","pad":"${'x'.repeat(MAX_MESSAGE_CHARS)}"}`, 'over the limit'],
    ['text that is not JSON', 'garbage{', 'not JSON'],
    ['a JSON array', '[1,2]', 'not an object'],
    ['an unknown type', '{"t":"stats"}', 'unknown message type'],
    ['a hello offering no slots', '{"t":"hello","v":1,"room":"x","slots":0,"name":""}', 'slots'],
    ['a hello offering 17 slots', '{"t":"hello","v":1,"room":"x","slots":17,"name":""}', 'slots'],
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

  test('bye carries its reason as text', () => {
    expect(decodeHostMessage(encodeMessage({ t: 'bye', reason: 'removed by the host' }))).toEqual({ ok: true, msg: { t: 'bye', reason: 'removed by the host' } });
  });
});
