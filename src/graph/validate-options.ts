/**
 * Eager validation of per-task options, piscina-style: every problem is an
 * INVALID_OPTION error whose message names the option and shows the bad value,
 * e.g. `options.retries must be a non-negative integer (got -1)`.
 */
import { FloeError } from '../errors.ts';
import { TIMER_MAX_MS } from '../util/clock.ts';
import type { TaskOptions } from './options.ts';
import type { SerializerRef } from './spec.ts';

/** Options with every default filled in, as the client puts them into a TaskSpec. */
export interface NormalizedTaskOptions {
  retries: number;
  retryDelayMs: number;
  retryBackoff: number;
  /** 0 means no timeout. */
  timeoutMs: number;
  serializer: SerializerRef;
  priority: number;
  /** Resource needs as numbers (sizes in bytes). */
  resources: Record<string, number>;
  key?: string;
  name?: string;
}

/** Put a limit on everything: more retries than this is a mistake, not a policy. */
export const RETRIES_MAX = 1000;
/** Longest key or name accepted. */
export const KEY_LENGTH_MAX = 256;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'retries',
  'retryDelayMs',
  'retryBackoff',
  'timeoutMs',
  'serializer',
  'priority',
  'resources',
  'key',
  'name',
]);

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const SIZE_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function invalid(what: string, rule: string, value: unknown): FloeError {
  return new FloeError('INVALID_OPTION', `${what} must be ${rule} (got ${describe(value)})`);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Parses a size: a non-negative number of bytes, or a string like '2GiB', '512MB',
 * '1.5 GB', '100KiB', '10B'. kB/MB/GB/TB are powers of 1000; KiB/MiB/GiB/TiB of 1024.
 * Units are case-insensitive. `what` names the value in the error message.
 */
export function parseSize(text: string | number, what: string): number {
  if (typeof text === 'number') {
    if (!isFiniteNumber(text) || text < 0) throw invalid(what, 'a non-negative number of bytes', text);
    return text;
  }
  const match = typeof text === 'string' ? SIZE_RE.exec(text) : null;
  const factor = match === null ? undefined : SIZE_UNITS[match[2]!.toLowerCase()];
  if (match === null || factor === undefined) {
    throw invalid(what, "a size such as '512MB' or '2GiB'", text);
  }
  return Math.round(Number(match[1]) * factor);
}

function checkInteger(value: unknown, what: string, max: number): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max) {
    throw invalid(what, `a non-negative integer <= ${max}`, value);
  }
  return value as number;
}

function checkNumber(value: unknown, what: string, min: number, minInclusive: boolean): number {
  const ok = isFiniteNumber(value) && (minInclusive ? value >= min : value > min);
  if (!ok) {
    const rule = min === 0 && minInclusive ? 'a non-negative finite number' : `a finite number ${minInclusive ? '>=' : '>'} ${min}`;
    throw invalid(what, rule, value);
  }
  return value;
}

/** Throws INVALID_OPTION unless per-call task options are an object (a forgotten options argument would shift the task's arguments). */
export function checkOptionsObject(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FloeError('INVALID_OPTION', `task options must be an object such as { priority: 1 } (got ${Array.isArray(options) ? 'an array' : String(options)})`);
  }
}

/** Throws INVALID_OPTION for an option of `options` not in `known`, naming the known ones (`what`: e.g. 'put options'). */
export function checkOptionKeys(options: object, known: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new FloeError('INVALID_OPTION', `${what}: unknown option '${key}' (known: ${[...known].join(', ')})`);
  }
}

/** Throws INVALID_OPTION unless `ms` is undefined or a whole number of milliseconds a timer can wait (`what`: the option's name). */
export function checkTimeoutOption(ms: number | undefined, what: string): void {
  if (ms !== undefined && (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > TIMER_MAX_MS)) {
    throw new FloeError('INVALID_OPTION', `${what} must be an integer number of milliseconds in 1..${TIMER_MAX_MS} (got ${String(ms)})`);
  }
}

/** `ms`, if a timer can wait that long (TIMER_MAX_MS: a longer timer would fire at once). */
function checkTimer(ms: number, what: string): number {
  if (ms > TIMER_MAX_MS) throw invalid(what, `at most ${TIMER_MAX_MS} ms (about 24.8 days)`, ms);
  return ms;
}

/** A serializer option: an id, or a definition (defineSerializer). */
export function checkSerializer(value: unknown, what: string): SerializerRef {
  if (typeof value === 'string') {
    if (value === '') throw invalid(what, 'a non-empty serializer id', value);
    return { id: value, module: '' };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { id, moduleUrl } = value as { id?: unknown; moduleUrl?: unknown };
    if (typeof id !== 'string' || id === '') throw invalid(`${what}.id`, 'a non-empty string', id);
    if (typeof moduleUrl !== 'string') throw invalid(`${what}.moduleUrl`, 'a string', moduleUrl);
    return { id, module: moduleUrl };
  }
  throw invalid(what, 'a serializer id or a serializer definition', value);
}

/** Resource amounts (numbers of at least 0, or sizes such as '8GiB'), naming the one that is wrong. */
export function checkResources(value: unknown, what: string): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(what, 'an object of resource amounts', value);
  }
  const out: Record<string, number> = {};
  for (const [name, amount] of Object.entries(value as Record<string, unknown>)) {
    const where = `${what}.${name}`;
    if (typeof amount === 'string') {
      out[name] = parseSize(amount, where);
    } else {
      out[name] = checkNumber(amount, where, 0, true);
    }
  }
  return out;
}

function checkText(value: unknown, what: string, noSlash: boolean): string {
  if (typeof value !== 'string' || value === '' || value.length > KEY_LENGTH_MAX) {
    throw invalid(what, `a non-empty string of at most ${KEY_LENGTH_MAX} characters`, value);
  }
  if (noSlash && value.includes('/')) throw invalid(what, "a string without '/'", value);
  return value;
}

/**
 * Validates a TaskOptions object eagerly and fills in defaults. `where` prefixes option
 * names in error messages (usually 'options').
 */
export function normalizeOptions(opts: unknown, where = 'options'): NormalizedTaskOptions {
  const out: NormalizedTaskOptions = {
    retries: 0,
    retryDelayMs: 0,
    retryBackoff: 2,
    timeoutMs: 0,
    serializer: { id: 'msgpack', module: '' },
    priority: 0,
    resources: {},
  };
  if (opts === undefined) return out;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw invalid(where, 'an object', opts);
  }
  for (const [name, value] of Object.entries(opts as Record<string, unknown>)) {
    if (!KNOWN_OPTIONS.has(name)) {
      throw new FloeError('INVALID_OPTION', `${where}.${name} is not a known option`);
    }
    if (value === undefined) continue;
    const what = `${where}.${name}`;
    applyOption(out, name as keyof TaskOptions, value, what);
  }
  return out;
}

function applyOption(out: NormalizedTaskOptions, name: keyof TaskOptions, value: unknown, what: string): void {
  switch (name) {
    case 'retries':
      out.retries = checkInteger(value, what, RETRIES_MAX);
      return;
    case 'retryDelayMs':
      out.retryDelayMs = checkTimer(checkNumber(value, what, 0, true), what);
      return;
    case 'retryBackoff':
      out.retryBackoff = checkNumber(value, what, 1, true);
      return;
    case 'timeoutMs':
      out.timeoutMs = checkTimer(checkNumber(value, what, 0, false), what);
      return;
    case 'serializer':
      out.serializer = checkSerializer(value, what);
      return;
    case 'priority':
      if (!isFiniteNumber(value)) throw invalid(what, 'a finite number', value);
      out.priority = value;
      return;
    case 'resources':
      out.resources = checkResources(value, what);
      return;
    case 'key':
      out.key = checkText(value, what, true);
      return;
    case 'name':
      out.name = checkText(value, what, false);
      return;
  }
}

/**
 * Merges two option objects: fields set in `override` win; `resources` are merged per
 * resource name. Neither input is modified and nothing is validated here.
 */
export function mergeOptions(base: TaskOptions, override: TaskOptions): TaskOptions {
  const out: TaskOptions = { ...base };
  for (const [name, value] of Object.entries(override) as [keyof TaskOptions, unknown][]) {
    if (value === undefined) continue;
    (out as Record<string, unknown>)[name] = value;
  }
  if (base.resources !== undefined && override.resources !== undefined) {
    out.resources = { ...base.resources, ...override.resources };
  }
  return out;
}
