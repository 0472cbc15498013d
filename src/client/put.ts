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
import type { DataPlane, PutRequest } from '../dataplane/dataplane.ts';
import { BUILTIN_MODULE, type SerializerRef, type TaskSpec } from '../graph/spec.ts';
import { checkOptionKeys, checkOptionsObject, checkSerializer, checkTimeoutOption } from '../graph/validate-options.ts';
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
import { asFloeError, type Future, type KeyState } from './future.ts';
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

export function checkPutOptions(options: PutOptions): void {
  checkOptionsObject(options);
  checkOptionKeys(options, PUT_OPTIONS, 'put options');
  if (options.worker !== undefined && (typeof options.worker !== 'string' || options.worker === '')) {
    throw new FloeError('INVALID_OPTION', `put options.worker must be a worker's id or name (got ${JSON.stringify(options.worker)})`);
  }
  if (options.broadcast !== undefined && typeof options.broadcast !== 'boolean') {
    throw new FloeError('INVALID_OPTION', `put options.broadcast must be a boolean (got ${JSON.stringify(options.broadcast)})`);
  }
  if (options.broadcast === true && options.worker !== undefined) {
    throw new FloeError('INVALID_OPTION', 'put options: broadcast puts the value on every worker; it takes no worker');
  }
  checkTimeoutOption(options.timeoutMs, 'put options.timeoutMs');
}

/** The spec of a put's task: the builtin `put`, which runs only if the value is lost (it then fails, naming the key). */
export function putSpec(key: string, serializer: SerializerRef): TaskSpec {
  const { bytes } = encodeArgs([key], () => undefined);
  return {
    key, name: 'put', module: BUILTIN_MODULE, exportName: 'put', args: bytes, deps: [], serializer,
    priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 1, timeoutMs: 0, resources: {},
  };
}

/** A worker a put goes to. */
export interface PutTarget {
  id: string;
  address: string;
}

/** Puts values on workers for one client (Client.put, Client.putMany: client/put-many.ts). */
export class Putter {
  /** Puts go to the workers in turn: the last one's place among them. */
  #turn = -1;
  #workers: { atMs: number; list: Promise<ClusterStatus['workers']> } | undefined;

  constructor(private readonly host: PutHost) {}

  async put(value: unknown, options: PutOptions | undefined): Promise<Future<unknown>> {
    const prepared = await preparePut(value, options);
    const [future] = await this.upload(await this.pickWorker(prepared.worker, false), [prepared]);
    return future!;
  }

  /**
   * Puts `values` (prepared with the same options) on `worker` in one upload, with one
   * submission of as many tasks of the builtin `put`: a future per value, in order. A
   * worker that left is replaced once (unless it was named). If the upload fails, every
   * value's key fails and is let go of, and the error is thrown.
   */
  async upload(worker: PutTarget, values: readonly PreparedPut[]): Promise<Future<unknown>[]> {
    const first = values[0]!;
    const keys = values.map(() => this.host.register('put'));
    const specs = keys.map(({ state }, i) => putSpec(state.key, values[i]!.serializer));
    const bytes = values.length === 1 ? first.bytes : concat(values.map((v) => v.bytes));
    const sizes = values.length === 1 ? undefined : values.map((v) => v.bytes.byteLength);
    // The put span is the parent of the worker's and the coordinator's spans for it.
    const span = tracingEnabled() ? startSpan('put', putAttributes(specs, bytes), undefined, { kind: SpanKind.CLIENT }) : undefined;
    if (span !== undefined) for (const spec of specs) spec.traceParent = traceparentOf(span);
    const upload: Upload = { specs, bytes, sizes, timeoutMs: first.timeoutMs };
    const send = (to: PutTarget): Promise<void> => {
      span?.setAttribute(ATTR.worker, to.id);
      return span === undefined ? this.send(to, upload) : withSpan(span, () => this.send(to, upload));
    };
    try {
      try {
        await send(worker);
      } catch (error) {
        // The worker left (or is leaving) since the workers were last asked for: once more,
        // on a worker of the cluster as it is now. Under the same keys: should the first
        // worker have taken the values after all, the coordinator keeps those (the same).
        if (first.worker !== undefined || !isFloeError(error) || error.code !== 'WORKER_LOST') throw error;
        await send(await this.pickWorker(undefined, true));
      }
    } catch (error) {
      const floeError = asFloeError(error);
      if (span !== undefined) recordFailure(span, floeError);
      for (const { state, future } of keys) {
        state.fail(floeError);
        future.release(); // the coordinator may have taken it: it lets it go
      }
      throw floeError;
    } finally {
      span?.end();
    }
    if (first.broadcast) {
      // Copies are counted as holders only of values in memory: sent once the worker has
      // said they are (the coordinator hears so in the same batch).
      await Promise.all(keys.map(({ state }) => state.settled));
      const held = keys[0]!.state;
      if (keys.every(({ state }) => state.status === 'finished')) await this.copyToAll(held.update?.workerId ?? worker.id, upload);
    }
    return keys.map(({ future }) => future);
  }

  /**
   * Bytes of an upload's submission per value of it with `serializer` (a put task's spec
   * and its want), at most: a key of ten digits, a trace parent if traced.
   */
  submissionBytesPerValue(serializer: SerializerRef): number {
    const spec = putSpec('put-9999999999', serializer);
    if (tracingEnabled()) spec.traceParent = `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`;
    return this.submission([spec]).byteLength - this.submission([]).byteLength;
  }

  /** The submission of `specs`, wanting `wants` (their keys unless said). */
  private submission(specs: TaskSpec[], wants = specs.map((s) => s.key)): Uint8Array {
    return encodeMessage(this.host.submitter.submitMessage(specs, wants, []));
  }

  /** The largest message the client's transport carries (undefined: no limit). */
  get maxPayloadBytes(): number | undefined {
    return this.host.transport.maxPayloadBytes;
  }

  /**
   * Copies of values one worker took, to every other worker not leaving, at once. Each
   * keeps its copies and tells the coordinator, which counts it among the holders. A copy
   * that fails leaves the value with one copy fewer: the put stands.
   */
  private async copyToAll(first: string, upload: Upload): Promise<void> {
    const put = this.host.dataPlane.put?.bind(this.host.dataPlane);
    if (put === undefined) return;
    const others = (await this.workers(true)).filter((w) => w.id !== first && !w.retiring && w.address !== '');
    const copy: PutRequest = { replyTo: '', submit: this.submission(upload.specs), bytes: upload.bytes, copy: true };
    if (upload.sizes !== undefined) copy.sizes = upload.sizes;
    await Promise.allSettled(others.map((w) => put(w.address, copy)));
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
  pickWorker(named: string | undefined, fresh: boolean): Promise<PutTarget> {
    return this.pickWorkers(named, fresh, 1).then((picked) => picked[0]!);
  }

  /**
   * Workers for `count` values, in order: the one named for each, else the workers not
   * leaving, each value the next one in turn (as Dask's scatter deals a list).
   */
  async pickWorkers(named: string | undefined, fresh: boolean, count: number): Promise<PutTarget[]> {
    const workers = await this.workers(fresh || named !== undefined);
    if (named !== undefined) {
      const worker = workers.find((w) => w.id === named || w.name === named);
      if (worker === undefined) {
        throw new FloeError('INVALID_OPTION', `put options.worker: no worker '${named}' in the cluster (it has ${workers.map((w) => w.name || w.id).join(', ') || 'none'})`);
      }
      if (worker.retiring) throw new FloeError('INVALID_OPTION', `put options.worker: worker '${named}' is retiring`);
      return new Array<PutTarget>(count).fill(worker);
    }
    const open = workers.filter((w) => !w.retiring && w.address !== '').sort((a, b) => (a.id < b.id ? -1 : 1));
    if (open.length === 0) {
      throw new FloeError('WORKER_LOST', 'no worker in the cluster takes the value (none has joined, or all are retiring); put it again once one has', { retryable: true });
    }
    const picked: PutTarget[] = [];
    for (let i = 0; i < count; i++) {
      this.#turn = (this.#turn + 1) % open.length;
      picked.push(open[this.#turn]!);
    }
    return picked;
  }

  /**
   * Sends the values and their submission to `worker`, and waits for the coordinator's
   * answer to the submission (which the worker passes on once it holds the values).
   */
  private async send(worker: PutTarget, upload: Upload): Promise<void> {
    const { host } = this;
    const put = host.dataPlane.put?.bind(host.dataPlane);
    if (put === undefined) throw new FloeError('INVALID_ARGUMENT', "this client's data plane cannot put values on workers");
    const { specs, bytes, sizes } = upload;
    const payload = this.submission(specs);
    const timeoutMs = upload.timeoutMs ?? Math.min(TIMER_MAX_MS, Math.ceil(host.submitTimeoutMs + bytes.byteLength * UPLOAD_MS_PER_BYTE));
    const stop = new AbortController();
    let putError: unknown;
    let taken = false;
    try {
      const reply = await host.transport.request(host.directSubject(worker.id), payload, {
        timeoutMs,
        sendVia: (replyTo, submit, fail) => {
          const request: PutRequest = { replyTo, submit, bytes };
          if (sizes !== undefined) request.sizes = sizes;
          put(worker.address, request, { signal: stop.signal }).then(
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
      await this.unanswered(specs, worker, taken, timeoutMs, stop);
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
  private async unanswered(specs: TaskSpec[], worker: { address: string }, taken: boolean, timeoutMs: number, upload: AbortController): Promise<void> {
    const { host } = this;
    if (taken && (await this.coordinatorKnows(specs.map((s) => s.key)))) return;
    if (!taken) upload.abort();
    const again = this.submission(specs);
    checkSubmitAnswer(await requestWithRetry(host.transport, host.submitSubject, again, host.submitTimeoutMs), host.incarnation);
    if (!taken) {
      throw new FloeError('REQUEST_TIMEOUT', `the value was not taken by the worker at ${worker.address} within ${timeoutMs} ms (a bigger timeoutMs gives a slow upload longer)`, { retryable: true });
    }
  }

  /** Whether the coordinator comes to know `keys` (a want of them accepted) within the client's submit timeout. */
  private async coordinatorKnows(keys: string[]): Promise<boolean> {
    const { host } = this;
    const deadline = performance.now() + host.submitTimeoutMs;
    for (let backoffMs = ASK_AGAIN_FIRST_MS; ; backoffMs = Math.min(2 * backoffMs, ASK_AGAIN_MAX_MS)) {
      const ask = this.submission([], keys);
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

/** Values going to one worker in one upload: their tasks' specs and bytes (several: one after another, `sizes`). */
interface Upload {
  specs: TaskSpec[];
  bytes: Uint8Array;
  sizes: number[] | undefined;
  timeoutMs: number | undefined;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function putAttributes(specs: readonly TaskSpec[], bytes: Uint8Array): Record<string, string | number> {
  const attributes: Record<string, string | number> = { [ATTR.taskKey]: specs[0]!.key, [ATTR.bytes]: bytes.byteLength };
  if (specs.length > 1) attributes[ATTR.tasks] = specs.length;
  return attributes;
}
