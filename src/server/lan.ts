// Where classmates on the lab's network can reach `npm start`: the machine's addresses that the server
// listens on, from os.networkInterfaces(), for the room's join links (GET /beanlab/host.json) and the
// lines `npm start` prints.
import os from 'node:os';

/** What the page reads at HOST_JSON_PATH: the server's listen address, its port, and its LAN addresses. */
export interface ServedHost {
  listen: string;
  port: number;
  /** Addresses other machines can use (none when the server listens on loopback only). */
  addresses: string[];
}

export const HOST_JSON_PATH = '/beanlab/host.json';

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/**
 * The non-loopback addresses a server listening on `listen` answers on. 0.0.0.0 is every IPv4
 * interface; :: every interface, IPv6 ones too but for link-local ones (fe80::, which a link cannot
 * name without the joiner's own interface). A single address counts if it is not a loopback one.
 */
export function lanAddresses(listen: string, interfaces: Interfaces = os.networkInterfaces()): string[] {
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const external = all.filter((i) => !i.internal);
  if (listen === '0.0.0.0') return external.filter((i) => i.family === 'IPv4').map((i) => i.address);
  if (listen === '::') return external.filter((i) => i.family === 'IPv4' || !/^fe80:/i.test(i.address)).map((i) => i.address);
  const known = all.find((i) => i.address === listen);
  if (known) return known.internal ? [] : [listen];
  // A name: localhost (and names of the loopback) is this machine only; any other name is the LAN's.
  return listen === 'localhost' || /^127\./.test(listen) || listen === '::1' ? [] : [listen];
}

/** The page's address on `host` (an IPv6 address goes in brackets). */
export function hostUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

/** What `npm start` prints after its URL: where classmates open it, or how to let them. */
export function lanLines(listen: string, port: number, addresses: readonly string[]): string[] {
  if (addresses.length > 0) return [`On the lab's network (for a room's classmates): ${addresses.map((a) => hostUrl(a, port)).join('  ')}`];
  if (listen === '0.0.0.0' || listen === '::') return ['This machine has no network address besides loopback: only it can open beanlab.'];
  return ['Only this machine can open it (and join its rooms): for classmates on the network, start with npm start -- --host 0.0.0.0'];
}
