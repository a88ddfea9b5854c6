// Shared e2e harness: Debian's Chromium driven by playwright-core against the built site.
import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../../src/server/serve.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.ts';
import { asReturningStudent } from '../support/returning-student.ts';

export const SCREENSHOTS = path.resolve('test-results/screenshots');

export interface Lab {
  url: string;
  browser: Browser;
  /**
   * A page in a fresh context, 1280×720 unless told. It is a returning student's (lesson progress saved,
   * no lesson open), unless `firstVisit`: a first visit opens lesson 1 by itself.
   */
  newPage(options?: { viewport?: { width: number; height: number }; firstVisit?: boolean }): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** What the page reports as errors (console errors and uncaught exceptions), as they come. */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  return errors;
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
    async newPage({ viewport = { width: 1280, height: 720 }, firstVisit = false } = {}) {
      const context = await browser.newContext({ viewport });
      if (!firstVisit) await asReturningStudent(context);
      const page = await context.newPage();
      return { page, errors: consoleErrors(page) };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * Real-node mode as in a lab: the static site with the PeerServer on its port, and three separate
 * Chromium processes, the host's and two classmates'.
 */
export interface RoomLab {
  url: string;
  browsers: Browser[];
  /** Stops the server (and so the signaling server: every peer's id is lost) and starts a fresh one on the same port. */
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

/** `browserCount`: the host's and its classmates' Chromium processes (fewer when the joiners are terminals). */
export async function openRoomLab(browserCount = 3): Promise<RoomLab> {
  let server = await startServer({ port: 0, host: '127.0.0.1', staticSite: true });
  const browsers = await Promise.all(Array.from({ length: browserCount }, () => chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })));
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    url: server.url,
    browsers,
    async restartServer() {
      await server.close();
      server = await startServer({ port: server.port, host: '127.0.0.1', staticSite: true });
    },
    async close() {
      await Promise.all(browsers.map((b) => b.close()));
      await server.close();
    },
  };
}

/** A page in a context of its own in `browser`, at `url`, with its errors collected. */
export async function openRoomPage(browser: Browser, url: string, viewport = { width: 1280, height: 720 }): Promise<{ page: Page; errors: string[] }> {
  // WebRTC hands out host candidates to pages with a media permission.
  const context = await browser.newContext({ viewport, permissions: ['microphone'], acceptDownloads: true });
  await asReturningStudent(context);
  const page = await context.newPage();
  const errors = consoleErrors(page);
  await page.goto(url);
  return { page, errors };
}

/** The host's page with a fresh scenario (no local workers) and an open room; returns the join link. */
export async function hostRoom(lab: RoomLab, s: { darts: number; jobs: number }): Promise<{ page: Page; errors: string[]; link: string }> {
  const { page, errors } = await openRoomPage(lab.browsers[0], lab.url);
  await page.getByLabel('Darts', { exact: true }).fill(String(s.darts));
  await page.getByLabel('Jobs', { exact: true }).fill(String(s.jobs));
  await page.getByLabel('Workers', { exact: true }).fill('0');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Room', exact: true }).click();
  await page.getByRole('button', { name: 'Host a room' }).click();
  const link = await page.getByRole('textbox', { name: 'Join link' }).inputValue({ timeout: 10_000 });
  return { page, errors, link };
}

/** A classmate's page joining by `link`, once it says it is node `expectNode` of the room. */
export async function joinAs(browser: Browser, link: string, expectNode: string): Promise<{ page: Page; errors: string[] }> {
  const joiner = await openRoomPage(browser, link);
  await joiner.page.getByRole('status', { name: 'Membership' }).filter({ hasText: `node ${expectNode}` }).waitFor({ timeout: 20_000 });
  return joiner;
}

/** A node's card in the cluster view (a region named after the node). */
export const nodeCard = (page: Page, name: string) => page.getByRole('region', { name, exact: true });
