// The layer rules of /work/shared/design.md ("a lower layer never imports a higher one"), checked on
// the import graph of src/: every import of every .ts and .svelte file, type-only and dynamic ones
// included (a type import still ties a layer to the one above it). Used by scripts/check-layers.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/** What an import points at: a layer of src/ (its top folder; '' for files at src/'s root), or what else it is. */
type Target = string | { kind: 'node' } | { kind: 'package'; name: string } | { kind: 'outside' };

interface Rule {
  /** The layers the rule applies to; '*' for every layer but those in `except`. */
  from: string;
  except?: string[];
  /** The only layers it may import (no packages, no Node builtins), or ... */
  only?: string[];
  /** ... the layers (and 'node' for Node builtins) it may never import. */
  never?: string[];
  rule: string;
}

export const RULES: Rule[] = [
  { from: 'engine', only: ['engine'], rule: 'the engine imports only the engine' },
  { from: 'protocol', only: ['engine', 'protocol'], rule: 'protocol imports only engine and protocol' },
  { from: 'history', never: ['sim', 'ui'], rule: 'history never imports sim or ui' },
  { from: 'sim', never: ['ui'], rule: 'sim never imports ui' },
  { from: '*', except: ['server', 'cli'], never: ['server', 'cli', 'node'], rule: 'only the Node-only src/server and src/cli import them or Node builtins' },
  { from: 'server', never: ['ui', 'cli'], rule: 'src/server never imports ui or cli' },
  { from: 'cli', never: ['ui'], rule: 'src/cli never imports ui' },
];

/** Known breaks, each with why it is tolerated for now: `file` (from src/'s parent) and the import as written. */
export const ALLOWED: { file: string; spec: string; why: string }[] = [];

export interface Violation {
  /** Path from the project root, with '/' separators. */
  file: string;
  line: number;
  /** The import as written. */
  spec: string;
  rule: string;
}

const NODE_BUILTINS = new Set(builtinModules);

function targetOf(file: string, spec: string): Target {
  if (spec.startsWith('.')) {
    const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    if (!to.startsWith('src/')) return { kind: 'outside' };
    const parts = to.split('/');
    return parts.length > 2 ? parts[1] : '';
  }
  if (spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0])) return { kind: 'node' };
  return { kind: 'package', name: spec };
}

function breaks(rule: Rule, layer: string, target: Target): boolean {
  if (rule.from === '*' ? rule.except?.includes(layer) : rule.from !== layer) return false;
  if (rule.only) return typeof target !== 'string' || !rule.only.includes(target);
  const name = typeof target === 'string' ? target : target.kind;
  return !!rule.never?.includes(name);
}

/** The imports of one source file with their lines; a .svelte file's are those of its <script> blocks. */
export function importsOf(file: string, source: string): { spec: string; line: number }[] {
  let code = source;
  if (file.endsWith('.svelte')) {
    // Keep the line numbers: blank out everything outside <script> blocks, newlines excepted.
    code = source.replace(/<script\b[^>]*>([\s\S]*?)<\/script>|[^\n]/g, (m, body: string | undefined) =>
      body === undefined ? ' ' : ' '.repeat(m.indexOf('>') + 1) + body + ' '.repeat('</script>'.length),
    );
  }
  return ts.preProcessFile(code, true, true).importedFiles.map((f) => ({
    spec: f.fileName,
    line: code.slice(0, f.pos).split('\n').length,
  }));
}

/** Every import in `files` (path from the project root → source) that breaks a rule and is not allowed. */
export function findViolations(files: Map<string, string>, allowed = ALLOWED): Violation[] {
  const out: Violation[] = [];
  for (const [file, source] of files) {
    const parts = file.split('/');
    const layer = parts.length > 2 ? parts[1] : '';
    for (const { spec, line } of importsOf(file, source)) {
      if (allowed.some((a) => a.file === file && a.spec === spec)) continue;
      const target = targetOf(file, spec);
      for (const rule of RULES) if (breaks(rule, layer, target)) out.push({ file, line, spec, rule: rule.rule });
    }
  }
  return out;
}

/** The .ts and .svelte files under root/src, keyed by their path from root. */
export function readSources(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (/\.(ts|svelte)$/.test(e.name)) files.set(rel, readFileSync(path.join(root, rel), 'utf8'));
    }
  };
  walk('src');
  return files;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: imports '${v.spec}': ${v.rule}`;
}
