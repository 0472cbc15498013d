/**
 * Wire objects -> plain objects for protobufjs' generated encoders (see codec.ts). Field
 * names are the proto fields' camelCase names; the encoders skip undefined fields.
 */
import type { TaskSpec } from '../graph/spec.ts';
import type { KeyUpdate, WireAssign, WireDepLocation, WireFinished, WireMessage, WireRegister } from './messages.ts';

/** KeyUpdate.status and TaskProgress.kind on the wire (proto/floe.proto). */
export const STATUS_TO_WIRE = { memory: 1, erred: 2, cancelled: 3 } as const;
export const PROGRESS_TO_WIRE = { running: 1, done: 2, failed: 3 } as const;

// The hot messages (assignments, completions, key updates) are built field by field below
// rather than spread: a spread of a wire object per task cost as much as encoding it.
export function toProtoBody(msg: WireMessage): object {
  switch (msg.type) {
    case 'submit':
      return { ...msg, tasks: msg.tasks.map(specToProto) };
    case 'submitReply':
      return msg;
    case 'clientBatch':
      return msg;
    case 'clientUpdates':
      return {
        updates: msg.updates.map(updateToProto),
        progress: msg.progress?.map((p) => ({ key: p.key, kind: PROGRESS_TO_WIRE[p.kind] })),
        dropped: msg.dropped,
        incarnation: msg.incarnation,
      };
    case 'workerBatch':
      return { ...msg, assign: msg.assign.map(assignToProto) };
    case 'workerEvents':
      return {
        ...msg,
        register: msg.register && registerToProto(msg.register),
        finished: msg.finished.map(finishedToProto),
      };
    case 'statusRequest':
      return {};
    case 'whoHasRequest':
      return { clientId: msg.clientId, keys: msg.keys };
    case 'whoHasReply':
    case 'replicateReply':
      return { keys: msg.keys };
    case 'replicateRequest':
      return { clientId: msg.clientId, keys: msg.keys, n: msg.n };
    case 'clusterStatus':
      return {
        ...msg,
        workers: msg.workers.map((w) => ({ ...w, resources: resourcesToProto(w.resources) })),
        tasks: Object.entries(msg.tasks).map(([state, count]) => ({ state, count })),
      };
    case 'error':
      return msg.error;
  }
}

/** A worker's registration as protobufjs' encoder takes it (resources as a list). */
export function registerToProto(r: WireRegister): object {
  return { ...r, resources: resourcesToProto(r.resources) };
}

function updateToProto(u: KeyUpdate): object {
  return {
    key: u.key,
    status: STATUS_TO_WIRE[u.status],
    workerId: u.workerId,
    address: u.address,
    nbytes: u.nbytes,
    serializer: u.serializer,
    inline: u.inline,
    hasInline: u.inline !== undefined,
    error: u.error,
  };
}

function finishedToProto(f: WireFinished): object {
  return {
    id: f.id,
    runId: f.runId,
    nbytes: f.nbytes,
    serializer: f.serializer,
    inline: f.inline,
    hasInline: f.inline !== undefined,
    durationMs: f.durationMs,
    startedAtMs: f.startedAtMs,
  };
}

function specToProto(spec: TaskSpec): object {
  return {
    key: spec.key,
    name: spec.name,
    module: spec.module,
    exportName: spec.exportName,
    args: spec.args,
    deps: spec.deps,
    serializer: spec.serializer,
    priority: spec.priority,
    retries: spec.retries,
    retryDelayMs: spec.retryDelayMs,
    retryBackoff: spec.retryBackoff,
    timeoutMs: spec.timeoutMs,
    resources: resourcesToProto(spec.resources),
    traceParent: spec.traceParent,
    actor: spec.actor,
    restartsMax: spec.restartsMax,
    holdsActors: spec.holdsActors,
  };
}

function assignToProto(a: WireAssign): object {
  return {
    id: a.id,
    runId: a.runId,
    attempt: a.attempt,
    spec: specToProto(a.spec),
    deps: a.deps.length === 0 ? NO_DEPS : a.deps.map(depToProto),
    traceParent: a.traceParent,
    order: a.order,
    tellClient: a.tellClient,
  };
}

function depToProto(d: WireDepLocation): object {
  return { id: d.id, holders: d.holders, nbytes: d.nbytes, serializer: d.serializer, inline: d.inline, hasInline: d.inline !== undefined };
}

const NO_DEPS: readonly object[] = Object.freeze([]);
const NO_RESOURCES: readonly { name: string; amount: number }[] = Object.freeze([]);

function resourcesToProto(resources: Record<string, number>): readonly { name: string; amount: number }[] {
  let out: { name: string; amount: number }[] | undefined;
  for (const name in resources) (out ??= []).push({ name, amount: resources[name]! });
  return out ?? NO_RESOURCES;
}
