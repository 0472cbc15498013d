/**
 * Checks a scheduler configuration given by a program (Client.local's `scheduler`), naming
 * the field that is wrong: a saturation of 0 would send no task to any worker, a misspelt
 * field would be ignored. The CLI's flags are checked where they are parsed.
 */
import { FloeError } from '../errors.ts';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from './types.ts';

type Rule = (value: unknown) => string | undefined;

const number = (min: number, above: boolean, integer: boolean): Rule => (value) => {
  const ok = typeof value === 'number' && Number.isFinite(value) && (above ? value > min : value >= min) && (!integer || Number.isInteger(value));
  return ok ? undefined : `${integer ? 'an integer' : 'a number'} ${above ? 'above' : 'of at least'} ${min}`;
};

const RULES: Record<keyof SchedulerConfig, Rule> = {
  workerSaturation: number(0, true, false),
  saturationWindowMs: number(0, false, false),
  maxTasksPerThread: number(1, false, true),
  allowedFailures: number(0, false, true),
  logSizeMax: number(0, false, true),
  stealing: (value) => (typeof value === 'boolean' ? undefined : 'true or false'),
  earlyPerWorker: number(0, false, true),
};

/** Throws INVALID_OPTION, naming the field (as `${where}.field`), unless every field of `config` is a known one with a value it may take. */
export function checkSchedulerConfig(config: unknown, where: string): void {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new FloeError('INVALID_OPTION', `${where} must be an object of scheduler settings (got ${String(config)})`);
  }
  for (const [field, value] of Object.entries(config)) {
    if (!Object.hasOwn(RULES, field)) {
      throw new FloeError('INVALID_OPTION', `${where}.${field} is not a scheduler setting (they are: ${Object.keys(DEFAULT_SCHEDULER_CONFIG).join(', ')})`);
    }
    if (value === undefined) continue;
    const wanted = RULES[field as keyof SchedulerConfig](value);
    if (wanted !== undefined) throw new FloeError('INVALID_OPTION', `${where}.${field} must be ${wanted} (got ${String(value)})`);
  }
}
