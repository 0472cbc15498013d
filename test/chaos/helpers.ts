/**
 * Shared pieces of the chaos tests: the seed, a seeded workload of 1,000+ tasks with
 * peer-to-peer transfers and known answers, finding a nanny's worker process, and
 * waiting on the cluster's status.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import { Client, type Future } from '../../src/index.ts';
import { startLocalCluster, type LocalClusterHandle, type LocalClusterOptions } from '../../cluster/local-cluster.ts';
import { fetchStatus } from '../../cluster/commands/status.ts';
import type { WireClusterStatus } from '../../src/transport/messages.ts';
import { block, blockSum, pair, total, whereAmI } from '../fixtures/chaos-tasks.ts';
import { mulberry32 } from '../helpers/rng.ts';

interface Commenter {
  comment(...args: unknown[]): void;
}

/** Seeded randomness for fault schedules (see test/helpers/rng.ts). */
export const makeRandom = mulberry32;

/** The seed from FLOE_SEED, else a fresh one; printed so a failing run can be replayed. */
export function chaosSeed(t: Commenter, file: string): { seed: number; random: () => number } {
  const fromEnv = process.env.FLOE_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 31);
  t.comment(`seed ${seed} (replay: FLOE_SEED=${seed} npx tap ${file})`);
  return { seed, random: makeRandom(seed) };
}

/** Heartbeats every 200 ms, lost after 1.5 s of silence: faults are detected fast. */
export const HEARTBEAT_TIMEOUT_MS = 1500;
/** Reading tasks need no retries: an input lost with its worker is recomputed, not a failure. */
export const READER_RETRIES = 0;
export const WORKER_HEARTBEAT_ARGS = ['--heartbeat-interval', '200'];

export interface WorkloadOptions {
  blocks?: number;
  /** Share of blocks over the 64 KiB inline limit (they move over gRPC). */
  bigShare?: number;
  bigBytes?: number;
  smallBytes?: number;
  /** Busy time per task, so faults land while tasks run. */
  taskMs?: number;
  /** Retries of the tasks that read other workers' results (default 0: none are needed). */
  readerRetries?: number;
  /** Called after each pair result is in (count so far). */
  onProgress?: (pairsDone: number) => void;
}

export interface Workload {
  taskCount: number;
  blocks: Future<Uint8Array>[];
  pairs: Future<number>[];
  groups: Future<number>[];
  grand: Future<number>;
  /** Gathers everything and returns a list of what is wrong (empty when all is right). */
  check(): Promise<string[]>;
}

/**
 * N blocks (a third of them > 64 KiB), N pairs each reading two random blocks (usually
 * made on two workers, so one travels peer to peer), groups of 10 pair sums and a grand
 * total. The client holds every future, so a lost block must be recomputed from lineage.
 */
export function submitWorkload(client: Client, random: () => number, options: WorkloadOptions = {}): Workload {
  const n = options.blocks ?? 500;
  const bigBytes = options.bigBytes ?? 80 * 1024;
  const smallBytes = options.smallBytes ?? 512;
  const ms = options.taskMs ?? 2;
  const sizes = Array.from({ length: n }, () => (random() < (options.bigShare ?? 1 / 3) ? bigBytes : smallBytes));
  const partner = Array.from({ length: n }, (_, i) => (i + 1 + Math.floor(random() * (n - 1))) % n);
  const blocks = sizes.map((size, i) => client.submit(block, size, i + 1, ms));
  const retries = options.readerRetries ?? 0;
  const reader = retries === 0 ? pair : pair.with({ retries, retryDelayMs: 400, retryBackoff: 2 });
  const pairs = partner.map((j, i) => client.submit(reader, blocks[i]!, blocks[j]!, i + 1, j + 1, ms));
  const expectedPairs = partner.map((j, i) => (i + 1) * 1_000_003 + blockSum(sizes[i]!, i + 1) + blockSum(sizes[j]!, j + 1));
  const groups: Future<number>[] = [];
  const expectedGroups: number[] = [];
  for (let i = 0; i < n; i += 10) {
    groups.push(client.submit(total, pairs.slice(i, i + 10)));
    expectedGroups.push(expectedPairs.slice(i, i + 10).reduce((s, x) => s + x, 0));
  }
  const grand = client.submit(total, groups);
  const expectedGrand = expectedGroups.reduce((s, x) => s + x, 0);
  let done = 0;
  for (const p of pairs) {
    void p.wait().then(() => options.onProgress?.(++done));
  }
  return {
    taskCount: blocks.length + pairs.length + groups.length + 1,
    blocks,
    pairs,
    groups,
    grand,
    async check() {
      const wrong: string[] = [];
      const gotPairs = await client.gather(pairs);
      gotPairs.forEach((v, i) => {
        if (v !== expectedPairs[i]) wrong.push(`pair ${i}: ${v} != ${expectedPairs[i]}`);
      });
      const gotGroups = await client.gather(groups);
      gotGroups.forEach((v, i) => {
        if (v !== expectedGroups[i]) wrong.push(`group ${i}: ${v} != ${expectedGroups[i]}`);
      });
      const g = await grand.result();
      if (g !== expectedGrand) wrong.push(`grand total ${g} != ${expectedGrand}`);
      const gotBlocks = await client.gather(blocks);
      gotBlocks.forEach((b, i) => {
        if (b.length !== sizes[i]) wrong.push(`block ${i}: ${b.length} bytes, want ${sizes[i]}`);
        else if (blockSum(b.length, i + 1) !== b.reduce((s, x) => s + x, 0)) wrong.push(`block ${i}: wrong bytes`);
      });
      return wrong;
    },
  };
}

/** Live child processes of `pid` (Linux /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may contain spaces, so parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `ok` (bounded) for conditions no event announces, such as a process appearing. */
export async function until<T>(what: string, ok: () => T | undefined | false, attempts = 600): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = ok();
    if (v !== undefined && v !== false) return v;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never happened: ${what}`);
}

/** The worker process a nanny runs now (waits for it while the nanny restarts it). */
export function workerPidOf(nanny: ChildProcess): Promise<number> {
  const pid = nanny.pid!;
  return until(`a worker process under nanny ${pid}`, () => {
    const kids = childPids(pid);
    return kids.length === 1 ? kids[0] : undefined;
  });
}

/** Ids of the registered workers by name (`worker-i`). */
export async function workerIdsByName(cluster: LocalClusterHandle, names: string[]): Promise<Map<string, string>> {
  const s = await pollStatus(cluster, `workers ${names.join(', ')} registered`, (st) =>
    names.every((n) => st.workers.filter((w) => w.name === n && !w.retiring).length === 1),
  );
  return new Map(s.workers.map((w) => [w.name, w.id]));
}

/** Peer-to-peer fetches so far, over all workers. */
export async function fetchedCount(cluster: LocalClusterHandle): Promise<number> {
  const s = await pollStatus(cluster, 'status', () => true);
  return s.workers.reduce((n, w) => n + (w.metrics?.fetched ?? 0), 0);
}

export interface ScenarioOptions {
  /** Test file, for the replay line. */
  file: string;
  /** What a fault is called in the summary (`kill -9`, `SIGSTOP`...). */
  fault: string;
  faults: number;
  /** Injects fault `index` and resolves once the cluster has absorbed it (its own assertions included). */
  inject(cluster: LocalClusterHandle, index: number, random: () => number): Promise<void>;
}

type ScenarioTest = Test;

/**
 * One chaos scenario: a local cluster of three supervised workers (one thread each, fast
 * heartbeats), the seeded workload, and `faults` faults injected one after the other at
 * seeded points of the flow (after so many pair results). Asserts that every result is
 * present and correct, nothing erred and the cluster still serves; prints the tally.
 */
export async function runScenario(t: ScenarioTest, options: ScenarioOptions): Promise<LocalClusterHandle> {
  const { random } = chaosSeed(t, options.file);
  const { cluster, client } = await chaosCluster(t, {
    workers: 3,
    threads: 1,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    workerArgs: () => WORKER_HEARTBEAT_ARGS,
  });
  await workerIdsByName(cluster, WORKER_NAMES);
  // Fault i lands after a seeded number of pair results, in its own slice of the flow.
  const at = Array.from({ length: options.faults }, (_, i) => 30 + i * 140 + Math.floor(random() * 100));
  t.comment(`${options.fault} after ${at.join(', ')} pair results`);
  let injected = 0;
  let midFlow = 0;
  let fetched = 0;
  let chain = Promise.resolve();
  const workload = submitWorkload(client, random, {
    readerRetries: READER_RETRIES,
    onProgress: (done) => {
      const i = at.indexOf(done);
      if (i < 0) return;
      chain = chain.then(async () => {
        if (workload.grand.status === 'pending') midFlow++;
        fetched += await fetchedCount(cluster);
        injected++;
        await options.inject(cluster, i, random);
      });
    },
  });
  t.comment(`${workload.taskCount} tasks`);
  const wrong = await workload.check();
  await chain;
  t.same(wrong, [], 'every result present and correct');
  t.equal(injected, options.faults, `all ${options.fault} faults injected`);
  const s = await pollStatus(cluster, 'status', () => true);
  t.equal(s.tasks.erred ?? 0, 0, 'nothing erred');
  t.equal(s.workers.length, 3, 'three workers serve again');
  const served = await client.gather(client.map(whereAmI, Array.from({ length: 12 }, (_, i) => i)));
  t.equal(served.length, 12, 'the cluster keeps serving');
  fetched += await fetchedCount(cluster);
  t.ok(fetched > 0, 'results moved peer to peer');
  t.comment(
    `faults: ${injected} ${options.fault} injected (${midFlow} while the flow ran), ${wrong.length === 0 ? injected : 0} survived; ` +
      `${fetched} peer-to-peer fetches counted`,
  );
  return cluster;
}

export const WORKER_NAMES = ['worker-0', 'worker-1', 'worker-2'];

/** Waits until worker `name` is registered under an id other than `oldId`. */
export async function untilReplaced(cluster: LocalClusterHandle, name: string, oldId: string): Promise<string> {
  const s = await pollStatus(cluster, `${name} registered under a new id`, (st) =>
    st.workers.some((w) => w.name === name && w.id !== oldId) && !st.workers.some((w) => w.id === oldId),
  );
  return s.workers.find((w) => w.name === name)!.id;
}

/**
 * Polls the cluster status until `ok` holds (bounded). Unlike the cluster tests' helper
 * it rides out failed requests: during a fault the coordinator may be unreachable.
 */
export async function pollStatus(
  cluster: LocalClusterHandle,
  what: string,
  ok: (s: WireClusterStatus) => boolean,
  attempts = 1200,
): Promise<WireClusterStatus> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const s = await fetchStatus(cluster.url, cluster.cluster, 2000);
      if (ok(s)) return s;
    } catch (error) {
      last = error instanceof Error ? error.message : error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`cluster status never satisfied: ${what}${last === undefined ? '' : ` (last error: ${JSON.stringify(last)})`}`);
}

/**
 * A local cluster of supervised workers (stderr hidden unless FLOE_CHAOS_STDERR=inherit)
 * and a client, stopped by one teardown, so that a failing client close cannot skip
 * stopping the processes.
 */
export async function chaosCluster(t: Test, options: LocalClusterOptions): Promise<{ cluster: LocalClusterHandle; client: Client }> {
  const cluster = await startLocalCluster({
    nanny: true,
    stderr: process.env.FLOE_CHAOS_STDERR === 'inherit' ? 'inherit' : 'ignore',
    ...options,
  });
  const client = await Client.connect({ nats: cluster.url, cluster: cluster.cluster }).catch(async (error: unknown) => {
    await cluster.stop();
    throw error;
  });
  t.teardown(async () => {
    await client.close().catch(() => undefined);
    await cluster.stop();
  });
  return { cluster, client };
}
