/**
 * Carrying out the worker state machine's commands (worker/state.ts decides, this does):
 * storing inline inputs, fetching inputs from peers over the data plane, starting runs
 * (worker/runs.ts), dropping results, and queueing reports for the coordinator
 * (worker/reports.ts). What happens comes back to the state machine as events through
 * `handle`. worker/node.ts wires it up.
 */
import { FloeError, assertNever, toErrorInfo } from '../errors.ts';
import type { DataPlane, FetchedObject } from '../dataplane/dataplane.ts';
import type { WorkerMetrics } from '../telemetry/metrics.ts';
import { context } from '../telemetry/trace.ts';
import type { Logger } from '../util/logger.ts';
import type { ActorHost } from './actor-host.ts';
import type { Reports } from './reports.ts';
import type { Runs } from './runs.ts';
import type { WorkerCommand, WorkerEvent } from './state.ts';
import type { ObjectStore } from './store.ts';
import type { WorkerTracing } from './tracing.ts';
import { DIRECT_RUN_IDS_FROM, clientOf, keyOf } from '../graph/task-id.ts';
import type { KeyUpdate } from '../transport/messages.ts';

export interface CommandsDeps {
  store: ObjectStore;
  runs: Runs;
  reports: Reports;
  actors: ActorHost;
  dataPlane: DataPlane;
  tracing: WorkerTracing;
  telemetry: WorkerMetrics;
  counters: { failed: number; fetched: number; fetchedBytes: number };
  log: Logger;
  /** Results up to this size ride inline on the completion report. */
  inlineBytesMax: number;
  /** This worker's id and data-plane address (in the key updates it sends clients). */
  workerId: string;
  address(): string;
  /** Feeds an event (a fetch's outcome) to the state machine. */
  handle(event: WorkerEvent): void;
  /** Sends the key update of a run a client sent here on its direct stream; false if it has none (worker/direct.ts). */
  tellDirect(clientId: string, update: KeyUpdate): boolean;
}

export class WorkerCommands {
  constructor(private readonly deps: CommandsDeps) {}

  dispatch(command: WorkerCommand): void {
    const { store, runs, reports, tracing, log } = this.deps;
    switch (command.type) {
      case 'storeInline':
        // Usually stored at once; if it must wait for room, a reader of it waits too (store.get).
        store.put(command.id, { serializer: command.serializer, bytes: command.bytes }).catch((err: unknown) => {
          log.error({ id: command.id, err }, 'could not store an inline input');
        });
        return;
      case 'fetch':
        void this.fetch(command.id, command.addresses, command.stimulusId);
        return;
      case 'execute':
        void runs.execute(command.assign, command.stimulusId, command.short);
        return;
      case 'executeBatch':
        void runs.executeBatch(command.assigns, command.stimulusId);
        return;
      case 'abort':
        tracing.dropped(command.id, command.runId);
        runs.abort(command.id, command.runId);
        return;
      case 'reportFinished':
        this.reportFinished(command);
        return;
      case 'reportFailed':
        this.deps.counters.failed += 1;
        reports.add('failed', { id: command.id, runId: command.runId, error: command.error, durationMs: 0 });
        return;
      case 'deleteData':
        store.delete(command.id);
        this.deps.actors.destroy(command.id); // an actor's creation result: the actor goes with it
        return;
      case 'reportSlot':
        reports.slot(command.id, command.runId, command.seceded);
        return;
      case 'reportStolen':
        tracing.dropped(command.id, command.runId);
        reports.add('stolen', { id: command.id, runId: command.runId });
        return;
      case 'reportStealRefused':
        reports.add('stealRefused', { id: command.id, runId: command.runId });
        return;
      case 'reportStraggling':
        reports.add('straggling', { id: command.id, runId: command.runId });
        return;
      case 'reportReplicated':
        reports.add('replicated', command.id);
        return;
      case 'reportInputMissing':
        log.warn({ id: command.id, input: command.depId, error: command.error.message }, 'input unavailable from its holders');
        reports.add('missing', { id: command.id, runId: command.runId, depId: command.depId });
        return;
      case 'replicateFailed':
        log.warn({ id: command.id, error: command.error }, 'could not make a copy of a result the coordinator asked for');
        reports.add('replicateFailed', command.id);
        return;
      default:
        assertNever(command, 'worker command');
    }
  }

  /** Copies a result from the first of its holders that serves it (`fetched` or `fetchFailed`). */
  private async fetch(id: string, addresses: string[], stimulusId: string): Promise<void> {
    const { dataPlane, store, tracing, counters, telemetry } = this.deps;
    let lastError: unknown = new FloeError('RESULT_UNAVAILABLE', `no holder address for ${id}`);
    for (const address of addresses) {
      const traced = tracing.startTransfer(id, address);
      try {
        // The active context carries the transfer span to the holder (gRPC metadata).
        // Shared memory: the pool thread that runs the dependent gets these bytes without a copy.
        const get = (): Promise<FetchedObject> => dataPlane.fetch(address, id, { sharedMemory: true });
        const object = await (traced === undefined ? get() : context.with(traced.ctx, get));
        traced?.span.setAttribute('floe.bytes', object.bytes.byteLength);
        await store.put(id, object);
        counters.fetched += 1;
        counters.fetchedBytes += object.bytes.byteLength;
        telemetry.fetched(object.bytes.byteLength);
        this.deps.handle({ type: 'fetched', stimulusId, id });
        return;
      } catch (error) {
        lastError = error;
        traced?.span.recordException(error instanceof Error ? error : String(error));
      } finally {
        traced?.span.end();
      }
    }
    this.deps.handle({ type: 'fetchFailed', stimulusId, id, error: toErrorInfo(lastError, 'RESULT_UNAVAILABLE') });
  }

  private reportFinished(command: Extract<WorkerCommand, { type: 'reportFinished' }>): void {
    const { id, runId, tellClient, durationMs, startedAtMs, nbytes, serializer } = command;
    const { store, reports } = this.deps;
    // The run hands over bytes it stored in memory: no look-up in the store (a big map).
    // A result already spilled (memory pressure) is not inlined: peers fetch it.
    const inline = nbytes <= this.deps.inlineBytesMax ? (command.bytes ?? store.peek(id)?.bytes) : undefined;
    const report = { id, runId, nbytes, serializer, inline, durationMs, startedAtMs };
    const clientId = tellClient ? clientOf(id) : '';
    if (clientId === '') {
      reports.finished(report);
      return;
    }
    const { workerId } = this.deps;
    const update: KeyUpdate = { key: keyOf(id), status: 'memory', workerId, address: this.deps.address(), nbytes, serializer, inline, error: undefined };
    // A run started from a client's direct stream: its update goes back the same way, at
    // once, and the report waits until the update is written (Reports.finished).
    if (runId >= DIRECT_RUN_IDS_FROM && this.deps.tellDirect(clientId, update)) {
      reports.finished(report, true);
      return;
    }
    reports.finished(report);
    reports.tell(clientId, update);
  }
}
