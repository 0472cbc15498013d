/** Per-task options as users write them (validated in graph/validate-options.ts). */
export interface TaskOptions {
  /** Attempts after the first failure. Default 0. */
  retries?: number;
  /** Delay before the first retry, in ms. Default 0. */
  retryDelayMs?: number;
  /** Multiplier applied to the delay after each retry (exponential backoff). Default 2. */
  retryBackoff?: number;
  /** Stop the task after this many ms (its thread is terminated). Default: no timeout. */
  timeoutMs?: number;
  /**
   * Serializer for the result: 'msgpack' (default), 'json', 'v8', 'raw', or a custom one made
   * with `defineSerializer(import.meta.url, ...)` (pass the returned definition).
   */
  serializer?: string | { readonly id: string; readonly moduleUrl: string };
  /** Higher runs first among ready tasks. Default 0. */
  priority?: number;
  /** Resources the task needs on a worker, e.g. `{ memory: '2GiB', gpu: 1 }`. */
  resources?: Record<string, number | string>;
  /** Explicit key for the task (unique per client). Default: generated from the name. */
  key?: string;
  /** Human-readable name, used in generated keys, logs and traces. Default: the export name. */
  name?: string;
}
