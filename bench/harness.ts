/**
 * The benchmark harness: what a scenario is, how it is repeated, and the cluster it runs on.
 *
 * A scenario produces a raw measurement (plain JSON: times, counts) per repetition and turns
 * raw measurements into named metrics. The Dask side (bench/dask_bench.py) and the BullMQ side
 * (bench/bullmq.ts) emit the same raw shapes, so every system goes through one `measure()` and
 * compares like with like.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { Client } from '../src/index.ts';
import { startLocalCluster, type LocalClusterHandle, type LocalClusterOptions } from '../cluster/local-cluster.ts';
import { clusterProcesses, type BenchProcess } from './cpu.ts';
import { summarize, type Summary } from './stats.ts';
import { warmCluster } from './warm-up.ts';

export type Mode = 'embedded' | 'local';

export interface MetricSpec {
  key: string;
  unit: string;
  better: 'lower' | 'higher';
  /** The target, e.g. { value: 0.5, text: '≤ 0.5 s' }. */
  target?: { value: number; text: string };
  /** Published figures to print beside ours (Airflow). */
  reference?: string;
}

/** One repetition, measured: metric key → value; optional distributions for the chart. */
export interface Sample {
  values: Record<string, number>;
  series?: Record<string, number[]>;
}

export interface RunContext {
  mode: Mode;
  quick: boolean;
  /** The first, untimed run; scenarios may make it smaller. */
  warmup: boolean;
  /** The run's shared client (2 workers × 1 thread, embedded or local cluster). */
  client(): Promise<Client>;
  /** The processes behind the shared client: this one alone in embedded mode (see cpu.ts). */
  processes(): Promise<BenchProcess[]>;
  /** A dedicated local cluster (stopped by the harness at the end, on error and on Ctrl-C). */
  startCluster(options: Partial<LocalClusterOptions>): Promise<{ handle: LocalClusterHandle; client: Client; stop(): Promise<void> }>;
  log(message: string): void;
}

export interface Scenario<Raw = unknown> {
  name: string;
  title: string;
  /** Run once untimed first (scenarios that start their own clusters warm up inside). */
  warmup: boolean;
  /** Repetitions after the warm-up. */
  reps(quick: boolean): number;
  /** Sizes in words, for the table (e.g. 'quick size: 2k tasks; full: 100k'). */
  note(quick: boolean, mode: Mode): string;
  metrics(quick: boolean): MetricSpec[];
  run(ctx: RunContext): Promise<Raw>;
  measure(raw: Raw): Sample;
  /** Whether bench/dask_bench.py has this scenario. */
  dask: boolean;
  /** Parameters (sizes) handed to the Dask script and the BullMQ side, so all run the same shapes. */
  params?(quick: boolean): Record<string, unknown>;
}

/** The systems floe is compared with, each run after floe's scenarios (never beside them). */
export type Peer = 'dask' | 'bullmq';

/** What a peer is asked to run: repetitions and parameters per scenario name. */
export interface PeerRequest {
  quick: boolean;
  /** Seconds of no-op rounds before the first scenario, as floe's cluster warm-up (warm-up.ts). */
  warmupSeconds: number;
  reps: Record<string, number>;
  params: Record<string, Record<string, unknown>>;
}

/** A peer's raw measurements per scenario, in the scenarios' own raw formats. */
export interface PeerOutput {
  version: string;
  scenarios: Record<string, { raws: unknown[]; error?: string }>;
}

export interface MetricResult extends MetricSpec {
  floe: Summary;
  dask?: Summary;
  bullmq?: Summary;
}

export interface ScenarioResult {
  name: string;
  title: string;
  note: string;
  metrics: MetricResult[];
  /** Distributions from the last repetition (floe), and from Dask when it ran. */
  series: Record<string, number[]>;
  daskSeries?: Record<string, number[]>;
  bullmqSeries?: Record<string, number[]>;
  error?: string;
  daskError?: string;
  bullmqError?: string;
  seconds: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  dask?: string;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Combines repetitions into median and spread per metric. */
export function combine(specs: MetricSpec[], samples: Sample[]): Array<MetricSpec & { floe: Summary }> {
  return specs.map((spec) => ({
    ...spec,
    floe: summarize(samples.map((s) => s.values[spec.key]).filter((v): v is number => v !== undefined && Number.isFinite(v))),
  }));
}

/**
 * Owns every process and client a bench run starts, so that they are all stopped at the
 * end, when a scenario throws, and on SIGINT/SIGTERM.
 */
export class BenchEnv {
  private shared: Promise<Client> | undefined;
  private sharedProcesses: BenchProcess[] = [];
  private readonly stoppers = new Set<() => Promise<void>>();

  constructor(
    readonly mode: Mode,
    private readonly log: (m: string) => void,
    /** Options for every local cluster: --otlp and --log-level of `floe bench`. */
    private readonly clusterDefaults: Partial<LocalClusterOptions> = {},
    /** Seconds of warm-up work the shared cluster does before its first scenario (warm-up.ts). */
    private readonly warmupSeconds = 0,
  ) {}

  client(): Promise<Client> {
    this.shared ??= this.startShared();
    return this.shared;
  }

  /** The processes behind the shared client (starting it if need be). */
  async processes(): Promise<BenchProcess[]> {
    await this.client();
    return this.sharedProcesses;
  }

  private async startShared(): Promise<Client> {
    let client: Client;
    if (this.mode === 'embedded') {
      client = await Client.local({ workers: 2, threads: 1 });
      this.track(() => client.close());
      this.sharedProcesses = [{ name: 'all', pid: process.pid }];
    } else {
      const started = await this.startCluster({});
      client = started.client;
      this.sharedProcesses = clusterProcesses(started.handle);
    }
    if (this.warmupSeconds > 0) {
      this.log(`cluster warm-up: ${this.warmupSeconds} s of mixed work`);
      const t0 = performance.now();
      const tasks = await warmCluster(client, this.warmupSeconds);
      this.log(`  warm-up done: ${tasks} tasks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return client;
  }

  async startCluster(options: Partial<LocalClusterOptions>): Promise<{ handle: LocalClusterHandle; client: Client; stop(): Promise<void> }> {
    const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore', ...this.clusterDefaults, ...options });
    const untrackHandle = this.track(() => handle.stop());
    let client: Client;
    try {
      client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
    } catch (error) {
      await handle.stop();
      untrackHandle();
      throw error;
    }
    const untrackClient = this.track(() => client.close());
    this.log(`  local cluster up: ${handle.url}, coordinator pid ${handle.coordinator.pid}`);
    return {
      handle,
      client,
      stop: async () => {
        untrackClient();
        untrackHandle();
        await client.close().catch(() => undefined);
        await handle.stop();
      },
    };
  }

  private track(stop: () => Promise<void>): () => void {
    this.stoppers.add(stop);
    return () => this.stoppers.delete(stop);
  }

  /** Stops everything still running, newest first (clients before their clusters). */
  async stopAll(): Promise<void> {
    const all = [...this.stoppers].reverse();
    this.stoppers.clear();
    this.shared = undefined;
    this.sharedProcesses = [];
    for (const stop of all) await stop().catch(() => undefined);
  }
}

/** Runs one scenario: warm-up, repetitions, and the summary. */
export async function runScenario(scenario: Scenario, env: BenchEnv, quick: boolean, log: (m: string) => void): Promise<{ result: ScenarioResult; raws: unknown[] }> {
  const started = performance.now();
  const ctx = (warmup: boolean): RunContext => ({
    mode: env.mode,
    quick,
    warmup,
    client: () => env.client(),
    processes: () => env.processes(),
    startCluster: (o) => env.startCluster(o),
    log,
  });
  const result: ScenarioResult = {
    name: scenario.name,
    title: scenario.title,
    note: scenario.note(quick, env.mode),
    metrics: [],
    series: {},
    seconds: 0,
  };
  const raws: unknown[] = [];
  try {
    if (scenario.warmup) {
      log(`${scenario.name}: warm-up`);
      await scenario.run(ctx(true));
    }
    const reps = scenario.reps(quick);
    const samples: Sample[] = [];
    for (let i = 0; i < reps; i++) {
      log(`${scenario.name}: run ${i + 1}/${reps}`);
      const raw = await scenario.run(ctx(false));
      raws.push(raw);
      samples.push(scenario.measure(raw));
    }
    result.metrics = combine(scenario.metrics(quick), samples);
    result.series = samples.at(-1)?.series ?? {};
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    log(`${scenario.name}: FAILED: ${result.error}`);
  }
  result.seconds = (performance.now() - started) / 1000;
  return { result, raws };
}

/** Folds a peer's raw measurements into a result, through the scenario's own `measure()`. */
export function addPeer(peer: Peer, result: ScenarioResult, scenario: Scenario, quick: boolean, raws: unknown[]): void {
  const samples = raws.map((r) => scenario.measure(r));
  const specs: MetricSpec[] = result.metrics.length > 0 ? result.metrics : scenario.metrics(quick);
  const combined = combine(specs, samples);
  result.metrics = specs.map((m, i) => ({ ...m, floe: 'floe' in m ? (m as MetricResult).floe : summarize([]), [peer]: combined[i]!.floe }));
  const series = samples.at(-1)?.series ?? {};
  if (peer === 'dask') result.daskSeries = series;
  else result.bullmqSeries = series;
}

/** Folds a peer's whole output into the results of the scenarios it ran; errors stay per scenario. */
export function addPeerOutput(peer: Peer, results: ScenarioResult[], scenarios: readonly Scenario[], quick: boolean, out: PeerOutput): void {
  for (const scenario of scenarios) {
    const result = results.find((r) => r.name === scenario.name);
    const d = out.scenarios[scenario.name];
    if (result === undefined || d === undefined) continue;
    let error = d.error;
    try {
      if (d.raws.length > 0) addPeer(peer, result, scenario, quick, d.raws);
    } catch (e) {
      error = (e as Error).message;
    }
    if (error === undefined) continue;
    if (peer === 'dask') result.daskError = error;
    else result.bullmqError = error;
  }
}
