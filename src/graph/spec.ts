/**
 * The normalized form of one task as it travels from client to scheduler to worker.
 * Built by the client from a task call and its validated options.
 */

/** Where a serializer lives: builtins have an empty module. */
export interface SerializerRef {
  id: string;
  /** Module URL that registers the serializer when imported ('' for builtins). */
  module: string;
}

export interface TaskSpec {
  /** Key, unique within the submitting client. */
  key: string;
  /** Human-readable name (export name unless overridden). */
  name: string;
  /** URL of the module exporting the task ('floe:builtin' for floe's own tasks). */
  module: string;
  exportName: string;
  /** Arguments encoded by serde/args.ts (msgpack with future references). */
  args: Uint8Array;
  /** Keys (same client) whose results this task needs. */
  deps: string[];
  serializer: SerializerRef;
  priority: number;
  retries: number;
  retryDelayMs: number;
  retryBackoff: number;
  /** 0 means no timeout. */
  timeoutMs: number;
  /** Resource needs, normalized to numbers (memory in bytes). */
  resources: Record<string, number>;
  /** W3C traceparent of the submit span this task belongs to (absent or '' when untraced). */
  traceParent?: string;
  /**
   * Actor tasks: ACTOR_CREATE on an actor's creation task (module and export name are the
   * actor class's), the actor's id (its creation task's id) on a method call (module
   * ACTOR_MODULE, export name the method). Absent on other tasks.
   */
  actor?: string;
  /** Actor creation tasks: how many times the actor is re-created after its worker is lost. */
  restartsMax?: number;
  /**
   * Ids of the actors whose handles the arguments carry (absent when none): a lent handle
   * keeps its actor alive (see scheduler/actor-holds.ts).
   */
  holdsActors?: string[];
}

/** Module URL of floe's built-in tasks (collect, getItem, ...). */
export const BUILTIN_MODULE = 'floe:builtin';

/** Module URL of actor method calls (run by the worker's actor host). */
export const ACTOR_MODULE = 'floe:actor';
/** `spec.actor` of an actor's creation task. */
export const ACTOR_CREATE = '#create';

/** Whether a task is run by a worker's actor host (creation or method call), not its pool. */
export function isActorSpec(spec: TaskSpec): boolean {
  return spec.actor !== undefined && spec.actor !== '';
}
