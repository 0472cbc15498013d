/**
 * `floe bench`: the benchmark harness (bench/). Runs the chosen scenarios (default: all) in
 * embedded mode or on a local cluster it starts and stops, optionally the same shapes on
 * Dask, and prints a table; --json and --svg write the full results and the task-lag chart.
 */
import { writeFile } from 'node:fs/promises';
import { addDask, BenchEnv, machine, runScenario, type Mode, type ScenarioResult } from '../../bench/harness.ts';
import { daskVersion, DASK_INSTALL_HINT, runDask, type DaskOutput } from '../../bench/dask.ts';
import { renderJson, renderSvg, renderTable, type BenchReport } from '../../bench/render.ts';
import { SCENARIOS, SCENARIO_NAMES } from '../../bench/scenarios/index.ts';

export interface BenchCommandOptions {
  mode: Mode;
  vsDask?: boolean;
  json?: string;
  svg?: string;
  quick?: boolean;
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
  const chosen = names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
  const quick = opts.quick === true;
  const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
  const env = new BenchEnv(opts.mode, log, {
    ...(opts.otlp !== undefined ? { otlp: opts.otlp } : {}),
    ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
  });
  const daskChildren = new Set<() => void>();

  // Ctrl-C / SIGTERM: stop every cluster and child this run started, then exit.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping clusters`);
    for (const kill of daskChildren) kill();
    void env.stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const report: BenchReport = {
    machine: machine(),
    command: `floe bench ${process.argv.slice(3).join(' ')}`.trim(),
    mode: opts.mode,
    quick,
    dask: { ran: false },
    scenarios: [],
  };
  try {
    const results: ScenarioResult[] = [];
    for (const scenario of chosen) {
      // Embedded scenarios share one client; scenarios that start their own clusters run after it is gone.
      const { result } = await runScenario(scenario, env, quick, log);
      results.push(result);
    }
    await env.stopAll();
    if (opts.vsDask === true) {
      const version = daskVersion();
      const daskScenarios = chosen.filter((s) => s.dask);
      if (version === undefined) {
        report.dask = { ran: false, note: DASK_INSTALL_HINT };
        log(DASK_INSTALL_HINT);
      } else if (daskScenarios.length > 0) {
        log(`Dask ${version}: ${daskScenarios.map((s) => s.name).join(', ')}`);
        let out: DaskOutput | undefined;
        try {
          out = await runDask(
            {
              quick,
              reps: Object.fromEntries(daskScenarios.map((s) => [s.name, s.reps(quick)])),
              params: Object.fromEntries(daskScenarios.map((s) => [s.name, s.daskParams?.(quick) ?? {}])),
            },
            (kill) => {
              daskChildren.add(kill);
              return () => daskChildren.delete(kill);
            },
          );
          report.dask = { ran: true, version: out.version };
        } catch (error) {
          report.dask = { ran: false, version, note: `Dask run failed: ${(error as Error).message}` };
        }
        for (const scenario of daskScenarios) {
          const result = results.find((r) => r.name === scenario.name)!;
          const d = out?.scenarios[scenario.name];
          if (d === undefined) continue;
          if (d.error !== undefined) result.daskError = d.error;
          try {
            if (d.raws.length > 0) addDask(result, scenario, quick, d.raws);
          } catch (error) {
            result.daskError = (error as Error).message;
          }
        }
      }
    } else if (daskVersion() === undefined) {
      report.dask = { ran: false, note: `not run; ${DASK_INSTALL_HINT}` };
    } else {
      report.dask = { ran: false, note: 'installed but not run (add --vs-dask)' };
    }
    report.scenarios = results;
  } finally {
    await env.stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (interrupted) return 130; // the signal handler exits once everything is stopped
  console.log(renderTable(report));
  if (opts.json !== undefined) await writeFile(opts.json, renderJson(report));
  if (opts.svg !== undefined) await writeFile(opts.svg, renderSvg(report));
  return report.scenarios.some((s) => s.error !== undefined) ? 1 : 0;
}
