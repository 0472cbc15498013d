// The nanny (`floe worker` without --no-nanny): restarts a crashed worker as a new
// worker, forwards SIGTERM for a graceful retirement, takes its worker down with it
// when it is killed, and gives up after --restarts-max crashes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t from 'tap';
import { cliPath, terminate } from '../../cluster/local-cluster.ts';
import { decideOnExit } from '../../cluster/nanny.ts';
import { whereAmI } from '../fixtures/chaos-tasks.ts';
import { chaosCluster, alive, pollStatus, until, WORKER_HEARTBEAT_ARGS, workerPidOf } from './helpers.ts';

const policy = { restartsMax: 3, restartsWindowMs: 60_000, restartDelayMs: 100, restartDelayMaxMs: 1000 };

t.test('restart policy', async (t) => {
  t.match(decideOnExit({ code: null, signal: 'SIGKILL', stopping: false }, [], 0, policy), { type: 'restart', delayMs: 100 });
  t.match(decideOnExit({ code: 1, signal: null, stopping: false }, [0, 10], 20, policy), { type: 'restart', delayMs: 400 }, 'backs off');
  t.match(decideOnExit({ code: 1, signal: null, stopping: false }, [0, 1, 2, 3, 4], 5, { ...policy, restartsMax: 10 }), { delayMs: 1000 }, 'capped');
  t.match(decideOnExit({ code: 1, signal: null, stopping: false }, [0, 10, 20], 30, policy), { type: 'stop', exitCode: 1 }, 'gives up');
  t.match(decideOnExit({ code: 1, signal: null, stopping: false }, [0, 10, 20], 70_000, policy), { type: 'restart' }, 'old restarts age out');
  t.match(decideOnExit({ code: null, signal: 'SIGTERM', stopping: true }, [], 0, policy), { type: 'stop', exitCode: 0 }, 'asked to stop');
  t.match(decideOnExit({ code: 0, signal: null, stopping: false }, [], 0, policy), { type: 'stop', exitCode: 0 }, 'a clean exit is not a crash');
});

t.test('a supervised worker', async (t) => {
  const { cluster, client } = await chaosCluster(t, {
    workers: 1,
    threads: 1,
    heartbeatTimeoutMs: 1000,
    workerArgs: () => WORKER_HEARTBEAT_ARGS,
  });
  const nanny = cluster.workers[0]!;

  t.test('kill -9 of the worker: the nanny starts a new worker (new id)', async (t) => {
    const first = await pollStatus(cluster, 'one worker', (s) => s.workers.length === 1);
    const pid = await workerPidOf(nanny);
    t.equal((await client.submit(whereAmI, 1).result()).pid, pid, 'tasks run in the child, not in the nanny');
    process.kill(pid, 'SIGKILL');
    const next = await pollStatus(cluster, 'a new worker', (s) => s.workers.length === 1 && s.workers[0]!.id !== first.workers[0]!.id);
    t.equal(next.workers[0]!.name, first.workers[0]!.name, 'same name');
    const newPid = await workerPidOf(nanny);
    t.not(newPid, pid, 'a new process');
    t.ok(alive(nanny.pid!), 'the nanny lives on');
    t.equal((await client.submit(whereAmI, 2).result()).pid, newPid, 'the new worker serves');
  });

  t.test('SIGTERM to the nanny: the worker retires, both exit', async (t) => {
    const pid = await workerPidOf(nanny);
    const exited = once(nanny, 'exit');
    await terminate(nanny);
    const [code] = await exited;
    t.equal(code, 0, 'the nanny exits 0');
    t.notOk(alive(pid), 'the worker is gone too');
    await pollStatus(cluster, 'no workers', (s) => s.workers.length === 0);
  });

  t.test('SIGKILL to the nanny: its worker notices and exits (no orphan)', async (t) => {
    const another = await cluster.addWorker(WORKER_HEARTBEAT_ARGS);
    const pid = await workerPidOf(another);
    another.kill('SIGKILL');
    await until(`worker ${pid} exits after its nanny died`, () => !alive(pid));
    t.pass('the orphaned worker exited');
    await pollStatus(cluster, 'no workers', (s) => s.workers.length === 0);
  });
});

t.test('a worker that keeps crashing: the nanny gives up after --restarts-max', async (t) => {
  // Nothing listens on port 1: each worker fails to connect and exits 1.
  const nanny = spawn(
    process.execPath,
    [cliPath(), 'worker', '--nats', 'nats://127.0.0.1:1', '--restarts-max', '2', '--log-level', 'silent'],
    { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  t.teardown(() => terminate(nanny));
  const [code] = await once(nanny, 'exit');
  t.equal(code, 1, 'the nanny exits 1 after 2 restarts');
});

t.test('a bad option fails in the nanny, before any worker starts', async (t) => {
  const cases: Array<{ args: string[]; says: RegExp }> = [
    { args: ['--resources', 'gpu'], says: /--resources/ },
    // The memory flags as the worker node would take them: a fraction with no limit, and
    // fractions that do not go together (each would have crash-looped in the worker).
    { args: ['--memory-target', '0.9'], says: /--memory-target is a fraction of the memory limit, and no --memory-limit is given/ },
    { args: ['--memory-limit', '1GiB', '--memory-target', '0.9', '--memory-pause', '0.5'], says: /--memory-pause \(0.5\) must not be below --memory-target \(0.9\)/ },
  ];
  for (const { args, says } of cases) {
    const nanny = spawn(process.execPath, [cliPath(), 'worker', '--nats', 'nats://127.0.0.1:1', ...args, '--log-level', 'silent'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    t.teardown(() => terminate(nanny));
    let stderr = '';
    nanny.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = await once(nanny, 'exit');
    t.not(code, 0, args.join(' '));
    t.match(stderr, says);
  }
});
