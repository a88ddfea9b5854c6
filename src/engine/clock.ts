// Clocks and the drivers that make an engine's timers fire. The engine only reads a Clock; who
// advances time decides whether a TTR of 40 s takes 40 s (real clock) or one step (manual clock).
import type { Clock } from './types.ts';
import type { Engine } from './engine.ts';

/** Wall-clock time in ms (sub-ms precision where the platform has it). */
export class RealClock implements Clock {
  now(): number {
    return performance.timeOrigin + performance.now();
  }
}

/** Time that moves only when told to: tests, step mode, virtual-time simulation. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    if (t < this.t) throw new Error(`ManualClock: time cannot go backwards (${t} < ${this.t})`);
    this.t = t;
  }
}

/** Moves a manual clock to `to`, firing every engine timer at its exact instant on the way. */
export function advanceTo(engine: Engine, clock: ManualClock, to: number): void {
  while (engine.nextDue <= to) {
    clock.set(Math.max(clock.now(), engine.nextDue));
    engine.tick();
  }
  clock.set(to);
}

/** What a real-time driver runs: anything that says when it next needs to run (an Engine; the live cluster). */
export interface Timed {
  readonly clock: Clock;
  /** When it next needs to run (Infinity: not until something new happens). */
  readonly nextDue: number;
  /** Does what is due now. */
  tick(): void;
}

/** Keeps one timer armed for the next deadline on a real clock (the serv.c loop): of an engine, or of the live cluster. */
export class RealTimeDriver {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private armedFor = Infinity;
  private stopped = false;

  constructor(private readonly target: Timed) {}

  /** Call after anything that may have scheduled engine work (each input batch). */
  poke(): void {
    if (this.stopped) return;
    const due = this.target.nextDue;
    if (due === Infinity || due >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = due;
    const wait = Math.max(0, due - this.target.clock.now());
    // setTimeout can fire a hair early; tick() only does what is due and the loop re-arms.
    this.timer = setTimeout(() => this.fire(), Math.min(wait, 2 ** 31 - 1));
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    if (this.target.clock.now() >= this.target.nextDue) this.target.tick();
    this.poke();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
