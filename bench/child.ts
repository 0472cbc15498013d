/**
 * Bench child processes (bench/transfer-child.ts, bench/bullmq-worker.ts): a sibling module
 * run by this Node, as .ts under tsx or .js once compiled. The child prints one line when it
 * is ready (its address, or "ready") and exits when its stdin closes, so it also goes when
 * the bench process dies without cleaning up (the pipe closes with it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const STOP_KILL_AFTER_MS = 5_000;

/** A sibling module of this one, as .ts under tsx or .js once compiled. */
function sibling(name: string): { path: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const path = new URL(`./${name}${ts ? '.ts' : '.js'}`, import.meta.url).pathname;
  return { path, execArgv: ts ? ['--import=tsx'] : [] };
}

export interface SiblingChild {
  child: ChildProcess;
  /** The first line the child printed. */
  line: string;
  /** Closes its stdin and waits for the exit (SIGKILL after 5 s). Idempotent. */
  stop: () => Promise<void>;
}

/** Starts bench/<name> with one JSON argument (and `nodeArgs` for node) and waits for its first line on stdout. */
export async function startSibling(name: string, options: unknown, nodeArgs: string[] = []): Promise<SiblingChild> {
  const { path, execArgv } = sibling(name);
  const child = spawn(process.execPath, [...nodeArgs, ...execArgv, path, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const exited = once(child, 'exit');
  let line: string;
  try {
    [line] = (await Promise.race([
      once(createInterface({ input: child.stdout }), 'line'),
      exited.then(() => {
        throw new Error(`bench/${name} exited before it was ready`);
      }),
    ])) as [string];
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    line: line.trim(),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
