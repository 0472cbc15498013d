/**
 * Values clients put here (Client.put, client/put.ts), the worker's side: Dask's scatter,
 * Ray's put. The value comes on the data plane with the submission that makes it a task of
 * the client (one task of the builtin `put`, runtime/builtin-tasks.ts). The worker stores
 * the value as that task's result, as if it had run the task here under a run id of its
 * own, and passes the submission on to the coordinator, which adopts the run as it adopts a
 * direct run (worker/direct.ts): the submission goes first in the worker's next report, the
 * run's completion after it. The client's request is answered by the coordinator, so once
 * its put resolves the coordinator knows the key, and tasks that take it as an input can
 * be submitted (they wait for the run's completion if it comes in a later report).
 *
 * A put value is held like any result: fetched by the workers that need it, spilled under
 * memory pressure, copied off a retiring worker, released when no future or task needs it.
 * If its last copy is lost, the scheduler runs its task, and the builtin fails with
 * RESULT_UNAVAILABLE: nothing could recompute it.
 *
 * A copy (PutRequest.copy: the client's `broadcast`) of a value another worker took is kept
 * and reported as a replica, as a copy fetched for a retiring worker is: the scheduler counts
 * this worker among the value's holders (or, if the key is gone, has the copy dropped).
 *
 * A put is refused (the client's put rejects with the reason) when its submission is not a
 * put's, when the worker is leaving, or when it has a task or result of that id already.
 */
import { FloeError } from '../errors.ts';
import { BUILTIN_MODULE } from '../graph/spec.ts';
import { taskId } from '../graph/task-id.ts';
import { decodeMessage } from '../transport/codec.ts';
import type { WireOf } from '../transport/messages.ts';
import type { PutRequest } from '../dataplane/dataplane.ts';
import type { SerializerRef } from '../graph/spec.ts';
import type { ObjectStore } from './store.ts';

export interface PutsOptions {
  store: ObjectStore;
  /** Whether the worker takes new work (not closing, retiring or retired). */
  open(): boolean;
  /** Whether the worker's state machine has a task or result of this id. */
  knows(id: string): boolean;
  /** Holds the submission for the worker's next report; the first of its `count` tasks' run ids (DirectSubmissions.startedHere). */
  startedHere(wire: WireOf<'submit'>, replyTo: string, count: number): number;
  /** The value is stored: feeds the state machine its `put` event (run 0 and `replica` for a copy). */
  stored(id: string, runId: number, serializer: SerializerRef, bytes: Uint8Array, replica: boolean): void;
}

export class WorkerPuts {
  /** Puts taken and refused here (tests read them). */
  readonly counts = { taken: 0, refused: 0 };

  constructor(private readonly options: PutsOptions) {}

  async accept(put: PutRequest): Promise<void> {
    try {
      await this.take(put);
      this.counts.taken += 1;
    } catch (error) {
      this.counts.refused += 1;
      throw error;
    }
  }

  private async take(put: PutRequest): Promise<void> {
    const { store } = this.options;
    const open = (): boolean => this.options.open();
    const wire = putSubmission(put.submit, put.sizes?.length ?? 1);
    const values = splitValues(put);
    const ids = wire.tasks.map((spec) => taskId(wire.clientId, spec.key));
    if (!open()) throw leaving();
    // A copy of a value held here already: nothing to do for it.
    const wanted = put.copy === true ? ids.map((id) => !store.has(id)) : ids.map(() => true);
    const clash = ids.find((id, i) => wanted[i] && (this.options.knows(id) || store.has(id)));
    if (clash !== undefined) throw new FloeError('KEY_CONFLICT', `this worker has a task or result ${clash} already`);
    const stored: string[] = [];
    const undo = (): void => {
      for (const id of stored) store.delete(id);
    };
    for (let i = 0; i < ids.length; i++) {
      if (!wanted[i]) continue;
      // Under a memory limit this may wait for older results to spill (or reject: no room).
      const took = await store.put(ids[i]!, { serializer: wire.tasks[i]!.serializer, bytes: values[i]! }).catch((error: unknown) => {
        undo();
        throw error;
      });
      if (!took) {
        undo();
        throw new FloeError('KEY_CONFLICT', `the value of ${ids[i]!} was replaced or deleted while it waited for room`);
      }
      stored.push(ids[i]!);
    }
    // The state machine is told only now: meanwhile the worker may have started leaving.
    const taken = ids.find((id, i) => wanted[i] && this.options.knows(id));
    if (!open() || taken !== undefined) {
      undo();
      throw open() ? new FloeError('KEY_CONFLICT', `this worker got a task ${taken!} while it stored the value`) : leaving();
    }
    const runId = put.copy === true ? 0 : this.options.startedHere(wire, put.replyTo, ids.length);
    for (let i = 0; i < ids.length; i++) {
      if (wanted[i]) this.options.stored(ids[i]!, runId === 0 ? 0 : runId + i, wire.tasks[i]!.serializer, values[i]!, put.copy === true);
    }
  }
}

function leaving(): FloeError {
  return new FloeError('WORKER_LOST', 'this worker is leaving the cluster and takes no puts; put the value on another worker', { retryable: true });
}

/**
 * The submission of a put of `count` values, checked: as many tasks of the builtin `put`,
 * each wanted (the wants listing the keys in the tasks' order), with no inputs.
 */
function putSubmission(data: Uint8Array, count: number): WireOf<'submit'> {
  const wire = decodeMessage(data);
  if (wire.type !== 'submit') throw new FloeError('MALFORMED_MESSAGE', `a put carries a submission, not ${wire.type}`);
  if (wire.tasks.length !== count) {
    throw new FloeError('MALFORMED_MESSAGE', `a put of ${count} value(s) must carry a submission of as many tasks of the builtin put (it has ${wire.tasks.length})`);
  }
  if (wire.direct !== undefined || wire.wants.length !== count) {
    throw new FloeError('MALFORMED_MESSAGE', "a put's tasks must be wanted, have no inputs and not be passed on already");
  }
  const keys = new Set<string>();
  wire.tasks.forEach((spec, i) => {
    if (spec.module !== BUILTIN_MODULE || spec.exportName !== 'put') {
      throw new FloeError('MALFORMED_MESSAGE', `a put's submission must be of tasks of the builtin put (task ${i} is ${spec.exportName} of ${spec.module})`);
    }
    if (keys.has(spec.key)) throw new FloeError('MALFORMED_MESSAGE', `a put's submission has the key ${spec.key} twice`);
    if (spec.deps.length > 0 || wire.wants[i] !== spec.key) {
      throw new FloeError('MALFORMED_MESSAGE', "a put's tasks must be wanted, have no inputs and not be passed on already");
    }
    keys.add(spec.key);
  });
  return wire;
}

/**
 * The values of a put: its bytes, or for several (`sizes`), each copied into shared memory
 * of its own, so that one value kept does not keep the others' bytes alive.
 */
function splitValues(put: PutRequest): Uint8Array[] {
  if (put.sizes === undefined) return [put.bytes];
  const values: Uint8Array[] = [];
  let offset = 0;
  for (const size of put.sizes) {
    if (offset + size > put.bytes.byteLength) throw new FloeError('INVALID_ARGUMENT', `a put's value sizes add up to more than its ${put.bytes.byteLength} bytes`);
    const value = new Uint8Array(new SharedArrayBuffer(size));
    value.set(put.bytes.subarray(offset, offset + size));
    values.push(value);
    offset += size;
  }
  if (offset !== put.bytes.byteLength) throw new FloeError('INVALID_ARGUMENT', `a put's value sizes add up to ${offset} bytes, not its ${put.bytes.byteLength}`);
  return values;
}
