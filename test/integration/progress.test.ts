/**
 * Progress events, embedded: a listener on the client sees a flow's tasks start and
 * finish (done / total, failed, running) and a last event when the flow ends.
 */
import t from 'tap';
import { flow, type FlowProgress } from '../../src/index.ts';
import { boom, range, sum, userSpan } from '../fixtures/traced-tasks.ts';
import { localClient } from '../helpers/e2e.ts';

t.test('a flow reports its progress', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const events: FlowProgress[] = [];
  const listener = (p: FlowProgress): void => {
    events.push(p);
  };
  client.on('progress', listener);

  const n = 6;
  const result = await client.run(flow('fan-in', () => sum(Array.from({ length: n }, (_, i) => userSpan(i)))));
  t.equal(result, 30);
  const last = events.at(-1);
  t.match(last, { flow: 'fan-in', total: n + 1, done: n + 1, failed: 0, running: 0, ended: true }, 'the last event: all done');
  t.ok(events.length > 1, 'events while the flow runs');
  t.ok(events.some((e) => !e.ended && e.running > 0), 'some event shows running tasks');
  for (let i = 1; i < events.length; i++) t.ok(events[i]!.done >= events[i - 1]!.done, 'done never goes back');
  t.ok(events.every((e) => e.done + e.failed + e.running <= e.total), 'counts add up to at most the total');

  await t.test('a fan-out over a future adds its tasks to the total as it expands', async (t) => {
    events.length = 0;
    t.equal(await client.run(flow('expand', () => sum(userSpan.map(range(4))))), 12);
    // Before the list exists: the list, the map and the sum; once it does, the 4 items too.
    t.ok(events.every((e) => e.total === 3 || e.total === 7), `totals 3, then 7 (${events.map((e) => e.total).join(' ')})`);
    for (let i = 1; i < events.length; i++) t.ok(events[i]!.total >= events[i - 1]!.total, 'the total never goes back');
    t.match(events.at(-1), { flow: 'expand', total: 7, done: 7, failed: 0, running: 0, ended: true }, 'the last event counts the 4 items, all done');
  });

  await t.test('failures are counted, and dependents of a failure too', async (t) => {
    events.length = 0;
    await t.rejects(client.run(flow('broken', () => sum([boom(1), userSpan(2)]))), { code: 'TASK_ERROR' });
    const last = events.at(-1);
    t.match(last, { flow: 'broken', total: 3, ended: true });
    t.ok(last !== undefined && last.failed >= 2, `boom and sum failed (${JSON.stringify(last)})`);
    t.not(last?.runId, events.find((e) => e.flow === 'fan-in')?.runId);
  });

  await t.test('no listener: no events, and no progress asked of the coordinator', async (t) => {
    client.off('progress', listener);
    events.length = 0;
    t.equal(await client.run(flow('quiet', () => userSpan(4))), 8);
    t.equal(events.length, 0);
  });

  t.throws(() => client.on('nope' as 'progress', listener), { code: 'INVALID_ARGUMENT' });
  t.throws(() => client.off('nope' as 'progress', listener), { code: 'INVALID_ARGUMENT' }, 'off too');
});
