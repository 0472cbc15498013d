// bench/cpu-wake.ts, how long the machine takes to run a woken process by how long its CPU
// was idle: it runs from dist, as documented, gives a wake time for every case, and leaves
// no process behind. (What the times are is the machine's, not a test's business.)
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { children } from '../helpers/children.ts';
import { packageRoot } from '../../src/util/package-root.ts';

const run = promisify(execFile);

t.test('a wake time for each CPU the wakee last ran on and each idle gap', async (t) => {
  const before = children();
  const tool = join(packageRoot(), 'dist', 'bench', 'cpu-wake.js');
  if (process.platform !== 'linux' || availableParallelism() < 2) {
    // The tool says what it needs, and does not run.
    const failed = await run(process.execPath, [tool, '2'], { encoding: 'utf8' }).catch((error: { code: number; stderr: string }) => error);
    t.match(failed, { code: 2, stderr: /needs Linux and 2 CPUs/ });
    return;
  }
  const { stdout } = await run(process.execPath, [tool, '2'], { encoding: 'utf8', timeout: 60_000 });
  const rows = stdout.split('\n').flatMap((line) => {
    const m = /^(the other CPU \(1\)|the waker's CPU \(0\))\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%$/.exec(line);
    return m === null ? [] : [{ cpu: m[1]!, gapMs: Number(m[2]) }];
  });
  t.same(
    rows.map((r) => [r.cpu, r.gapMs]),
    ['the other CPU (1)', "the waker's CPU (0)"].flatMap((cpu) => [0.1, 1, 3, 10, 100].map((gap) => [cpu, gap])),
    stdout,
  );
  t.match(stdout, /\(2 wakes per case;/, 'as many wakes per case as asked for');
  t.same(children(), before, 'the wakee is gone');
});
