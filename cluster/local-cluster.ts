/**
 * A whole cluster on this machine: nats-server (unless a URL is given), one coordinator
 * process and N worker processes, all children of this process and all stopped by
 * `stop()`. Used by `floe local`, the cluster tests and the benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FloeError } from '../src/errors.ts';
import { packageRoot } from '../src/util/package-root.ts';
import { DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS } from '../src/worker/heartbeat.ts';
import { fetchStatus } from './commands/status.ts';
import { EXIT_WITH_PARENT_ENV } from './common.ts';
import { withWorkerMallocEnv } from './malloc-env.ts';
import { clusterNodeFlags, type ClusterRole } from './node-flags.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';

export interface LocalClusterOptions {
  workers: number;
  /** Pool threads per worker. */
  threads?: number;
  /** Use this NATS instead of starting nats-server. */
  nats?: string;
  cluster?: string;
  logLevel?: string;
  heartbeatTimeoutMs?: number;
  /** The coordinator's client timeout (`--client-timeout`). */
  clientTimeoutMs?: number;
  /** Extra arguments for the coordinator (e.g. ['--worker-saturation', '50']). */
  coordinatorArgs?: string[];
  /** Extra arguments per worker, by index (e.g. ['--resources', 'gpu=1']). */
  workerArgs?: (index: number) => string[];
  /**
   * Run each worker under a nanny that restarts it when it crashes (`floe worker`'s
   * default). Default false here, so that `workers[i].pid` is the worker process itself;
   * with true, `workers[i]` is the nanny and the worker is its child.
   */
  nanny?: boolean;
  /** OTLP/HTTP collector URL the coordinator and workers export traces and metrics to (--otlp). */
  otlp?: string;
  /** Where children's stderr goes: 'inherit' (default) or 'ignore'. */
  stderr?: 'inherit' | 'ignore';
  /**
   * The coordinator's and workers' stdout: 'ignore' (default), or 'pipe' to read it from
   * their ChildProcess (V8's tracing flags write there: bench/gc-survival.ts). A pipe must
   * be read, or a child blocks once it is full.
   */
  stdout?: 'ignore' | 'pipe';
  /**
   * Node and V8 flags for the coordinator and the workers, after floe's own (node-flags.ts,
   * which leaves out a young-generation size given here), e.g. ['--perf-basic-prof'] for
   * `perf` to name JavaScript frames (bench/cpu-profile.ts).
   */
  nodeFlags?: string[];
}

export interface LocalClusterHandle {
  url: string;
  cluster: string;
  nats: NatsServerHandle | undefined;
  coordinator: ChildProcess;
  workers: ChildProcess[];
  /** Starts one more worker process and waits until the coordinator counts it. */
  addWorker(args?: string[]): Promise<ChildProcess>;
  stop(): Promise<void>;
}

/**
 * Cluster processes still running, SIGKILLed if this process exits without stop() (a
 * failing test, an uncaught error). A nanny's worker notices its nanny is gone and exits.
 */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** Heartbeats a local cluster's workers send per heartbeat timeout, at least. */
export const HEARTBEATS_PER_TIMEOUT = 4;

/**
 * Worker arguments for a coordinator whose heartbeat timeout is `timeoutMs`: a shorter
 * interval than the default when the timeout is under 4 s. With the default of one a
 * second and a 2 s timeout, a single heartbeat late by a second (a starved process on a
 * busy machine) was enough for the coordinator to declare a live worker lost; at four per
 * timeout it takes three missed in a row. Arguments given in `workerArgs` come after these
 * and win.
 */
export function workerHeartbeatArgs(timeoutMs: number | undefined): string[] {
  if (timeoutMs === undefined || timeoutMs <= 0) return [];
  const every = Math.max(1, Math.floor(timeoutMs / HEARTBEATS_PER_TIMEOUT));
  return every < DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS ? ['--heartbeat-interval', String(every)] : [];
}

export function cliPath(): string {
  const path = join(packageRoot(), 'dist', 'cluster', 'cli.js');
  if (!existsSync(path)) throw new FloeError('INTERNAL', `floe is not built: run npm run build (missing ${path})`);
  return path;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalClusterHandle> {
  const cluster = options.cluster ?? 'default';
  const nats = options.nats === undefined ? await startNatsServer() : undefined;
  const url = options.nats ?? nats!.url;
  const children: ChildProcess[] = [];
  const common = ['--nats', url, '--cluster', cluster, '--log-level', options.logLevel ?? 'warn', ...(options.otlp === undefined ? [] : ['--otlp', options.otlp])];
  const env = { ...process.env, NODE_OPTIONS: '', [EXIT_WITH_PARENT_ENV]: '1' };
  // Workers move results over the data plane: see malloc-env.ts.
  const workerEnv = withWorkerMallocEnv(env);
  const start = (role: ClusterRole, args: string[]): ChildProcess => {
    const nodeFlags = options.nodeFlags ?? [];
    const child = spawn(process.execPath, [...clusterNodeFlags(role, nodeFlags, ''), ...nodeFlags, cliPath(), role, ...args, ...common], {
      // stdin: a pipe the child watches, so it never outlives this process (see common.ts).
      stdio: ['pipe', options.stdout ?? 'ignore', options.stderr ?? 'inherit'],
      env: role === 'worker' ? workerEnv : env,
    });
    children.push(child);
    trackChild(child);
    return child;
  };
  // Workers first (they retire, which needs the coordinator), then the coordinator.
  const stop = async (): Promise<void> => {
    await Promise.all(children.slice(1).map(terminate));
    await Promise.all(children.slice(0, 1).map(terminate));
    await nats?.stop();
  };
  try {
    const coordinator = start('coordinator', [
      ...(options.heartbeatTimeoutMs !== undefined ? ['--heartbeat-timeout', String(options.heartbeatTimeoutMs)] : []),
      ...(options.clientTimeoutMs !== undefined ? ['--client-timeout', String(options.clientTimeoutMs)] : []),
      ...(options.coordinatorArgs ?? []),
    ]);
    const threads = [
      ...(options.threads === undefined ? [] : ['--threads', String(options.threads)]),
      ...(options.nanny === true ? [] : ['--no-nanny']),
    ];
    const heartbeats = workerHeartbeatArgs(options.heartbeatTimeoutMs);
    const workers: ChildProcess[] = [];
    for (let i = 0; i < options.workers; i++) {
      workers.push(start('worker', ['--name', `worker-${i}`, '--retire-timeout', '5000', ...threads, ...heartbeats, ...(options.workerArgs?.(i) ?? [])]));
    }
    await waitForWorkers(url, cluster, options.workers, children);
    const handle: LocalClusterHandle = {
      url,
      cluster,
      nats,
      coordinator,
      workers,
      addWorker: async (args = []) => {
        const child = start('worker', ['--name', `worker-${workers.length}`, '--retire-timeout', '5000', ...threads, ...heartbeats, ...args]);
        workers.push(child);
        // Only the coordinator and the new worker must stay up (others may have left).
        await waitForWorkers(url, cluster, workers.filter((w) => w.exitCode === null && w.signalCode === null).length, [coordinator, child]);
        return child;
      },
      stop,
    };
    return handle;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Polls the coordinator's status until `count` workers are registered (bounded). */
async function waitForWorkers(url: string, cluster: string, count: number, children: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const dead = children.find((c) => c.exitCode !== null);
    if (dead !== undefined) throw new FloeError('INTERNAL', `a cluster process exited early (code ${dead.exitCode})`);
    try {
      const status = await fetchStatus(url, cluster, 1000);
      if (status.workers.length >= count) return;
    } catch {
      // The coordinator is not up yet.
    }
    if (Date.now() > deadline) throw new FloeError('REQUEST_TIMEOUT', `cluster did not come up with ${count} workers in 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM, then SIGKILL if it has not exited after 10 s. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
