// The room's side of a PeerJS connection (channelOf). Its messages reach the room from the moment the
// connection exists: under load, @roamhq/wrtc hands the host a joiner's hello before the host has
// handled the connection's 'open'; the hello was lost, the host's next ping was answered, and the
// joiner was dropped for a pong "before saying hello" (join-bridge.test.ts failed so in CI).
import { EventEmitter } from 'node:events';
import { expect, test } from 'vitest';
import type { DataConnection } from 'peerjs';
import { channelOf } from '../../src/net/peer-link.ts';

function fakeConnection(open = true) {
  const sent: string[] = [];
  const conn = Object.assign(new EventEmitter(), {
    peer: 'joiner-1',
    open,
    closed: false,
    full: false,
    sent,
    dataChannel: {
      send(text: string) {
        if (conn.full) throw new Error('send queue is full');
        sent.push(text);
      },
    },
    close() {
      conn.closed = true;
      conn.open = false;
    },
  });
  return conn;
}

test("messages that arrive before the room reads the channel are kept and read first, in order; later ones go straight through", () => {
  const conn = fakeConnection();
  const channel = channelOf(conn as unknown as DataConnection);
  conn.emit('data', 'hello');
  conn.emit('data', 'pong 1');
  const read: unknown[] = [];
  channel.onmessage = (data) => read.push(data);
  expect(read).toEqual(['hello', 'pong 1']);
  conn.emit('data', 'pong 2');
  expect(read).toEqual(['hello', 'pong 1', 'pong 2']);
});

test('a reader that hands the channel on while the early messages are read leaves the rest to the next reader', () => {
  const conn = fakeConnection();
  const channel = channelOf(conn as unknown as DataConnection);
  for (const m of ['a', 'b', 'c']) conn.emit('data', m);
  const first: unknown[] = [];
  const second: unknown[] = [];
  channel.onmessage = (data) => {
    first.push(data);
    channel.onmessage = (d) => second.push(d);
  };
  expect(first).toEqual(['a']);
  expect(second).toEqual(['b', 'c']);
});

test("sends go straight to the data channel while it is open; one it cannot take closes the connection (the room then lets that peer go), and nothing is sent after", () => {
  const conn = fakeConnection();
  const channel = channelOf(conn as unknown as DataConnection);
  channel.send('a');
  conn.full = true;
  channel.send('b');
  expect(conn.closed).toBe(true);
  conn.full = false;
  channel.send('c');
  expect(conn.sent).toEqual(['a']);
});

test('nothing is sent before the connection is open', () => {
  const conn = fakeConnection(false);
  channelOf(conn as unknown as DataConnection).send('hello');
  expect(conn.sent).toEqual([]);
  expect(conn.closed).toBe(false);
});
