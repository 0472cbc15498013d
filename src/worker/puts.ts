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
  /** Holds the submission for the worker's next report; the run's id (DirectSubmissions.startedHere). */
  startedHere(wire: WireOf<'submit'>, replyTo: string): number;
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
    const knows = (id: string): boolean => this.options.knows(id);
    const wire = putSubmission(put.submit);
    const spec = wire.tasks[0]!;
    const id = taskId(wire.clientId, spec.key);
    if (!open()) throw leaving();
    if (put.copy === true && store.has(id)) return; // a copy of a value held here already: nothing to do
    if (knows(id) || store.has(id)) throw new FloeError('KEY_CONFLICT', `this worker has a task or result ${id} already`);
    const object = { serializer: spec.serializer, bytes: put.bytes };
    // Under a memory limit this may wait for older results to spill (or reject: no room).
    if (!(await store.put(id, object))) throw new FloeError('KEY_CONFLICT', `the value of ${id} was replaced or deleted while it waited for room`);
    // The state machine is told only now: meanwhile the worker may have started leaving.
    if (!open() || knows(id)) {
      store.delete(id);
      throw open() ? new FloeError('KEY_CONFLICT', `this worker got a task ${id} while it stored the value`) : leaving();
    }
    if (put.copy === true) {
      this.options.stored(id, 0, spec.serializer, put.bytes, true);
      return;
    }
    const runId = this.options.startedHere(wire, put.replyTo);
    this.options.stored(id, runId, spec.serializer, put.bytes, false);
  }
}

function leaving(): FloeError {
  return new FloeError('WORKER_LOST', 'this worker is leaving the cluster and takes no puts; put the value on another worker', { retryable: true });
}

/** The submission of a put, checked: one task of the builtin `put`, wanted, with no inputs. */
function putSubmission(data: Uint8Array): WireOf<'submit'> {
  const wire = decodeMessage(data);
  if (wire.type !== 'submit') throw new FloeError('MALFORMED_MESSAGE', `a put carries a submission, not ${wire.type}`);
  const spec = wire.tasks.length === 1 ? wire.tasks[0]! : undefined;
  if (spec === undefined || spec.module !== BUILTIN_MODULE || spec.exportName !== 'put') {
    throw new FloeError('MALFORMED_MESSAGE', "a put's submission must be of one task of the builtin put");
  }
  if (wire.direct !== undefined || spec.deps.length > 0 || wire.wants.length !== 1 || wire.wants[0] !== spec.key) {
    throw new FloeError('MALFORMED_MESSAGE', "a put's task must be wanted, have no inputs and not be passed on already");
  }
  return wire;
}
