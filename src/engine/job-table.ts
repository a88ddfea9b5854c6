// Jobs by id (beanstalkd's all_jobs hash). Ids are handed out in sequence, so jobs live in pages of
// consecutive ids: a lookup is two array reads instead of a hash probe into a million-entry Map,
// which dominated the cost of put and delete at queue depth 10^6.
import type { Job } from './job.ts';

const PAGE_BITS = 10;
const PAGE_SIZE = 1 << PAGE_BITS;

interface Page {
  slots: (Job | undefined)[];
  used: number;
}

export class JobTable {
  private readonly pages = new Map<number, Page>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): Job | undefined {
    return this.pages.get(Math.floor(id / PAGE_SIZE))?.slots[id % PAGE_SIZE];
  }

  set(id: number, j: Job): void {
    const key = Math.floor(id / PAGE_SIZE);
    let page = this.pages.get(key);
    if (!page) {
      page = { slots: new Array(PAGE_SIZE), used: 0 };
      this.pages.set(key, page);
    }
    const k = id % PAGE_SIZE;
    if (page.slots[k] === undefined) {
      page.used++;
      this.count++;
    }
    page.slots[k] = j;
  }

  delete(id: number): boolean {
    const key = Math.floor(id / PAGE_SIZE);
    const page = this.pages.get(key);
    const k = id % PAGE_SIZE;
    if (!page || page.slots[k] === undefined) return false;
    page.slots[k] = undefined;
    this.count--;
    if (--page.used === 0) this.pages.delete(key);
    return true;
  }

  /** Every job in id order, as an array (faster than values() for a whole-table walk). */
  all(): Job[] {
    const out: Job[] = [];
    for (const page of this.pagesInOrder()) for (const j of page.slots) if (j) out.push(j);
    return out;
  }

  *values(): IterableIterator<Job> {
    for (const page of this.pagesInOrder()) for (const j of page.slots) if (j) yield j;
  }

  private pagesInOrder(): Page[] {
    return [...this.pages.keys()].sort((a, b) => a - b).map((key) => this.pages.get(key) as Page);
  }
}
