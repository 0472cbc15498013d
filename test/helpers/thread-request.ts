/** Thread requests for the executor tests: a task of test/fixtures/tasks.ts with its arguments. */
import type { SerializerRef } from '../../src/graph/spec.ts';
import type { ThreadRequest } from '../../src/runtime/protocol.ts';
import { encodeArgs } from '../../src/serde/index.ts';

export const TASKS = new URL('../fixtures/tasks.ts', import.meta.url).href;
export const MSGPACK: SerializerRef = { id: 'msgpack', module: '' };

export function threadRequest(exportName: string, args: unknown[] = [], extra: Partial<ThreadRequest> = {}): ThreadRequest {
  return {
    taskKey: `${exportName}-1`,
    name: exportName,
    module: TASKS,
    exportName,
    args: encodeArgs(args, () => undefined).bytes,
    deps: [],
    serializer: MSGPACK,
    attempt: 0,
    ...extra,
  };
}
