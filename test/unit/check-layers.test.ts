// The layer check of `npm run check` (scripts/layers.ts): on a small fake tree, each rule of
// design.md's layering reports the file, line and import that breaks it; what the rules allow passes.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findViolations, formatViolation, readSources } from '../../scripts/layers.ts';

const root = mkdtempSync(path.join(tmpdir(), 'beanlab-layers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string>): Map<string, string> {
  const dir = mkdtempSync(path.join(root, 't-'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, file), source);
  }
  return readSources(dir);
}

const report = (files: Record<string, string>) => findViolations(tree(files), []).map(formatViolation);

describe('layer rules', () => {
  test('what the rules allow passes', () => {
    expect(
      report({
        'src/engine/a.ts': "import { b } from './b.ts';\nimport type { C } from './sub/c.ts';\n",
        'src/engine/b.ts': 'export const b = 1;\n',
        'src/engine/sub/c.ts': 'export type C = number;\n',
        'src/protocol/p.ts': "import { b } from '../engine/b.ts';\n",
        'src/sim/s.ts': "import { p } from '../protocol/p.ts';\nimport { h } from '../history/h.ts';\n",
        'src/ui/V.svelte': "<script lang=\"ts\">\n  import { s } from '../sim/s.ts';\n  import * as d3 from 'd3';\n</script>\n<p>{s}</p>\n",
        'src/server/srv.ts': "import { createServer } from 'node:net';\nimport { s } from '../sim/s.ts';\n",
        'src/main.ts': "import V from './ui/V.svelte';\n",
      }),
    ).toEqual([]);
  });

  test('the engine imports only the engine: a protocol import and a package are reported with file and line', () => {
    expect(report({ 'src/engine/e.ts': "// the engine\nimport { parse } from '../protocol/parse.ts';\nimport x from 'yaml';\n" })).toEqual([
      "src/engine/e.ts:2: imports '../protocol/parse.ts': the engine imports only the engine",
      "src/engine/e.ts:3: imports 'yaml': the engine imports only the engine",
    ]);
  });

  test('protocol imports only engine and protocol', () => {
    expect(report({ 'src/protocol/p.ts': "import type { Cluster } from '../sim/cluster.ts';\n" })).toEqual([
      "src/protocol/p.ts:1: imports '../sim/cluster.ts': protocol imports only engine and protocol",
    ]);
  });

  test('history never imports sim or ui (type-only and dynamic imports too)', () => {
    expect(report({ 'src/history/h.ts': "import type { Cluster } from '../sim/cluster.ts';\nconst v = () => import('../ui/view.ts');\n" })).toEqual([
      "src/history/h.ts:1: imports '../sim/cluster.ts': history never imports sim or ui",
      "src/history/h.ts:2: imports '../ui/view.ts': history never imports sim or ui",
    ]);
  });

  test('sim never imports ui, also from a re-export', () => {
    expect(report({ 'src/sim/s.ts': "export { colours } from '../ui/colours.ts';\n" })).toEqual([
      "src/sim/s.ts:1: imports '../ui/colours.ts': sim never imports ui",
    ]);
  });

  test('only the Node-only src/server and src/cli import them or Node builtins, a .svelte script included', () => {
    expect(
      report({
        'src/nodes/n.ts': "import { readFileSync } from 'node:fs';\nimport path from 'path';\n",
        'src/ui/Panel.svelte': "<p>before</p>\n<script lang=\"ts\">\n  import { serve } from '../server/serve.ts';\n</script>\n",
        'src/net/j.ts': "import { join } from '../cli/join.ts';\n",
        'src/cli/ok.ts': "import os from 'node:os';\nimport { RoomMember } from '../net/room-member.ts';\n",
      }),
    ).toEqual([
      "src/net/j.ts:1: imports '../cli/join.ts': only the Node-only src/server and src/cli import them or Node builtins",
      "src/nodes/n.ts:1: imports 'node:fs': only the Node-only src/server and src/cli import them or Node builtins",
      "src/nodes/n.ts:2: imports 'path': only the Node-only src/server and src/cli import them or Node builtins",
      "src/ui/Panel.svelte:3: imports '../server/serve.ts': only the Node-only src/server and src/cli import them or Node builtins",
    ]);
  });

  test('src/server never imports ui or cli; src/cli never imports ui', () => {
    expect(report({ 'src/server/s.ts': "import App from '../ui/App.svelte';\nimport { join } from '../cli/join.ts';\n", 'src/cli/c.ts': "import App from '../ui/App.svelte';\n" })).toEqual([
      "src/cli/c.ts:1: imports '../ui/App.svelte': src/cli never imports ui",
      "src/server/s.ts:1: imports '../ui/App.svelte': src/server never imports ui or cli",
      "src/server/s.ts:2: imports '../cli/join.ts': src/server never imports ui or cli",
    ]);
  });

  test('an allowed break is not reported, the same import elsewhere is', () => {
    const files = tree({ 'src/history/a.ts': "import type { C } from '../sim/c.ts';\n", 'src/history/b.ts': "import type { C } from '../sim/c.ts';\n" });
    const allowed = [{ file: 'src/history/a.ts', spec: '../sim/c.ts', why: 'test' }];
    expect(findViolations(files, allowed).map((v) => v.file)).toEqual(['src/history/b.ts']);
  });

  test("the project's own src/ holds the rules", () => {
    expect(findViolations(readSources(path.resolve(__dirname, '../..'))).map(formatViolation)).toEqual([]);
  });
});
