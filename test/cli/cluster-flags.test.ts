// `floe coordinator` and `floe worker --no-nanny` started by hand (in a container, on many
// hosts) run with the V8 flags `floe local` gives them (cluster/node-flags.ts), by starting
// themselves again with them (cluster/relaunch.ts); a worker node also with glibc's malloc
// settings (cluster/malloc-env.ts). Stopping the process started stops the one it runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { EXIT_WITH_PARENT_ENV } from '../../cluster/common.ts';
import { fetchStatus } from '../../cluster/commands/status.ts';
import { WORKER_MALLOC_ENV } from '../../cluster/malloc-env.ts';
import { YOUNG_GENERATION_MIB } from '../../cluster/node-flags.ts';
import { alive, childPids, until } from '../chaos/helpers.ts';
import { cliPath, floe } from '../helpers/cli.ts';
import { natsServer } from '../helpers/nats.ts';

const CLUSTER = 'by-hand';

/** `floe <args>` as an operator starts it: no node flags, nothing in NODE_OPTIONS. */
function byHand(args: string[]): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args, '--cluster', CLUSTER, '--log-level', 'silent'], {
    // stdin: a lifeline pipe, so nothing outlives this test even if it is killed.
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { ...process.env, NODE_OPTIONS: '', [EXIT_WITH_PARENT_ENV]: '1' },
  });
}

/** The one process `parent` runs (the command started again), once it is there. */
function onlyChild(parent: ChildProcess): Promise<number> {
  return until(`the process ${parent.pid} starts`, () => {
    const kids = childPids(parent.pid!);
    return kids.length === 1 ? kids[0] : undefined;
  });
}

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
}

function environment(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e.includes('='));
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

t.test('a coordinator and a worker node started by hand run with the flags floe local gives them', async (t) => {
  const nats = await natsServer(t);
  const coordinator = byHand(['coordinator', '--nats', nats.url]);
  const worker = byHand(['worker', '--no-nanny', '--threads', '1', '--nats', nats.url]);
  const started = [coordinator, worker];
  t.teardown(() => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  // Up: the worker registered with the coordinator (asked again until it answers so, bounded).
  let registered = false;
  for (const deadline = Date.now() + 60_000; !registered && Date.now() < deadline; ) {
    registered = await fetchStatus(nats.url, CLUSTER, 1000).then((s) => s.workers.length === 1, () => false);
    if (!registered) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(registered, 'the worker registered with the coordinator');

  const young = `--max-semi-space-size=${YOUNG_GENERATION_MIB}`;
  const coordinatorPid = await onlyChild(coordinator);
  const coordinatorArgs = commandLine(coordinatorPid);
  for (const flag of [young, `--min-semi-space-size=${YOUNG_GENERATION_MIB}`, '--no-memory-reducer', '--expose-gc']) {
    t.ok(coordinatorArgs.includes(flag), `the coordinator runs with ${flag}`);
  }
  t.notOk(coordinatorArgs.includes('--single-threaded-gc'), 'the coordinator keeps V8\'s GC helper threads');

  const workerPid = await onlyChild(worker);
  const workerArgs = commandLine(workerPid);
  for (const flag of [young, '--single-threaded-gc', '--no-memory-reducer', '--expose-gc']) {
    t.ok(workerArgs.includes(flag), `the worker node runs with ${flag}`);
  }
  const env = environment(workerPid);
  for (const [name, value] of Object.entries(WORKER_MALLOC_ENV)) t.equal(env.get(name), value, `the worker node runs with ${name}=${value}`);
  t.equal(childPids(workerPid).length, 0, 'and starts no process of its own (it is the node)');

  // SIGTERM to what was started reaches the process it runs; both end.
  for (const p of [worker, coordinator]) {
    const exited = once(p, 'exit');
    p.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    // 128 + 15: it ends as the process it ran did, which SIGTERM ended.
    t.ok(code === 0 || code === 143 || signal === 'SIGTERM', `${p === worker ? 'worker' : 'coordinator'} ended on SIGTERM (code ${code}, signal ${signal})`);
  }
  t.notOk(alive(coordinatorPid), 'the coordinator process it ran is gone');
  t.notOk(alive(workerPid), 'the worker node it ran is gone');
});

t.test('a data plane port out of range is refused before anything starts', async (t) => {
  for (const port of ['70000', '-1', '8.5']) {
    const out = await floe('worker', '--no-nanny', '--nats', 'nats://127.0.0.1:1', '--port', port);
    t.equal(out.code, 1, `--port ${port}`);
    t.match(out.stderr, /--port must be a port number from 0 to 65535/);
  }
});

t.test('a duration longer than a timer can wait is refused (it would fire at once)', async (t) => {
  for (const args of [['coordinator', '--heartbeat-timeout', '3000000000'], ['worker', '--no-nanny', '--heartbeat-interval', '2147483648']]) {
    const out = await floe(...args, '--nats', 'nats://127.0.0.1:1');
    t.equal(out.code, 1, args.join(' '));
    t.match(out.stderr, new RegExp(`${args.at(-2)!} must be a whole number of milliseconds from [01] to 2147483647`));
  }
});

