// A terminal joiner's node thread (src/cli/thread-node.ts): what the node sends in one turn crosses to
// the main thread as one message, in order, so the joiner sends it on to the host in one data channel
// message; what it sends in a later turn is another message.
import { afterEach, expect, test } from 'vitest';
import { batchingPort } from '../../src/cli/thread-node.ts';
import type { FromNode, ToNode } from '../../src/nodes/messages.ts';

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

function threadAndMain() {
  const channel = new MessageChannel();
  channels.push(channel);
  const got: unknown[] = [];
  channel.port1.onmessage = (e) => got.push(e.data);
  return { node: batchingPort(channel.port2 as never), main: channel.port1, got };
}

const status = (state: 'working' | 'sending' | 'waiting', job?: number): FromNode => ({ t: 'status', vt: 1, status: { state, job } });

test("a node's posts in one turn reach the main thread as one message, a list in the order posted; a later turn's as another", async () => {
  const { node, got } = threadAndMain();
  const put = new TextEncoder().encode('put 0 0 60 1\r\nx\r\n');
  node.postMessage(status('working', 3));
  node.postMessage(status('sending', 3));
  node.postMessage({ t: 'data', vt: 1, conn: 1, bytes: put });
  await new Promise((r) => setTimeout(r, 20));
  node.postMessage(status('waiting'));
  await new Promise((r) => setTimeout(r, 20));
  expect(got).toEqual([[status('working', 3), status('sending', 3), { t: 'data', vt: 1, conn: 1, bytes: put }], [status('waiting')]]);
});

test('what the main thread sends reaches the node as before, one message at a time', async () => {
  const { node, main } = threadAndMain();
  const heard: ToNode[] = [];
  node.onmessage = (e) => heard.push(e.data);
  main.postMessage({ t: 'wake', vt: 5 });
  main.postMessage({ t: 'hang' });
  await new Promise((r) => setTimeout(r, 20));
  expect(heard).toEqual([{ t: 'wake', vt: 5 }, { t: 'hang' }]);
});
