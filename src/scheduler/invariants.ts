/**
 * Consistency checks over the whole scheduler state. O(tasks + edges): tests call it
 * after every event; production code never needs to.
 */
import { assert } from '../errors.ts';
import { STATE_NAMES } from './core.ts';
import type { SchedulerCore } from './core.ts';
import { isActive } from './state.ts';
import type { TaskState } from './state.ts';

function checkLinks(core: SchedulerCore, ts: TaskState): void {
  const id = ts.id;
  for (const dep of ts.dependencies) {
    assert(core.tasks.get(dep.id) === dep, `${id}: dependency ${dep.id} is forgotten`);
    assert(dep.dependents.has(ts), `${id}: missing from dependents of ${dep.id}`);
    assert(dep.waiters.has(ts) === isActive(ts.state), `${id} (${ts.state}): wrong waiter status on ${dep.id}`);
    assert(ts.waitingOn.has(dep) === (ts.state === 'waiting' && dep.state !== 'memory'), `${id}: waitingOn ${dep.id}`);
    assert(dep.clientId === ts.clientId, `${id}: depends on another client's task ${dep.id}`);
  }
  assert(ts.waitingOn.size <= ts.dependencies.length, `${id}: waitingOn has non-dependencies`);
  for (const d of ts.dependents) {
    assert(core.tasks.get(d.id) === d, `${id}: dependent ${d.id} is forgotten`);
    assert(d.dependencies.includes(ts), `${id}: dependent ${d.id} does not list it`);
  }
  for (const d of ts.waiters) {
    assert(ts.dependents.has(d), `${id}: waiter ${d.id} is not a dependent`);
    assert(isActive(d.state), `${id}: waiter ${d.id} is ${d.state}`);
  }
}

function checkState(core: SchedulerCore, ts: TaskState): void {
  const id = ts.id;
  const s = ts.state;
  assert(!ts.ready, `${id}: still marked ready after the event`);
  assert((s === 'processing') === (ts.processingOn !== undefined), `${id}: processingOn vs ${s}`);
  assert((s === 'queued') === (ts.heapIndex >= 0 && core.queue.has(ts)), `${id}: queue membership vs ${s}`);
  assert((ts.dueMs >= 0) === core.retrying.has(ts), `${id}: retry bookkeeping`);
  assert(ts.dueMs < 0 || s === 'waiting', `${id}: retry due while ${s}`);
  assert(s === 'memory' || ts.whoHas.size === 0, `${id}: holders while ${s}`);
  assert(s === 'memory' || ts.inline === undefined, `${id}: inline data while ${s}`);
  if (s === 'processing') {
    const w = ts.processingOn!;
    assert(core.workers.get(w.id) === w, `${id}: processing on a lost worker ${w.id}`);
    assert(w.processing.has(ts), `${id}: not in ${w.id}.processing`);
  }
  if (s === 'processing' || s === 'queued') {
    for (const dep of ts.dependencies) assert(dep.state === 'memory', `${id} (${s}): input ${dep.id} is ${dep.state}`);
  }
  if (s === 'waiting') assert(ts.waitingOn.size > 0 || ts.dueMs >= 0, `${id}: waiting on nothing`);
  if (s === 'memory') {
    assert(ts.whoHas.size > 0 || ts.inline !== undefined, `${id}: in memory nowhere`);
    assert(ts.wanted || ts.waiters.size > 0, `${id}: in memory but not needed`);
    for (const w of ts.whoHas) {
      assert(core.workers.get(w.id) === w && w.hasWhat.has(ts), `${id}: bad holder ${w.id}`);
    }
  }
  if (s === 'erred') assert(ts.error !== undefined, `${id}: erred without an error`);
  if (isActive(s)) assert(ts.wanted || ts.waiters.size > 0, `${id}: ${s} but nothing needs it`);
  if (s === 'released' || s === 'erred') {
    assert(ts.wanted || ts.dependents.size > 0, `${id}: ${s} record should be forgotten`);
  }
}

function checkWorkers(core: SchedulerCore): void {
  assert(core.workerList.length === core.workers.size, 'worker list and map differ');
  let processing = 0;
  for (let i = 0; i < core.workerList.length; i++) {
    const w = core.workerList[i]!;
    assert(core.workers.get(w.id) === w, `worker ${w.id} not in map`);
    if (i > 0) assert(core.workerList[i - 1]!.order < w.order, 'workers out of join order');
    processing += w.processing.size;
    for (const ts of w.processing) assert(ts.processingOn === w && core.tasks.get(ts.id) === ts, `${w.id}: stray ${ts.id}`);
    for (const ts of w.hasWhat) assert(ts.whoHas.has(w) && core.tasks.get(ts.id) === ts, `${w.id}: stray held ${ts.id}`);
    if (w.processing.size < w.capacity) {
      const runnable = core.queue.bestFor(w);
      assert(runnable === undefined, `${w.id} has capacity but ${runnable?.id} is queued`);
    }
  }
  assert(processing === core.counts.processing, 'worker processing counts do not add up');
}

export function checkInvariants(core: SchedulerCore): void {
  const counted = Object.fromEntries(STATE_NAMES.map((name) => [name, 0])) as Record<string, number>;
  let clientTotal = 0;
  for (const [clientId, own] of core.clientTasks) {
    clientTotal += own.size;
    for (const ts of own) assert(ts.clientId === clientId && core.tasks.get(ts.id) === ts, `client ${clientId}: stray ${ts.id}`);
  }
  assert(clientTotal === core.tasks.size, 'client task index does not match');
  for (const [id, ts] of core.tasks) {
    assert(ts.id === id && ts.state !== 'forgotten', `${id}: bad record`);
    counted[ts.state]!++;
    checkLinks(core, ts);
    checkState(core, ts);
  }
  for (const name of STATE_NAMES) assert(counted[name] === core.counts[name], `count of ${name} is off`);
  assert(core.queue.size === core.counts.queued, 'queue size differs from queued count');
  for (const ts of core.retrying) assert(core.tasks.get(ts.id) === ts, `retrying forgotten ${ts.id}`);
  assert(core.readyList.length === 0 && core.freed.size === 0, 'event leftovers');
  checkWorkers(core);
}
