/**
 * The context of a running task: `getContext()` inside a task (or an actor method) gives
 * a small client to submit subtasks, call actors and wait for results. Requests go over
 * the run's MessagePort to the worker's main thread, which submits them with its own
 * client of the cluster (worker/context-server.ts).
 *
 * While a task waits on results it has *seceded* (Dask's secede/rejoin): its worker counts
 * its thread slot as free, so the subtasks it waits for can run even on a pool of one
 * thread, and recursion cannot deadlock the pool. It rejoins when the results are in.
 *
 * The current context is found through an AsyncLocalStorage kept on `globalThis` (not in
 * this module): floe may be loaded twice in one thread (dist/ by the thread entry, src/ by
 * a TypeScript task module), and both copies must see the same context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { isTaskDef } from '../client/task-def.ts';
import type { TaskDefCore } from '../client/task-def.ts';
import { FloeError, fromErrorInfo, type ErrorInfo } from '../errors.ts';
import type { TaskOptions } from '../graph/options.ts';
import { checkOptionsObject, normalizeOptions } from '../graph/validate-options.ts';
import type { Tail } from '../client/task.ts';
import { ACTOR_HANDLE_ID } from '../serde/actor-ref.ts';
import { encodeArgs, FutureRef } from '../serde/args.ts';
import { ownBytes } from '../serde/bytes.ts';
import { deserializeValue, getSerializer, resolveSerializer } from '../serde/registry.ts';
import type { ContextReply, ContextRequest, WireTaskOptions } from './context-protocol.ts';
import type { ContextPort } from './mux-port.ts';

const STORAGE = Symbol.for('floe.runtime.taskContext');

function storage(): AsyncLocalStorage<ContextSlot> {
  const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<ContextSlot> | undefined>;
  return (g[STORAGE] ??= new AsyncLocalStorage<ContextSlot>());
}

const SUB_FUTURE_BRAND = Symbol.for('floe.subFuture');

/** Submissions a single run may make: a runaway loop fails instead of flooding the cluster. */
export const SUBMISSIONS_PER_RUN_MAX = 1_000_000;

type SubStatus = 'pending' | 'finished' | 'error';

/**
 * The future of a subtask or actor call made inside a task. Same surface as a client's
 * Future (result, wait, status, exception, release); valid while the task runs.
 */
export class SubFuture<T> {
  #status: SubStatus = 'pending';
  #error: FloeError | undefined;
  #value: Promise<T> | undefined;

  /** @internal */
  constructor(
    readonly key: string,
    private readonly ctx: TaskContext,
  ) {
    Object.defineProperty(this, SUB_FUTURE_BRAND, { value: true });
  }

  get status(): SubStatus {
    return this.#status;
  }

  /** The result; while waiting for it the task's thread slot is given back. */
  result(): Promise<T> {
    this.#value ??= this.ctx.fetch<T>(this.key).then(
      (value) => {
        this.#status = 'finished';
        return value;
      },
      (error: unknown) => {
        this.#status = 'error';
        this.#error = error as FloeError;
        throw error;
      },
    );
    return this.#value;
  }

  async wait(): Promise<this> {
    await this.result().catch(() => undefined);
    return this;
  }

  exception(): FloeError | undefined {
    return this.#error;
  }

  /** Lets go of the result (otherwise it is released when the task ends). */
  release(): void {
    this.ctx.post({ type: 'release', keys: [this.key] });
  }

  /** Subtasks cannot be cancelled from inside a task; release them instead. */
  cancel(): Promise<void> {
    this.release();
    return Promise.resolve();
  }

  toString(): string {
    return `SubFuture<${this.key}: ${this.#status}>`;
  }
}

export function isSubFuture(value: unknown): value is SubFuture<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SUB_FUTURE_BRAND] === true;
}

/** A value or the future of a subtask made in this task. */
export type SubArg<T> = T | SubFuture<T> | { result(): Promise<T> };
export type SubArgs<A extends unknown[]> = { [K in keyof A]: SubArg<A[K]> };

/** What `getContext()` returns inside a task. */
export class TaskContext {
  #submitted = 0;
  #requestSeq = 0;
  #waits = 0;
  #closed = false;
  readonly #pending = new Map<number, { resolve: (r: ContextReply) => void }>();
  /** Posts in order: a submission may first need its export name resolved. */
  #outbox: Promise<void> = Promise.resolve();
  /** Subtasks that could not be sent (their export could not be resolved), with why. */
  readonly #unsent = new Map<string, FloeError>();

  /** @internal */
  constructor(
    private readonly port: ContextPort,
    /** Key of the running task. */
    readonly taskKey: string,
    /** 1 for the first attempt. */
    readonly attempt: number,
    /** Told when the task first waits on results (a batch then runs its next task meanwhile). */
    private readonly onSeceded?: () => void,
  ) {
    port.on('message', (reply: ContextReply) => this.#pending.get(reply.requestId)?.resolve(reply));
    // The port must not keep the thread alive by itself; pending requests do.
    port.unref();
  }

  /** Submits a subtask; returns its future at once. */
  submit<A extends unknown[], R>(def: TaskDefCore<A, R>, ...args: SubArgs<A>): SubFuture<Awaited<R>> {
    return this.submitWithOptions(def, {}, ...args);
  }

  /**
   * Submits a subtask with per-call options. An explicit `key` is shared by every task
   * on this worker: the same key gives the same subtask (memoisation, e.g. `fib-${n}`).
   */
  submitWithOptions<A extends unknown[], R>(def: TaskDefCore<A, R>, options: TaskOptions, ...args: SubArgs<A>): SubFuture<Awaited<R>> {
    if (!isTaskDef(def)) throw new FloeError('INVALID_ARGUMENT', 'submit(task, ...args): the first argument must be made with task()');
    checkOptionsObject(options);
    const merged = { ...def.options, ...options };
    // Checked here, at the call, as the client checks them (the worker checks them again).
    normalizeOptions(merged, 'task options');
    const name = merged.name ?? def.exportName ?? def.fn.name;
    const key = merged.key ?? this.#nextKey(name || 'task');
    const { bytes } = this.#encode(args);
    const wireOptions = toWireOptions(merged);
    this.#enqueue(async () => {
      let exportName = def.exportName;
      try {
        exportName ??= await resolveExport(def);
      } catch (error) {
        // Not sent: its result() gives this error (the module or export cannot be found).
        this.#unsent.set(key, error instanceof FloeError ? error : new FloeError('UNKNOWN_EXPORT', String(error)));
        return undefined;
      }
      return { type: 'submit', key, module: def.moduleUrl, exportName, options: wireOptions, args: bytes };
    });
    return new SubFuture(key, this);
  }

  /** One subtask per item (a fan-out whose width is known only now); `rest` goes to each. */
  map<A extends unknown[], R>(def: TaskDefCore<A, R>, items: readonly SubArg<A[0]>[], ...rest: SubArgs<Tail<A>>): SubFuture<Awaited<R>>[] {
    if (!Array.isArray(items)) throw new FloeError('INVALID_ARGUMENT', `map(task, items): items must be an array (got ${items === null ? 'null' : typeof items})`);
    return items.map((item) => this.submit(def, ...([item, ...rest] as unknown as SubArgs<A>)));
  }

  /** Results of many futures, in order; rejects with the first error. */
  gather<T>(futures: readonly { result(): Promise<T> }[]): Promise<T[]> {
    const given: unknown = futures;
    if (!Array.isArray(given) || !given.every((f: unknown) => isSubFuture(f))) {
      return Promise.reject(new FloeError('INVALID_ARGUMENT', 'gather(futures): futures must be an array of futures of this task'));
    }
    return Promise.all(futures.map((f) => f.result()));
  }

  /** @internal A method call on an actor, from an actor handle used inside this task. */
  callActor(actorId: string, method: string, args: unknown[]): SubFuture<unknown> {
    const key = this.#nextKey(method);
    const { bytes } = this.#encode(args);
    this.#enqueue(() => Promise.resolve({ type: 'actorCall', key, actorId, method, args: bytes }));
    return new SubFuture(key, this);
  }

  /** @internal */
  post(msg: ContextRequest): void {
    this.#enqueue(() => Promise.resolve(msg));
  }

  /** @internal Fetches a result; the run's slot is free while any fetch is pending. */
  async fetch<T>(key: string): Promise<T> {
    // A submission queued before may not go out (its export cannot be resolved): once the
    // outbox has got past it, this says why instead of asking the worker for a key it lacks.
    await this.#outbox;
    const unsent = this.#unsent.get(key);
    if (unsent !== undefined) throw unsent;
    const requestId = ++this.#requestSeq;
    const replied = new Promise<ContextReply>((resolve) => this.#pending.set(requestId, { resolve }));
    if (this.#waits++ === 0) {
      this.post({ type: 'slot', seceded: true });
      this.onSeceded?.();
    }
    if (this.#pending.size === 1) this.port.ref();
    this.post({ type: 'result', requestId, key });
    let reply: ContextReply;
    try {
      reply = await replied;
    } finally {
      this.#pending.delete(requestId);
      if (this.#pending.size === 0) this.port.unref();
      if (--this.#waits === 0) this.post({ type: 'slot', seceded: false });
    }
    if (!reply.ok) throw fromErrorInfo(reply.error);
    const serializer = getSerializer(reply.serializer.id) ?? (await resolveSerializer(reply.serializer));
    return deserializeValue(reply.bytes, serializer, key) as T;
  }

  /** @internal The run ended: the worker releases whatever it still holds for it. */
  close(): void {
    this.#closed = true;
    for (const { resolve } of this.#pending.values()) {
      resolve({ type: 'result', requestId: 0, ok: false, error: closedError(this.taskKey) });
    }
    // Let queued posts go out first (a last release), then close.
    void this.#outbox.then(() => this.port.close());
  }

  #nextKey(name: string): string {
    if (++this.#submitted > SUBMISSIONS_PER_RUN_MAX) {
      throw new FloeError('LIMIT_EXCEEDED', `task "${this.taskKey}" submitted more than ${SUBMISSIONS_PER_RUN_MAX} subtasks`);
    }
    // Unique per run of this task; a retry makes the same keys (and finds what is left).
    // Each level of nesting adds to the key: past KEY_PARENT_MAX the parent's key goes in as
    // its digest, so that deep recursion stays under the keys' length limit.
    const parent = this.taskKey.length <= KEY_PARENT_MAX ? this.taskKey : `#${createHash('sha256').update(this.taskKey).digest('base64url').slice(0, 22)}`;
    return `${parent}>${name.replace(/[^\w.-]/g, '_').slice(0, KEY_NAME_MAX)}-${this.#submitted}`;
  }

  /** The arguments' bytes own their buffer: they are posted to the worker's main thread. */
  #encode(args: unknown[]): ReturnType<typeof encodeArgs> {
    const encoded = encodeArgs(args, (v) => {
      if (!isSubFuture(v)) return undefined;
      if ((v as unknown as { ctx: TaskContext }).ctx !== this) {
        throw new FloeError('FOREIGN_FUTURE', `future ${v.key} belongs to another task; pass values between tasks instead`);
      }
      return new FutureRef(v.key);
    });
    return { ...encoded, bytes: ownBytes(encoded.bytes) };
  }

  #enqueue(make: () => Promise<ContextRequest | undefined>): void {
    if (this.#closed) throw new FloeError('INVALID_ARGUMENT', `task "${this.taskKey}" has ended: its context cannot be used any more`);
    const next = this.#outbox.then(make).then(
      (msg) => {
        if (msg !== undefined) this.port.postMessage(msg);
      },
      () => undefined, // the outbox goes on: what comes after must still go out
    );
    this.#outbox = next;
  }
}

function closedError(taskKey: string): ErrorInfo {
  return {
    code: 'CANCELLED',
    message: `task "${taskKey}" ended while waiting for a result`,
    retryable: false,
    stack: '',
    taskKey,
    originalName: 'FloeError',
  };
}

function toWireOptions(options: TaskOptions): WireTaskOptions {
  const { serializer, ...rest } = options;
  if (serializer === undefined) return rest;
  return { ...rest, serializer: typeof serializer === 'string' ? serializer : { id: serializer.id, moduleUrl: serializer.moduleUrl } };
}

async function resolveExport(def: TaskDefCore<unknown[], unknown>): Promise<string> {
  const { resolveExportName } = await import('../client/exports.ts');
  return resolveExportName(def, def.moduleUrl);
}

/**
 * The context of the task (or actor method) running now. Throws INVALID_ARGUMENT
 * outside one: call it in the task's body, not at module top level.
 */
export function getContext(): TaskContext {
  const slot = storage().getStore();
  if (slot === undefined) {
    throw new FloeError('INVALID_ARGUMENT', 'getContext() was called outside a running task or actor method');
  }
  return slot.get();
}

/**
 * @internal The context of one run, made on first use: most tasks never call
 * getContext(), and they pay for no channel to the worker (a pool thread opens one on
 * its shared port only when asked, see mux-port.ts).
 */
export class ContextSlot {
  #ctx: TaskContext | undefined;
  #closed = false;

  constructor(
    private readonly openPort: () => ContextPort,
    private readonly taskKey: string,
    private readonly attempt: number,
    private readonly hooks: {
      /** Called on close when the context was never used (a port made in advance must be closed). */
      unused?: (() => void) | undefined;
      onSeceded?: (() => void) | undefined;
    } = {},
  ) {}

  get(): TaskContext {
    if (this.#ctx === undefined) {
      if (this.#closed) throw new FloeError('INVALID_ARGUMENT', `task "${this.taskKey}" has ended: its context cannot be used any more`);
      this.#ctx = new TaskContext(this.openPort(), this.taskKey, this.attempt, this.hooks.onSeceded);
    }
    return this.#ctx;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ctx === undefined) this.hooks.unused?.();
    else this.#ctx.close();
  }
}

/** @internal Runs `fn` with `slot` as the current context. */
export function runWithContext<T>(slot: ContextSlot, fn: () => T): T {
  return storage().run(slot, fn);
}

/**
 * @internal A working handle for an actor inside a task: each method call goes through
 * the context of the task running when it is made.
 */
/** Longest parent key a subtask's key starts with as it is (see #nextKey); with the name's share and the count it stays under KEY_LENGTH_MAX. */
const KEY_PARENT_MAX = 160;
const KEY_NAME_MAX = 64;

/** What only the owner's handle has (client/actor.ts). */
const OWNER_CONTROLS = new Set(['$ready', '$release', '$restarts', '$onRestart']);

export function threadActorHandle(actorId: string): unknown {
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (prop === ACTOR_HANDLE_ID || prop === '$id') return actorId;
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      // The owner's controls: here they would be calls of actor methods of those names.
      if (OWNER_CONTROLS.has(prop)) {
        throw new FloeError('INVALID_ARGUMENT', `${prop} is for the client that created actor ${actorId}; a handle inside a task has method calls and $id only`);
      }
      return (...args: unknown[]) => getContext().callActor(actorId, prop, args);
    },
  });
}
