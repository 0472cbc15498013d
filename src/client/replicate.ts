/**
 * Client.replicate: copies of results on more workers, as Dask's `replicate` makes them,
 * so that tasks anywhere read them without a fetch and they outlive the loss of a worker.
 * The client waits for the futures, asks the coordinator for the copies (its scheduler
 * sends them to the workers that lack them, least loaded first: scheduler/replicas.ts),
 * then watches where the results are (whoHas) until each is held by as many workers as it
 * asked, or there are not that many. The scheduler does not track the copies it sends for
 * a client (a failed one is only reported, for a retiring worker's results), so what is
 * still short is asked for again every REQUEST_AGAIN_MS; the copies there or under way are
 * not made twice.
 */
import { FloeError } from '../errors.ts';
import { checkOptionKeys, checkOptionsObject, checkTimeoutOption } from '../graph/validate-options.ts';
import type { Transport } from '../transport/transport.ts';
import { askCoordinator, requestWhoHas } from './cluster-status.ts';
import type { Future } from './future.ts';

export interface ReplicateOptions {
  /** Workers to hold each result. Default: every worker not retiring. */
  n?: number;
  /** How long the copies may take, waiting for the futures included. Default 60 000. */
  timeoutMs?: number;
}

const KNOWN = new Set(['n', 'timeoutMs']);
const TIMEOUT_MS = 60_000;
/** Looks at the holders again after this, doubling up to LOOK_MAX_MS. */
const LOOK_FIRST_MS = 5;
const LOOK_MAX_MS = 200;
/** Asks again for the copies still missing after this long. */
const REQUEST_AGAIN_MS = 1000;

export interface ReplicateHost {
  transport: Transport;
  /** The coordinator's status subject (requests answered there directly). */
  statusSubject: string;
  clientId: string;
}

export async function replicate(host: ReplicateHost, futures: readonly Future<unknown>[], options: ReplicateOptions | undefined): Promise<void> {
  const { n, timeoutMs } = checkReplicateOptions(options);
  if (futures.length === 0) return;
  const deadline = performance.now() + timeoutMs;
  const left = (): number => Math.max(0, deadline - performance.now());
  // Only results that are there can be copied; a future that failed fails the call.
  await Promise.all(futures.map((f) => f.wait({ timeoutMs: left() })));
  const failed = futures.find((f) => f.status !== 'finished');
  if (failed !== undefined) throw failed.exception() ?? new FloeError('CANCELLED', `replicate: ${failed.key} was cancelled`);
  const keys = futures.map((f) => f.key);
  let targets = await ask(host, keys, n, left());
  let askedAt = performance.now();
  for (let waitMs = LOOK_FIRST_MS; ; waitMs = Math.min(2 * waitMs, LOOK_MAX_MS)) {
    const held = await requestWhoHas(host.transport, host.statusSubject, host.clientId, keys, Math.max(1, left()));
    const short = targets.filter((t) => (held.get(t.key)?.length ?? 0) < t.holders);
    if (short.length === 0) return;
    if (left() === 0) {
      throw new FloeError('WAIT_TIMEOUT', `replicate: ${short.length} of ${keys.length} results not on as many workers as asked within ${timeoutMs} ms (${short[0]!.key}: ${held.get(short[0]!.key)?.length ?? 0} of ${short[0]!.holders}); the copies go on`);
    }
    if (performance.now() - askedAt >= REQUEST_AGAIN_MS) {
      targets = await ask(host, keys, n, left());
      askedAt = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, left())));
  }
}

/** Asks the coordinator for the copies: how many workers are to hold each key. A key none can hold fails the call. */
async function ask(host: ReplicateHost, keys: string[], n: number, timeoutMs: number): Promise<{ key: string; holders: number }[]> {
  const request = { type: 'replicateRequest', clientId: host.clientId, keys, n } as const;
  const reply = await askCoordinator(host.transport, host.statusSubject, request, 'replicateReply', Math.max(1, timeoutMs));
  const gone = reply.keys.find((t) => t.holders === 0);
  if (gone !== undefined) {
    throw new FloeError('RESULT_UNAVAILABLE', `replicate: no worker holds the result of ${gone.key} any more (it was released or lost)`, { taskKey: gone.key });
  }
  return reply.keys;
}

function checkReplicateOptions(options: ReplicateOptions | undefined): { n: number; timeoutMs: number } {
  if (options === undefined) return { n: 0, timeoutMs: TIMEOUT_MS };
  checkOptionsObject(options);
  checkOptionKeys(options, KNOWN, 'replicate options');
  const { n, timeoutMs } = options;
  if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65_535)) {
    throw new FloeError('INVALID_OPTION', `replicate options.n must be an integer from 1 to 65535 (got ${String(n)})`);
  }
  checkTimeoutOption(timeoutMs, 'replicate options.timeoutMs');
  return { n: n ?? 0, timeoutMs: timeoutMs ?? TIMEOUT_MS };
}
