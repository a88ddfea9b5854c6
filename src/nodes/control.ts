// A node's control API, spoken with comlink over a port of its own. It never touches the beanstalkd
// traffic (which stays plain, ordered messages): it answers questions about the node's machine and
// measures real task speed, for calibration, the node card and the benchmark.
import { runTask, type TaskResult, type TaskSpec } from '../tasks/index.ts';

export interface NodeControl {
  /** What this runtime offers. */
  capabilities(): { wasmSimd: boolean; cores: number; userAgent: string };
  /** Runs a task for real; returns its result and how long it took in ms. */
  measure(spec: TaskSpec): { result: TaskResult; ms: number };
}

function wasmSimd(): boolean {
  // The smallest module using a v128 value: validates only where SIMD is supported.
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
  try {
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

export const nodeControl: NodeControl = {
  capabilities: () => ({ wasmSimd: wasmSimd(), cores: navigator.hardwareConcurrency ?? 1, userAgent: navigator.userAgent }),
  measure(spec) {
    const t0 = performance.now();
    const result = runTask(spec);
    return { result, ms: performance.now() - t0 };
  },
};

/**
 * What the page says to a node's Web Worker on the worker's own port (node.worker.ts): its control port,
 * the port of the node to host (one at a time), and to stop the node it hosts, which it answers once
 * the node has stopped.
 */
export type NodeWorkerMessage =
  | { t: 'control'; port: MessagePort }
  | { t: 'host'; port: MessagePort }
  | { t: 'release' }
  | { t: 'released' };
