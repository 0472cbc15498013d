/**
 * Runs this same `floe` command again, in a child process, with V8 flags that only count
 * when given at a process's start: the young generation of `floe run` and `floe bench`,
 * whose processes run a client (and in the embedded mode, the whole cluster), and the
 * coordinator's and a worker node's flags when started by hand (see node-flags.ts and
 * cli.ts). V8 reads the size once, when its heap is set up; glibc its malloc settings
 * (malloc-env.ts) once, when the process starts.
 *
 * The child is the command in all but its flags: the same arguments, environment, stdin,
 * stdout and stderr. The signals this process is sent are passed on, and it ends as the
 * child did (the child's exit code, or killed by the same signal). A child whose parent is
 * gone (killed with SIGKILL, which cannot be passed on) stops as on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** Set in the child: the PID of the process that started it. */
const PARENT_ENV = 'FLOE_RELAUNCHED_BY';
const PASSED_ON = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How often the child looks whether its parent is still there. */
const PARENT_CHECK_MS = 500;

/** Runs the command again with `flags` (and `env`); resolves with the exit code to end with. */
export function relaunch(flags: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const child = spawn(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...env, [PARENT_ENV]: String(process.pid) },
  });
  // A terminal's Ctrl-C reaches both processes; the child gets it twice, which floe's commands allow.
  const passOn = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of PASSED_ON) process.on(signal, passOn);
  const stopPassingOn = (): void => {
    for (const signal of PASSED_ON) process.off(signal, passOn);
  };
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      stopPassingOn();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      stopPassingOn();
      if (signal === null) {
        resolve(code ?? 1);
        return;
      }
      // Ended by a signal: so does this process (its handlers are gone), else 128 + its number.
      resolve(128 + (constants.signals[signal] ?? 0));
      process.kill(process.pid, signal);
    });
  });
}

/**
 * In a relaunched child: stops as on SIGTERM once the parent is gone. A no-op in other
 * processes. Not common.ts's exitWithParent, which watches a stdin pipe from the parent:
 * the child keeps the command's own stdin (a flow may read it).
 */
export function watchRelauncher(): void {
  const parent = Number(process.env[PARENT_ENV]);
  // Not passed on to the processes this one starts (they have a parent of their own).
  delete process.env[PARENT_ENV];
  if (!Number.isSafeInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, PARENT_CHECK_MS).unref();
}
