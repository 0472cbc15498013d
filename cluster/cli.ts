#!/usr/bin/env node
/**
 * The `floe` command. `floe run <flow-file>` runs a flow on the embedded default.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runCommand } from './run.ts';

function positiveInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
}

const program = new Command()
  .name('floe')
  .description('floe: a distributed task execution engine for TypeScript')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('run')
  .description('run a flow file (its default export is a flow) and print its results')
  .argument('<flow-file>', 'a .ts or .js module whose default export is made with flow()')
  .argument('[params...]', 'parameters passed to the flow (JSON values, otherwise strings)')
  .option('--threads <n>', 'pool threads per worker (default: available cores)', (v) => positiveInt(v, '--threads'))
  .option('--workers <n>', 'embedded worker nodes', (v) => positiveInt(v, '--workers'), 1)
  .option('--json', 'print the result as JSON')
  .action(async (file: string, params: string[], opts: { threads?: number; workers: number; json?: boolean }) => {
    process.exitCode = await runCommand(file, params, opts);
  });

await program.parseAsync(process.argv);
