/**
 * The worker's supervisor, like Dask's nanny: `floe worker` runs the real worker as a
 * child process (the same CLI with `--no-nanny`) and starts a new one when it crashes.
 *
 * - A crash is an exit the nanny did not ask for with a non-zero code or a signal
 *   (`kill -9`, an out-of-memory kill, a task that kills its process). The new child is
 *   a new worker (new id); the coordinator has already written the old one off, or will
 *   when its heartbeats stop, and recomputes what it held.
 * - Restarts back off exponentially (`restartDelayMs` doubled per recent restart, capped)
 *   and are limited: more than `restartsMax` within `restartsWindowMs` and the nanny gives
 *   up and exits 1, so a worker that cannot start does not spin forever.
 * - SIGINT/SIGTERM to the nanny is forwarded to the child as SIGTERM (it retires
 *   gracefully: the existing behaviour) and the nanny exits when the child has. A second
 *   signal forwards SIGKILL.
 * - An exit 0 the nanny did not ask for (someone sent SIGTERM to the child itself) is a
 *   deliberate stop: the nanny exits too.
 * - Never an orphan: the child runs in its own process group (a terminal's Ctrl-C reaches
 *   only the nanny, which forwards it once) and holds an IPC channel to the nanny; when the
 *   nanny dies in any way, even SIGKILL, the channel closes and the child stops itself
 *   (see `watchNanny`). An `exit` hook also SIGTERMs a live child on the nanny's way out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../src/util/logger.ts';
import { EXIT_WITH_PARENT_ENV } from './common.ts';
import { withWorkerMallocEnv } from './malloc-env.ts';

export interface NannyOptions {
  /** Node arguments + script + arguments of the worker child (the nanny adds nothing). */
  command: string[];
  logger: Logger;
  /** Crash restarts allowed within `restartsWindowMs` before giving up. */
  restartsMax: number;
  restartsWindowMs: number;
  /** Delay before the first restart of a quiet period; doubled per recent restart. */
  restartDelayMs?: number;
  /** Cap on the restart delay. */
  restartDelayMaxMs?: number;
  /** Injected for tests; default Date.now. */
  now?: () => number;
}

const DEFAULT_RESTART_DELAY_MS = 200;
const DEFAULT_RESTART_DELAY_MAX_MS = 10_000;

/** Env var telling a worker child that a nanny supervises it (see watchNanny). */
export const NANNY_ENV = 'FLOE_NANNY_PID';

/** What the nanny decides when its child exits. */
export type ExitDecision =
  | { type: 'stop'; exitCode: number; reason: string }
  | { type: 'restart'; delayMs: number; reason: string };

/**
 * Pure restart policy: given the exit and the times of recent restarts, stop or restart
 * (and after how long). Kept apart from the process handling so it is easy to test.
 */
export function decideOnExit(
  exit: { code: number | null; signal: string | null; stopping: boolean },
  recentRestartsMs: readonly number[],
  nowMs: number,
  policy: { restartsMax: number; restartsWindowMs: number; restartDelayMs: number; restartDelayMaxMs: number },
): ExitDecision {
  const how = exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
  if (exit.stopping) return { type: 'stop', exitCode: 0, reason: `worker stopped as asked (${how})` };
  if (exit.signal === null && exit.code === 0) return { type: 'stop', exitCode: 0, reason: 'worker exited cleanly on its own' };
  const recent = recentRestartsMs.filter((t) => nowMs - t < policy.restartsWindowMs).length;
  if (recent >= policy.restartsMax) {
    return {
      type: 'stop',
      exitCode: 1,
      reason: `worker crashed (${how}) after ${recent} restarts within ${policy.restartsWindowMs} ms (--restarts-max ${policy.restartsMax}): giving up`,
    };
  }
  const delayMs = Math.min(policy.restartDelayMaxMs, policy.restartDelayMs * 2 ** recent);
  return { type: 'restart', delayMs, reason: `worker crashed (${how})` };
}

/** When to restart, from the options (the delays defaulted). */
function restartPolicyOf(options: NannyOptions): Parameters<typeof decideOnExit>[3] {
  return {
    restartsMax: options.restartsMax,
    restartsWindowMs: options.restartsWindowMs,
    restartDelayMs: options.restartDelayMs ?? DEFAULT_RESTART_DELAY_MS,
    restartDelayMaxMs: options.restartDelayMaxMs ?? DEFAULT_RESTART_DELAY_MAX_MS,
  };
}

/** Runs and supervises the worker child until asked to stop or out of restarts; resolves with the exit code. */
export function runNanny(options: NannyOptions): Promise<number> {
  const log = options.logger;
  const now = options.now ?? Date.now;
  const policy = restartPolicyOf(options);
  const restarts: number[] = [];
  let child: ChildProcess | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;

  const onExitHook = (): void => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', onExitHook);

  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExitHook);
      resolve(code);
    };

    const start = (): void => {
      const c = spawnWorker(options.command, log);
      child = c;
      log.info({ pid: c.pid, restarts: restarts.length }, 'nanny started the worker process');
      c.once('exit', (code, signal) => {
        // Leaving the IPC channel open would keep this process alive.
        if (c.connected) c.disconnect();
        const decision = decideOnExit({ code, signal, stopping }, restarts, now(), policy);
        if (decision.type === 'stop') {
          if (decision.exitCode === 0) log.info({ pid: c.pid }, decision.reason);
          else log.error({ pid: c.pid }, decision.reason);
          finish(decision.exitCode);
          return;
        }
        restarts.push(now());
        log.warn({ pid: c.pid, delayMs: decision.delayMs, restarts: restarts.length }, `${decision.reason}: restarting it`);
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (stopping) finish(0);
          else start();
        }, decision.delayMs);
      });
    };

    const onSignal = (signal: NodeJS.Signals): void => {
      const alive = child !== undefined && child.exitCode === null && child.signalCode === null;
      if (stopping) {
        // Second signal: no more patience.
        if (alive) child!.kill('SIGKILL');
        return;
      }
      stopping = true;
      log.info({ signal }, 'nanny stopping: asking the worker to retire');
      if (restartTimer !== undefined) {
        clearTimeout(restartTimer);
        restartTimer = undefined;
        finish(0);
        return;
      }
      if (alive) child!.kill('SIGTERM');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    start();
  });
}

/** Starts the worker child: its lifeline to this nanny is the IPC channel, not stdin (which is ignored). */
function spawnWorker(command: string[], log: Logger): ChildProcess {
  const [bin, ...args] = command;
  const c = spawn(bin ?? process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: true,
    // The child is the worker: see malloc-env.ts.
    env: withWorkerMallocEnv({ ...process.env, [NANNY_ENV]: String(process.pid), [EXIT_WITH_PARENT_ENV]: '' }),
  });
  c.on('error', (err) => log.error({ err }, 'nanny could not start the worker process'));
  return c;
}

/**
 * In a worker child: stop when the nanny is gone. Resolves (with a reason) when the IPC
 * channel to the nanny closes, which happens however the nanny died. Never resolves for a
 * worker without a nanny. The channel does not keep this process alive.
 */
export function watchNanny(): Promise<string> {
  return new Promise((resolve) => {
    if (process.env[NANNY_ENV] === undefined || process.channel === undefined) return;
    process.channel.unref();
    process.once('disconnect', () => resolve('nanny exited'));
  });
}
