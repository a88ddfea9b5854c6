// The table of failure injections (src/sim/faults.ts): every row's guard, apply, label and timeline
// marker agree on a real simulated cluster, the lesson actions and their README list come from it, and a
// recorded run that uses every fault replays to the identical trace.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/sim/cluster.ts';
import type { ClusterAction } from '../../src/sim/run-record.ts';
import { spawnInThread } from '../../src/nodes/in-thread.ts';
import { setUp, WORKER, type PiScenario } from '../../src/sim/scenario.ts';
import { applyFault, FAULTS, faultLabel, NODE_BUTTONS, NODE_FAULTS, SERVER_FAULTS, type FaultAction, type NodeFaultOp } from '../../src/sim/faults.ts';
import { TimelineHistory } from '../../src/ui/charts/timeline.ts';
import { ACTIONS, parseAction } from '../../src/lessons/actions.ts';
import { replayRun } from '../../src/sim/replay.ts';
import { parseRun } from '../../src/sim/run-record.ts';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.dispose();
});

function piRun(over: Partial<PiScenario> = {}, seed = 3) {
  const cluster = new Cluster({ seed, mode: 'virtual', spawn: spawnInThread });
  clusters.push(cluster);
  // A producer with backup tasks, off: the switch is a row of the table too.
  setUp(cluster, { kind: 'pi', darts: 400_000, jobs: 6, workers: 3, ttr: 3, autostart: true, backupTasks: 'off', ...over }, seed);
  return cluster;
}

/** The action a fault takes on a node: its button's, or (latency, set in a field) a value. */
function actionOn(op: NodeFaultOp, n: { id: number; name: string; role: 'worker' | 'producer'; life: 'running' | 'hung' | 'dead'; slow: number; cheat: number; backupTasks?: boolean }): FaultAction {
  const button = NODE_BUTTONS.find((b) => b.op === op);
  return button ? button.action(n) : { op: 'latency', node: n.id, ms: 7 };
}

describe('the fault table', () => {
  test.each(Object.keys(NODE_FAULTS) as NodeFaultOp[])('%s: applied where its guard allows it, it leaves its label and marker; elsewhere nothing', async (op) => {
    const c = piRun();
    // A node in each life, and a remote node whose joiner has left.
    c.addNode('remote 1.1', { role: 'worker', worker: WORKER }, { spawn: spawnInThread, remote: { peer: 'gone', rtt: null, connected: false } });
    for (let i = 0; i < 30; i++) await c.step();
    await c.settle();
    const byName = (name: string) => [...c.nodes.values()].find((n) => n.name === name)!;
    c.hangNode(byName('worker 2').id);
    c.killNode(byName('worker 3').id);
    const timeline = new TimelineHistory(c.startedAt);
    timeline.update(c);
    const fault = NODE_FAULTS[op];
    let allowedSomewhere = 0;
    let refusedSomewhere = 0;
    for (const name of ['worker 1', 'worker 2', 'worker 3', 'remote 1.1', 'producer']) {
      const n = byName(name);
      const allowed = fault.allowed(n);
      const a = actionOn(op, n);
      const label = faultLabel(a, n.name);
      const before = c.trace.length;
      await applyFault(c, a);
      timeline.update(c);
      const entries = c.trace.slice(before).filter((e) => e.kind === 'action');
      if (!allowed) {
        refusedSomewhere++;
        expect(entries, `${op} on ${name} (${n.life}) is refused`).toEqual([]);
        continue;
      }
      allowedSomewhere++;
      expect(entries[0]).toMatchObject({ action: a as object, node: n.id, text: label });
      const marker = timeline.markers.at(-1);
      if (fault.marker) expect(marker).toEqual({ at: entries[0].at, kind: fault.marker, node: n.id, text: label });
      else expect(marker?.text).not.toBe(label);
    }
    expect(allowedSomewhere).toBeGreaterThan(0);
    // Every node fault is refused somewhere: a dead node, a hung one, a remote one that left, or (backup tasks) a worker.
    expect(refusedSomewhere).toBeGreaterThan(0);
  });

  test('the server faults: crash only a running server, restart only a crashed one, each with its label and marker', async () => {
    const c = piRun();
    for (let i = 0; i < 20; i++) await c.step();
    const timeline = new TimelineHistory(c.startedAt);
    const steps: [FaultAction, boolean][] = [
      [{ op: 'restart-server', binlog: true }, false],
      [{ op: 'crash-server' }, true],
      [{ op: 'crash-server' }, false],
      [{ op: 'restart-server', binlog: false }, true],
    ];
    for (const [a, allowed] of steps) {
      const row = SERVER_FAULTS[a.op as keyof typeof SERVER_FAULTS];
      expect(row.allowed(c)).toBe(allowed);
      const before = c.trace.length;
      await applyFault(c, a);
      timeline.update(c);
      const entries = c.trace.slice(before).filter((e) => e.kind === 'action');
      if (!allowed) {
        expect(entries).toEqual([]);
        continue;
      }
      const label = faultLabel(a, '');
      expect(entries[0]).toMatchObject({ action: a as object, text: label });
      expect(timeline.markers.at(-1)).toEqual({ at: entries[0].at, kind: row.marker, node: null, text: label });
    }
  });

  test('the node card shows a button for every fault but latency (a field), in the card\'s order', () => {
    expect(NODE_BUTTONS.map((b) => [b.op, b.text])).toEqual([
      ['kill', 'Kill'],
      ['hang', 'Hang'],
      ['slow', 'Slow'],
      ['restart', 'Restart'],
      ['drop', 'Drop'],
      ['cheat', 'Cheat'],
      ['backup-tasks', 'Backup tasks'],
    ]);
    const n = { id: 4, name: 'worker 4', role: 'worker' as const, life: 'running' as const, slow: 4, cheat: 0 };
    expect(NODE_BUTTONS.map((b) => b.aria(n))).toEqual([
      'Kill worker 4',
      'Hang worker 4',
      'Slow down worker 4',
      'Restart worker 4',
      'Drop connection of worker 4',
      'Wrong results from worker 4',
      'Backup tasks of worker 4',
    ]);
    // ×1 → ×2 → ×4 → ×10 → ×1.
    const slow = NODE_BUTTONS.find((b) => b.op === 'slow')!;
    expect(slow.action(n)).toEqual({ op: 'slow', node: 4, factor: 10 });
    expect(slow.action({ ...n, slow: 10 })).toEqual({ op: 'slow', node: 4, factor: 1 });
    // Honest → every result wrong → 20% wrong → honest.
    const cheat = NODE_BUTTONS.find((b) => b.op === 'cheat')!;
    expect([0, 1, 0.2].map((rate) => cheat.action({ ...n, cheat: rate }))).toEqual([1, 0.2, 0].map((rate) => ({ op: 'cheat', node: 4, rate })));
    // Backup tasks: a switch shown only on a producer that keeps their bookkeeping.
    const backups = NODE_BUTTONS.find((b) => b.op === 'backup-tasks')!;
    expect(backups.only(n)).toBe(false);
    const producer = { id: 5, name: 'producer', role: 'producer' as const, life: 'running' as const, slow: 1, cheat: 0, backupTasks: false };
    expect([backups.only(producer), backups.pressed?.(producer), backups.action(producer)]).toEqual([true, false, { op: 'backup-tasks', node: 5, on: true }]);
    expect(backups.action({ ...producer, backupTasks: true })).toEqual({ op: 'backup-tasks', node: 5, on: false });
  });

  test('lessons may name the faults the table gives a lesson argument, and lessons/README.md lists every lesson action', () => {
    const lessonFaults = (Object.keys(NODE_FAULTS) as NodeFaultOp[]).filter((op) => 'lesson' in NODE_FAULTS[op]);
    expect(lessonFaults).toEqual(['kill', 'hang', 'restart', 'cheat']);
    for (const op of lessonFaults) {
      expect(ACTIONS).toHaveProperty(op);
      expect(parseAction(op as keyof typeof ACTIONS, 'worker 1')).toEqual({ op, node: 'worker 1' });
    }
    const readme = readFileSync(new URL('../../lessons/README.md', import.meta.url), 'utf8');
    const listed = readme.slice(readme.indexOf('## Actions'));
    for (const op of Object.keys(ACTIONS)) expect(listed, `lessons/README.md lists the action ${op}`).toContain(`\`${op}\``);
  });

  test('a recorded run that uses every fault replays to the identical trace', async () => {
    const c = piRun({ workers: 4, jobs: 8 }, 17);
    const ids = [...c.nodes.values()].filter((n) => n.role === 'worker').map((n) => n.id);
    const producer = [...c.nodes.values()].find((n) => n.role === 'producer')!.id;
    const plan: ClusterAction[] = [
      { op: 'slow', node: ids[0], factor: 2 },
      { op: 'backup-tasks', node: producer, on: true },
      { op: 'latency', node: ids[1], ms: 4 },
      { op: 'drop', node: ids[1] },
      { op: 'hang', node: ids[2] },
      { op: 'kill', node: ids[3] },
      { op: 'crash-server' },
      { op: 'restart-server', binlog: true },
      { op: 'restart', node: ids[3] },
      { op: 'cheat', node: ids[0], rate: 1 },
    ];
    const used = new Set<string>();
    for (const a of plan) {
      for (let i = 0; i < 25; i++) await c.step();
      await c.settle();
      await c.apply(a);
      used.add(a.op);
    }
    await c.runUntil(() => false, 20_000);
    expect([...used].sort()).toEqual(Object.keys(FAULTS).sort());
    expect(c.actions.filter((a) => used.has(a.action.op)).map((a) => a.action)).toEqual(plan);
    const replayed = await replayRun(parseRun(JSON.stringify(c.exportRun())), spawnInThread);
    clusters.push(replayed);
    expect(replayed.trace.length).toBeGreaterThan(200);
    expect(replayed.trace).toEqual(c.trace);
  });
});
