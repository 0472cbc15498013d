/**
 * Starts Debian's `nats-server` as a child process, for `floe local`, tests and benches.
 *
 * The server is configured through a small temp config file (max_payload cannot be set
 * on the command line). "Ready" means: a TCP connection to the port gets an INFO line
 * whose server_name is the unique name we put in that file, so a foreign process that
 * happens to own the port is never mistaken for ours.
 *
 * The child does not keep the event loop alive; an `exit` hook SIGKILLs any server
 * still running when this process exits, so tests never leave servers behind. (A
 * SIGKILL of this process cannot be caught: its server then outlives it.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FloeError } from '../src/errors.ts';

export interface NatsServerOptions {
  /** Port to listen on; default: a free loopback port. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Largest message the server accepts. Default 8 MiB; nats-server caps it at 64 MiB. */
  maxPayloadBytes?: number;
  /** Enable JetStream (its store goes to `storeDir`, or a temp dir removed on stop). */
  jetstream?: boolean;
  storeDir?: string;
  /** Server log file; default: stderr, of which the tail is kept for error messages. */
  logFile?: string;
  /** Path of the nats-server binary; default: found on PATH, /usr/sbin, /usr/local/bin. */
  binary?: string;
  /** How long to wait for the server to accept connections. Default 10 000. */
  readyTimeoutMs?: number;
  /**
   * GOMAXPROCS of the server: how many threads its Go runtime runs Go code on at once.
   * Default 1, unless GOMAXPROCS is set in this process's environment (then that). This
   * server shares the machine with the cluster's Node processes, and its traffic is that of
   * one coordinator, itself one thread. With Go's default (one per core), its idle threads
   * spin looking for work on the cores the cluster needs: on 2 cores, a local cluster
   * running rounds of 10,000 no-op tasks used 4.6-4.9 µs of the server's CPU per task,
   * against 3.3-3.4 with 1, and ran 2-17% more tasks per second (two clusters alternating).
   */
  goMaxProcs?: number;
  /**
   * A cluster block: the server listens for routes from other servers on `port` (of its
   * host), under cluster `name`. Without routes it runs alone, but tells its clients it is
   * in a cluster, as a server of a real one does (tests of what changes then).
   */
  cluster?: { name: string; port: number };
}

export interface NatsServerHandle {
  /** `nats://host:port`, for `connectNats({ servers: url })`. */
  readonly url: string;
  readonly port: number;
  /** PID of the running server process (changes on restart). */
  readonly pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove temp files. Idempotent. */
  stop(): Promise<void>;
  /** Stop, then start again on the same port and config. */
  restart(): Promise<void>;
}

export const DEFAULT_NATS_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
const NATS_MAX_PAYLOAD_LIMIT_BYTES = 64 * 1024 * 1024;
const READY_POLL_INTERVAL_MS = 20;
const STOP_KILL_AFTER_MS = 5_000;
const START_ATTEMPTS_MAX = 4;
const STDERR_TAIL_BYTES = 8 * 1024;
const SEARCH_DIRS = ['/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/usr/bin'];

/** Servers still running, killed by the exit hook. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function invalid(message: string): FloeError {
  return new FloeError('INVALID_OPTION', message);
}

function validate(options: NatsServerOptions): void {
  const { port, host, maxPayloadBytes, readyTimeoutMs } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw invalid(`options.port must be an integer in 1..65535, got ${String(port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw invalid('options.host must be a non-empty string');
  if (maxPayloadBytes !== undefined && (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > NATS_MAX_PAYLOAD_LIMIT_BYTES)) {
    throw invalid(`options.maxPayloadBytes must be an integer in 1..${NATS_MAX_PAYLOAD_LIMIT_BYTES}, got ${String(maxPayloadBytes)}`);
  }
  if (readyTimeoutMs !== undefined && (!Number.isInteger(readyTimeoutMs) || readyTimeoutMs < 1)) {
    throw invalid(`options.readyTimeoutMs must be a positive integer, got ${String(readyTimeoutMs)}`);
  }
  const { goMaxProcs, cluster } = options;
  if (goMaxProcs !== undefined && (!Number.isInteger(goMaxProcs) || goMaxProcs < 1)) {
    throw invalid(`options.goMaxProcs must be a positive integer, got ${String(goMaxProcs)}`);
  }
  if (cluster !== undefined && (typeof cluster.name !== 'string' || !/^[\w-]+$/.test(cluster.name) || !Number.isInteger(cluster.port) || cluster.port < 1 || cluster.port > 65535)) {
    throw invalid('options.cluster must be { name: letters, digits, _ or -; port: an integer in 1..65535 }');
  }
  for (const key of ['storeDir', 'logFile', 'binary'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw invalid(`options.${key} must be a non-empty path`);
  }
}

/** The server's environment: ours, with GOMAXPROCS as `goMaxProcs` (NatsServerOptions) says. */
export function serverEnv(goMaxProcs: number | undefined, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const given = env['GOMAXPROCS'];
  const value = goMaxProcs !== undefined ? String(goMaxProcs) : given !== undefined && given !== '' ? given : '1';
  return { ...env, GOMAXPROCS: value };
}

/** Finds the nats-server binary; PATH often lacks /usr/sbin for non-root users. */
export function findNatsServer(binary?: string): string {
  const candidates = binary !== undefined
    ? [binary]
    : [...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== ''), ...SEARCH_DIRS].map((dir) => join(dir, 'nats-server'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  if (binary !== undefined) throw invalid(`options.binary is not an executable file: ${binary}`);
  throw new FloeError(
    'INVALID_ARGUMENT',
    'nats-server not found on PATH; install it with: apt-get install -y nats-server (or pass --nats URL of a running server)',
  );
}

/** A port that was free a moment ago (another process may still grab it: callers retry). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        if (port > 0) resolve(port);
        else reject(new FloeError('INTERNAL', 'could not determine a free port'));
      });
    });
  });
}

function configText(port: number, host: string, serverName: string, maxPayloadBytes: number, storeDir: string | undefined, options: NatsServerOptions): string {
  const lines = [
    `server_name: ${JSON.stringify(serverName)}`,
    `host: ${JSON.stringify(host)}`,
    `port: ${port}`,
    `max_payload: ${maxPayloadBytes}`,
  ];
  if (options.logFile !== undefined) lines.push(`log_file: ${JSON.stringify(options.logFile)}`);
  if (storeDir !== undefined) lines.push(`jetstream {`, `  store_dir: ${JSON.stringify(storeDir)}`, `}`);
  const { cluster } = options;
  if (cluster !== undefined) lines.push(`cluster {`, `  name: ${JSON.stringify(cluster.name)}`, `  host: ${JSON.stringify(host)}`, `  port: ${cluster.port}`, `}`);
  return `${lines.join('\n')}\n`;
}

/** Starts a nats-server and waits until it accepts connections. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  validate(options);
  const binary = findNatsServer(options.binary);
  installExitHook();
  const server = new NatsServer(binary, options);
  await server.start();
  return server;
}

class NatsServer implements NatsServerHandle {
  private readonly host: string;
  private readonly serverName = `floe-${process.pid}-${randomBytes(4).toString('hex')}`;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderrTail = '';
  private tempDir: string | undefined;
  private currentPort = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly binary: string,
    private readonly options: NatsServerOptions,
  ) {
    this.host = options.host ?? '127.0.0.1';
  }

  get port(): number {
    return this.currentPort;
  }

  get url(): string {
    const host = this.dialHost;
    return `nats://${host.includes(':') ? `[${host}]` : host}:${this.currentPort}`;
  }

  /** Where clients on this machine reach the server (a wildcard host is not dialable). */
  private get dialHost(): string {
    if (this.host === '0.0.0.0') return '127.0.0.1';
    if (this.host === '::') return '::1';
    return this.host;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** First start: picks a free port unless one was given; retries when it was taken meanwhile. */
  async start(): Promise<void> {
    const fixed = this.options.port;
    for (let attempt = 1; ; attempt += 1) {
      this.currentPort = fixed ?? (await freePort(this.host));
      try {
        await this.launch();
        return;
      } catch (error) {
        const inUse = error instanceof FloeError && /address already in use/i.test(error.message);
        if (!inUse || fixed !== undefined || attempt >= START_ATTEMPTS_MAX) {
          this.cleanup();
          throw error;
        }
      }
    }
  }

  async restart(): Promise<void> {
    await this.stopProcess();
    this.stopping = undefined;
    await this.launch();
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopProcess().finally(() => this.cleanup());
    return this.stopping;
  }

  private ensureTempDir(): string {
    if (this.tempDir === undefined) this.tempDir = mkdtempSync(join(tmpdir(), 'floe-nats-'));
    return this.tempDir;
  }

  private writeConfig(): string {
    const dir = this.ensureTempDir();
    let storeDir: string | undefined;
    if (this.options.jetstream === true) {
      storeDir = this.options.storeDir ?? join(dir, 'jetstream');
      mkdirSync(storeDir, { recursive: true });
    }
    const file = join(dir, 'nats.conf');
    const maxPayload = this.options.maxPayloadBytes ?? DEFAULT_NATS_MAX_PAYLOAD_BYTES;
    writeFileSync(file, configText(this.currentPort, this.host, this.serverName, maxPayload, storeDir, this.options));
    return file;
  }

  private async launch(): Promise<void> {
    const config = this.writeConfig();
    this.stderrTail = '';
    const child = spawn(this.binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'], env: serverEnv(this.options.goMaxProcs) });
    this.child = child;
    live.add(child);
    let exitInfo: string | undefined;
    let spawnError: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
        live.delete(child);
        resolve();
      });
      child.once('error', (error) => {
        // spawn failed (e.g. not executable): no 'exit' follows
        spawnError = error;
        live.delete(child);
        resolve();
      });
    });
    child.stderr?.setEncoding('utf8');
    // Always drain stderr (a full pipe would block the server); keep only the tail.
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.unref();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    if (child.pid !== undefined) watchParent(child);

    const timeoutMs = this.options.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    while (true) {
      if (spawnError !== undefined) throw new FloeError('INTERNAL', `cannot run ${this.binary}: ${spawnError.message}`, { cause: spawnError });
      if (exitInfo !== undefined) {
        throw new FloeError('INTERNAL', `nats-server exited during startup (${exitInfo}) on port ${this.currentPort}: ${this.failureOutput()}`);
      }
      if (await probe(this.dialHost, this.currentPort, this.serverName, Math.max(deadline - Date.now(), 1))) return;
      if (Date.now() >= deadline) {
        await this.stopProcess();
        throw new FloeError('INTERNAL', `nats-server not ready on port ${this.currentPort} after ${timeoutMs} ms: ${this.failureOutput()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS));
    }
  }

  private failureOutput(): string {
    let out = this.stderrTail;
    if (this.options.logFile !== undefined) {
      try {
        out += readFileSync(this.options.logFile, 'utf8').slice(-STDERR_TAIL_BYTES);
      } catch {
        // no log yet
      }
    }
    return out.trim() === '' ? '(no output)' : out.trim();
  }

  private async stopProcess(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null || !live.has(child)) {
      await this.exited;
      return;
    }
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_KILL_AFTER_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(killTimer);
    }
  }

  private cleanup(): void {
    if (this.tempDir !== undefined) {
      rmSync(this.tempDir, { recursive: true, force: true });
      this.tempDir = undefined;
    }
  }
}

/** One readiness check: connect, read the INFO line, check it is our server. */
function probe(host: string, port: number, serverName: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let buffer = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setEncoding('utf8');
    socket.setTimeout(Math.min(timeoutMs, 1_000), () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\r\n');
      if (end === -1) {
        if (buffer.length > 64 * 1024) finish(false);
        return;
      }
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) return finish(false);
      try {
        const info = JSON.parse(line.slice(5)) as { server_name?: unknown };
        finish(info.server_name === serverName);
      } catch {
        finish(false);
      }
    });
  });
}

/**
 * nats-server (and redis-server, for bench) cannot watch its parent, so a tiny shell does: it reads a pipe from this
 * process and, when the pipe closes (this process exited, even by SIGKILL), stops the
 * server. Exit hooks alone miss SIGKILL (say a test runner's timeout).
 */
export function watchParent(server: ChildProcess): void {
  const watchdog = spawn('sh', ['-c', 'cat >/dev/null; kill -TERM "$0" 2>/dev/null', String(server.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  server.once('exit', () => watchdog.kill('SIGKILL'));
  watchdog.unref();
  (watchdog.stdin as { unref?: () => void } | null)?.unref?.();
}
