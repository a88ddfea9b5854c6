import { timeTravelInChromium } from './time-travel-browser.ts';
import { TIME_TRAVEL_PLAN, quantile } from './time-travel.ts';
const f = await timeTravelInChromium(TIME_TRAVEL_PLAN);
const q = (xs: number[], p: number) => quantile(xs, p).toFixed(1);
console.log(`${process.cwd()} record ${(f.recordMs/1000).toFixed(1)}s seek med ${q(f.seekMs,.5)} p95 ${q(f.seekMs,.95)} step med ${q(f.stepBackMs,.5)} first ${q(f.firstStepBackMs,.5)} replay ${f.replayMs.map(x=>x.toFixed(0))}`);
