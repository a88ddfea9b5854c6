#!/usr/bin/env node
// Runs a TypeScript entry point of ours under plain Node: esbuild bundles our sources (packages stay
// external) into a cached ES module, rebuilt only when a source file is newer. It starts in well under
// half a second, where a per-file transpiling loader takes longer.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, statSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs ENTRY.ts [args...]');
  process.exit(2);
}
const cacheDir = path.join(root, 'node_modules/.cache/beanlab');
// Checkouts that share one node_modules (git worktrees, through a symlink) must not run each other's
// bundles: each root has its own.
const rootTag = createHash('sha1').update(root).digest('hex').slice(0, 8);
const out = path.join(cacheDir, `${entry.replace(/[\\/]/g, '_').replace(/\.ts$/, '')}-${rootTag}.mjs`);

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

// Entry points and what they import live in src/, bench/ and scripts/ (this file among them).
const newest = Math.max(...['src', 'bench', 'scripts'].map((d) => path.join(root, d)).filter(existsSync).map(newestSource), statSync(fileURLToPath(import.meta.url)).mtimeMs);
const stale = !existsSync(out) || statSync(out).mtimeMs < newest;
if (stale) {
  mkdirSync(cacheDir, { recursive: true });
  await build({
    entryPoints: [path.resolve(root, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'error',
    absWorkingDir: root,
  });
}
process.argv = [process.argv[0], path.resolve(root, entry), ...args];
await import(pathToFileURL(out).href);
