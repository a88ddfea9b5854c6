import { readdirSync, readFileSync } from 'node:fs';
import { parseLesson } from '/work/main/src/lessons/loader.ts';
import { verifyLesson } from '/work/main/src/lessons/verify.ts';
const order = process.argv.slice(2);
for (const name of order) {
  const file = `lessons/${name}/index.md`;
  const t = performance.now();
  const v = await verifyLesson(parseLesson(file, readFileSync(file, 'utf8')));
  console.log(name, ((performance.now() - t) / 1000).toFixed(1), 's', v.problems.length, 'heap', (process.memoryUsage().heapUsed / 1e6).toFixed(0));
}
