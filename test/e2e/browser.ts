// Shared e2e harness: Debian's Chromium driven by playwright-core against the built site.
import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../../src/server/serve.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.ts';

export const SCREENSHOTS = path.resolve('test-results/screenshots');

export interface Lab {
  url: string;
  browser: Browser;
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Starts the static site on a free port and one Chromium process with its own profile. */
export async function openLab(): Promise<Lab> {
  const server = await startServer({ port: 0, host: '127.0.0.1', staticSite: true });
  // playwright gives every launch a fresh, empty profile directory of its own.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    url: server.url,
    browser,
    async newPage() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(msg.text());
      });
      page.on('pageerror', (err) => errors.push(String(err)));
      return { page, errors };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
