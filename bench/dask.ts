/**
 * The Dask side of `--vs-dask`: runs bench/dask_bench.py (same shapes, same raw output
 * format) on a Dask LocalCluster with 2 worker processes × 1 thread.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-root.ts';
import type { PeerOutput, PeerRequest } from './harness.ts';

export const DASK_INSTALL_HINT = 'python3-distributed is not installed: apt-get install -y python3-distributed (or pip install distributed), then add --vs-dask';

let found: { python: string; version: string } | null | undefined;

/**
 * The first Python that can `import distributed`: $FLOE_PYTHON, python3 on the PATH, then
 * Debian's /usr/bin/python3 (where apt's python3-distributed lands, even under pyenv).
 */
export function findDask(): { python: string; version: string } | undefined {
  if (found !== undefined) return found ?? undefined;
  found = null;
  for (const python of [process.env.FLOE_PYTHON, 'python3', '/usr/bin/python3']) {
    if (python === undefined || python === '') continue;
    const r = spawnSync(python, ['-c', 'import distributed; print(distributed.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) {
      found = { python, version: r.stdout.trim() };
      break;
    }
  }
  return found ?? undefined;
}

export const daskVersion = (): string | undefined => findDask()?.version;

export type DaskRequest = PeerRequest;
export type DaskOutput = PeerOutput;

/** Runs the Python script; its progress goes to stderr, its JSON result to stdout. */
export async function runDask(request: DaskRequest, onChild: (kill: () => void) => () => void): Promise<DaskOutput> {
  const script = join(packageRoot(), 'bench', 'dask_bench.py');
  const child = spawn(findDask()?.python ?? 'python3', [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const untrack = onChild(() => child.kill('SIGTERM'));
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stdin.end(JSON.stringify(request));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).finally(untrack);
  if (code !== 0) throw new Error(`bench/dask_bench.py exited with code ${code}`);
  return JSON.parse(stdout) as DaskOutput;
}
