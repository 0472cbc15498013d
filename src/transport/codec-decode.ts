/**
 * Decoded protobuf bodies (protobufjs message objects) to WireMessages, checking every
 * field a peer could get wrong (MALFORMED_MESSAGE); codec.ts decodes the envelope. The
 * mirror of codec-encode.ts. The bodies received per task are read directly instead
 * (*-decode.ts); for them this is the reference the direct decoders are tested against,
 * and what an unusual envelope (several bodies, another version) still goes through.
 */
import protobuf from 'protobufjs';
import { FloeError, type ErrorInfo } from '../errors.ts';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import {
  errorInfo, intern, keyStatus, missing, missingSpecField, NO_BYTES, NO_RESOURCES, nonEmpty, progressKind, serializerRef,
} from './decode-shared.ts';
import type { KeyUpdate, WireAssign, WireDepLocation, WireDirectRun, WireMessage, WireMetrics } from './messages.ts';
import { DecodedSpec } from './spec-bytes.ts';

export { nonEmpty };

/** A message object as protobufjs decodes it (read directly, not through `toObject`). */
export type ProtoObject = Record<string, unknown>;
type Obj = ProtoObject;

/** The body `which` of an envelope (its oneof field, named as the WireMessage type). */
export function fromProtoBody(which: WireMessage['type'], b: Obj): WireMessage {
  switch (which) {
    case 'submit':
      return {
        type: 'submit',
        clientId: nonEmpty(b.clientId, 'submit.clientId'),
        requestId: str(b.requestId),
        tasks: (b.tasks as Obj[]).map((t, i) => specFromProto(t, `submit.tasks[${i}]`)),
        wants: b.wants as string[],
        missing: (b.missing as Obj[]).map((m, i) => ({
          key: nonEmpty(m.key, `submit.missing[${i}].key`),
          workerId: nonEmpty(m.workerId, `submit.missing[${i}].workerId`),
        })),
        ...(b.progress === true ? { progress: true } : {}),
        ...(b.direct != null ? { direct: directFromProto(b.direct as Obj) } : {}),
        ...(str(b.coordinatorIncarnation) !== '' ? { coordinatorIncarnation: str(b.coordinatorIncarnation) } : {}),
      };
    case 'submitReply':
      return {
        type: 'submitReply',
        requestId: str(b.requestId),
        error: optError(b.error),
        ...(str(b.incarnation) !== '' ? { incarnation: str(b.incarnation) } : {}),
      };
    case 'clientBatch':
      return {
        type: 'clientBatch',
        clientId: nonEmpty(b.clientId, 'clientBatch.clientId'),
        release: b.release as string[],
        cancel: b.cancel as string[],
        hello: b.hello === true,
        bye: b.bye === true,
        ...(str(b.coordinatorIncarnation) !== '' ? { coordinatorIncarnation: str(b.coordinatorIncarnation) } : {}),
        ...(num(b.heartbeatIntervalMs) !== 0 ? { heartbeatIntervalMs: num(b.heartbeatIntervalMs) } : {}),
      };
    case 'clientUpdates':
      return {
        type: 'clientUpdates',
        updates: (b.updates as Obj[]).map(updateFromProto),
        ...((b.progress as Obj[]).length > 0 ? { progress: (b.progress as Obj[]).map(progressFromProto) } : {}),
        ...(b.dropped === true ? { dropped: true as const } : {}),
        ...(str(b.incarnation) !== '' ? { incarnation: str(b.incarnation) } : {}),
      };
    case 'workerBatch':
      return {
        type: 'workerBatch',
        assign: (b.assign as Obj[]).map(assignFromProto),
        cancel: runRefs(b.cancel),
        release: b.release as string[],
        steal: runRefs(b.steal),
        replicate: (b.replicate as Obj[]).map((r) => ({
          id: nonEmpty(r.id, 'replicate.id'),
          holders: (r.holders as Obj[]).map((h) => ({ workerId: str(h.workerId), address: str(h.address) })),
          nbytes: num(r.nbytes),
          serializer: serializerFromProto(r.serializer),
        })),
        retired: b.retired === true,
        reregister: b.reregister === true,
        clientsGone: b.clientsGone as string[],
        epoch: num(b.epoch),
      };
    case 'workerEvents':
      return workerEventsFromProto(b);
    case 'statusRequest':
      return { type: 'statusRequest' };
    case 'whoHasRequest':
      return { type: 'whoHasRequest', clientId: nonEmpty(b.clientId, 'whoHasRequest.clientId'), keys: b.keys as string[] };
    case 'whoHasReply':
      return { type: 'whoHasReply', keys: (b.keys as Obj[]).map((k) => ({ key: str(k.key), workers: k.workers as string[] })) };
    case 'replicateRequest':
      return { type: 'replicateRequest', clientId: nonEmpty(b.clientId, 'replicateRequest.clientId'), keys: b.keys as string[], n: num(b.n) };
    case 'replicateReply':
      return { type: 'replicateReply', keys: (b.keys as Obj[]).map((k) => ({ key: str(k.key), holders: num(k.holders) })) };
    case 'clusterStatus':
      return clusterStatusFromProto(b);
    case 'error':
      return { type: 'error', error: errorFromProto(b) };
  }
}

function workerEventsFromProto(b: Obj): WireMessage {
  const reg = b.register as Obj | null | undefined;
  return {
    type: 'workerEvents',
    workerId: nonEmpty(b.workerId, 'workerEvents.workerId'),
    register:
      reg === null || reg === undefined
        ? undefined
        : {
            threads: num(reg.threads),
            resources: resourcesFromProto(reg.resources),
            address: str(reg.address),
            name: str(reg.name),
            heartbeatIntervalMs: num(reg.heartbeatIntervalMs),
          },
    finished: (b.finished as Obj[]).map((f) => ({
      id: nonEmpty(f.id, 'finished.id'),
      runId: num(f.runId),
      nbytes: num(f.nbytes),
      serializer: serializerFromProto(f.serializer),
      inline: f.hasInline === true ? bytesOf(f.inline) : undefined,
      durationMs: num(f.durationMs),
      startedAtMs: num(f.startedAtMs),
    })),
    failed: (b.failed as Obj[]).map((f) => ({
      id: nonEmpty(f.id, 'failed.id'),
      runId: num(f.runId),
      error: errorFromProto(f.error),
      durationMs: num(f.durationMs),
    })),
    heartbeat: b.heartbeat === true,
    goodbye: b.goodbye === true,
    stolen: runRefs(b.stolen),
    seceded: runRefs(b.seceded),
    rejoined: runRefs(b.rejoined),
    straggling: runRefs(b.straggling),
    stealRefused: runRefs(b.stealRefused),
    replicated: b.replicated as string[],
    replicateFailed: b.replicateFailed as string[],
    retiring: b.retiring === true,
    metrics: metricsFromProto(b.metrics),
    missing: (b.missing as Obj[]).map((m) => ({
      id: nonEmpty(m.id, 'missing.id'),
      runId: num(m.runId),
      depId: nonEmpty(m.depId, 'missing.depId'),
    })),
    epoch: num(b.epoch),
    relayed: (b.relayed as Obj[]).map((r) => ({ replyTo: nonEmpty(r.replyTo, 'relayed.replyTo'), submit: bytesOf(r.submit) })),
  };
}

function clusterStatusFromProto(b: Obj): WireMessage {
  const tasks: Record<string, number> = {};
  for (const t of b.tasks as Obj[]) tasks[str(t.state)] = num(t.count);
  return {
    type: 'clusterStatus',
    workers: (b.workers as Obj[]).map((w) => ({
      id: str(w.id),
      name: str(w.name),
      address: str(w.address),
      threads: num(w.threads),
      processing: num(w.processing),
      held: num(w.held),
      resources: resourcesFromProto(w.resources),
      metrics: metricsFromProto(w.metrics),
      metricsAgeMs: num(w.metricsAgeMs),
      retiring: w.retiring === true,
      epoch: num(w.epoch),
    })),
    tasks,
    waiting: (b.waiting as Obj[]).map((w) => ({ id: str(w.id), reason: str(w.reason) })),
    clients: num(b.clients),
  };
}

function metricsFromProto(m: unknown): WireMetrics | undefined {
  if (m === null || m === undefined) return undefined;
  const o = m as Obj;
  return {
    executing: num(o.executing),
    tasks: num(o.tasks),
    held: num(o.held),
    heldBytes: num(o.heldBytes),
    rssBytes: num(o.rssBytes),
    executed: num(o.executed),
    fetched: num(o.fetched),
    fetchedBytes: num(o.fetchedBytes),
  };
}

function runRefs(list: unknown): { id: string; runId: number }[] {
  return (list as Obj[]).map((c) => ({ id: nonEmpty(c.id, 'run.id'), runId: num(c.runId) }));
}

function specFromProto(t: Obj, where: string): TaskSpec {
  const spec: TaskSpec = new DecodedSpec(
    str(t.key),
    intern(str(t.name)),
    intern(str(t.module)),
    intern(str(t.exportName)),
    bytesOf(t.args),
    t.deps as string[],
    serializerFromProto(t.serializer),
    num(t.priority),
    num(t.retries),
    num(t.retryDelayMs),
    num(t.retryBackoff),
    num(t.timeoutMs),
    (t.resources as Obj[]).length === 0 ? NO_RESOURCES : resourcesFromProto(t.resources),
  );
  // The optional fields only when set (not spread in: this runs once per task per hop).
  if (str(t.traceParent) !== '') spec.traceParent = str(t.traceParent);
  if (str(t.actor) !== '') spec.actor = str(t.actor);
  if (num(t.restartsMax) !== 0) spec.restartsMax = num(t.restartsMax);
  if ((t.holdsActors as string[]).length > 0) spec.holdsActors = t.holdsActors as string[];
  const field = missingSpecField(spec);
  if (field !== '') throw missing(`${where}.${field}`);
  return spec;
}

function assignFromProto(a: Obj): WireAssign {
  const spec = a.spec as Obj | null;
  if (spec === null) throw new FloeError('MALFORMED_MESSAGE', 'assign without spec');
  const assign: WireAssign = {
    id: nonEmpty(a.id, 'assign.id'),
    runId: num(a.runId),
    attempt: num(a.attempt),
    spec: specFromProto(spec, 'assign.spec'),
    deps: (a.deps as Obj[]).map(depFromProto),
  };
  if (str(a.traceParent) !== '') assign.traceParent = str(a.traceParent);
  if (num(a.order) !== 0) assign.order = num(a.order);
  if (a.tellClient === true) assign.tellClient = true;
  return assign;
}

function depFromProto(d: Obj): WireDepLocation {
  return {
    id: nonEmpty(d.id, 'dep.id'),
    holders: (d.holders as Obj[]).map((h) => ({ workerId: str(h.workerId), address: str(h.address) })),
    nbytes: num(d.nbytes),
    serializer: serializerFromProto(d.serializer),
    inline: d.hasInline === true ? bytesOf(d.inline) : undefined,
  };
}

function progressFromProto(p: Obj): { key: string; kind: 'running' | 'done' | 'failed' } {
  const kind = progressKind(num(p.kind));
  return { key: nonEmpty(p.key, 'progress.key'), kind };
}

function updateFromProto(u: Obj): KeyUpdate {
  const status = keyStatus(num(u.status));
  return {
    key: nonEmpty(u.key, 'update.key'),
    status,
    workerId: str(u.workerId),
    address: str(u.address),
    nbytes: num(u.nbytes),
    serializer: serializerFromProto(u.serializer),
    inline: u.hasInline === true ? bytesOf(u.inline) : undefined,
    error: optError(u.error),
  };
}

function serializerFromProto(s: unknown): SerializerRef {
  const o = (s ?? {}) as Obj;
  return serializerRef(str(o.id), str(o.module));
}

function resourcesFromProto(list: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of list as Obj[]) out[str(r.name)] = num(r.amount);
  return out;
}

function optError(e: unknown): ErrorInfo | undefined {
  return e === null || e === undefined ? undefined : errorFromProto(e);
}

function errorFromProto(e: unknown): ErrorInfo {
  const o = (e ?? {}) as Obj;
  return errorInfo(str(o.code), str(o.message), o.retryable === true, str(o.stack), str(o.taskKey), str(o.originalName));
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  // uint64 fields decode to Long objects when the `long` package is installed.
  // All of ours are unsigned.
  return typeof v === 'object' && v !== null && 'low' in v ? protobuf.util.LongBits.from(v as protobuf.Long).toNumber(true) : 0;
}

/** An unset bytes field reads as the prototype's empty array, not a Uint8Array. */
function bytesOf(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : NO_BYTES;
}

function directFromProto(d: Obj): WireDirectRun {
  return { workerId: nonEmpty(d.workerId, 'submit.direct.workerId'), epoch: Number(d.epoch), runId: num(d.runId) };
}
