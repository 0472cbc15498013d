/**
 * Running `floe` (or a node script) as a child process, the way users run it: from the
 * package root, with a clean environment (no tsx loader inherited from the test runner).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const packageRoot = join(import.meta.dirname, '..', '..');
export const cliPath = join(packageRoot, 'dist', 'cluster', 'cli.js');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node ...args` in the package root; a non-zero exit is returned, not thrown. */
export async function node(...args: string[]): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: packageRoot, env: { ...process.env, NODE_OPTIONS: '' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as Ran;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** `floe ...args` (the built CLI). */
export function floe(...args: string[]): Promise<Ran> {
  return node(cliPath, ...args);
}
