// Running a command again with V8 flags (cluster/relaunch.ts), as `floe run` and `floe bench` do.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'relaunch-command.ts');

interface Started {
  pid: number;
  execArgv: string[];
  args: string[];
  relaunchedBy: string | null;
}

function start(...args: string[]): { parent: ChildProcess; child: Promise<Started>; stdout: Promise<string> } {
  const parent = spawn(process.execPath, ['--import=tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
  let out = '';
  parent.stdout.setEncoding('utf8');
  const child = new Promise<Started>((resolve) => {
    parent.stdout.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0]!;
      if (out.includes('\n')) resolve(JSON.parse(line) as Started);
    });
  });
  // Ends once no process holds the pipe: the parent and the child both have it.
  const stdout = once(parent.stdout, 'end').then(() => out);
  return { parent, child, stdout };
}

/** Gone, or a zombie not reaped yet by whoever adopted it (the parent that would have is dead). */
function hasEnded(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

function exited(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => p.once('exit', (code, signal) => resolve({ code, signal })));
}

t.test('the child has the flags, the same node flags and arguments, and its exit code is the command\'s', async (t) => {
  const { parent, child } = start('exit', '7');
  const ended = exited(parent);
  const started = await child;
  t.same(started.execArgv, ['--max-semi-space-size=32', '--import=tsx']);
  t.same(started.args, ['exit', '7']);
  t.equal(started.relaunchedBy, null, 'the variable naming the parent is not passed on to what the child starts');
  t.not(started.pid, parent.pid);
  t.same(await ended, { code: 7, signal: null });
});

t.test('a child killed by a signal: the command ends by the same signal', async (t) => {
  const { parent } = start('signal');
  t.same(await exited(parent), { code: null, signal: 'SIGKILL' });
});

t.test('SIGTERM sent to the command is passed on to the child, which ends as it chooses', async (t) => {
  const { parent, child, stdout } = start('wait');
  const ended = exited(parent);
  await child;
  parent.kill('SIGTERM');
  t.same(await ended, { code: 3, signal: null });
  t.match(await stdout, /\nSIGTERM\n$/);
});

t.test('a child whose parent was killed with SIGKILL stops as on SIGTERM', async (t) => {
  const { parent, child, stdout } = start('wait');
  const { pid } = await child;
  parent.kill('SIGKILL');
  // The pipe ends when the child, its last holder, has ended.
  t.match(await stdout, /\nSIGTERM\n$/);
  t.ok(hasEnded(pid), 'the child has ended');
});
