// Which join links a room's panel shows: the host page's address on each of the machine's LAN
// addresses that `npm start` listens on (it says which at /beanlab/host.json), since 127.0.0.1 or
// localhost means the joiner's own machine. A site hosted elsewhere has no such endpoint: its own
// address is the one to share.

/**
 * What `npm start` reports at HOST_JSON_URL: src/server/lan.ts writes it, with its own copy of this
 * shape and path, as the page cannot import the Node-only server (net-lan-links.test.ts checks they agree).
 */
export interface ServedHost {
  listen: string;
  port: number;
  /** The addresses other machines reach it on; none if it listens on loopback only. */
  addresses: string[];
}

/** Where `npm start` answers with a ServedHost, on the page's own origin. */
export const HOST_JSON_URL = '/beanlab/host.json';

/** A ServedHost from the endpoint's JSON, or null for anything else (a static host's 404 page, a proxy's). */
export function parseServedHost(json: unknown): ServedHost | null {
  if (!json || typeof json !== 'object') return null;
  const { listen, port, addresses } = json as Record<string, unknown>;
  if (typeof listen !== 'string' || !Number.isInteger(port) || (port as number) <= 0 || (port as number) > 65535) return null;
  if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 255)) return null;
  return { listen, port: port as number, addresses: addresses as string[] };
}

/** Why the panel warns about its link: nothing wrong, the server is on loopback only, or the machine has no network. */
export type LinkNote = 'loopback-only' | 'no-network' | null;

export interface JoinPages {
  /** Pages to build join links on, the one for the QR code first. */
  pages: string[];
  note: LinkNote;
}

const isLoopbackHost = (hostname: string) => hostname === 'localhost' || /^127\./.test(hostname) || hostname === '[::1]';

/** `page` on another host and port (an IPv6 address in brackets). */
function onHost(page: string, host: string, port: number): string {
  const u = new URL(page);
  u.hostname = host.includes(':') ? `[${host}]` : host;
  u.port = String(port);
  return u.toString();
}

/**
 * The host page as classmates can open it. With no ServedHost (a static host) the page's own address;
 * when the server listens on loopback only, the page's own address and a note; otherwise one page per
 * LAN address, after the page's own address if the instructor opened it by a name other machines can
 * use (the lab server's DNS name).
 */
export function joinPages(page: string, served: ServedHost | null): JoinPages {
  if (!served) return { pages: [page], note: null };
  if (served.addresses.length === 0) return { pages: [page], note: served.listen === '0.0.0.0' || served.listen === '::' ? 'no-network' : 'loopback-only' };
  const pages = served.addresses.map((a) => onHost(page, a, served.port));
  const own = new URL(page).hostname;
  const listed = served.addresses.some((a) => own === (a.includes(':') ? `[${a}]` : a));
  if (!isLoopbackHost(own) && !listed) pages.unshift(page);
  return { pages, note: null };
}
