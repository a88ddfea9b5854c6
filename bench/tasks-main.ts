// Runs only the task-kernel benchmark: node scripts/run-ts.mjs bench/tasks-main.ts
import { benchTasks } from './tasks.ts';

for (const line of await benchTasks()) console.log(line);
