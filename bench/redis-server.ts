/**
 * A private redis-server for `floe bench --vs-bullmq`: Debian's binary on a free loopback
 * port, no persistence (`--save '' --appendonly no`), its own temp dir, stopped by PID.
 *
 * Like cluster/nats-server.ts: a watchdog shell stops it if this process dies by SIGKILL,
 * and an `exit` hook SIGKILLs any server still running when this process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, watchParent } from '../cluster/nats-server.ts';

export const REDIS_INSTALL_HINT = 'redis-server not installed (apt-get install redis-server)';

const SEARCH_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'];
const START_ATTEMPTS_MAX = 4;
const READY_TIMEOUT_MS = 10_000;
const STOP_KILL_AFTER_MS = 5_000;
const OUTPUT_TAIL_LINES = 20;

/** The directories searched for redis-server: PATH, then where Debian puts it. */
export const redisSearchDirs = (): string[] => [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...SEARCH_DIRS];

/** The redis-server binary, or undefined when it is not installed. */
export function findRedisServer(dirs: readonly string[] = redisSearchDirs()): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** "7.0.15" from `redis-server --version` ("Redis server v=7.0.15 sha=…"). */
export function redisVersion(binary: string): string {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? 'unknown';
}

export interface RedisServerHandle {
  readonly port: number;
  readonly pid: number;
  /** SIGTERM by PID, wait for the exit (SIGKILL after 5 s), remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL by PID now and remove the temp dir (for signal handlers: synchronous). */
  kill(): void;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts redis-server on a free 127.0.0.1 port; retries when the port was taken meanwhile. */
export async function startRedisServer(binary: string): Promise<RedisServerHandle> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort('127.0.0.1');
    try {
      return await launch(binary, port);
    } catch (error) {
      if (!/address already in use/i.test((error as Error).message) || attempt >= START_ATTEMPTS_MAX) throw error;
    }
  }
}

async function launch(binary: string, port: number): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'floe-redis-'));
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', '', '--loglevel', 'notice'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal === null ? `exit code ${String(code)}` : `signal ${signal}`));
    child.once('error', (error) => resolve(`cannot run ${binary}: ${error.message}`));
  }).finally(() => {
    live.delete(child);
    rmSync(dir, { recursive: true, force: true });
  });
  if (child.pid !== undefined) watchParent(child);
  const tail: string[] = [];
  const ready = new Promise<void>((resolve) => {
    // Both streams are always drained (a full pipe would block the server).
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
        if (/Ready to accept connections/.test(line)) resolve();
      });
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    exited.then((how) => `redis-server exited during startup (${how}) on port ${port}`),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`redis-server not ready on port ${port} after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${outcome}: ${tail.join('\n').trim() || '(no output)'}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    port,
    pid: child.pid!,
    stop() {
      stopping ??= (async () => {
        if (!live.has(child)) return void (await exited);
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_KILL_AFTER_MS);
        await exited;
        clearTimeout(killTimer);
      })();
      return stopping;
    },
    kill() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
