/**
 * `floe bench`: the benchmark harness (bench/). Runs the chosen scenarios (default: all) in
 * embedded mode or on a local cluster it starts and stops, optionally the same shapes on
 * Dask and on BullMQ (each after floe's scenarios, so they never share the cores), and prints a
 * table; --json and --svg write the full results and the task-lag chart.
 */
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { addPeerOutput, BenchEnv, machine, runScenario, type Mode, type PeerRequest, type Scenario, type ScenarioResult } from '../../bench/harness.ts';
import { BULLMQ_SCENARIOS, findBullmq, runBullmq } from '../../bench/bullmq.ts';
import { daskVersion, DASK_INSTALL_HINT, runDask, type DaskOutput } from '../../bench/dask.ts';
import { findRedisServer, REDIS_INSTALL_HINT } from '../../bench/redis-server.ts';
import { renderJson, renderSvg, renderTable, type BenchReport } from '../../bench/render.ts';
import { SCENARIOS, SCENARIO_NAMES } from '../../bench/scenarios/index.ts';
import { DEFAULT_WARMUP_SECONDS } from '../../bench/warm-up.ts';

export interface BenchCommandOptions {
  mode: Mode;
  vsDask?: boolean;
  vsBullmq?: boolean;
  json?: string;
  svg?: string;
  quick?: boolean;
  /** Seconds of warm-up work on the shared cluster before the first scenario (default: DEFAULT_WARMUP_SECONDS). */
  warmUp?: number;
  /** Local clusters' processes export traces and metrics here (the bench process itself does not: see the tracing scenario). */
  otlp?: string;
  logLevel?: string;
}

export async function benchCommand(names: string[], opts: BenchCommandOptions): Promise<number> {
  const unknown = names.filter((n) => !SCENARIO_NAMES.includes(n));
  if (unknown.length > 0) {
    console.error(`floe bench: unknown scenario ${unknown.join(', ')} (scenarios: ${SCENARIO_NAMES.join(', ')})`);
    return 2;
  }
  // Output files are checked before anything runs: a run takes minutes, and its results
  // must not be lost to a path that cannot be written at the end.
  if (!(await outputsWritable(opts))) return 2;
  const chosen = names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
  const quick = opts.quick === true;
  const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
  const warmupSeconds = opts.warmUp ?? DEFAULT_WARMUP_SECONDS[quick ? 'quick' : 'full'];
  const clusterOptions = { ...(opts.otlp !== undefined ? { otlp: opts.otlp } : {}), ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}) };
  const env = new BenchEnv(opts.mode, log, clusterOptions, warmupSeconds);
  // Kill functions (by PID) of the peers' processes still running: Dask's script, redis-server, BullMQ workers.
  const peerChildren = new Set<() => void>();
  const trackChild = (kill: () => void): (() => void) => {
    peerChildren.add(kill);
    return () => peerChildren.delete(kill);
  };

  // Ctrl-C / SIGTERM: stop every cluster and child this run started, then exit.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping clusters`);
    for (const kill of peerChildren) kill();
    void env.stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const report = emptyReport(opts.mode, quick, warmupSeconds);
  try {
    const results: ScenarioResult[] = [];
    for (const scenario of chosen) {
      // Embedded scenarios share one client; scenarios that start their own clusters run after it is gone.
      const { result } = await runScenario(scenario, env, quick, log);
      results.push(result);
    }
    await env.stopAll();
    const peers: PeerRun = { chosen, results, quick, warmupSeconds, trackChild, log };
    report.dask = opts.vsDask === true ? await compareDask(peers) : { ran: false, note: daskNotRun() };
    report.bullmq = opts.vsBullmq === true ? await compareBullmq(peers) : { ran: false, note: bullmqNotRun() };
    report.scenarios = results;
  } finally {
    await env.stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (interrupted) return 130; // the signal handler exits once everything is stopped
  console.log(renderTable(report));
  const written = await writeOutputs(report, opts);
  return !written || report.scenarios.some((s) => s.error !== undefined) ? 1 : 0;
}

/** The report of this run before anything has run: the machine, the command and its settings. */
function emptyReport(mode: BenchReport['mode'], quick: boolean, warmupSeconds: number): BenchReport {
  return {
    machine: machine(),
    command: `floe bench ${process.argv.slice(3).join(' ')}`.trim(),
    mode,
    quick,
    warmupSeconds,
    dask: { ran: false },
    bullmq: { ran: false },
    scenarios: [],
  };
}

function peerRequest(scenarios: readonly Scenario[], quick: boolean, warmupSeconds: number): PeerRequest {
  return {
    quick,
    warmupSeconds,
    reps: Object.fromEntries(scenarios.map((s) => [s.name, s.reps(quick)])),
    params: Object.fromEntries(scenarios.map((s) => [s.name, s.params?.(quick) ?? {}])),
  };
}

/** What a peer's run (Dask, BullMQ) needs of floe's: the scenarios, floe's results it adds to, and how it runs. */
interface PeerRun {
  chosen: readonly Scenario[];
  results: ScenarioResult[];
  quick: boolean;
  warmupSeconds: number;
  /** Registers a kill function of a peer's child process; returns its unregistration. */
  trackChild: (kill: () => void) => () => void;
  log: (m: string) => void;
}

/** --vs-dask: the chosen scenarios Dask has, on a LocalCluster of 2 processes × 1 thread (bench/dask_bench.py). */
async function compareDask({ chosen, results, quick, warmupSeconds, trackChild, log }: PeerRun): Promise<BenchReport['dask']> {
  const version = daskVersion();
  if (version === undefined) {
    log(DASK_INSTALL_HINT);
    return { ran: false, note: DASK_INSTALL_HINT };
  }
  const scenarios = chosen.filter((s) => s.dask);
  if (scenarios.length === 0) return { ran: false };
  log(`Dask ${version}: ${scenarios.map((s) => s.name).join(', ')}`);
  let out: DaskOutput;
  try {
    out = await runDask(peerRequest(scenarios, quick, warmupSeconds), trackChild);
  } catch (error) {
    return { ran: false, version, note: `Dask run failed: ${(error as Error).message}` };
  }
  addPeerOutput('dask', results, scenarios, quick, out);
  return { ran: true, version: out.version };
}

function daskNotRun(): string {
  return daskVersion() === undefined ? `not run; ${DASK_INSTALL_HINT}` : 'installed but not run (add --vs-dask)';
}

/** --vs-bullmq: the chosen scenarios BullMQ has, on its own redis-server and 2 worker processes. */
async function compareBullmq({ chosen, results, quick, warmupSeconds, trackChild, log }: PeerRun): Promise<BenchReport['bullmq']> {
  const found = await findBullmq();
  if ('missing' in found) {
    log(found.missing);
    return { ran: false, note: found.missing };
  }
  const scenarios = chosen.filter((s) => BULLMQ_SCENARIOS.includes(s.name));
  if (scenarios.length === 0) return { ran: false, version: found.version, redis: found.redis, note: `none of the chosen scenarios has a BullMQ side (${BULLMQ_SCENARIOS.join(', ')})` };
  log(`BullMQ ${found.version} on redis-server ${found.redis}: ${scenarios.map((s) => s.name).join(', ')}`);
  try {
    const out = await runBullmq(peerRequest(scenarios, quick, warmupSeconds), found, trackChild, log);
    addPeerOutput('bullmq', results, scenarios, quick, out);
    return { ran: true, version: out.version, redis: out.redis };
  } catch (error) {
    return { ran: false, version: found.version, redis: found.redis, note: `BullMQ run failed: ${(error as Error).message}` };
  }
}

function bullmqNotRun(): string {
  return findRedisServer() === undefined ? `not run; ${REDIS_INSTALL_HINT}` : 'not run (add --vs-bullmq)';
}

/** Whether --json and --svg can be written; says why not on stderr. */
async function outputsWritable(opts: BenchCommandOptions): Promise<boolean> {
  for (const [flag, path] of [['--json', opts.json], ['--svg', opts.svg]] as const) {
    const problem = path === undefined ? undefined : await outputProblem(path);
    if (problem !== undefined) {
      console.error(`floe bench: cannot write ${flag} ${path}: ${problem}`);
      return false;
    }
  }
  return true;
}

/** Writes --json and --svg; false if one could not be written (said on stderr). */
async function writeOutputs(report: BenchReport, opts: BenchCommandOptions): Promise<boolean> {
  let written = true;
  for (const [flag, path, render] of [['--json', opts.json, renderJson], ['--svg', opts.svg, renderSvg]] as const) {
    if (path === undefined) continue;
    try {
      await writeFile(path, render(report));
    } catch (error) {
      console.error(`floe bench: cannot write ${flag} ${path}: ${(error as Error).message} (the table above has the results)`);
      written = false;
    }
  }
  return written;
}

/** Why `path` cannot be written (its folder is made if missing), or undefined when it can. */
async function outputProblem(path: string): Promise<string | undefined> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await access(dirname(path), constants.W_OK);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
