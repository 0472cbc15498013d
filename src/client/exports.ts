/**
 * Finds the export name of a task definition by importing its module and looking for
 * the definition among the exports. Workers address tasks by (module, export), so a
 * task that is not exported cannot run anywhere: that is reported here, early.
 */
import { FloeError } from '../errors.ts';
import { loadModule } from '../runtime/load-module.ts';
import { ORIGINALS } from './task.ts';

const cache = new WeakMap<object, string>();

export async function resolveExportName(def: object | undefined, moduleUrl: string): Promise<string> {
  if (def === undefined) throw new FloeError('INTERNAL', `no task definition to resolve in ${moduleUrl}`);
  const target = ORIGINALS.get(def) ?? def;
  const cached = cache.get(target);
  if (cached !== undefined) return cached;
  const mod = await loadModule(moduleUrl);
  for (const [name, value] of Object.entries(mod)) {
    if (value === target) {
      cache.set(target, name);
      return name;
    }
  }
  throw new FloeError(
    'UNKNOWN_EXPORT',
    `a task defined in ${moduleUrl} is not exported from it; export it (workers import tasks by module and export name)`,
  );
}

/** The export name if it was resolved before (keys and logs use it when known). */
export function knownExportName(def: object): string | undefined {
  return cache.get(ORIGINALS.get(def) ?? def);
}
