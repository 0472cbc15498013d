/**
 * The control messages as TypeScript sees them: one discriminated union on `type`.
 * codec.ts maps them to and from the protobuf `Envelope` of proto/floe.proto.
 */
import type { ErrorInfo } from '../errors.ts';
import { isActorSpec, type SerializerRef, type TaskSpec } from '../graph/spec.ts';

export const PROTOCOL_VERSION = 1;

export interface KeyUpdate {
  key: string;
  status: 'memory' | 'erred' | 'cancelled';
  workerId: string;
  address: string;
  nbytes: number;
  serializer: SerializerRef;
  inline: Uint8Array | undefined;
  error: ErrorInfo | undefined;
}

/** A result the client could not fetch from the worker that was said to hold it. */
export interface MissingResult {
  key: string;
  workerId: string;
}

/** One of a client's tasks started, finished or failed (for progress displays). */
export interface TaskProgress {
  key: string;
  kind: 'running' | 'done' | 'failed';
}

export interface WireDepLocation {
  id: string;
  holders: { workerId: string; address: string }[];
  nbytes: number;
  serializer: SerializerRef;
  inline: Uint8Array | undefined;
}

export interface WireAssign {
  id: string;
  runId: number;
  attempt: number;
  spec: TaskSpec;
  deps: WireDepLocation[];
  /** W3C traceparent of the coordinator's queue span (absent or '' when untraced). */
  traceParent?: string;
  /** The scheduler's graph order: lower starts first among equal priorities (0: none). */
  order?: number;
  /**
   * The client wants the result: on success the worker sends the client its key update
   * itself (worker/reports.ts), one hop less than through the coordinator, which then
   * sends none.
   */
  tellClient?: boolean;
}

export interface WireRegister {
  threads: number;
  resources: Record<string, number>;
  address: string;
  name: string;
  /** How often the worker sends a heartbeat when otherwise silent (0: never; an older worker says nothing, also 0). */
  heartbeatIntervalMs: number;
}

export interface WireFinished {
  id: string;
  runId: number;
  nbytes: number;
  serializer: SerializerRef;
  inline: Uint8Array | undefined;
  durationMs: number;
  startedAtMs: number;
}

export interface WireFailed {
  id: string;
  runId: number;
  error: ErrorInfo;
  durationMs: number;
}

export interface WireReplicate {
  id: string;
  holders: { workerId: string; address: string }[];
  nbytes: number;
  serializer: SerializerRef;
}

export interface WireRunRef {
  id: string;
  runId: number;
}

export interface WireMetrics {
  executing: number;
  tasks: number;
  held: number;
  heldBytes: number;
  rssBytes: number;
  executed: number;
  fetched: number;
  fetchedBytes: number;
}

export interface WireWorkerStatus {
  id: string;
  name: string;
  address: string;
  threads: number;
  processing: number;
  held: number;
  resources: Record<string, number>;
  metrics: WireMetrics | undefined;
  /** How long ago (ms) the coordinator got `metrics`, with the worker's last heartbeat; 0 without metrics. */
  metricsAgeMs: number;
  retiring: boolean;
  /** Its incarnation: 1 + the times it started over. */
  epoch: number;
}

export interface WireClusterStatus {
  workers: WireWorkerStatus[];
  tasks: Record<string, number>;
  waiting: { id: string; reason: string }[];
  clients: number;
}

/**
 * Set by a worker passing on a lone task a client sent it directly (client/direct.ts):
 * `runId`, the run it started at once (graph/task-id.ts DIRECT_RUN_IDS_FROM), which the
 * scheduler adopts or cancels; 0 when it only passed the submission on.
 */
export interface WireDirectRun {
  workerId: string;
  epoch: number;
  runId: number;
}

/**
 * A submission a worker passes on in its report (WorkerEvents.relayed): the encoded
 * submit message (its `direct` set) and where the client's request waits for the answer.
 */
export interface WireRelayed {
  replyTo: string;
  submit: Uint8Array;
}

export type WireMessage =
  | {
      type: 'submit';
      clientId: string;
      requestId: string;
      tasks: TaskSpec[];
      wants: string[];
      missing?: MissingResult[];
      progress?: boolean;
      direct?: WireDirectRun;
      /** The coordinator incarnation the client heard from first; absent until it heard from one (then the submission introduces it). */
      coordinatorIncarnation?: string;
    }
  | {
      type: 'submitReply';
      requestId: string;
      error: ErrorInfo | undefined;
      /** The answering coordinator's incarnation (absent from an older coordinator). */
      incarnation?: string;
    }
  | {
      type: 'clientBatch';
      clientId: string;
      release: string[];
      cancel: string[];
      hello: boolean;
      bye: boolean;
      /** As in submit: the coordinator incarnation the client heard from first. */
      coordinatorIncarnation?: string;
      /** With hello: the client's heartbeat interval when idle (absent: not said, or none). */
      heartbeatIntervalMs?: number;
    }
  | {
      type: 'clientUpdates';
      updates: KeyUpdate[];
      progress?: TaskProgress[];
      /** The coordinator dropped this client (silent past its client timeout, or unknown to a restarted coordinator): its keys are gone. */
      dropped?: true;
      /** The sending coordinator's incarnation; absent when a worker sends it (WireAssign.tellClient). */
      incarnation?: string;
    }
  | {
      type: 'workerBatch';
      assign: WireAssign[];
      cancel: WireRunRef[];
      release: string[];
      steal: WireRunRef[];
      replicate: WireReplicate[];
      retired: boolean;
      reregister: boolean;
      /** Clients that left: the worker drops its links to them (WireAssign.tellClient). */
      clientsGone: string[];
      /** With reregister: the worker incarnation that must start over (0 otherwise). */
      epoch: number;
    }
  | {
      type: 'workerEvents';
      workerId: string;
      register: WireRegister | undefined;
      finished: WireFinished[];
      failed: WireFailed[];
      heartbeat: boolean;
      goodbye: boolean;
      stolen: WireRunRef[];
      stealRefused: WireRunRef[];
      replicated: string[];
      /** Copies it was told to make (Replicate) and could not. */
      replicateFailed: string[];
      retiring: boolean;
      metrics: WireMetrics | undefined;
      missing: { id: string; runId: number; depId: string }[];
      /** Runs waiting on subtasks (their thread slot is free) and runs done waiting. */
      seceded: WireRunRef[];
      rejoined: WireRunRef[];
      /** Runs the worker's pool found straggling (worker/stragglers.ts). */
      straggling: WireRunRef[];
      /** The sender's incarnation: 1 at start, one more each time it starts over. */
      epoch: number;
      /** Submissions passed on, handled before everything else in the message (worker/direct.ts). */
      relayed: WireRelayed[];
    }
  | { type: 'statusRequest' }
  | ({ type: 'clusterStatus' } & WireClusterStatus)
  /** Which workers hold the results of some of a client's keys (Client.whoHas). */
  | { type: 'whoHasRequest'; clientId: string; keys: string[] }
  /** One entry per key asked for, in order: the ids of the workers holding its result (none: no worker does). */
  | { type: 'whoHasReply'; keys: { key: string; workers: string[] }[] }
  /** Copies of some of a client's results, `n` workers holding each (0: every worker): Client.replicate. */
  | { type: 'replicateRequest'; clientId: string; keys: string[]; n: number }
  /** One entry per key asked for, in order: how many workers are to hold it (0: none can). */
  | { type: 'replicateReply'; keys: { key: string; holders: number }[] }
  | { type: 'error'; error: ErrorInfo };

/**
 * Whether a submission is one lone task: the only kind a worker starts on its own. The
 * client sends only those directly (client/direct.ts); the worker checks again (it may get
 * anything: worker/direct.ts).
 */
export function isLoneTask(msg: WireOf<'submit'>): boolean {
  if (msg.tasks.length !== 1 || (msg.missing?.length ?? 0) > 0 || msg.progress === true || msg.direct !== undefined) return false;
  const spec = msg.tasks[0]!;
  if (msg.wants.length !== 1 || msg.wants[0] !== spec.key) return false;
  if (spec.deps.length > 0 || isActorSpec(spec) || (spec.holdsActors?.length ?? 0) > 0) return false;
  for (const _ in spec.resources) return false;
  return true;
}

export type WireType = WireMessage['type'];
export type WireOf<T extends WireType> = Extract<WireMessage, { type: T }>;

/**
 * The header that makes a request on a reliable link's subject a probe of the coordinator's
 * (coordinator/probes.ts), which the listening end answers at once with an empty message
 * (transport/reliable/inbound.ts).
 */
export const PROBE_HEADER = 'floe-probe';

/** NATS-style subjects of one cluster. */
export function subjects(cluster: string): {
  submit: string;
  status: string;
  /** Where a client sends a lone task straight to a worker (client/direct.ts). */
  direct(workerId: string): string;
  /** Ack subject of one party's reliable endpoint (see transport/reliable.ts). */
  ack(party: string): string;
  client: string;
  events: string;
  worker(id: string): string;
  clientInbox(id: string): string;
} {
  const base = `floe.${cluster}`;
  return {
    submit: `${base}.coord.submit`,
    status: `${base}.coord.status`,
    direct: (id) => `${base}.worker.${id}.direct`,
    ack: (party) => `${base}.ack.${party}`,
    client: `${base}.coord.client`,
    events: `${base}.coord.events`,
    worker: (id) => `${base}.worker.${id}`,
    clientInbox: (id) => `${base}.client.${id}`,
  };
}

export function emptyWorkerBatch(): WireOf<'workerBatch'> {
  return { type: 'workerBatch', assign: [], cancel: [], release: [], steal: [], replicate: [], retired: false, reregister: false, clientsGone: [], epoch: 0 };
}

/** A WorkerEvents message from incarnation `epoch` of a worker, with only the given fields set. */
export function workerEvents(
  workerId: string,
  epoch: number,
  fields: Partial<Omit<WireOf<'workerEvents'>, 'type' | 'workerId' | 'epoch'>>,
): WireOf<'workerEvents'> {
  return {
    type: 'workerEvents',
    workerId,
    epoch,
    register: undefined,
    finished: [],
    failed: [],
    heartbeat: false,
    goodbye: false,
    stolen: [],
    stealRefused: [],
    replicated: [],
    replicateFailed: [],
    retiring: false,
    metrics: undefined,
    missing: [],
    seceded: [],
    rejoined: [],
    straggling: [],
    relayed: [],
    ...fields,
  };
}
