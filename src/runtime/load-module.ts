/**
 * Imports task modules, once per realm (thread), including TypeScript ones.
 *
 * TypeScript modules need tsx's loader hooks. Pool threads are started with `execArgv: []`
 * (a thread that inherits `--import tsx` from its parent gets a half-working tsx), so they
 * register tsx themselves through `tsx/esm/api` the first time they meet a .ts module.
 * A main thread that already runs under tsx (tests, `tsx script.ts`) must not register
 * it a second time; when detection is unsure, the import is tried first and tsx is only
 * registered (then the import retried) on ERR_UNKNOWN_FILE_EXTENSION.
 */
import { hostname } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { FloeError } from '../errors.ts';

const TS_MODULE = /\.(ts|mts|cts|tsx)$/;
/** Global (not module) flag: floe may be loaded twice in a realm (src/ and dist/). */
const TSX_REGISTERED = Symbol.for('floe.runtime.tsxRegistered');

type ModuleNamespace = Record<string, unknown>;
const cache = new Map<string, Promise<ModuleNamespace>>();

function tsxRegistered(): boolean {
  return (globalThis as Record<symbol, unknown>)[TSX_REGISTERED] === true;
}

/** Whether this realm already runs with tsx's hooks (registered by us or by the CLI). */
function tsxActive(): boolean {
  if (tsxRegistered()) return true;
  // Worker threads do not inherit loader hooks from NODE_OPTIONS/execArgv the way the
  // main thread does, and ours are started with execArgv: [], so only trust these there.
  if (!isMainThread) return false;
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return flags.includes('tsx');
}

async function registerTsx(): Promise<void> {
  if (tsxRegistered()) return;
  const { register } = await import('tsx/esm/api');
  register();
  (globalThis as Record<symbol, unknown>)[TSX_REGISTERED] = true;
}

function moduleUrlPath(url: string): string {
  const q = url.search(/[?#]/);
  return q === -1 ? url : url.slice(0, q);
}

async function importModule(url: string): Promise<ModuleNamespace> {
  const isTs = TS_MODULE.test(moduleUrlPath(url));
  if (isTs && !tsxActive()) await registerTsx();
  try {
    return (await import(url)) as ModuleNamespace;
  } catch (e) {
    if (isTs && !tsxRegistered() && (e as { code?: unknown }).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      await registerTsx();
      return (await import(url)) as ModuleNamespace;
    }
    throw e;
  }
}

/**
 * What an UNKNOWN_MODULE error says: the URL, the host that tried (a worker's, or the
 * client's when it looks up an export), the cause, and, when the module (or one it
 * imports) is not there, where task modules must be: workers import them by the URL the
 * client gave, so on several hosts each needs the code at the same path.
 */
function unknownModuleMessage(url: string, host: string, cause: unknown): string {
  const text = `cannot import task module ${url} on host ${host}: ${cause instanceof Error ? cause.message : String(cause)}`;
  if ((cause as { code?: unknown } | undefined)?.code !== 'ERR_MODULE_NOT_FOUND') return text;
  return `${text} (workers import task modules by the URL the client gives: on several hosts, each needs the code, and the packages it imports, at the same path, from a shared file system or the same checkout or image)`;
}

/** Imports a task module (cached); failures are UNKNOWN_MODULE (see unknownModuleMessage). */
export function loadModule(url: string): Promise<ModuleNamespace> {
  let p = cache.get(url);
  if (p === undefined) {
    p = importModule(url).catch((e: unknown) => {
      cache.delete(url); // a later attempt (e.g. after a deploy) may succeed
      throw new FloeError('UNKNOWN_MODULE', unknownModuleMessage(url, hostname(), e), {
        cause: e,
        remoteStack: e instanceof Error ? e.stack : undefined,
      });
    });
    cache.set(url, p);
  }
  return p;
}
