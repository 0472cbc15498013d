/**
 * One error hierarchy for all of floe.
 *
 * Every error that crosses a boundary (pool thread, transport, data plane) is a
 * {@link FloeError} with a stable `code`. Tests and callers match on `code`, never on
 * message text. `isFloeError()` works across realms (threads, duplicate module
 * copies) because it checks a global symbol brand instead of `instanceof`.
 */

export const ERROR_CODES = {
  /** An option passed to a public API is invalid. Never retryable. */
  INVALID_OPTION: false,
  /** An argument passed to a public API is invalid. */
  INVALID_ARGUMENT: false,
  /** A task module could not be imported. */
  UNKNOWN_MODULE: false,
  /** The task module has no such export. */
  UNKNOWN_EXPORT: false,
  /** The export exists but was not made with `task()`. */
  NOT_A_TASK: false,
  /** The submitted graph has a cycle. */
  CYCLIC_GRAPH: false,
  /** A task depends on a key the scheduler does not know. */
  MISSING_DEPENDENCY: false,
  /** A key was submitted twice with different definitions. */
  KEY_CONFLICT: false,
  /** A future created by another client was passed to this one. */
  FOREIGN_FUTURE: false,
  /** No serializer with that id is registered. */
  UNKNOWN_SERIALIZER: false,
  /** A task's result could not be serialized with the serializer it asked for. */
  UNSERIALIZABLE_RESULT: false,
  /** Task arguments could not be serialized. */
  UNSERIALIZABLE_ARGUMENT: false,
  /** Stored bytes could not be deserialized. */
  DESERIALIZE_FAILED: false,
  /** The task's own code threw. Retryable when the task has retries left. */
  TASK_ERROR: true,
  /** The task ran longer than its `timeout`. */
  TASK_TIMEOUT: true,
  /** The future (or a task it depends on) was cancelled. */
  CANCELLED: false,
  /** The worker running or holding the task was lost. */
  WORKER_LOST: true,
  /**
   * The worker hosting an actor was lost (or the actor was released): the call cannot run.
   * With `maxRestarts` the actor is re-created, with fresh state, for later calls.
   */
  ACTOR_LOST: false,
  /** The export exists but was not made with `actorClass()`, or has no such method. */
  NOT_AN_ACTOR: false,
  /** The client was closed while the operation was pending. */
  CLIENT_CLOSED: false,
  /**
   * The coordinator heard nothing from this client for longer than its client timeout
   * (a crash, a partition, an event loop blocked that long) and released everything it
   * had, or it restarted and lost it: its futures fail with this, and it takes no more
   * work. Connect a new client.
   */
  CLIENT_DROPPED: false,
  /** A wire message could not be decoded. */
  MALFORMED_MESSAGE: false,
  /** A wire message has a protocol version this build does not speak. */
  UNSUPPORTED_VERSION: false,
  /** A request got no answer in time. */
  REQUEST_TIMEOUT: true,
  /**
   * A wait for results (`result`, `wait`, `gather`, `asCompleted` with `timeoutMs`) ran out of time. The
   * tasks go on, and their futures can be waited on again.
   */
  WAIT_TIMEOUT: true,
  /** A configured limit was exceeded. */
  LIMIT_EXCEEDED: false,
  /** The result is not available (released, or never computed). */
  RESULT_UNAVAILABLE: false,
  /** A broken invariant inside floe: a bug. */
  INTERNAL: false,
} as const satisfies Record<string, boolean>;

export type ErrorCode = keyof typeof ERROR_CODES;

const BRAND = Symbol.for('floe.error');

export interface FloeErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** Stack trace from the process or thread where the error really happened. */
  remoteStack?: string | undefined;
  /** Key of the task where the error happened (dependents carry the origin's key). */
  taskKey?: string | undefined;
  /** Name of the original error class (e.g. `TypeError` thrown by user code). */
  originalName?: string | undefined;
}

export class FloeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly remoteStack: string | undefined;
  readonly taskKey: string | undefined;
  readonly originalName: string | undefined;

  constructor(code: ErrorCode, message: string, options: FloeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FloeError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code];
    this.remoteStack = options.remoteStack;
    this.taskKey = options.taskKey;
    this.originalName = options.originalName;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

export function isFloeError(value: unknown): value is FloeError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** Plain-data form of an error, as it travels between threads and processes. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** Remote stack (the stack where the error was first thrown). */
  stack: string;
  taskKey: string;
  originalName: string;
}

/**
 * Turns anything thrown into wire form. User errors become `TASK_ERROR` unless they
 * already are floe errors; the original stack is kept as the remote stack.
 */
export function toErrorInfo(error: unknown, fallbackCode: ErrorCode = 'TASK_ERROR', taskKey = ''): ErrorInfo {
  if (isFloeError(error)) {
    return {
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      stack: error.remoteStack ?? error.stack ?? '',
      taskKey: error.taskKey ?? taskKey,
      originalName: error.originalName ?? '',
    };
  }
  if (error instanceof Error) {
    return {
      code: fallbackCode,
      message: error.message,
      retryable: ERROR_CODES[fallbackCode],
      stack: error.stack ?? '',
      taskKey,
      originalName: error.name,
    };
  }
  return {
    code: fallbackCode,
    message: `non-error value thrown: ${safeString(error)}`,
    retryable: ERROR_CODES[fallbackCode],
    stack: '',
    taskKey,
    originalName: '',
  };
}

/** The inverse of {@link toErrorInfo}: rebuilds a FloeError on this side of a boundary. */
export function fromErrorInfo(info: ErrorInfo): FloeError {
  const code: ErrorCode = isErrorCode(info.code) ? info.code : 'INTERNAL';
  return new FloeError(code, info.message, {
    retryable: info.retryable,
    remoteStack: info.stack === '' ? undefined : info.stack,
    taskKey: info.taskKey === '' ? undefined : info.taskKey,
    originalName: info.originalName === '' ? undefined : info.originalName,
  });
}

/** Programmer error: an invariant of floe itself does not hold. Fails loudly. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FloeError('INTERNAL', `invariant violated: ${message}`);
}

export function assertNever(value: never, what = 'value'): never {
  throw new FloeError('INTERNAL', `unexpected ${what}: ${safeString(value)}`);
}

function safeString(value: unknown): string {
  try {
    if (typeof value === 'object' && value !== null) return JSON.stringify(value).slice(0, 200);
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
