// Part of `npm run check`: fails, naming each file and import, when src/ breaks a layer rule
// (scripts/layers.ts has the rules and the known breaks tolerated for now).
import path from 'node:path';
import { findViolations, formatViolation, readSources } from './layers.ts';

const root = path.resolve(process.argv[2] ?? '.');
const violations = findViolations(readSources(root));
for (const v of violations) console.error(formatViolation(v));
if (violations.length) {
  console.error(`check-layers: ${violations.length} import${violations.length === 1 ? '' : 's'} break the layer rules (a lower layer never imports a higher one)`);
  process.exit(1);
}
console.log('check-layers: the layers hold');
