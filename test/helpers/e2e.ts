/**
 * Helpers for the embedded end-to-end tests: a local client torn down with the test,
 * white-box access to its cluster, deterministic waiting, temp dirs, error matching.
 */
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, isFloeError } from '../../src/index.ts';
import type { ErrorCode, FloeError, LocalOptions } from '../../src/index.ts';
import { localClusterOf } from '../../src/client/local.ts';
import type { LocalCluster } from '../../src/client/local.ts';
import { decodeMessage } from '../../src/transport/codec.ts';
import { subjects, type WireOf } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { decodeFrame } from '../../src/transport/reliable/frame-codec.ts';

/** The tap `t` surface the helpers need. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A `Client.local()` closed when the test ends. */
export async function localClient(t: Teardown, options: LocalOptions = {}): Promise<Client> {
  const client = await Client.local({ threads: 2, ...options });
  t.teardown(() => client.close());
  return client;
}

export function clusterOf(client: Client): LocalCluster {
  const cluster = localClusterOf(client);
  if (cluster === undefined) throw new Error('not a local client');
  return cluster;
}

/** Scheduler task id of a key of this client. */
export function idOf(client: Client, key: string): string {
  return `${client.clientId}/${key}`;
}

/**
 * Resolves once `condition()` holds, checking once per event-loop turn (setImmediate),
 * at most `turnsMax` times; then rejects naming `what`. No timers: it waits for the
 * cluster's own events (messages, pool completions) to make progress.
 */
export async function until(what: string, condition: () => boolean, turnsMax = 500_000): Promise<void> {
  for (let i = 0; i < turnsMax; i++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/** A fresh temp dir removed when the test ends. */
export function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'floe-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Lines stamped into `${dir}/log` by the stamp/gate fixtures. */
export function stamps(dir: string): string[] {
  const file = join(dir, 'log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

/** Lets gate tasks of `dir` through. */
export function openGate(dir: string): void {
  writeFileSync(join(dir, 'open'), '');
}

/** The FloeError a promise rejects with (fails if it resolves or rejects otherwise). */
export async function rejection(p: Promise<unknown>): Promise<FloeError> {
  try {
    await p;
  } catch (e) {
    if (isFloeError(e)) return e;
    throw new Error(`expected a FloeError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a rejection, got a result');
}

/** The FloeError a function throws synchronously. */
export function thrown(fn: () => unknown): FloeError {
  try {
    fn();
  } catch (e) {
    if (isFloeError(e)) return e;
    throw new Error(`expected a FloeError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a throw, got a return');
}

export type { ErrorCode };

/**
 * Stands in for the coordinator of an embedded cluster: the endpoint returned sends workers
 * control messages on a reliable link of its own (a worker takes frames from any sender),
 * and each WorkerEvents the workers send, seen beside the coordinator's listener, is given
 * to `onEvents`. Both go when the test ends.
 */
export function standInCoordinator({ bus, cluster }: LocalCluster, t: Teardown, onEvents: (wire: WireOf<'workerEvents'>) => void): ReliableEndpoint {
  const s = subjects(cluster);
  const raw = bus.connect();
  const sub = raw.subscribe(s.events, (msg) => {
    const wire = decodeMessage(decodeFrame(msg.data).payload);
    if (wire.type === 'workerEvents') onEvents(wire);
  });
  const stand = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack('stand-in') });
  t.teardown(() => {
    stand.close();
    sub.unsubscribe();
    raw.close();
  });
  return stand;
}
