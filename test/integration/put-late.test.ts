/**
 * A put answered late while the worker holds the value (client/put.ts, Putter.unanswered),
 * embedded: the worker's reports to the coordinator are held back on the bus past the put's
 * time limit. The client must only ask the coordinator whether it knows the key until the
 * report gets through, so that the value the worker holds is the put's. Before, it sent the
 * put's task at once: the coordinator made the key, the builtin ran and failed with
 * RESULT_UNAVAILABLE, and the worker's report, coming later, found the key taken and
 * dropped the value.
 */
import t from 'tap';
import { decodeMessage } from '../../src/transport/codec.ts';
import { sum } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient } from '../helpers/e2e.ts';

t.test("a put answered late: the worker's value is the put's, and the put's task is never sent", async (t) => {
  const client = await localClient(t, { workers: 1, threads: 1 });
  const { bus } = clusterOf(client);
  const deliver = bus.deliver.bind(bus);
  t.teardown(() => {
    bus.deliver = deliver;
  });
  let holding = false;
  const held: Parameters<typeof deliver>[] = [];
  /** The client's submissions to the coordinator: wants only, and those with a task of the builtin put. */
  const seen = { asks: 0, putTasks: 0 };
  let decided: () => void = () => undefined;
  const askedTwiceOrSent = new Promise<void>((resolve) => (decided = resolve));
  bus.deliver = (subject, data, headers, replyTo) => {
    if (holding && subject.endsWith('.coord.events')) {
      held.push([subject, data, headers, replyTo]);
      return true;
    }
    if (subject.endsWith('.coord.submit')) {
      const wire = decodeMessage(data);
      if (wire.type === 'submit' && wire.tasks.length === 0) seen.asks += 1;
      if (wire.type === 'submit' && wire.tasks.some((spec) => spec.exportName === 'put')) seen.putTasks += 1;
      if (seen.asks >= 2 || seen.putTasks > 0) decided();
    }
    return deliver(subject, data, headers, replyTo);
  };

  holding = true;
  const put = client.put([7, 8, 9], { timeoutMs: 100 });
  await askedTwiceOrSent;
  t.equal(seen.putTasks, 0, "past its time limit, the client asked whether the coordinator knows the key; it did not send the put's task");
  t.ok(held.length > 0, "the worker's reports were held back meanwhile");
  holding = false;
  for (const message of held.splice(0)) deliver(...message);

  const future = await put;
  t.same(await future.result(), [7, 8, 9], 'the put resolves once the report got through, with the value the worker holds');
  t.equal(await client.submit(sum, future).result(), 24, 'and tasks read it');
  t.equal(seen.putTasks, 0, "the put's task was never sent");
});
