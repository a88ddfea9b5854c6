// A page of beanlab as a returning student's: lesson progress saved (none open, none done), so the app
// does not open lesson 1 as it does on a first visit. For e2e tests and benchmarks that start from the
// default scenario.
import type { BrowserContext, Page } from 'playwright-core';

export async function asReturningStudent(target: BrowserContext | Page): Promise<void> {
  await target.addInitScript(() => {
    if (localStorage.getItem('beanlab-lessons') === null) localStorage.setItem('beanlab-lessons', JSON.stringify({ current: null, lessons: {}, finished: [] }));
  });
}
