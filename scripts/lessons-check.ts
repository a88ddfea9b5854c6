// npm run lessons:check [FILE…]: walks every step of the given lesson files (all of lessons/ without
// arguments) headless and prints each problem as `file:line: step N "Title": what is wrong`; exits 1 if
// there is any. See src/lessons/verify.ts for the rules and lessons/README.md for the lesson format.
import { readdirSync, readFileSync } from 'node:fs';
import { LessonError, parseLesson } from '../src/lessons/loader.ts';
import { formatFinding, verifyLesson } from '../src/lessons/verify.ts';

const args = process.argv.slice(2);
const files = args.length
  ? args
  : readdirSync('lessons', { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `lessons/${d.name}/index.md`)
      .sort();

let problems = 0;
let skipped = 0;
for (const file of files) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.log(`${file}:1: cannot be read: ${(e as Error).message}`);
    problems++;
    continue;
  }
  try {
    const verdict = await verifyLesson(parseLesson(file, text));
    for (const p of verdict.problems) console.log(formatFinding(p));
    for (const s of verdict.skipped) console.log(`${formatFinding(s)} [skipped]`);
    problems += verdict.problems.length;
    skipped += verdict.skipped.length;
  } catch (e) {
    console.log(e instanceof LessonError ? e.message : `${file}:1: ${(e as Error).stack ?? e}`);
    problems++;
  }
}
console.log(`lessons:check: ${files.length} file${files.length === 1 ? '' : 's'}, ${problems} problem${problems === 1 ? '' : 's'}, ${skipped} step${skipped === 1 ? '' : 's'} not walked headless`);
process.exit(problems ? 1 : 0);
