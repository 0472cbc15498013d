/**
 * Runs one task: load its module, decode arguments (substituting dependency results), call
 * it, serialize the result. Used inside pool threads (thread.ts) and inline in the main
 * thread (InlineExecutor). Never throws: every failure is an `{ type: 'error' }` response.
 */
import { isTaskDef } from '../client/task-def.ts';
import type { TaskDefCore } from '../client/task-def.ts';
import { FloeError, toErrorInfo } from '../errors.ts';
import { BUILTIN_MODULE } from '../graph/spec.ts';
import type { SerializerRef } from '../graph/spec.ts';
import { decodeArgs } from '../serde/args.ts';
import type { FutureRef } from '../serde/args.ts';
import { deserializeValue, getSerializer, resolveSerializer, serializeResult } from '../serde/registry.ts';
import type { Serializer } from '../serde/types.ts';
import { BUILTIN_TASKS } from './builtin-tasks.ts';
import { loadModule } from './load-module.ts';
import { ContextSlot, runWithContext, threadActorHandle } from './context.ts';
import type { ContextPort } from './mux-port.ts';
import { nowMs } from './protocol.ts';
import { context, contextFromTraceparent } from '../telemetry/trace.ts';
import type { ThreadDep, ThreadRequest, ThreadResponse } from './protocol.ts';

export interface RunHooks {
  /**
   * Makes the run's context channel when the task first calls getContext() (pool
   * threads); without it the run uses `req.port` if it has one.
   */
  openContext?: (() => ContextPort) | undefined;
  /** Told when the task first waits on results through its context. */
  onSeceded?: (() => void) | undefined;
}

export async function runTask(req: ThreadRequest, hooks: RunHooks = {}): Promise<ThreadResponse> {
  const startedAtMs = nowMs();
  const t0 = performance.now();
  try {
    const def = await loadTask(req.module, req.exportName);
    const deps = await loadDeps(req.deps);
    const args = decodeArgs(req.args, (ref) => followRef(ref, deps, req.taskKey), (ref) => threadActorHandle(ref.actorId));
    const serializer = await findSerializer(req.serializer);
    const result = await callInContext(
      req,
      () => (req.traceParent === undefined ? def.fn(...args) : callTraced(req.traceParent, () => def.fn(...args))),
      hooks,
    );
    const t1 = performance.now();
    const bytes = serializeResult(result, serializer, req.taskKey);
    const t2 = performance.now();
    return { type: 'ok', bytes, serializer: req.serializer, startedAtMs, durationMs: t2 - t0, serializeMs: t2 - t1 };
  } catch (e) {
    return {
      type: 'error',
      error: toErrorInfo(e, 'TASK_ERROR', req.taskKey),
      startedAtMs,
      durationMs: performance.now() - t0,
    };
  }
}

/**
 * Calls a task with the worker's run span as the active context. Spans the task opens
 * nest under it when this thread has an OpenTelemetry SDK (a context manager and a tracer
 * provider, see PoolExecutorOptions.threadSetup); without one this is a plain call.
 */
function callTraced<T>(traceParent: string, fn: () => T): T {
  return context.with(contextFromTraceparent(traceParent, context.active()), fn);
}

/**
 * Calls a task (or actor method) with its context available, when the run can reach its
 * worker: through `hooks.openContext` (made on first use) or the channel in `req.port`. The
 * context is closed when the call settles.
 */
export async function callInContext<T>(
  req: { port?: ContextPort | undefined; taskKey: string; attempt: number },
  fn: () => T | Promise<T>,
  hooks: RunHooks = {},
): Promise<T> {
  const { port } = req;
  const { openContext, onSeceded } = hooks;
  const open = openContext ?? (port === undefined ? undefined : () => port);
  if (open === undefined) return await fn();
  const unused = openContext === undefined ? () => port?.close() : undefined;
  const slot = new ContextSlot(open, req.taskKey, req.attempt, { unused, onSeceded });
  try {
    return await runWithContext(slot, fn);
  } finally {
    slot.close();
  }
}

async function loadTask(module: string, exportName: string): Promise<TaskDefCore<unknown[], unknown>> {
  if (module === BUILTIN_MODULE) {
    const def = BUILTIN_TASKS.get(exportName);
    if (def === undefined) throw new FloeError('UNKNOWN_EXPORT', `floe has no builtin task "${exportName}"`);
    return def;
  }
  const ns = await loadModule(module);
  if (!Object.prototype.hasOwnProperty.call(ns, exportName)) {
    throw new FloeError('UNKNOWN_EXPORT', `module ${module} has no export "${exportName}"`);
  }
  const value = ns[exportName];
  if (!isTaskDef(value)) {
    throw new FloeError('NOT_A_TASK', `export ${exportName} of module ${module} is not a task; wrap it with task()`);
  }
  return value;
}

/** Finds a serializer, importing its module with the task-module loader (it may be .ts). */
export async function findSerializer(ref: SerializerRef): Promise<Serializer> {
  const known = getSerializer(ref.id);
  if (known !== undefined) return known;
  if (ref.module !== '') {
    try {
      await loadModule(ref.module);
    } catch (e) {
      throw new FloeError(
        'UNKNOWN_SERIALIZER',
        `serializer "${ref.id}": ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }
  return resolveSerializer(ref);
}

export async function loadDeps(deps: readonly ThreadDep[]): Promise<Map<string, unknown>> {
  const values = new Map<string, unknown>();
  for (const dep of deps) {
    const serializer = await findSerializer(dep.serializer);
    values.set(dep.key, deserializeValue(dep.bytes, serializer, dep.key));
  }
  return values;
}

export function followRef(ref: FutureRef, deps: ReadonlyMap<string, unknown>, taskKey: string): unknown {
  if (!deps.has(ref.key)) {
    throw new FloeError('INTERNAL', `task "${taskKey}" refers to "${ref.key}", which was not sent with it`);
  }
  let value = deps.get(ref.key);
  for (const step of ref.path) {
    if (value instanceof Map) value = value.get(step);
    else if (typeof value === 'object' && value !== null) value = (value as Record<string | number, unknown>)[step];
    else {
      throw new FloeError(
        'INVALID_ARGUMENT',
        `task "${taskKey}": cannot read [${JSON.stringify(step)}] of ${value === null ? 'null' : typeof value} in the result of "${ref.key}"`,
        { taskKey },
      );
    }
  }
  return value;
}

