/**
 * Client.put: a value of the client's own, put on a worker and given back as a future, as
 * Dask's `scatter` and Ray's `put` do. Tasks take the future as an input like any other, and
 * the value's bytes go from the client to that worker over the data plane, and from there
 * to the workers that need it: never through the coordinator or the NATS server, so a value
 * may be bigger than a message (`max_payload`) and costs the coordinator nothing.
 *
 * The client serializes the value (msgpack unless `serializer` says otherwise), picks a
 * worker (the one named, else the next of the workers not leaving, in turn, as Dask's
 * scatter deals them), and sends the value with the submission of a task of the builtin
 * `put` (worker/puts.ts). The coordinator answers that submission, so the put resolves once
 * it knows the key: tasks submitted after it can take it. Nothing is recomputed
 * for a put value: if every copy is lost, its future and the tasks that need it fail with
 * RESULT_UNAVAILABLE.
 */
import { FloeError, isFloeError } from '../errors.ts';
import type { DataPlane } from '../dataplane/dataplane.ts';
import { BUILTIN_MODULE, type SerializerRef, type TaskSpec } from '../graph/spec.ts';
import { checkOptionsObject, checkSerializer } from '../graph/validate-options.ts';
import { encodeArgs } from '../serde/args.ts';
import { resolveSerializer, serializeWith } from '../serde/registry.ts';
import { encodeMessage } from '../transport/codec.ts';
import type { Transport } from '../transport/transport.ts';
import { TIMER_MAX_MS } from '../util/clock.ts';
import type { ClusterStatus } from './cluster-status.ts';
import type { CoordinatorIncarnation } from './incarnation.ts';
import { checkSubmitAnswer, requestWithRetry } from './submit-request.ts';
import { ATTR, SpanKind, recordFailure, startSpan, traceparentOf, tracingEnabled, withSpan } from '../telemetry/trace.ts';
import type { Submitter } from './submitter.ts';
import type { Future, KeyState } from './future.ts';
import type { SerializerDefinition } from '../serde/types.ts';

export interface PutOptions {
  /** How the value is serialized, stored and moved (as a task's `serializer` option). Default 'msgpack'. */
  serializer?: string | SerializerDefinition;
  /** The worker to put it on, by id or name. Default: the workers take turns. */
  worker?: string;
  /** How long the put may take, the value's upload included. Default: the client's submit timeout and 1 s per 10 MiB. */
  timeoutMs?: number;
  /**
   * A copy on every worker of the cluster (Dask's `scatter(broadcast=True)`): tasks anywhere
   * read it without a fetch, and it outlives the loss of all but one of them. Default false.
   */
  broadcast?: boolean;
}

const PUT_OPTIONS = new Set(['serializer', 'worker', 'timeoutMs', 'broadcast']);

/** How long the workers the coordinator named are taken as the cluster's, for puts. */
const WORKERS_FRESH_MS = 1000;

/** Uploads a putMany has under way at once. */
const PUT_MANY_AT_ONCE = 4;

/** How long a late put waits before it asks the coordinator again whether it knows the put's key (Putter.unanswered), doubling up to the second. */
const ASK_AGAIN_FIRST_MS = 10;
const ASK_AGAIN_MAX_MS = 500;

/** Time allowed per byte of the value on top of the submit timeout (1 s per 10 MiB: a slow network's pace). */
const UPLOAD_MS_PER_BYTE = 1000 / (10 * 1024 * 1024);

export interface PutHost {
  transport: Transport;
  dataPlane: DataPlane;
  submitter: Submitter;
  incarnation: CoordinatorIncarnation;
  submitTimeoutMs: number;
  /** A worker's direct subject (the request's subject; the data plane carries it). */
  directSubject(workerId: string): string;
  /** The coordinator's submit subject (a put's submission goes there when the worker's way did not answer). */
  submitSubject: string;
  status(): Promise<ClusterStatus>;
  /** A new key of this client named `name`-N, its state (submitted, wanted) and a future of it. */
  register(name: string): { state: KeyState; future: Future<unknown> };
}

/** What a put checked and made before it is sent. */
export interface PreparedPut {
  serializer: SerializerRef;
  bytes: Uint8Array;
  worker: string | undefined;
  timeoutMs: number | undefined;
  broadcast: boolean;
}

/** Checks the options and serializes the value. */
export async function preparePut(value: unknown, options: PutOptions | undefined): Promise<PreparedPut> {
  if (options !== undefined) checkPutOptions(options);
  const serializer = options?.serializer === undefined ? { id: 'msgpack', module: '' } : checkSerializer(options.serializer, 'put options.serializer');
  const bytes = serializeWith(await resolveSerializer(serializer), value, 'the value to put', 'UNSERIALIZABLE_ARGUMENT');
  // Serializers may reuse their buffer for the next value.
  return { serializer, bytes: bytes.slice(), worker: options?.worker, timeoutMs: options?.timeoutMs, broadcast: options?.broadcast === true };
}

function checkPutOptions(options: PutOptions): void {
  checkOptionsObject(options);
  for (const key of Object.keys(options)) {
    if (!PUT_OPTIONS.has(key)) throw new FloeError('INVALID_OPTION', `put options: unknown option '${key}' (known: ${[...PUT_OPTIONS].join(', ')})`);
  }
  if (options.worker !== undefined && (typeof options.worker !== 'string' || options.worker === '')) {
    throw new FloeError('INVALID_OPTION', `put options.worker must be a worker's id or name (got ${JSON.stringify(options.worker)})`);
  }
  if (options.broadcast !== undefined && typeof options.broadcast !== 'boolean') {
    throw new FloeError('INVALID_OPTION', `put options.broadcast must be a boolean (got ${JSON.stringify(options.broadcast)})`);
  }
  if (options.broadcast === true && options.worker !== undefined) {
    throw new FloeError('INVALID_OPTION', 'put options: broadcast puts the value on every worker; it takes no worker');
  }
  const ms = options.timeoutMs;
  if (ms !== undefined && (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > TIMER_MAX_MS)) {
    throw new FloeError('INVALID_OPTION', `put options.timeoutMs must be an integer number of milliseconds in 1..${TIMER_MAX_MS} (got ${String(ms)})`);
  }
}

/** The spec of a put's task: the builtin `put`, which runs only if the value is lost (it then fails, naming the key). */
export function putSpec(key: string, serializer: SerializerRef): TaskSpec {
  const { bytes } = encodeArgs([key], () => undefined);
  return {
    key, name: 'put', module: BUILTIN_MODULE, exportName: 'put', args: bytes, deps: [], serializer,
    priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 1, timeoutMs: 0, resources: {},
  };
}

/** Puts values on workers for one client (Client.put, Client.putMany). */
export class Putter {
  /** Puts go to the workers in turn: the last one's place among them. */
  #turn = -1;
  #workers: { atMs: number; list: Promise<ClusterStatus['workers']> } | undefined;

  constructor(private readonly host: PutHost) {}

  async put(value: unknown, options: PutOptions | undefined): Promise<Future<unknown>> {
    const prepared = await preparePut(value, options);
    const worker = await this.pickWorker(prepared.worker, false);
    const { state, future } = this.host.register('put');
    const spec = putSpec(state.key, prepared.serializer);
    // The put span is the parent of the worker's and the coordinator's spans for it.
    const span = tracingEnabled() ? startSpan('put', { [ATTR.taskKey]: state.key, [ATTR.bytes]: prepared.bytes.byteLength }, undefined, { kind: SpanKind.CLIENT }) : undefined;
    if (span !== undefined) spec.traceParent = traceparentOf(span);
    const send = (to: { id: string; address: string }): Promise<void> => {
      span?.setAttribute(ATTR.worker, to.id);
      return span === undefined ? this.send(to, spec, prepared) : withSpan(span, () => this.send(to, spec, prepared));
    };
    try {
      try {
        await send(worker);
      } catch (error) {
        // The worker left (or is leaving) since the workers were last asked for: once more,
        // on a worker of the cluster as it is now. Under the same key: should the first
        // worker have taken the value after all, the coordinator keeps that one (the same).
        if (prepared.worker !== undefined || !isFloeError(error) || error.code !== 'WORKER_LOST') throw error;
        await send(await this.pickWorker(undefined, true));
      }
    } catch (error) {
      const floeError = isFloeError(error) ? error : new FloeError('INTERNAL', String(error), { cause: error });
      if (span !== undefined) recordFailure(span, floeError);
      state.fail(floeError);
      future.release(); // the coordinator may have taken it: it lets it go
      throw floeError;
    } finally {
      span?.end();
    }
    if (prepared.broadcast) {
      // Copies are counted as holders only of a value in memory: sent once the worker has
      // said it is (the coordinator hears so in the same batch).
      await state.settled;
      if (state.status === 'finished') await this.copyToAll(state.update?.workerId ?? worker.id, spec, prepared);
    }
    return future;
  }

  /**
   * Puts each of `values` as put() does, with the same options (Dask's `scatter` of a list):
   * dealt to the workers in turn, PUT_MANY_AT_ONCE uploads at a time. All or nothing: if one
   * fails, the futures of the others are let go of, and the call fails with that error,
   * naming the value's place in the list.
   */
  async putMany(values: readonly unknown[], options: PutOptions | undefined): Promise<Future<unknown>[]> {
    if (!Array.isArray(values)) {
      throw new FloeError('INVALID_ARGUMENT', `putMany(values): values must be an array (got ${values === null ? 'null' : typeof values}); put() takes one value`);
    }
    if (options !== undefined) checkPutOptions(options);
    const futures: Future<unknown>[] = [];
    // The first value (by place) that failed; no new put starts once one has.
    const failed: { index: number; error: unknown }[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (failed.length === 0 && next < values.length) {
        const index = next++;
        try {
          futures[index] = await this.put(values[index], options);
        } catch (error) {
          failed.push({ index, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUT_MANY_AT_ONCE, values.length) }, lane));
    if (failed.length === 0) return futures;
    for (const future of futures) future?.release();
    const { index, error } = failed.reduce((a, b) => (b.index < a.index ? b : a));
    const floeError = isFloeError(error) ? error : new FloeError('INTERNAL', String(error), { cause: error });
    throw new FloeError(floeError.code, `putMany: value ${index} of ${values.length}: ${floeError.message} (the values put were let go of)`, {
      cause: floeError, retryable: floeError.retryable, taskKey: floeError.taskKey,
    });
  }

  /**
   * Copies of a value one worker took, to every other worker not leaving, at once. Each
   * keeps its copy and tells the coordinator, which counts it among the holders. A copy that
   * fails leaves the value with one copy fewer: the put stands.
   */
  private async copyToAll(first: string, spec: TaskSpec, prepared: PreparedPut): Promise<void> {
    const put = this.host.dataPlane.put?.bind(this.host.dataPlane);
    if (put === undefined) return;
    const others = (await this.workers(true)).filter((w) => w.id !== first && !w.retiring && w.address !== '');
    const submit = encodeMessage(this.host.submitter.submitMessage([spec], [spec.key], []));
    await Promise.allSettled(others.map((w) => put(w.address, { replyTo: '', submit, bytes: prepared.bytes, copy: true })));
  }

  /**
   * The workers, as the coordinator said at most WORKERS_FRESH_MS ago unless `fresh`: puts
   * made together ask once (a round trip per put cost more than a small put).
   */
  private workers(fresh: boolean): Promise<ClusterStatus['workers']> {
    const now = performance.now();
    const known = this.#workers;
    if (!fresh && known !== undefined && now - known.atMs < WORKERS_FRESH_MS) return known.list;
    const list = this.host.status().then((s) => s.workers);
    this.#workers = { atMs: now, list };
    list.catch(() => {
      if (this.#workers?.list === list) this.#workers = undefined;
    });
    return list;
  }

  /** The worker a put goes to: the one named, else the next of those not leaving. */
  private async pickWorker(named: string | undefined, fresh: boolean): Promise<{ id: string; address: string }> {
    const workers = await this.workers(fresh || named !== undefined);
    if (named !== undefined) {
      const worker = workers.find((w) => w.id === named || w.name === named);
      if (worker === undefined) {
        throw new FloeError('INVALID_OPTION', `put options.worker: no worker '${named}' in the cluster (it has ${workers.map((w) => w.name || w.id).join(', ') || 'none'})`);
      }
      if (worker.retiring) throw new FloeError('INVALID_OPTION', `put options.worker: worker '${named}' is retiring`);
      return worker;
    }
    const open = workers.filter((w) => !w.retiring && w.address !== '').sort((a, b) => (a.id < b.id ? -1 : 1));
    if (open.length === 0) {
      throw new FloeError('WORKER_LOST', 'no worker in the cluster takes the value (none has joined, or all are retiring); put it again once one has', { retryable: true });
    }
    this.#turn = (this.#turn + 1) % open.length;
    return open[this.#turn]!;
  }

  /**
   * Sends the value and the put's submission to `worker`, and waits for the coordinator's
   * answer to the submission (which the worker passes on once it holds the value).
   */
  private async send(worker: { id: string; address: string }, spec: TaskSpec, prepared: PreparedPut): Promise<void> {
    const { host } = this;
    const put = host.dataPlane.put?.bind(host.dataPlane);
    if (put === undefined) throw new FloeError('INVALID_ARGUMENT', "this client's data plane cannot put values on workers");
    const payload = encodeMessage(host.submitter.submitMessage([spec], [spec.key], []));
    const timeoutMs = prepared.timeoutMs ?? Math.min(TIMER_MAX_MS, Math.ceil(host.submitTimeoutMs + prepared.bytes.byteLength * UPLOAD_MS_PER_BYTE));
    const upload = new AbortController();
    let putError: unknown;
    let taken = false;
    try {
      const reply = await host.transport.request(host.directSubject(worker.id), payload, {
        timeoutMs,
        sendVia: (replyTo, submit, fail) => {
          put(worker.address, { replyTo, submit, bytes: prepared.bytes }, { signal: upload.signal }).then(
            () => void (taken = true),
            (error: unknown) => {
              putError = error;
              fail(error instanceof Error ? error : new Error(String(error)));
            },
          );
        },
      });
      checkSubmitAnswer(reply, host.incarnation);
    } catch (error) {
      // The worker's own reason, rather than the request's failure that carried it.
      if (putError !== undefined) throw putError;
      if (!isFloeError(error) || error.code !== 'REQUEST_TIMEOUT') throw error;
      await this.unanswered(spec, worker, taken, timeoutMs, upload);
    }
  }

  /**
   * No answer in time. The worker may have the value, and its submission may still reach
   * the coordinator.
   *
   * If the worker took the value, it passes the submission on in its next report, and the
   * coordinator adopts its run. So the coordinator is first asked only whether it knows the
   * key (a want of it, which it refuses as MISSING_DEPENDENCY until then), again and again
   * for as long as a submission may take: asked with the put's task instead, it would make
   * the key itself, the builtin would run and fail, and the worker's submission, coming
   * later, would find the key taken and drop the value the worker holds.
   *
   * Otherwise, or if the coordinator still does not know the key, it is asked with the
   * put's task, as for a lone task whose worker did not answer: a key it has is the same
   * task, and one it has not it makes now. Either way the key is then answered for, and a
   * submission from the worker coming later finds it taken: nothing outlives the put's
   * release. If the worker had taken the value, the put went through, late (and if the
   * coordinator never heard of it from the worker, its future fails with
   * RESULT_UNAVAILABLE, as when the value's worker is lost); if not, the upload is stopped
   * and the put fails.
   */
  private async unanswered(spec: TaskSpec, worker: { address: string }, taken: boolean, timeoutMs: number, upload: AbortController): Promise<void> {
    const { host } = this;
    if (taken && (await this.coordinatorKnows(spec.key))) return;
    if (!taken) upload.abort();
    const again = encodeMessage(host.submitter.submitMessage([spec], [spec.key], []));
    checkSubmitAnswer(await requestWithRetry(host.transport, host.submitSubject, again, host.submitTimeoutMs), host.incarnation);
    if (!taken) {
      throw new FloeError('REQUEST_TIMEOUT', `the value was not taken by the worker at ${worker.address} within ${timeoutMs} ms (a bigger timeoutMs gives a slow upload longer)`, { retryable: true });
    }
  }

  /** Whether the coordinator comes to know `key` (a want of it accepted) within the client's submit timeout. */
  private async coordinatorKnows(key: string): Promise<boolean> {
    const { host } = this;
    const deadline = performance.now() + host.submitTimeoutMs;
    for (let backoffMs = ASK_AGAIN_FIRST_MS; ; backoffMs = Math.min(2 * backoffMs, ASK_AGAIN_MAX_MS)) {
      const ask = encodeMessage(host.submitter.submitMessage([], [key], []));
      try {
        checkSubmitAnswer(await requestWithRetry(host.transport, host.submitSubject, ask, Math.max(1, deadline - performance.now())), host.incarnation);
        return true;
      } catch (error) {
        if (!isFloeError(error) || error.code !== 'MISSING_DEPENDENCY') throw error;
      }
      if (performance.now() + backoffMs >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }
}
