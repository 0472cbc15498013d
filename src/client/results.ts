/**
 * Reading a key's result for the client: a result that came inline with its key update is
 * deserialized as soon as the key is done; a bigger one is fetched from the worker that
 * holds it, and when that worker is gone (retired, lost) the scheduler is asked where the
 * result is now (it moved, or is being recomputed from lineage) and the fetch is tried there.
 */
import type { FetchedObject } from '../dataplane/dataplane.ts';
import { FloeError, isFloeError } from '../errors.ts';
import { deserializeValue, getSerializer, resolveSerializer } from '../serde/registry.ts';
import type { Serializer } from '../serde/types.ts';
import type { KeyState } from './future.ts';
import type { Submitter } from './submitter.ts';

/** Fetches of one result from workers that turn out not to hold it, before giving up. */
const FETCH_ATTEMPTS_MAX = 5;

export interface ResultsOptions {
  submitter: Submitter;
  /** Flows being built: waiting for one of their keys sends their graph first (flow.ts). */
  flowFlushers: ReadonlySet<(key: string) => void>;
  /** Fetches the result of this client's `key` from the worker at `address`. */
  fetch(address: string, key: string): Promise<FetchedObject>;
  closed(): boolean;
  /** Why this client takes no more work, when the coordinator dropped it. */
  dropped(): FloeError | undefined;
}

export class Results {
  /**
   * The serializer of the last result read: most results name the same one, and looking it
   * up in the registry took several map lookups per result. An id, once registered, names
   * the same serializer for good (registry.ts), so this never goes stale.
   */
  private lastSerializer: Serializer | undefined;

  constructor(private readonly options: ResultsOptions) {}

  /**
   * A key's result, deserialized. Not an async function: a gather of thousands of futures
   * made three async frames per result. A result that is inline with a registered
   * serializer (most) is deserialized as soon as its key is done, without a further wait.
   * `keep` (the future asking) is held until the result is in: a future dropped right
   * after result() must not be collected meanwhile, or its finalizer would release the key
   * and the result would never come. A pending key's reaction below holds it (the client
   * holds the key's state, and the state its settled promise), so no further promise is
   * chained per result for that.
   */
  resultOf(state: KeyState, flushFlows: boolean, keep?: object): Promise<unknown> {
    if (!state.done) {
      this.prepareWait(state, flushFlows);
      return state.settled.then(() => this.valueOf(state, keep));
    }
    try {
      return Promise.resolve(this.valueOf(state, keep));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A result as stored: its bytes and serializer (not deserialized). */
  async resultObjectOf(state: KeyState, flushFlows: boolean): Promise<FetchedObject> {
    this.prepareWait(state, flushFlows);
    if (!state.done) await state.settled;
    if (state.status !== 'finished' || state.update === undefined) {
      throw state.error ?? new FloeError('INTERNAL', `key ${state.key} settled without result`);
    }
    return this.fetchResult(state);
  }

  /**
   * The value of a done key, or a promise of it when it must be fetched (or failed); throws
   * when it cannot be deserialized. A value, not a promise, in the common case: a promise
   * returned from a reaction costs another promise and two more microtask turns to adopt.
   * (Also used by gather.ts.)
   */
  valueOf(state: KeyState, keep: object | undefined): unknown {
    const update = state.update;
    const serializer = update?.inline === undefined ? undefined : this.serializerOf(update.serializer.id);
    if (serializer === undefined) return this.slowResultOf(state).then((value) => kept(value, keep));
    return deserializeValue(update!.inline!, serializer, state.key);
  }

  private serializerOf(id: string): Serializer | undefined {
    const last = this.lastSerializer;
    if (last !== undefined && last.id === id) return last;
    const serializer = getSerializer(id);
    if (serializer !== undefined) this.lastSerializer = serializer;
    return serializer;
  }

  private async slowResultOf(state: KeyState): Promise<unknown> {
    const object = await this.resultObjectOf(state, false);
    const serializer = getSerializer(object.serializer.id) ?? (await resolveSerializer(object.serializer));
    return deserializeValue(object.bytes, serializer, state.key);
  }

  /** Before waiting for a key: its flow's graph must go out, and the scheduler must keep it. */
  prepareWait(state: KeyState, flushFlows: boolean): void {
    if (flushFlows && !state.submitted) for (const flush of this.options.flowFlushers) flush(state.key);
    if (!state.wanted && !state.done) this.options.submitter.want(state);
  }

  /** A finished result: its inline bytes, or a fetch from the worker holding it (following it if it moved). */
  private async fetchResult(state: KeyState): Promise<FetchedObject> {
    for (let attempt = 1; ; attempt++) {
      const update = state.update!;
      if (update.inline !== undefined) return { serializer: update.serializer, bytes: update.inline };
      try {
        return await this.options.fetch(update.address, state.key);
      } catch (error) {
        // Its results were released: the worker's answer would only say "not here".
        const dropped = this.options.dropped();
        if (dropped !== undefined) throw dropped;
        const retryable = isFloeError(error) && (error.code === 'WORKER_LOST' || error.code === 'RESULT_UNAVAILABLE');
        if (!retryable || attempt >= FETCH_ATTEMPTS_MAX || this.options.closed()) throw error;
        const moved = state.nextLocation();
        this.options.submitter.locate(state, update.workerId);
        await moved;
        if (state.relocateError !== undefined) throw state.relocateError;
      }
    }
  }
}

/**
 * `value`. The reaction that calls this names `keep`, so it holds `keep` until the value is
 * in (see Results.resultOf).
 */
function kept(value: unknown, _keep: object | undefined): unknown {
  return value;
}
