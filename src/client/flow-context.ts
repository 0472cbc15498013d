/**
 * The ambient flow a task call belongs to. Flow bodies may be async, so the context
 * lives in AsyncLocalStorage rather than a global variable.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Future } from './future.ts';

export interface FlowBuilder {
  call(def: object, args: unknown[]): Future<never>;
  map(def: object, items: unknown, rest: unknown[]): unknown;
}

// One storage per process, even when two copies of floe are loaded (say src/ by a test
// and dist/ by an example's `import 'floe'`): task calls must see the flow either way.
const KEY = Symbol.for('floe.flowContext');
const holder = globalThis as unknown as Record<symbol, AsyncLocalStorage<FlowBuilder> | undefined>;
const storage = (holder[KEY] ??= new AsyncLocalStorage<FlowBuilder>());

export function currentFlow(): FlowBuilder | undefined {
  return storage.getStore();
}

export function runInFlow<T>(builder: FlowBuilder, body: () => T): T {
  return storage.run(builder, body);
}
