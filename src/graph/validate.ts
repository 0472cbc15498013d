/**
 * Structural checks on a batch of submitted tasks: duplicate keys, missing dependencies,
 * cycles. Everything here is iterative (no recursion): a graph may be a million tasks deep.
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import type { ErrorInfo } from '../errors.ts';

/** The part of a task these checks look at. */
export interface GraphNode {
  key: string;
  deps: readonly string[];
}

/**
 * Index of each key in the batch (first occurrence wins: the batch is indexed from its end,
 * so an earlier occurrence overwrites a later one, one `set` per task).
 */
function indexKeys(tasks: readonly GraphNode[]): Map<string, number> {
  const index = new Map<string, number>();
  for (let i = tasks.length - 1; i >= 0; i--) index.set(tasks[i]!.key, i);
  return index;
}

/**
 * Returns the keys of one cycle in dependency order (`['a', 'b']` for a -> b -> a,
 * `['a']` for a task that depends on itself), or undefined when the batch is acyclic.
 * Dependencies outside the batch cannot close a cycle (tasks already known to the
 * scheduler never depend on new ones), so they are skipped; `known` is accepted for
 * symmetry with {@link validateGraph} and is not needed.
 */
export function findCycle(
  tasks: readonly GraphNode[],
  known?: (key: string) => boolean,
): string[] | undefined {
  void known;
  return cycleIn(tasks, indexKeys(tasks));
}

/** findCycle over a ready-made key index. */
function cycleIn(tasks: readonly GraphNode[], index: ReadonlyMap<string, number>): string[] | undefined {
  // 0 = unvisited, 1 = on the DFS path, 2 = done.
  const color = new Uint8Array(tasks.length);
  const nodeStack: number[] = [];
  const edgeStack: number[] = [];
  for (let root = 0; root < tasks.length; root++) {
    if (color[root] !== 0) continue;
    nodeStack.push(root);
    edgeStack.push(0);
    color[root] = 1;
    while (nodeStack.length > 0) {
      const top = nodeStack.length - 1;
      const node = nodeStack[top]!;
      const deps = tasks[node]!.deps;
      const edge = edgeStack[top]!;
      if (edge >= deps.length) {
        color[node] = 2;
        nodeStack.pop();
        edgeStack.pop();
        continue;
      }
      edgeStack[top] = edge + 1;
      const next = index.get(deps[edge]!);
      if (next === undefined || color[next] === 2) continue;
      if (color[next] === 1) {
        const start = nodeStack.lastIndexOf(next);
        return nodeStack.slice(start).map((i) => tasks[i]!.key);
      }
      color[next] = 1;
      nodeStack.push(next);
      edgeStack.push(0);
    }
  }
  return undefined;
}

/**
 * Checks a batch before the scheduler touches any state. `known(key)` tells whether a
 * key outside the batch already exists (for the same client). Returns the first problem
 * found, as wire-ready error info, or undefined when the batch is valid.
 */
export function validateGraph(tasks: readonly GraphNode[], known: (key: string) => boolean): ErrorInfo | undefined {
  return indexGraph(tasks, known, new Map());
}

/**
 * {@link validateGraph} that also fills `index` with the position of each key in the
 * batch, for the caller to reuse: the scheduler resolves dependencies and wanted keys
 * through it instead of building task ids. One hash map serves every check, and the
 * cycle search only runs when some task depends on a later one (batches in dependency
 * order, as clients build them, cannot have a cycle). After an error, `index` is partly
 * filled (a duplicated key at its second position) and is not for use.
 */
export function indexGraph(
  tasks: readonly GraphNode[],
  known: (key: string) => boolean,
  index: Map<string, number>,
): ErrorInfo | undefined {
  for (let i = 0; i < tasks.length; i++) {
    const key = tasks[i]!.key;
    if (typeof key !== 'string' || key === '') {
      return toErrorInfo(new FloeError('INVALID_ARGUMENT', 'task key must be a non-empty string'));
    }
    // One operation per task: a key already there leaves the size as it was.
    const size = index.size;
    if (index.set(key, i).size === size) {
      return toErrorInfo(new FloeError('KEY_CONFLICT', `key "${key}" appears twice in one submission`, { taskKey: key }));
    }
  }
  let forward = false;
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    for (const dep of task.deps) {
      const j = index.get(dep);
      if (j === i) {
        return toErrorInfo(
          new FloeError('CYCLIC_GRAPH', `task "${task.key}" depends on itself: ${task.key} -> ${task.key}`, {
            taskKey: task.key,
          }),
        );
      }
      if (j === undefined) {
        if (known(dep)) continue;
        return toErrorInfo(
          new FloeError('MISSING_DEPENDENCY', `task "${task.key}" depends on unknown key "${dep}"`, {
            taskKey: task.key,
          }),
        );
      }
      if (j > i) forward = true;
    }
  }
  const cycle = forward ? cycleIn(tasks, index) : undefined;
  if (cycle !== undefined) {
    const path = [...cycle, cycle[0]!].join(' -> ');
    return toErrorInfo(new FloeError('CYCLIC_GRAPH', `graph has a cycle: ${path}`, { taskKey: cycle[0] }));
  }
  return undefined;
}

/**
 * Keys of the batch in dependency order (Kahn's algorithm). Dependencies outside the
 * batch are ignored. Throws CYCLIC_GRAPH if the batch has a cycle.
 */
export function topoOrder(tasks: readonly GraphNode[]): string[] {
  const index = indexKeys(tasks);
  const indegree = new Uint32Array(tasks.length);
  const dependents: number[][] = tasks.map(() => []);
  for (let i = 0; i < tasks.length; i++) {
    if (index.get(tasks[i]!.key) !== i) continue;
    for (const dep of new Set(tasks[i]!.deps)) {
      const j = index.get(dep);
      if (j === undefined) continue;
      indegree[i]!++;
      dependents[j]!.push(i);
    }
  }
  const order: string[] = [];
  const ready: number[] = [];
  for (let i = 0; i < tasks.length; i++) {
    if (indegree[i] === 0 && index.get(tasks[i]!.key) === i) ready.push(i);
  }
  // A FIFO cursor keeps the output close to the submission order.
  for (let head = 0; head < ready.length; head++) {
    const i = ready[head]!;
    order.push(tasks[i]!.key);
    for (const d of dependents[i]!) {
      if (--indegree[d]! === 0) ready.push(d);
    }
  }
  if (order.length !== index.size) {
    throw new FloeError('CYCLIC_GRAPH', 'graph has a cycle');
  }
  return order;
}
