// The project's root folder, found from the working directory (npm scripts run there) or this file.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function isRoot(dir: string): boolean {
  const pkg = path.join(dir, 'package.json');
  return existsSync(pkg) && /"name":\s*"beanlab"/.test(readFileSync(pkg, 'utf8'));
}

export function projectRoot(): string {
  for (const start of [process.cwd(), path.dirname(fileURLToPath(import.meta.url))]) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      if (isRoot(dir)) return dir;
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error('beanlab: cannot find the project folder (package.json named "beanlab")');
}
