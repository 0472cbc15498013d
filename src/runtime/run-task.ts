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
import type { ActorRef } from '../serde/actor-ref.ts';
import { deserializeValue, getSerializer, resolveSerializer, serializeResult } from '../serde/registry.ts';
import type { Serializer } from '../serde/types.ts';
import { BUILTIN_TASKS } from './builtin-tasks.ts';
import { loadModule } from './load-module.ts';
import { ContextSlot, runWithContext, threadActorHandle } from './context.ts';
import type { ContextPort } from './mux-port.ts';
import { TIME_ORIGIN_MS } from './protocol.ts';
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

export function runTask(req: ThreadRequest, hooks: RunHooks = {}): Promise<ThreadResponse> {
  const res = startTask(req, hooks);
  return res instanceof Promise ? res : Promise.resolve(res);
}

/**
 * runTask without a promise when none is needed: a task whose module, serializers and
 * inputs are at hand and that returns a plain value runs and answers synchronously (most
 * tasks of a batch, runtime/run-batch.ts). Only a task that returns a promise, or needs
 * something loaded first, answers with a promise. Promises are not free in a pool thread:
 * once a task context was used, every one of them runs AsyncLocalStorage's hooks.
 */
export function startTask(req: ThreadRequest, hooks: RunHooks = {}): ThreadResponse | Promise<ThreadResponse> {
  const t0 = performance.now();
  const startedAtMs = TIME_ORIGIN_MS + t0; // nowMs() without a second read of the clock
  const def = loadedTask(req.module, req.exportName);
  const serializer = knownSerializer(req.serializer.id);
  if (def === undefined || serializer === undefined || !depSerializersKnown(req.deps)) return loadThenRun(req, hooks, startedAtMs, t0);
  return run(req, def, serializer, hooks, startedAtMs, t0);
}

/**
 * The first run of a task in a thread (or one whose serializers are not known yet): loads
 * what it needs, then runs as any other. Its start and duration are the run's own, from
 * after the loading: the worker learns a task's typical run time from them (which tasks
 * may share a batch, worker/batching.ts), as does the scheduler, and a module's import
 * (often tens of milliseconds, once per thread) kept a task of microseconds from counting
 * as short for many runs after each thread's first.
 */
async function loadThenRun(req: ThreadRequest, hooks: RunHooks, startedAtMs: number, t0: number): Promise<ThreadResponse> {
  let def: TaskDefCore<unknown[], unknown>;
  let serializer: Serializer;
  try {
    def = await loadTask(req.module, req.exportName);
    for (const dep of req.deps) await findSerializer(dep.serializer);
    serializer = await findSerializer(req.serializer);
  } catch (e) {
    return failed(req, e, startedAtMs, t0);
  }
  const loadedAt = performance.now();
  return run(req, def, serializer, hooks, TIME_ORIGIN_MS + loadedAt, loadedAt);
}

/** Decodes the inputs and arguments, calls the task and serializes what it returns (or the promise's value). */
function run(
  req: ThreadRequest,
  def: TaskDefCore<unknown[], unknown>,
  serializer: Serializer,
  hooks: RunHooks,
  startedAtMs: number,
  t0: number,
): ThreadResponse | Promise<ThreadResponse> {
  try {
    const deps = decodeDeps(req.deps);
    const args = decodeArgs(req.args, (ref) => followRef(ref, deps, req.taskKey), actorHandleOf);
    const result = callNow(req, () => (req.traceParent === undefined ? def.fn(...args) : callTraced(req.traceParent, () => def.fn(...args))), hooks);
    if (!isThenable(result)) return succeeded(req, result, serializer, startedAtMs, t0);
    return Promise.resolve(result).then(
      (value) => succeeded(req, value, serializer, startedAtMs, t0),
      (e: unknown) => failed(req, e, startedAtMs, t0),
    );
  } catch (e) {
    return failed(req, e, startedAtMs, t0);
  }
}

function succeeded(req: ThreadRequest, result: unknown, serializer: Serializer, startedAtMs: number, t0: number): ThreadResponse {
  try {
    // The time spent serializing is only for the run's span (worker/tracing.ts): the clock
    // is read for it only when the run is traced.
    const t1 = req.traceParent === undefined ? undefined : performance.now();
    const bytes = serializeResult(result, serializer, req.taskKey);
    const t2 = performance.now();
    const response: Extract<ThreadResponse, { type: 'ok' }> = { type: 'ok', bytes, serializer: req.serializer, startedAtMs, durationMs: t2 - t0 };
    if (t1 !== undefined) response.serializeMs = t2 - t1;
    return response;
  } catch (e) {
    return failed(req, e, startedAtMs, t0);
  }
}

function failed(req: ThreadRequest, e: unknown, startedAtMs: number, t0: number): ThreadResponse {
  return {
    type: 'error',
    error: toErrorInfo(e, 'TASK_ERROR', req.taskKey),
    startedAtMs,
    durationMs: performance.now() - t0,
  };
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { then?: unknown }).then === 'function';
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
  return await callNow(req, fn, hooks);
}

/**
 * callInContext without a promise when `fn` returns a plain value: the context is closed
 * as soon as `fn` returns, or when the promise it returns settles.
 */
function callNow<T>(req: { port?: ContextPort | undefined; taskKey: string; attempt: number }, fn: () => T, hooks: RunHooks): T | Promise<Awaited<T>> {
  const { port } = req;
  const { openContext, onSeceded } = hooks;
  const open = openContext ?? (port === undefined ? undefined : () => port);
  if (open === undefined) return fn();
  const unused = openContext === undefined ? () => port?.close() : undefined;
  const slot = new ContextSlot(open, req.taskKey, req.attempt, { unused, onSeceded });
  let result: T;
  try {
    result = runWithContext(slot, fn);
  } catch (e) {
    slot.close();
    throw e;
  }
  if (!isThenable(result)) {
    slot.close();
    return result;
  }
  return closeWhenSettled(result, slot);
}

async function closeWhenSettled<T>(result: T, slot: ContextSlot): Promise<Awaited<T>> {
  try {
    return await result;
  } finally {
    slot.close();
  }
}

/** Validated task definitions of loaded modules, by module and export (see loadedTask). */
const taskDefs = new Map<string, Map<string, TaskDefCore<unknown[], unknown>>>();

/**
 * The task `exportName` of `module` when its module is loaded already and it was found a
 * task before: no await. Exports of an ES module are fixed once it is loaded.
 */
function loadedTask(module: string, exportName: string): TaskDefCore<unknown[], unknown> | undefined {
  if (module === BUILTIN_MODULE) return BUILTIN_TASKS.get(exportName);
  return taskDefs.get(module)?.get(exportName);
}

/** Serializers looked up before: an id, once registered, always names the same one (serde/registry.ts). */
const serializers = new Map<string, Serializer>();

function knownSerializer(id: string): Serializer | undefined {
  let s = serializers.get(id);
  if (s === undefined) {
    s = getSerializer(id);
    if (s !== undefined) serializers.set(id, s);
  }
  return s;
}

function depSerializersKnown(deps: readonly ThreadDep[]): boolean {
  for (const dep of deps) if (knownSerializer(dep.serializer.id) === undefined) return false;
  return true;
}

/** An actor handle in a run's arguments, as the run gets it: one function for every run, not a closure each. */
function actorHandleOf(ref: ActorRef): unknown {
  return threadActorHandle(ref.actorId);
}

/** A run's input values by key, as its refs are followed (a Map, or OneInput). */
export type InputValues = Pick<ReadonlyMap<string, unknown>, 'has' | 'get'>;

/** The inputs of every run that takes none: one empty map, not one per task. */
const NO_DEP_VALUES: InputValues = new Map();

/** The input of a run that takes one (a chain's task): no Map of its own. */
class OneInput implements InputValues {
  constructor(
    private readonly key: string,
    private readonly value: unknown,
  ) {}

  has(key: string): boolean {
    return key === this.key;
  }

  get(key: string): unknown {
    return key === this.key ? this.value : undefined;
  }
}

/** loadDeps when every serializer is known (depSerializersKnown). */
function decodeDeps(deps: readonly ThreadDep[]): InputValues {
  if (deps.length === 0) return NO_DEP_VALUES;
  if (deps.length === 1) {
    const dep = deps[0]!;
    return new OneInput(dep.key, deserializeValue(dep.bytes, knownSerializer(dep.serializer.id)!, dep.key));
  }
  const values = new Map<string, unknown>();
  for (const dep of deps) values.set(dep.key, deserializeValue(dep.bytes, knownSerializer(dep.serializer.id)!, dep.key));
  return values;
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
  let byExport = taskDefs.get(module);
  if (byExport === undefined) taskDefs.set(module, (byExport = new Map<string, TaskDefCore<unknown[], unknown>>()));
  byExport.set(exportName, value);
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

export function followRef(ref: FutureRef, deps: InputValues, taskKey: string): unknown {
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

/** A run's input bytes as its thread received them: its arguments and every input it was given (util/collect.ts). */
export function inputBytes(req: ThreadRequest): number {
  let n = req.args.byteLength;
  for (const dep of req.deps) n += dep.bytes.byteLength;
  return n;
}
