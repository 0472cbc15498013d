/**
 * Tracing across a real cluster: nats-server, a coordinator and two worker processes export
 * over OTLP/HTTP (--otlp) to a receiver this test runs; the test process is the client.
 * One flow must arrive as one trace whose parent links go client -> coordinator -> both
 * workers, through both sides of a peer-to-peer gRPC transfer, and into a span the user's
 * task opens in a pool thread. Metrics arrive over OTLP too.
 */
import t from 'tap';
import { registerSdk } from '../../cluster/otlp-sdk.ts';
import { flow } from '../../src/index.ts';
import { METRIC } from '../../src/telemetry/metrics.ts';
import { makeBytes, verifyBytes } from '../fixtures/cluster-tasks.ts';
import { userSpan } from '../fixtures/traced-tasks.ts';
import { clusterClient, localCluster } from '../helpers/cluster.ts';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';

t.test('one flow is one trace across client, coordinator, two workers and a transfer', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  process.env.FLOE_METRICS_INTERVAL_MS = '200'; // the cluster processes inherit it
  const cluster = await localCluster(t, {
    workers: 2,
    threads: 1,
    otlp: receiver.url,
    workerArgs: (i) => ['--resources', i === 0 ? 'left=1' : 'right=1'],
  });
  const sdk = registerSdk('floe-client', receiver.url);
  const client = await clusterClient(t, cluster);

  // 200 KB is past the inline limit: the right worker pulls it from the left one over gRPC.
  const traced = flow('traced-transfer', () => {
    const bytes = makeBytes.with({ resources: { left: 1 } })(200_000, 7);
    return [verifyBytes.with({ resources: { right: 1 } })(bytes, 7), userSpan.with({ resources: { right: 1 } })(21)];
  });
  const [checked, doubled] = await client.run(traced);
  t.match(checked, { length: 200_000, bad: 0 });
  t.equal(doubled, 42);
  // A put (its own trace): the client's put span, the worker's store span under it, and the
  // coordinator's schedule span of the put's task under it too.
  const put = await client.put(new Uint8Array(1000), { serializer: 'raw' });
  t.equal((await put.result()).byteLength, 1000);
  await sdk.shutdown(); // sends the client's spans

  const named = (name: string): ReceivedSpan[] => receiver.spans.filter((s) => s.name === name);
  // Processes export in batches, each on its own schedule: wait until every kind of span
  // is in (the put's schedule span too, which the coordinator may export after the flow's)
  // and every parent a span names has arrived.
  const putScheduled = (): boolean => {
    const [putSpan] = named('put');
    return putSpan !== undefined && receiver.spans.some((s) => s.name === 'schedule' && s.parentSpanId === putSpan.spanId);
  };
  const complete = (): boolean => {
    const ids = new Set(receiver.spans.map((s) => s.spanId));
    return (
      named('flow traced-transfer').length === 1 &&
      named('schedule').length >= 1 &&
      named('queue').length >= 3 &&
      named('fetch-inputs').length >= 3 &&
      named('run').length >= 3 &&
      named('serialize').length >= 3 &&
      named('transfer.serve').length >= 1 &&
      named('transfer.fetch').length >= 1 &&
      named('user-work').length >= 1 &&
      named('put').length === 1 &&
      named('put.store').length === 1 &&
      putScheduled() &&
      receiver.spans.every((s) => s.parentSpanId === '' || ids.has(s.parentSpanId))
    );
  };
  await receiver.waitFor('every span of the flow', complete);
  const [root] = named('flow traced-transfer');
  if (root === undefined) return;
  const trace = receiver.spans.filter((s) => s.traceId === root.traceId);
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const parent = (s: ReceivedSpan | undefined): ReceivedSpan | undefined => (s === undefined ? undefined : byId.get(s.parentSpanId));
  const runOf = (taskName: string): ReceivedSpan | undefined => trace.find((s) => s.name === 'run' && s.attributes['floe.task.name'] === taskName);

  t.equal(root.service, 'floe-client');
  t.equal(root.parentSpanId, '', 'the flow span is the root of its trace');
  const submit = trace.find((s) => s.name === 'submit');
  t.equal(parent(submit), root, 'client: submit under flow');
  const schedule = trace.find((s) => s.name === 'schedule');
  t.equal(schedule?.service, 'floe-coordinator');
  t.equal(parent(schedule), submit, 'coordinator: schedule under the client submit');

  const producer = runOf('makeBytes');
  const consumer = runOf('verifyBytes');
  t.equal(producer?.service, 'floe-worker');
  t.equal(consumer?.service, 'floe-worker');
  t.not(producer?.instance, consumer?.instance, 'the two runs are in two worker processes');
  for (const run of [producer, consumer, runOf('userSpan')]) {
    const queue = parent(run);
    t.equal(queue?.name, 'queue');
    t.equal(queue?.service, 'floe-coordinator', 'worker run under the coordinator queue span');
    t.equal(parent(queue), submit);
  }
  t.match(consumer?.attributes, { 'floe.task.key': String, 'floe.attempt': 1, 'floe.worker': String });

  const fetch = trace.find((s) => s.name === 'transfer.fetch');
  t.equal(fetch?.instance, consumer?.instance, 'the consumer fetches');
  t.equal(parent(fetch)?.name, 'fetch-inputs');
  t.equal(parent(parent(fetch)), parent(consumer), "fetch-inputs belongs to the consumer's run");
  const serve = trace.find((s) => s.name === 'transfer.serve');
  t.equal(serve?.instance, producer?.instance, 'the producer serves');
  t.equal(parent(serve), fetch, 'serve side under fetch side (gRPC metadata)');
  t.equal(serve?.attributes['floe.bytes'], '200000');
  t.equal(fetch?.attributes['floe.bytes'], '200000');

  const user = trace.find((s) => s.name === 'user-work');
  t.equal(parent(user), runOf('userSpan'), "the user's span nests under floe's run span");

  const [putSpan] = named('put');
  t.equal(putSpan?.service, 'floe-client');
  t.match(putSpan?.attributes, { 'floe.task.key': put.key, 'floe.bytes': '1000', 'floe.worker': String });
  const store = named('put.store')[0];
  t.equal(store?.service, 'floe-worker');
  t.equal(store?.parentSpanId, putSpan?.spanId, "the worker's store span under the client's put (gRPC metadata)");
  t.ok(receiver.spans.some((s) => s.name === 'schedule' && s.parentSpanId === putSpan?.spanId), "the coordinator's schedule span of the put under it");

  await receiver.waitFor('metrics from the coordinator and the workers', () =>
    receiver.metrics.get(METRIC.workersConnected)?.has('floe-coordinator') === true &&
    receiver.metrics.get(METRIC.taskDuration)?.has('floe-worker') === true &&
    receiver.metrics.get(METRIC.transferBytes)?.has('floe-worker') === true,
  );
  t.pass('metrics arrived over OTLP');
});
