/**
 * Actors: `actorClass(import.meta.url, Class)` defines one (exported, like tasks, so that
 * workers can import it), `client.actor(def, ...ctorArgs)` places an instance on a worker
 * and returns a typed handle whose method calls return futures.
 *
 * A handle is a Proxy: any property but the `$`-prefixed controls is a method. The actor
 * lives while its owner (the client that created it) holds a handle (`$release()`, or the
 * handle being garbage collected, lets go) or anything else holds one: handles passed
 * into tasks and other actors work there (calls go through the task's context), and the
 * scheduler counts them as holds (scheduler/actor-holds.ts).
 */
import { listenerThrew } from './listener-error.ts';
import { FloeError } from '../errors.ts';
import { ACTOR_CREATE, ACTOR_MODULE } from '../graph/spec.ts';
import type { TaskOptions } from '../graph/options.ts';
import { normalizeOptions } from '../graph/validate-options.ts';
import { ACTOR_HANDLE_ID } from '../serde/actor-ref.ts';
import { ACTOR_CLASS_BRAND, isActorClassDef, type ActorClassDef, type ActorConstructor, type ActorOptions } from './actor-def.ts';
import type { Future } from './future.ts';
import { TASK_BRAND, type TaskDefCore } from './task-def.ts';
import { ORIGINALS, type Args } from './task.ts';

export type { ActorClassDef, ActorOptions } from './actor-def.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => unknown;

/** Methods of T as calls returning futures (`$`-prefixed names are the handle's own). */
export type ActorMethods<T> = {
  [K in keyof T as T[K] extends AnyFn ? (K extends `$${string}` | 'constructor' ? never : K) : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: Args<A>) => Future<Awaited<R>>
    : never;
};

/** A typed handle on an actor instance. */
export type ActorHandle<T> = ActorMethods<T> & {
  /** The actor's id (global in the cluster). */
  readonly $id: string;
  /** Times the actor was re-created after losing its worker (state reset each time). */
  readonly $restarts: number;
  /** Resolves once the instance exists; rejects with the constructor's error or ACTOR_LOST. */
  $ready(): Promise<void>;
  /**
   * Called after each re-creation (maxRestarts), with the restart count. A handle with a
   * listener is kept, and its actor with it, until `$release()`, the actor is lost for good
   * or the client closes, even when nothing else references the handle: code waiting for
   * the restart (`await new Promise((r) => h.$onRestart(r))`) is reachable only through
   * the listener, so without this the handle would be collected and the actor released
   * while that code waits.
   */
  $onRestart(listener: (restarts: number) => void): void;
  /** Lets go of the owner's hold (owner only): the actor is freed once nothing else holds it. */
  $release(): void;
};

/** What actor handles need from their client (narrow, to avoid an import cycle). */
export interface ActorOwner {
  readonly clientId: string;
  submitWith(
    def: unknown,
    extra: TaskOptions,
    args: unknown[],
    wanted: boolean,
    deferTo?: undefined,
    specExtra?: { actor?: string; restartsMax?: number },
  ): Future<unknown>;
}

const KNOWN_OPTIONS = new Set(['resources', 'maxRestarts', 'concurrency', 'name']);

/** Concurrent calls per actor: a limit, like everything. */
export const ACTOR_CONCURRENCY_MAX = 1024;

/**
 * Defines an actor class. Export the result from the module whose `import.meta.url` you pass:
 *
 * ```ts
 * export const Counter = actorClass(import.meta.url, class Counter { n = 0; inc() { return ++this.n; } });
 * ```
 */
export function actorClass<C extends ActorConstructor>(moduleUrl: string, cls: C, options: ActorOptions = {}): ActorClassDef<C> {
  if (typeof moduleUrl !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(moduleUrl)) {
    throw new FloeError('INVALID_ARGUMENT', `actorClass(moduleUrl, cls): moduleUrl must be the defining module's import.meta.url (got ${String(moduleUrl)})`);
  }
  if (typeof cls !== 'function') throw new FloeError('INVALID_ARGUMENT', `actorClass(moduleUrl, cls): cls must be a class (got ${typeof cls})`);
  validateActorOptions(options);
  return Object.freeze({ [ACTOR_CLASS_BRAND]: true as const, moduleUrl, cls, options: Object.freeze({ ...options }) });
}

function validateActorOptions(options: ActorOptions): void {
  if (typeof options !== 'object' || options === null) throw new FloeError('INVALID_OPTION', 'actor options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new FloeError('INVALID_OPTION', `options.${key} is not an actor option`);
  }
  const { maxRestarts, concurrency, name, resources } = options;
  if (maxRestarts !== undefined && (!Number.isSafeInteger(maxRestarts) || maxRestarts < 0 || maxRestarts > 1_000_000)) {
    throw new FloeError('INVALID_OPTION', `options.maxRestarts must be an integer from 0 to 1000000 (got ${String(maxRestarts)})`);
  }
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > ACTOR_CONCURRENCY_MAX)) {
    throw new FloeError('INVALID_OPTION', `options.concurrency must be an integer from 1 to ${ACTOR_CONCURRENCY_MAX} (got ${String(concurrency)})`);
  }
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw new FloeError('INVALID_OPTION', 'options.name must be a non-empty string');
  if (resources !== undefined) normalizeOptions({ resources }, 'actor options');
}

/** A task-definition stand-in for an actor call: module ACTOR_MODULE, export the method. */
function callDef(method: string): TaskDefCore<unknown[], unknown> {
  return { [TASK_BRAND]: true, moduleUrl: ACTOR_MODULE, exportName: method, fn: () => undefined, options: {} };
}

/** Submits one method call of an actor (any client may call any actor it has the id of). */
export function submitActorCall(owner: ActorOwner, actorId: string, method: string, args: unknown[], key?: string): Future<unknown> {
  if (method === '' || method.startsWith('$') || method === 'constructor') {
    throw new FloeError('INVALID_ARGUMENT', `actor ${actorId}: "${method}" is not a method that can be called`);
  }
  const options: TaskOptions = key === undefined ? { name: method } : { name: method, key };
  return owner.submitWith(callDef(method), options, args, true, undefined, { actor: actorId });
}

/** Call futures keep their handle's state alive, so the actor outlives a dropped handle while calls are pending. */
const CALL_KEEPS = new WeakMap<object, object>();

interface HandleState {
  readonly owner: ActorOwner;
  readonly actorId: string;
  readonly creation: Future<unknown>;
  restarts: number;
  listeners: ((restarts: number) => void)[];
  released: boolean;
  /** Restarts may still come (watchRestarts is following the creation). */
  watching: boolean;
}

/** Creates an actor: submits its creation task and returns its handle. */
export function createActor<C extends ActorConstructor>(
  owner: ActorOwner,
  def: ActorClassDef<C>,
  args: unknown[],
): ActorHandle<InstanceType<C>> {
  if (!isActorClassDef(def)) throw new FloeError('INVALID_ARGUMENT', 'actor(def, ...args): def must be made with actorClass()');
  const { resources, maxRestarts = 0, concurrency = 1 } = def.options;
  const name = def.options.name ?? (def.cls.name || 'actor');
  // Stands in for the class export in the submission; the export name is found from `def`.
  const creationDef: TaskDefCore<unknown[], unknown> = { [TASK_BRAND]: true, moduleUrl: def.moduleUrl, exportName: undefined, fn: () => undefined, options: {} };
  ORIGINALS.set(creationDef, def);
  const options: TaskOptions = resources === undefined ? { name } : { name, resources };
  const creation = owner.submitWith(creationDef, options, [{ concurrency }, ...args], true, undefined, { actor: ACTOR_CREATE, restartsMax: maxRestarts });
  const state: HandleState = { owner, actorId: `${owner.clientId}/${creation.key}`, creation, restarts: 0, listeners: [], released: false, watching: true };
  watchRestarts(new WeakRef(state), creation);
  return makeHandle(state) as ActorHandle<InstanceType<C>>;
}

/**
 * Handles with restart listeners, held strongly (see `$onRestart`). Otherwise a handle is
 * reachable only from its user's code: the watcher below holds it weakly, so that a
 * dropped handle is collected and its actor released.
 */
const LISTENED = new Set<HandleState>();

/** Follows re-creations: each is a new location of the creation result (see scheduler/actors.ts). */
function watchRestarts(ref: WeakRef<HandleState>, creation: Future<unknown>): void {
  const keyState = creation.state;
  void (async () => {
    try {
      await keyState.settled;
      for (;;) {
        if (keyState.status !== 'finished') return;
        await keyState.nextLocation();
        const state = ref.deref();
        if (state === undefined || state.released || keyState.relocateError !== undefined) return;
        state.restarts += 1;
        for (const listener of state.listeners) tellRestart(listener, state);
      }
    } finally {
      // No more restarts to tell of (the creation failed, the actor is lost for good, the
      // client closed, or the handle was released or collected).
      const state = ref.deref();
      if (state !== undefined) {
        state.watching = false;
        LISTENED.delete(state);
      }
    }
  })();
}

/** Calls a restart listener; one that throws becomes a warning (listener-error.ts), and the others are still told. */
function tellRestart(listener: (restarts: number) => void, state: HandleState): void {
  try {
    listener(state.restarts);
  } catch (error) {
    listenerThrew(`a $onRestart listener of actor ${state.actorId}`, error);
  }
}

function makeHandle(state: HandleState): object {
  const controls: Record<string, unknown> = {
    $ready: async () => {
      await state.creation.result();
      // Created once, then lost for good (no restarts left): the scheduler erred it since.
      const lost = state.creation.state.relocateError;
      if (lost !== undefined) throw lost;
    },
    $onRestart: (listener: (restarts: number) => void) => {
      if (typeof listener !== 'function') {
        throw new FloeError('INVALID_ARGUMENT', `$onRestart(listener): listener must be a function (got ${listener === null ? 'null' : typeof listener})`);
      }
      state.listeners.push(listener);
      if (state.watching && !state.released) LISTENED.add(state);
    },
    $release: () => {
      LISTENED.delete(state);
      if (state.released) return;
      state.released = true;
      state.creation.release();
    },
  };
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (prop === ACTOR_HANDLE_ID || prop === '$id') return state.actorId;
      if (prop === '$restarts') return state.restarts;
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      // Own keys only: `in` would also find Object.prototype's (toString, valueOf, ...), and
      // an actor's method of that name would never be called.
      if (Object.hasOwn(controls, prop)) return controls[prop];
      return (...args: unknown[]) => {
        if (state.released) throw new FloeError('ACTOR_LOST', `actor ${state.actorId} was released by this handle`);
        const future = submitActorCall(state.owner, state.actorId, prop, args);
        CALL_KEEPS.set(future, state);
        return future;
      };
    },
  });
}
