/**
 * Piscina worker entry. Must be loaded as compiled JS (dist/src/runtime/thread.js): the pool
 * starts threads with `execArgv: []`, without tsx, and run-task registers tsx itself when a
 * task module is TypeScript.
 */
import { Piscina } from 'piscina';
import { ownBytes } from '../serde/bytes.ts';
import type { ThreadRequest, ThreadResponse } from './protocol.ts';
import { runTask } from './run-task.ts';

export default async function runInThread(req: ThreadRequest): Promise<ThreadResponse> {
  const res = await runTask(req);
  if (res.type !== 'ok') return res;
  // Transfer the result instead of copying it. The array must own its whole buffer:
  // serializers return views into pooled buffers (msgpackr, Buffer), which must not be
  // detached.
  const bytes = ownBytes(res.bytes);
  const response: ThreadResponse = { ...res, bytes };
  const transferable = {
    get [Piscina.transferableSymbol]() {
      return [bytes.buffer];
    },
    get [Piscina.valueSymbol]() {
      return response;
    },
  };
  return Piscina.move(transferable as unknown as Parameters<typeof Piscina.move>[0]) as unknown as ThreadResponse;
}
