/** A task spec for tests that drive the scheduler or the codec directly. */
import type { TaskSpec } from '../../src/graph/spec.ts';

export function spec(key: string, deps: string[] = [], extra: Partial<TaskSpec> = {}): TaskSpec {
  return {
    key,
    name: key,
    module: 'file:///tasks.js',
    exportName: key,
    args: new Uint8Array(),
    deps,
    serializer: { id: 'msgpack', module: '' },
    priority: 0,
    retries: 0,
    retryDelayMs: 0,
    retryBackoff: 2,
    timeoutMs: 0,
    resources: {},
    ...extra,
  };
}
