// The failure injections a student (or a lesson) can use on the cluster, as one table: for each, when it
// is allowed (its guard), what it is called in the trace and on the timeline, the node card's button,
// whether a lesson may name it, and how it is applied (the cluster's method; a replay applies a recorded
// action through the same row). Adding a failure injection is one row here, plus the cluster method that
// does it.
import type { NodeLife, RemoteLink } from '../nodes/process.ts';
import type { ClusterAction } from './run-record.ts';
import { BACKUP_AFTER_MEDIANS } from '../nodes/backup-tasks.ts';

/** What a guard reads of the node a fault would act on. */
export interface FaultNode {
  readonly id: number;
  readonly name: string;
  readonly role: 'worker' | 'producer';
  readonly life: NodeLife;
  readonly slow: number;
  /** Share of its results it falsifies ("wrong results"; 0: honest). */
  readonly cheat: number;
  /** Why verify results excluded it, if it did. */
  readonly excluded?: string;
  readonly remote?: RemoteLink;
  /** A producer with backup tasks: whether they are on. */
  readonly backupTasks?: boolean;
}

/** What a guard reads of the cluster. */
export interface FaultScene {
  readonly virtual: boolean;
  readonly serverUp: boolean;
}

/** The cluster as the faults act on it (a Cluster fits). */
export interface FaultTarget extends FaultScene {
  killNode(id: number): void;
  hangNode(id: number): void;
  slowNode(id: number, factor: number): void;
  restartNode(id: number): void;
  dropConnection(id: number): void;
  setLatency(id: number, ms: number): void;
  setBackupTasks(id: number, on: boolean): void;
  cheatNode(id: number, rate: number): void;
  crashServer(): void;
  restartServer(withBinlog: boolean): Promise<void>;
}

/** Markers the timeline draws for an action ('add' is a node added during the run, not a fault). */
export type MarkerKind = 'kill' | 'hang' | 'restart' | 'drop' | 'slow' | 'cheat' | 'add' | 'crash' | 'server-restart';

export type NodeFaultOp = 'kill' | 'hang' | 'slow' | 'restart' | 'drop' | 'latency' | 'backup-tasks' | 'cheat';
export type ServerFaultOp = 'crash-server' | 'restart-server';
export type FaultOp = NodeFaultOp | ServerFaultOp;
/** The recorded action of fault `Op`. */
export type FaultAction<Op extends FaultOp = FaultOp> = ClusterAction & { op: Op };

interface Fault<Op extends FaultOp> {
  /** The action in words, as the trace and the timeline show it; `name`: the node it acts on. */
  label(a: FaultAction<Op>, name: string): string;
  /** The timeline marker it leaves (none: it shows no marker). */
  marker: MarkerKind | null;
  apply(c: FaultTarget, a: FaultAction<Op>): void | Promise<void>;
}

interface NodeFault<Op extends NodeFaultOp> extends Fault<Op> {
  /** Whether it can be done to `n` now (a dead node cannot be hung; a remote one that left cannot restart). */
  allowed(n: FaultNode, c: FaultScene): boolean;
  /** The node card's button, if it has one: its text, its accessible name, what it does, and the action it takes. */
  button?: {
    text: string;
    danger: boolean;
    aria(n: FaultNode): string;
    title(n: FaultNode): string;
    action(n: FaultNode): FaultAction<Op>;
    /** A switch's button: whether it is on (shown pressed). */
    pressed?(n: FaultNode): boolean;
    /** Offered in the node's inspector only, not on its card (a card has room for five buttons). */
    inspectorOnly?: true;
  };
  /** The node card shows its button only on such nodes (every node if not given). */
  only?(n: FaultNode): boolean;
  /** A lesson may name it with a node's name (`kill: worker 1`): what the argument is, for the README. */
  lesson?: string;
}

interface ServerFault<Op extends ServerFaultOp> extends Fault<Op> {
  allowed(c: FaultScene): boolean;
}

/** A slow-down button steps ×1 → ×2 → ×4 → ×10 → ×1 (×10: a straggler, lesson 10). */
const SLOW_STEPS = [1, 2, 4, 10];
/** The slow-downs a node can be given (what its Slow button steps through). */
export const SLOW_FACTORS: readonly number[] = SLOW_STEPS.slice(1);
export const nextSlow = (slow: number) => SLOW_STEPS[(SLOW_STEPS.indexOf(slow) + 1) % SLOW_STEPS.length] ?? 1;

/** A wrong-results button steps honest → every result wrong → one in five wrong (a rare cheater) → honest. */
const CHEAT_STEPS = [0, 1, 0.2];
export const nextCheat = (rate: number) => CHEAT_STEPS[(CHEAT_STEPS.indexOf(rate) + 1) % CHEAT_STEPS.length] ?? 0;
const cheatText = (rate: number) => (rate >= 1 ? 'every result wrong' : `${Math.round(rate * 100)}% of its results wrong`);

export const NODE_FAULTS = {
  kill: {
    label: (_a, name) => `kill ${name}`,
    marker: 'kill',
    allowed: (n) => n.life !== 'dead',
    apply: (c, a) => c.killNode(a.node),
    button: {
      text: 'Kill',
      danger: true,
      aria: (n) => `Kill ${n.name}`,
      title: (n) => `Kill ${n.name}: its process ends and its connections close, so the server returns its job at once`,
      action: (n) => ({ op: 'kill', node: n.id }),
    },
    lesson: 'a node name, e.g. worker 1',
  },
  hang: {
    label: (_a, name) => `hang ${name}`,
    marker: 'hang',
    allowed: (n) => n.life === 'running',
    apply: (c, a) => c.hangNode(a.node),
    button: {
      text: 'Hang',
      danger: true,
      aria: (n) => `Hang ${n.name}`,
      title: (n) => `Hang ${n.name}: it stops making progress but keeps its connection open; its job comes back only when the TTR runs out`,
      action: (n) => ({ op: 'hang', node: n.id }),
    },
    lesson: 'a node name',
  },
  slow: {
    label: (a, name) => `slow ${name} down ×${a.factor}`,
    marker: 'slow',
    allowed: (n) => n.life !== 'dead',
    apply: (c, a) => c.slowNode(a.node, a.factor),
    button: {
      text: 'Slow',
      danger: false,
      aria: (n) => `Slow down ${n.name}`,
      title: (n) => (nextSlow(n.slow) === 1 ? `Slow down ${n.name}: back to normal speed (now ×${n.slow} slower)` : `Slow down ${n.name}: make it ×${nextSlow(n.slow)} slower`),
      action: (n) => ({ op: 'slow', node: n.id, factor: nextSlow(n.slow) }),
    },
  },
  restart: {
    label: (_a, name) => `restart ${name}`,
    marker: 'restart',
    // An excluded node stays out of the run.
    allowed: (n) => n.remote?.connected !== false && n.excluded === undefined,
    apply: (c, a) => c.restartNode(a.node),
    button: {
      text: 'Restart',
      danger: false,
      aria: (n) => `Restart ${n.name}`,
      title: (n) => `Restart ${n.name}: a fresh process runs its program from the start`,
      action: (n) => ({ op: 'restart', node: n.id }),
    },
    lesson: 'a node name',
  },
  drop: {
    label: (_a, name) => `drop the connection of ${name}`,
    marker: 'drop',
    allowed: (n) => n.life !== 'dead',
    apply: (c, a) => c.dropConnection(a.node),
    button: {
      text: 'Drop',
      danger: false,
      aria: (n) => `Drop connection of ${n.name}`,
      title: (n) => `Drop the connection of ${n.name}: the network fails, both ends see the connection close`,
      action: (n) => ({ op: 'drop', node: n.id }),
    },
  },
  // A lesson's `cheat: worker 2` makes every result wrong; the button also offers a rare cheater.
  cheat: {
    label: (a, name) => ((a.rate ?? 1) ? `${name} gives wrong results (${cheatText(a.rate ?? 1)})` : `${name} gives right results again`),
    marker: 'cheat',
    // A producer computes nothing to falsify.
    allowed: (n) => n.role === 'worker' && n.life !== 'dead' && !n.remote,
    apply: (c, a) => c.cheatNode(a.node, a.rate ?? 1),
    button: {
      // Five buttons fill a worker card's row: this one is in the node's inspector.
      inspectorOnly: true,
      text: 'Cheat',
      danger: true,
      aria: (n) => `Wrong results from ${n.name}`,
      title: (n) =>
        nextCheat(n.cheat)
          ? `Wrong results: make ${n.name} cheat, ${cheatText(nextCheat(n.cheat))} (π: it says every dart hit); nothing in the queue notices`
          : `Wrong results: make ${n.name} honest again (now ${cheatText(n.cheat)})`,
      action: (n) => ({ op: 'cheat', node: n.id, rate: nextCheat(n.cheat) }),
    },
    lesson: 'a node name: from then on every result it gives is wrong',
  },
  // Set with the card's latency field, not a button. A remote node's link is a real network: none on top.
  latency: {
    label: (a, name) => `latency of ${name} = ${a.ms} ms`,
    marker: null,
    allowed: (n) => !n.remote,
    apply: (c, a) => c.setLatency(a.node, a.ms),
  },
  // Not a failure but a producer's option the student switches mid-run: recorded like one, so replay and time travel repeat it.
  'backup-tasks': {
    label: (a, name) => `backup tasks ${a.on ? 'on' : 'off'} in ${name}`,
    marker: null,
    allowed: (n) => n.backupTasks !== undefined && n.life === 'running',
    apply: (c, a) => c.setBackupTasks(a.node, a.on),
    only: (n) => n.backupTasks !== undefined,
    button: {
      text: 'Backup tasks',
      danger: false,
      pressed: (n) => n.backupTasks === true,
      aria: (n) => `Backup tasks of ${n.name}`,
      title: (n) =>
        n.backupTasks
          ? `Turn backup tasks off: ${n.name} stops putting copies of slow jobs`
          : `Turn backup tasks on: when the work tube is empty, ${n.name} puts a copy of any job reserved more than ${BACKUP_AFTER_MEDIANS}× the median job's time; the first result wins`,
      action: (n) => ({ op: 'backup-tasks', node: n.id, on: !n.backupTasks }),
    },
  },
} satisfies { [Op in NodeFaultOp]: NodeFault<Op> };

export const SERVER_FAULTS = {
  'crash-server': {
    label: () => 'crash the queue server',
    marker: 'crash',
    allowed: (c) => c.serverUp,
    apply: (c) => c.crashServer(),
  },
  'restart-server': {
    label: (a) => (a.binlog ? 'restart the queue server from its binlog' : 'restart the queue server without a binlog'),
    marker: 'server-restart',
    allowed: (c) => !c.serverUp,
    apply: (c, a) => c.restartServer(a.binlog),
  },
} satisfies { [Op in ServerFaultOp]: ServerFault<Op> };

/** Every fault, by op. */
export const FAULTS: { readonly [Op in FaultOp]: Fault<Op> } = { ...NODE_FAULTS, ...SERVER_FAULTS };

export function isFault(a: ClusterAction): a is FaultAction {
  return Object.hasOwn(FAULTS, a.op);
}

export function isNodeFaultOp(op: string): op is NodeFaultOp {
  return Object.hasOwn(NODE_FAULTS, op);
}

/** A fault's row, for an action of unknown op (TypeScript cannot pair a union of rows with a union of actions). */
const rowOf = (a: FaultAction) => FAULTS[a.op] as Fault<FaultOp>;

export const faultLabel = (a: FaultAction, name: string) => rowOf(a).label(a, name);
export const faultMarker = (a: FaultAction) => rowOf(a).marker;
export const applyFault = (c: FaultTarget, a: FaultAction) => rowOf(a).apply(c, a);

/** The node faults a node card shows as buttons, in the card's order. */
export const NODE_BUTTONS = (Object.keys(NODE_FAULTS) as NodeFaultOp[]).flatMap((op) => {
  const f: NodeFault<NodeFaultOp> = NODE_FAULTS[op];
  return f.button ? [{ op, allowed: f.allowed, only: f.only ?? (() => true), ...f.button }] : [];
});

/** Faults a lesson may name with a node's name (`kill: worker 1`). */
export type LessonNodeFault = { [Op in NodeFaultOp]: (typeof NODE_FAULTS)[Op] extends { lesson: string } ? Op : never }[NodeFaultOp];

/** The lesson's node faults with what their argument is. */
export const LESSON_NODE_FAULTS = Object.fromEntries(
  (Object.keys(NODE_FAULTS) as NodeFaultOp[]).flatMap((op) => {
    const lesson = (NODE_FAULTS[op] as NodeFault<NodeFaultOp>).lesson;
    return lesson ? [[op, lesson]] : [];
  }),
) as Record<LessonNodeFault, string>;
