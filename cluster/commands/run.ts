/**
 * `floe run`: loads a flow file (TypeScript through tsx), runs it on an embedded
 * cluster and prints the result. Errors print their code and the remote stack.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { Client, isFloeError } from '../../src/index.ts';
import { loadModule } from '../../src/runtime/load-module.ts';
import { makeLogger } from '../common.ts';
import { barDisplay, lineDisplay, type ProgressDisplay } from '../progress-display.ts';
import { startTelemetry, type Telemetry } from '../telemetry.ts';

export interface RunOptions {
  /** Embedded mode only. */
  threads?: number;
  /** Embedded mode only; default 1. */
  workers?: number;
  json?: boolean;
  /** Run on this cluster instead of the embedded default. */
  nats?: string;
  cluster: string;
  /** false with --no-progress. */
  progress: boolean;
  progressInterval: number;
  otlp?: string;
  logLevel: string;
}

export async function runCommand(file: string, params: string[], opts: RunOptions): Promise<number> {
  if (opts.nats !== undefined && (opts.threads !== undefined || opts.workers !== undefined)) {
    // On a cluster its own workers run the flow: these would be dropped without a word.
    console.error(`floe run: ${opts.threads !== undefined ? '--threads' : '--workers'} is for the embedded mode; with --nats (or FLOE_NATS) the cluster's workers run the flow`);
    return 2;
  }
  const telemetry = await startTelemetry('floe-client', opts.otlp);
  try {
    return await runFlowFile(file, params, opts, telemetry);
  } finally {
    await telemetry?.shutdown();
  }
}

async function runFlowFile(file: string, params: string[], opts: RunOptions, telemetry: Telemetry | undefined): Promise<number> {
  const url = pathToFileURL(resolve(file)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await loadModule(url));
  } catch (error) {
    console.error(`floe run: cannot load ${file}: ${(error as Error).message}`);
    return 2;
  }
  const def = mod.default;
  if (typeof def !== 'object' || def === null || !(Symbol.for('floe.flow') in def)) {
    console.error(`floe run: ${file} must export a flow as default (export default flow('name', (...) => ...))`);
    return 2;
  }
  let client: Client;
  try {
    client =
      opts.nats === undefined
        ? await Client.local({
            workers: opts.workers ?? 1,
            logger: makeLogger('floe-run', opts.logLevel),
            ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
            ...(telemetry !== undefined ? { threadSetup: telemetry.threadSetup } : {}),
          })
        : await Client.connect({ nats: opts.nats.split(','), cluster: opts.cluster });
  } catch (error) {
    console.error(`floe run: cannot start a client: ${(error as Error).message}`);
    return 1;
  }
  const started = performance.now();
  let display: ProgressDisplay | undefined;
  if (opts.progress) {
    display = process.stderr.isTTY ? barDisplay(process.stderr) : lineDisplay((line) => console.error(line), opts.progressInterval);
    client.on('progress', (p) => display?.update(p));
  }
  try {
    const result = await client.run(def as Parameters<Client['run']>[0], ...params.map(parseParam));
    display?.stop();
    display = undefined;
    const ms = (performance.now() - started).toFixed(0);
    if (opts.json === true) console.log(JSON.stringify(result));
    else console.log(inspect(result, { depth: 6, colors: process.stdout.isTTY, maxArrayLength: 20 }));
    console.error(`floe run: ${(def as { name: string }).name} finished in ${ms} ms`);
    return 0;
  } catch (error) {
    display?.stop();
    if (isFloeError(error)) {
      console.error(`floe run: flow failed: [${error.code}] ${error.message}`);
      if (error.taskKey !== undefined) console.error(`  in task ${error.taskKey}`);
      if (error.remoteStack !== undefined) console.error(error.remoteStack.replace(/^/gm, '  | '));
    } else {
      console.error('floe run: flow failed:', error);
    }
    return 1;
  } finally {
    await client.close();
  }
}

function parseParam(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
