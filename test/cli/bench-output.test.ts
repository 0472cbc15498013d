// `floe bench --json/--svg`: a missing folder is made; a path that cannot be written is a
// clear error before any scenario runs (a run takes minutes; its results must not be lost).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', '..', 'dist', 'cluster', 'cli.js');

async function floe(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, NODE_OPTIONS: '' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

t.test('--json and --svg into folders that do not exist yet', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-out-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'results', 'nested', 'quick.json');
  const svg = join(dir, 'charts', 'lag.svg');
  const out = await floe('bench', 'scheduler', '--mode', 'embedded', '--quick', '--json', json, '--svg', svg);
  t.equal(out.code, 0, out.stderr);
  const report = JSON.parse(await readFile(json, 'utf8')) as { scenarios: { name: string }[] };
  t.same(report.scenarios.map((s) => s.name), ['scheduler']);
  t.match(await readFile(svg, 'utf8'), /^<svg/);
});

t.test('an output path that cannot be written fails before anything runs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-out-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  const out = await floe('bench', 'scheduler', '--mode', 'embedded', '--quick', '--json', join(file, 'quick.json'));
  t.equal(out.code, 2);
  t.match(out.stderr, /cannot write --json .*a-file\/quick\.json/);
  t.notMatch(out.stderr, /\[bench\] scheduler/, 'no scenario ran');
});
