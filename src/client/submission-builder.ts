/**
 * Turns the client's task calls into queued submissions: checks the task definition, names
 * the key, encodes the arguments (futures become refs to their keys), pins the keys the
 * task depends on and hands the task to the Submitter. A map over a list submits one task
 * per item; a map over a future submits them once its list exists, with a collect task
 * under the map's own key (expandLater).
 */
import { FloeError } from '../errors.ts';
import { BUILTIN_MODULE, type TaskSpec } from '../graph/spec.ts';
import type { TaskOptions } from '../graph/options.ts';
import { normalizeOptions, type NormalizedTaskOptions } from '../graph/validate-options.ts';
import { encodeArgs, FutureRef } from '../serde/args.ts';
import { buildSpec, callOptions, keyPrefix } from './submit-spec.ts';
import { isTaskDef, type TaskDefCore } from './task-def.ts';
import { knownExportName } from './exports.ts';
import { Future, KeyState, isFuture, isReleased, type FutureOwner } from './future.ts';
import type { QueuedTask, Submitter } from './submitter.ts';

/** What building submissions needs from the client. */
export interface SubmissionHost {
  /** The client: it owns the futures made here, and only its own futures may be passed in. */
  readonly owner: FutureOwner;
  /**
   * The client's keys: a caller's own key is looked up (a known one is reused), the keys
   * of inputs are pinned, and each new key is added. The client removes them (on release).
   */
  readonly keys: Pick<Map<string, KeyState>, 'get' | 'set' | 'has'>;
  readonly submitter: Pick<Submitter, 'enqueue' | 'release' | 'dropHeldDependingOn'>;
  /** Throws CLIENT_CLOSED or CLIENT_DROPPED when the client takes no more work. */
  checkOpen(): void;
  /** The largest message the transport takes (NATS max_payload); undefined: no limit (embedded). */
  maxMessageBytes(): number | undefined;
  /** Sends now the graph of any flow still being built that holds one of these keys (flow.ts flushEarly). */
  flushFlows(keys: readonly string[]): void;
}

/** What the tasks of one call (a submit, or a map over a list) share. */
interface Call {
  def: TaskDefCore<unknown[], unknown>;
  opts: NormalizedTaskOptions;
  name: string;
}

export class SubmissionBuilder {
  private keySeq = 0;
  /** Whether a task was given a key of its own: a generated key may then be taken already. */
  private ownKeys = false;

  constructor(private readonly host: SubmissionHost) {}

  /** One task (Client.submitWith): its future, or the future of the key it names if that key is known. */
  submit(
    def: unknown,
    extra: TaskOptions,
    args: unknown[],
    wanted: boolean,
    deferTo?: QueuedTask[],
    specExtra?: Pick<TaskSpec, 'actor' | 'restartsMax'>,
  ): Future<unknown> {
    const call = this.callOf(def, extra);
    const key = call.opts.key;
    if (key !== undefined) {
      const existing = this.host.keys.get(key);
      if (existing !== undefined) return new Future(this.host.owner, existing);
      this.ownKeys = true;
    }
    return this.add(call, key ?? this.nextKey(call.name || 'task'), args, wanted, deferTo, specExtra);
  }

  /**
   * One task per item of a list. What is the same for every item (the client open, the
   * definition checked, its options and name) is looked at once, not per item: nothing
   * in the loop can change it. An empty list is checked for nothing, as before.
   */
  private mapList(def: unknown, items: readonly unknown[], rest: unknown[], wanted: boolean, deferTo?: QueuedTask[]): Future<unknown>[] {
    if (items.length === 0) return [];
    const call = this.callOf(def, {});
    checkUnkeyed(call, items.length);
    const name = call.name || 'task';
    // items.map, as before: holes of a sparse list stay holes.
    return items.map((item) => this.add(call, this.nextKey(name), rest.length === 0 ? [item] : [item, ...rest], wanted, deferTo, undefined));
  }

  /** The checks of one call of `def`, and what its tasks share. */
  private callOf(def: unknown, extra: TaskOptions): Call {
    this.host.checkOpen();
    if (!isTaskDef(def)) {
      throw new FloeError('INVALID_ARGUMENT', 'submit(task, ...args): the first argument must be made with task()');
    }
    const opts = callOptions(def, extra);
    return { def, opts, name: opts.name ?? def.exportName ?? knownExportName(def) ?? def.fn.name };
  }

  /** A new task under `key`: its arguments encoded, its key added, its inputs pinned, queued. */
  private add(
    { def, opts, name }: Call,
    key: string,
    args: unknown[],
    wanted: boolean,
    deferTo: QueuedTask[] | undefined,
    specExtra: Pick<TaskSpec, 'actor' | 'restartsMax'> | undefined,
  ): Future<unknown> {
    const { bytes, deps, actors } = encodeArgs(args, this.toRef);
    const max = this.host.maxMessageBytes();
    if (max !== undefined && bytes.byteLength > max) throw argumentsTooBig(name, bytes.byteLength, max);
    const state = new KeyState(key);
    this.host.keys.set(key, state);
    const future = new Future(this.host.owner, state);
    const spec = buildSpec(key, name, def, opts, bytes, deps, actors, specExtra);
    const pinned = this.pin(deps);
    // Not part of a flow's graph: an input from a flow still being built would never come.
    if (deferTo === undefined && deps.length > 0) this.host.flushFlows(deps);
    this.host.submitter.enqueue({ state, spec, def, moduleUrl: def.moduleUrl, pinned }, wanted, deferTo);
    return future;
  }

  /**
   * A map (Client.mapWith): a future per item of a list, or one future of the list for a
   * future's items; `onExpanded` is told the keys of the tasks such a map adds once the list
   * exists (a flow counts them in its progress).
   */
  map(def: unknown, items: unknown, rest: unknown[], wanted: boolean, deferTo?: QueuedTask[], onExpanded?: (keys: string[]) => void): unknown {
    if (Array.isArray(items)) return this.mapList(def, items, rest, wanted, deferTo);
    if (!isFuture(items)) {
      throw new FloeError('INVALID_ARGUMENT', 'map(task, items): items must be an array or a future of an array');
    }
    this.checkOwn(items);
    if (!isTaskDef(def)) throw new FloeError('INVALID_ARGUMENT', 'map(task, items): task must be made with task()');
    checkUnkeyed(this.callOf(def, {}), 'all');
    const name = `${def.fn.name || 'map'}-all`;
    const key = this.nextKey(name);
    const state = new KeyState(key);
    this.host.keys.set(key, state);
    const future = new Future(this.host.owner, state);
    void this.expandLater(def, items, rest, state, wanted, onExpanded);
    return future;
  }

  /** Fan-out over a future's value: submit one task per item plus a collect task. */
  private async expandLater(def: unknown, upstream: Future<unknown>, rest: unknown[], state: KeyState, wanted: boolean, onExpanded?: (keys: string[]) => void): Promise<void> {
    const hold = new Future(this.host.owner, upstream.state);
    try {
      // Not hold.result(): waiting here must not force a flow's graph out early.
      const value = await this.host.owner.resultOf(hold.state, false);
      if (!Array.isArray(value)) {
        throw new FloeError('INVALID_ARGUMENT', `map over ${upstream.key}: its result is not an array`);
      }
      const items = value.map((_, i) => this.submit(def, {}, [new FutureRef(upstream.key, [i]), ...rest], false));
      onExpanded?.(items.map((f) => f.key));
      const collect = { key: state.key, name: 'collect', module: BUILTIN_MODULE, exportName: 'collect' };
      const { bytes, deps } = encodeArgs(items, this.toRef);
      const opts = normalizeOptions(isTaskDef(def) ? def.options : {}, 'task options');
      const spec = { ...collect, args: bytes, deps, serializer: opts.serializer, priority: opts.priority };
      const full = { ...spec, retries: 0, retryDelayMs: 0, retryBackoff: 1, timeoutMs: 0, resources: {} };
      const pinned = this.pin(deps);
      this.host.submitter.enqueue({ state, spec: full, def: undefined, moduleUrl: BUILTIN_MODULE, pinned }, wanted);
      for (const f of items) f.release();
      this.host.submitter.release();
    } catch (error) {
      const floeError = error instanceof FloeError ? error : new FloeError('INTERNAL', String(error));
      state.fail(floeError);
      this.host.submitter.dropHeldDependingOn(new Set([state.key]), floeError);
    } finally {
      hold.release();
    }
  }

  /** Retains the keys a queued task depends on (see QueuedTask.pinned). */
  private pin(deps: string[]): KeyState[] | undefined {
    let pinned: KeyState[] | undefined;
    for (const key of deps) {
      const state = this.host.keys.get(key);
      if (state === undefined) continue;
      this.host.owner.retain(state);
      (pinned ??= []).push(state);
    }
    return pinned;
  }

  private readonly toRef = (value: unknown): FutureRef | undefined => this.refOf(value);

  private refOf(value: unknown): FutureRef | undefined {
    if (value instanceof FutureRef) return value;
    if (!isFuture(value)) return undefined;
    this.checkOwn(value);
    // Its key may be forgotten already: the task would wait for it forever.
    if (isReleased(value)) throw new FloeError('RESULT_UNAVAILABLE', `future ${value.key} was released: it cannot be an input of a task`);
    return new FutureRef(value.key);
  }

  private checkOwn(future: Future<unknown>): void {
    const owner = this.host.owner;
    if (future.owner !== owner) {
      throw new FloeError(
        'FOREIGN_FUTURE',
        `future ${future.key} belongs to client ${future.owner.clientId}, not ${owner.clientId}`,
      );
    }
  }

  /**
   * A new key (`name`-N), submitted and wanted by other means than a queued task (a put:
   * client/put.ts): its state and a future of it.
   */
  register(name: string): { state: KeyState; future: Future<unknown> } {
    this.host.checkOpen();
    const state = new KeyState(this.nextKey(name));
    state.submitted = true;
    state.wanted = true;
    this.host.keys.set(state.key, state);
    return { state, future: new Future(this.host.owner, state) };
  }

  /** A generated key (name-N) this client has no task of yet. */
  private nextKey(name: string): string {
    let key: string;
    do {
      this.keySeq += 1;
      key = `${keyPrefix(name)}-${this.keySeq}`;
    } while (this.ownKeys && this.host.keys.has(key));
    return key;
  }
}

/**
 * A key names one task: mapped, a definition with a key of its own would give every item
 * the first item's task (and result).
 */
function checkUnkeyed(call: Call, items: number | 'all'): void {
  if (call.opts.key === undefined) return;
  throw new FloeError(
    'INVALID_OPTION',
    `map(task, items): the task has a key of its own ('${call.opts.key}'), which names one task, not one for each of ${items === 'all' ? 'the' : items} items; map the task without a key`,
  );
}

/**
 * A task whose arguments alone are bigger than a message may be: its submission could
 * never be sent. Said at the submit call, as an argument that cannot be serialized is.
 */
function argumentsTooBig(name: string, bytes: number, max: number): FloeError {
  return new FloeError(
    'LIMIT_EXCEEDED',
    `task '${name}': its arguments are ${bytes} bytes once serialized, more than the ${max} bytes a message may carry to this cluster ` +
      `(the NATS server's max_payload). Arguments travel in the submission, through the coordinator. Make or load big data in a task ` +
      `and pass its future instead: results move between workers directly, whatever their size. Or raise max_payload on the NATS server.`,
  );
}
