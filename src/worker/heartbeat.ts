/**
 * How often a worker tells the coordinator it is alive, unless told otherwise (WorkerNode's
 * `heartbeatIntervalMs`, `floe worker --heartbeat-interval`). Its own module, free of the
 * worker's dependencies, so that the CLI can show it without loading the worker.
 */
export const DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS = 1000;
