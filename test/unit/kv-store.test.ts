// The key-value store node: memcached's text protocol subset, its replies to good and malformed input,
// its statistics, and the client the node programs use.
import { describe, expect, test } from 'vitest';
import { KvStore, KvSession } from '../../src/store/store.ts';
import { KvClient } from '../../src/store/client.ts';
import { parseKvCommand } from '../../src/store/protocol.ts';
import { latin1, latin1Bytes } from '../../src/protocol/wire.ts';

/** A session on a fresh store; `send` returns what the store wrote back, as text. */
function open(store = new KvStore()) {
  let written = '';
  let closed = false;
  const session = new KvSession(store, { write: (b) => (written += latin1(b)), close: () => (closed = true) });
  const send = (text: string) => {
    written = '';
    session.receive(latin1Bytes(text));
    return written;
  };
  return { store, session, send, closed: () => closed };
}

describe('commands memcached accepts', () => {
  test('set then get returns the value with its flags; a multi-get skips missing keys', () => {
    const { send } = open();
    expect(send('set A:0 5 0 5\r\n1 2 3\r\n')).toBe('STORED\r\n');
    expect(send('set B:0 0 0 3\r\n4 5\r\n')).toBe('STORED\r\n');
    expect(send('get A:0\r\n')).toBe('VALUE A:0 5 5\r\n1 2 3\r\nEND\r\n');
    expect(send('get A:0 nope B:0\r\n')).toBe('VALUE A:0 5 5\r\n1 2 3\r\nVALUE B:0 0 3\r\n4 5\r\nEND\r\n');
    expect(send('get nope\r\n')).toBe('END\r\n');
  });

  test('add and replace respect whether the key exists; delete answers DELETED then NOT_FOUND', () => {
    const { send } = open();
    expect(send('replace k 0 0 1\r\nx\r\n')).toBe('NOT_STORED\r\n');
    expect(send('add k 0 0 1\r\nx\r\n')).toBe('STORED\r\n');
    expect(send('add k 0 0 1\r\ny\r\n')).toBe('NOT_STORED\r\n');
    expect(send('replace k 0 0 2\r\nyy\r\n')).toBe('STORED\r\n');
    expect(send('get k\r\n')).toBe('VALUE k 0 2\r\nyy\r\nEND\r\n');
    expect(send('delete k\r\n')).toBe('DELETED\r\n');
    expect(send('delete k\r\n')).toBe('NOT_FOUND\r\n');
  });

  test('noreply suppresses the reply; a command split across packets waits for the rest', () => {
    const { send } = open();
    expect(send('set k 0 0 3 noreply\r\nabc\r\n')).toBe('');
    expect(send('get ')).toBe('');
    expect(send('k\r')).toBe('');
    expect(send('\n')).toBe('VALUE k 0 3\r\nabc\r\nEND\r\n');
    expect(send('set j 0 0 4\r\nab')).toBe('');
    expect(send('cd\r\n')).toBe('STORED\r\n');
  });

  test('a bare newline ends a line, as in memcached', () => {
    const { send } = open();
    expect(send('set k 0 0 1\nz\r\nget k\n')).toBe('STORED\r\nVALUE k 0 1\r\nz\r\nEND\r\n');
  });

  test('stats counts items, bytes, gets (per key), hits, misses and sets', () => {
    const { store, send } = open();
    send('set a 0 0 3\r\nabc\r\nset b 0 0 2\r\nde\r\nset a 0 0 1\r\nx\r\n');
    send('get a b c\r\n');
    expect(store.items.size).toBe(2);
    expect(store.bytes).toBe(3);
    const stats = send('stats\r\n');
    for (const line of ['STAT curr_items 2', 'STAT bytes 3', 'STAT cmd_get 3', 'STAT get_hits 2', 'STAT get_misses 1', 'STAT cmd_set 3', 'STAT curr_connections 1']) {
      expect(stats).toContain(`${line}\r\n`);
    }
    expect(stats.endsWith('END\r\n')).toBe(true);
    expect(send('flush_all\r\n')).toBe('OK\r\n');
    expect(store.items.size).toBe(0);
    expect(store.bytes).toBe(0);
  });

  test('quit closes the connection; a closed session ignores input', () => {
    const s = open();
    expect(s.send('version\r\nquit\r\nget a\r\n')).toMatch(/^VERSION \S+\r\n$/);
    expect(s.closed()).toBe(true);
    expect(s.store.currConnections).toBe(0);
    expect(s.send('get a\r\n')).toBe('');
  });
});

describe('malformed input gets memcached\'s error replies and loses nothing stored', () => {
  test('an unknown command or a wrong number of arguments is ERROR', () => {
    const { send } = open();
    expect(send('frobnicate\r\n')).toBe('ERROR\r\n');
    expect(send('get\r\n')).toBe('ERROR\r\n');
    expect(send('set k 0 0\r\n')).toBe('ERROR\r\n');
    expect(send('GET k\r\n')).toBe('ERROR\r\n');
  });

  test('bad numbers or keys are CLIENT_ERROR bad command line format', () => {
    const { send } = open();
    expect(send('set k x 0 1\r\n')).toBe('CLIENT_ERROR bad command line format\r\n');
    expect(send('set k 0 0 -1\r\n')).toBe('CLIENT_ERROR bad command line format\r\n');
    expect(send(`set ${'k'.repeat(251)} 0 0 1\r\n`)).toBe('CLIENT_ERROR bad command line format\r\n');
    expect(send(`get ${'k'.repeat(251)}\r\n`)).toBe('CLIENT_ERROR bad command line format\r\n');
    expect(parseKvCommand(`get ${'k'.repeat(250)}`)).toEqual({ op: 'get', keys: ['k'.repeat(250)] });
  });

  test('a data block without its CRLF is CLIENT_ERROR bad data chunk and is not stored', () => {
    const { store, send } = open();
    send('set k 0 0 1\r\nold\r\n');
    expect(store.items.get('k')).toBeUndefined();
    expect(send('set k 0 0 1\r\na\r\n')).toBe('STORED\r\n');
    expect(send('set k 0 0 2\r\nxyz\r\n')).toMatch(/^CLIENT_ERROR bad data chunk\r\n/);
    expect(send('get k\r\n')).toBe('VALUE k 0 1\r\na\r\nEND\r\n');
  });

  test('a value over 1 MB is SERVER_ERROR object too large for cache, and its data is skipped', () => {
    const { store, send } = open();
    const big = 1024 * 1024 + 1;
    expect(send(`set k 0 0 ${big}\r\n${'x'.repeat(big)}\r\nget k\r\n`)).toBe('SERVER_ERROR object too large for cache\r\nEND\r\n');
    expect(store.items.size).toBe(0);
  });

  test('a line too long without its newline is refused and the connection closed', () => {
    const s = open();
    expect(s.send('get ' + 'k '.repeat(5000))).toBe('CLIENT_ERROR line too long\r\n');
    expect(s.closed()).toBe(true);
  });
});

describe('the client', () => {
  /** A client wired straight to a session, delivering bytes one at a time to exercise its reader. */
  function pair() {
    const store = new KvStore();
    let session: KvSession;
    const client = new KvClient({ write: (b) => session.receive(b) });
    session = new KvSession(store, { write: (b) => b.forEach((byte) => client.receive(Uint8Array.of(byte))), close: () => client.fail(new Error('closed')) });
    return { store, client };
  }

  test('set and multi-get round-trip values, including ones with spaces and CRLF inside', async () => {
    const { client, store } = pair();
    await client.set('A:0', '1 2 3');
    await client.set('weird', 'a\r\nEND\r\nb');
    const got = await client.get(['A:0', 'missing', 'weird']);
    expect([...got]).toEqual([
      ['A:0', '1 2 3'],
      ['weird', 'a\r\nEND\r\nb'],
    ]);
    expect(store.getMisses).toBe(1);
  });

  test('errors from the store and invalid keys reject with a clear message', async () => {
    const { client } = pair();
    await expect(client.set('has space', 'x')).rejects.toThrow(/invalid key "has space"/);
    await expect(client.request('nonsense')).resolves.toEqual({ lines: ['ERROR'], values: new Map() });
    await expect(client.set('k', 'x'.repeat(1024 * 1024 + 1))).rejects.toThrow(/SERVER_ERROR object too large/);
    // The connection is still in step after the refused value.
    await client.set('k', 'ok');
    expect((await client.get(['k'])).get('k')).toBe('ok');
  });
});
