// `npm start`: serves the beanlab app on one port and prints its URL.
// Default: Vite in middleware mode (hot reload). `--static`: the built site from dist/.
import express from 'express';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './root.ts';
import { mountSignaling } from './signaling.ts';
import { HOST_JSON_PATH, hostUrl, lanAddresses, type ServedHost } from './lan.ts';

export interface ServeOptions {
  port: number;
  host: string;
  staticSite: boolean;
}

export function parseServeArgs(argv: string[]): ServeOptions {
  const opts: ServeOptions = { port: Number(process.env.PORT ?? 5173), host: process.env.HOST ?? '127.0.0.1', staticSite: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--static') opts.staticSite = true;
    else if (a === '--port' || a === '-p') opts.port = Number(argv[++i]);
    else if (a === '--host') opts.host = argv[++i];
    else {
      console.error(`serve: unknown option ${a}\nusage: npm start -- [--static] [--port N] [--host ADDR]`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    console.error(`serve: bad port ${opts.port}`);
    process.exit(2);
  }
  return opts;
}

export async function startServer(opts: ServeOptions) {
  const root = projectRoot();
  const app = express();
  const httpServer = createServer(app);
  let closeVite: (() => Promise<void>) | undefined;
  let port = opts.port;
  const signaling = mountSignaling(app, httpServer);
  // Read when asked, as an interface can come up (a lab machine's DHCP lease) after the server started.
  const served = (): ServedHost => ({ listen: opts.host, port, addresses: lanAddresses(opts.host) });
  // The room panel's join links: this machine's addresses on the network rather than the one the host's page was opened on.
  app.get(HOST_JSON_PATH, (_req, res) => {
    res.set('Cache-Control', 'no-store').json(served());
  });
  if (opts.staticSite) {
    // BEANLAB_DIST serves a build from elsewhere, so e2e runs can each build and serve their own copy.
    const dist = process.env.BEANLAB_DIST ? path.resolve(process.env.BEANLAB_DIST) : path.join(root, 'dist');
    if (!existsSync(path.join(dist, 'index.html'))) {
      throw new Error(`serve: ${dist}/index.html not found; run \`npm run build\` first`);
    }
    app.use(express.static(dist));
  } else {
    const { createServer: createVite } = await import('vite');
    const vite = await createVite({ root, server: { middlewareMode: true, hmr: { server: httpServer } }, appType: 'spa' });
    app.use(vite.middlewares);
    closeVite = () => vite.close();
  }
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const addr = httpServer.address();
  port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const url = hostUrl(opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host, port);
  return {
    url,
    port,
    served,
    close: async () => {
      signaling.close();
      await closeVite?.();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
