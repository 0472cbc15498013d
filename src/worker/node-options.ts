/**
 * What a worker node is given (WorkerNode's options), the counters it keeps, and its
 * defaults: the node itself is worker/node.ts.
 */
import type { DataPlane } from '../dataplane/dataplane.ts';
import type { Transport } from '../transport/transport.ts';
import type { Logger } from '../util/logger.ts';
import type { Executor } from './executor.ts';

export interface WorkerNodeOptions {
  transport: Transport;
  cluster: string;
  executor: Executor;
  dataPlane: DataPlane;
  /** Unique id on the cluster. Default: a random one. */
  workerId?: string;
  /** Display name. Default: the worker id. */
  name?: string;
  resources?: Record<string, number>;
  /** Results up to this size ride inline on control messages. Default 64 KiB. */
  inlineBytesMax?: number;
  /** Concurrent incoming transfers. Default 4. */
  transfersMax?: number;
  /**
   * Bytes of results this worker may hold in memory (see worker/memory.ts). Past the
   * target fraction results spill to disk, past the pause fraction no new work starts.
   * Default: no limit, no spilling.
   */
  memoryLimitBytes?: number;
  /** Spill least-recently-used results above this fraction of memoryLimitBytes. Default 0.6. */
  memoryTargetFraction?: number;
  /** Start no new executions or fetches above this fraction of memoryLimitBytes. Default 0.8. */
  memoryPauseFraction?: number;
  /** Where a private spill directory is made (removed on close). Default: os.tmpdir(). */
  spillDir?: string;
  /** How often the worker tells the coordinator it is alive (with its metrics). Default 1000 ms; 0 disables. */
  heartbeatIntervalMs?: number;
  logger?: Logger;
}

/** Counters a test or `floe status` can read. */
export interface WorkerCounters {
  executed: number;
  failed: number;
  fetched: number;
  fetchedBytes: number;
  /** Runs taken back from the pool unstarted, queued behind a straggler (worker/stragglers.ts). */
  returned: number;
}

export const DEFAULT_INLINE_BYTES_MAX = 64 * 1024;
