// A room on a lab's network: the join links carry the machine's LAN addresses, not 127.0.0.1. The
// pure choice of links (lan-links.ts, the page's side) and of addresses (lan.ts, the server's side),
// then the real server's /beanlab/host.json and the lines `npm start` prints.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { HOST_JSON_URL, joinPages, parseServedHost, type ServedHost } from '../../src/net/lan-links.ts';
import { HOST_JSON_PATH, hostUrl, lanAddresses, lanLines } from '../../src/server/lan.ts';
import { startServer } from '../../src/server/serve.ts';

const PAGE = 'http://127.0.0.1:5173/?seed=3';

describe('joinPages: the pages classmates open, from where the server listens and the page’s own address', () => {
  const served = (listen: string, addresses: string[], port = 5173): ServedHost => ({ listen, port, addresses });
  test.each([
    { name: 'a static host (no endpoint): the page’s own address, no note', page: 'https://lab.example.org/beanlab/', served: null, pages: ['https://lab.example.org/beanlab/'], note: null },
    { name: 'listening on loopback only: the page’s address and the loopback note', page: PAGE, served: served('127.0.0.1', []), pages: [PAGE], note: 'loopback-only' },
    { name: 'listening on localhost: the loopback note too', page: 'http://localhost:5173/', served: served('localhost', []), pages: ['http://localhost:5173/'], note: 'loopback-only' },
    { name: 'listening on 0.0.0.0 of a machine without a network: its own note', page: PAGE, served: served('0.0.0.0', []), pages: [PAGE], note: 'no-network' },
    { name: 'listening on 0.0.0.0: one page per LAN address, path and query kept', page: PAGE, served: served('0.0.0.0', ['192.168.1.20', '10.0.0.5']), pages: ['http://192.168.1.20:5173/?seed=3', 'http://10.0.0.5:5173/?seed=3'], note: null },
    { name: 'an IPv6 address goes in brackets', page: PAGE, served: served('::', ['192.168.1.20', 'fd00::2']), pages: ['http://192.168.1.20:5173/?seed=3', 'http://[fd00::2]:5173/?seed=3'], note: null },
    { name: 'the server’s port, not the page’s', page: 'http://localhost:8080/', served: served('0.0.0.0', ['192.168.1.20'], 9000), pages: ['http://192.168.1.20:9000/'], note: null },
    { name: 'a page opened on a LAN address already: not twice', page: 'http://10.0.0.5:5173/', served: served('0.0.0.0', ['192.168.1.20', '10.0.0.5']), pages: ['http://192.168.1.20:5173/', 'http://10.0.0.5:5173/'], note: null },
    { name: 'a page opened by the lab server’s name: that name first', page: 'http://lab-server:5173/', served: served('0.0.0.0', ['192.168.1.20']), pages: ['http://lab-server:5173/', 'http://192.168.1.20:5173/'], note: null },
  ])('$name', ({ page, served, pages, note }) => {
    expect(joinPages(page, served)).toEqual({ pages, note });
  });
});

describe('parseServedHost: anything but the endpoint’s answer is no answer (the page then uses its own address)', () => {
  test('the endpoint’s JSON', () => {
    expect(parseServedHost({ listen: '0.0.0.0', port: 5173, addresses: ['10.0.0.5'] })).toEqual({ listen: '0.0.0.0', port: 5173, addresses: ['10.0.0.5'] });
  });
  test.each([null, 'x', [], {}, { listen: '0.0.0.0', port: '5173', addresses: [] }, { listen: '0.0.0.0', port: 0, addresses: [] }, { listen: '0.0.0.0', port: 5173, addresses: [3] }, { listen: 1, port: 5173, addresses: [] }, { listen: '0.0.0.0', port: 5173, addresses: [''] }])(
    '%j is refused',
    (json) => {
      expect(parseServedHost(json)).toBeNull();
    },
  );
});

describe('lanAddresses: the non-loopback addresses a listen address answers on', () => {
  const iface = (address: string, family: 'IPv4' | 'IPv6', internal: boolean): os.NetworkInterfaceInfo =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as os.NetworkInterfaceInfo;
  const interfaces = {
    lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
    eth0: [iface('192.168.1.20', 'IPv4', false), iface('fd00::2', 'IPv6', false), iface('fe80::1', 'IPv6', false)],
    wlan0: [iface('10.0.0.5', 'IPv4', false)],
  };
  test.each([
    ['0.0.0.0', ['192.168.1.20', '10.0.0.5']],
    ['::', ['192.168.1.20', 'fd00::2', '10.0.0.5']],
    ['127.0.0.1', []],
    ['::1', []],
    ['localhost', []],
    ['127.0.1.1', []],
    ['10.0.0.5', ['10.0.0.5']],
    ['lab-server', ['lab-server']],
  ])('%s → %j', (listen, want) => {
    expect(lanAddresses(listen, interfaces)).toEqual(want);
  });
  test('the printed lines: the LAN URLs, or how to let classmates in', () => {
    expect(lanLines('0.0.0.0', 5173, ['192.168.1.20', 'fd00::2'])).toEqual(["On the lab's network (for a room's classmates): http://192.168.1.20:5173/  http://[fd00::2]:5173/"]);
    expect(lanLines('127.0.0.1', 5173, [])).toEqual(['Only this machine can open it (and join its rooms): for classmates on the network, start with npm start -- --host 0.0.0.0']);
    expect(lanLines('0.0.0.0', 5173, [])).toEqual(['This machine has no network address besides loopback: only it can open beanlab.']);
  });
});

/** This machine's addresses as the tests compute them: non-internal IPv4 of every interface. */
const machineIPv4 = () =>
  Object.values(os.networkInterfaces())
    .flatMap((l) => l ?? [])
    .filter((i) => !i.internal && i.family === 'IPv4')
    .map((i) => i.address);

describe(`GET ${HOST_JSON_PATH} on the real server`, () => {
  let dist: string;
  beforeAll(() => {
    dist = mkdtempSync(path.join(tmpdir(), 'beanlab-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<div id="app"></div>');
    process.env.BEANLAB_DIST = dist;
  });
  afterAll(() => {
    delete process.env.BEANLAB_DIST;
    rmSync(dist, { recursive: true, force: true });
  });

  test.each([
    ['127.0.0.1', () => [] as string[]],
    ['0.0.0.0', machineIPv4],
  ])('listening on %s', async (host, want) => {
    const server = await startServer({ port: 0, host, staticSite: true });
    try {
      // The page asks where the server answers.
      expect(HOST_JSON_URL).toBe(HOST_JSON_PATH);
      const res = await fetch(`http://127.0.0.1:${server.port}${HOST_JSON_URL}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = await res.json();
      expect(body).toEqual({ listen: host, port: server.port, addresses: want() });
      expect(parseServedHost(body)).toEqual(body);
    } finally {
      await server.close();
    }
  });
});

describe('`npm start` prints where classmates open it', () => {
  /** The lines start.ts prints once it listens (it runs until killed). */
  async function startLines(args: string[]): Promise<string[]> {
    const dist = mkdtempSync(path.join(tmpdir(), 'beanlab-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<div id="app"></div>');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/start.ts', '--static', '--port', '0', ...args], {
      env: { ...process.env, BEANLAB_DIST: dist },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      return await new Promise<string[]>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stderr!.on('data', (d) => (err += String(d)));
        child.stdout!.on('data', (d) => {
          out += String(d);
          const lines = out.split('\n');
          if (lines.length >= 3) resolve(lines.slice(0, 2));
        });
        child.once('exit', (code) => reject(new Error(`start exited (${code}): ${err}`)));
      });
    } finally {
      child.kill('SIGKILL');
      rmSync(dist, { recursive: true, force: true });
    }
  }

  test('with --host 0.0.0.0: the URL, then this machine’s LAN URLs', async () => {
    const [first, second] = await startLines(['--host', '0.0.0.0']);
    const port = Number(/^beanlab is running at http:\/\/localhost:(\d+)\/$/.exec(first)?.[1]);
    expect(port).toBeGreaterThan(0);
    const addresses = machineIPv4();
    expect(second).toBe(addresses.length ? `On the lab's network (for a room's classmates): ${addresses.map((a) => hostUrl(a, port)).join('  ')}` : 'This machine has no network address besides loopback: only it can open beanlab.');
  }, 30_000);

  test('on loopback (the default): the URL, then how to let classmates in', async () => {
    const [first, second] = await startLines([]);
    expect(first).toMatch(/^beanlab is running at http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(second).toBe('Only this machine can open it (and join its rooms): for classmates on the network, start with npm start -- --host 0.0.0.0');
  }, 30_000);
});
