/**
 * floe's public API. Everything a user imports comes from here; the rest is internal.
 */
export { Client } from './client/client.ts';
export type { ClientConnection } from './client/client.ts';
export type { LocalOptions } from './client/local.ts';
export { task } from './client/task.ts';
export type { TaskDef, Arg, Args } from './client/task.ts';
export { flow } from './client/flow.ts';
export { actorClass } from './client/actor.ts';
export type { ActorHandle, ActorMethods, ActorClassDef, ActorOptions } from './client/actor.ts';
export { getContext, SubFuture } from './runtime/context.ts';
export type { TaskContext, SubArg, SubArgs } from './runtime/context.ts';
export type { FlowDef } from './client/flow.ts';
export { Future, isFuture } from './client/future.ts';
export type { FutureStatus, Resolved } from './client/future.ts';
export type { WaitOptions } from './client/wait-timeout.ts';
export type { PutOptions } from './client/put.ts';
export { asCompleted } from './client/as-completed.ts';
export type { TaskOptions } from './graph/options.ts';
export { FloeError, isFloeError, ERROR_CODES } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export { defineSerializer, registerSerializer } from './serde/registry.ts';
export type { Serializer, SerializerDefinition } from './serde/types.ts';
export type { ConnectOptions } from './client/connect.ts';
export type { ClusterStatus, WorkerStatus } from './client/cluster-status.ts';
export type { FlowProgress, ProgressListener } from './client/progress.ts';
