// bench/stage-costs.ts, the yardstick for the work per task on the way from the submit call
// to the pool thread: it runs (from dist, as documented) and gives a positive cost for every
// step, on a shape whose flows are cut between pieces (the scheduler holds tasks back).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { packageRoot } from '../../src/util/package-root.ts';

const run = promisify(execFile);

const STEPS = [
  'client: submit loop',
  'coordinator: decode submissions',
  'coordinator: scheduler takes them in',
  'coordinator: assignments encoded',
  'worker: decode assignments',
  'worker: state machine takes them in',
  'worker: pool batches built and packed',
  'pool thread: runs',
  'all steps',
];

t.test('every step of the way to the pool thread gets a positive cost per task', async (t) => {
  const tool = join(packageRoot(), 'dist', 'bench', 'stage-costs.js');
  const { stdout } = await run(process.execPath, [tool, 'linear-10x100', '3'], { encoding: 'utf8', timeout: 120_000 });
  const costs = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^ {2}(.+?)\s+([\d.]+)$/.exec(line);
    if (m !== null) costs.set(m[1]!, Number(m[2]));
  }
  // The pool thread reads its own CPU from /proc (Linux); elsewhere the tool says it cannot.
  const steps = existsSync('/proc/thread-self/schedstat') ? STEPS : STEPS.filter((s) => s !== 'pool thread: runs');
  t.same([...costs.keys()], steps, stdout);
  for (const [step, us] of costs) t.ok(Number.isFinite(us) && us > 0, `${step}: ${us} µs per task`);
  t.ok(Math.abs(costs.get('all steps')! - [...costs].filter(([s]) => s !== 'all steps').reduce((n, [, us]) => n + us, 0)) < 0.01, 'all steps is their sum');
});
