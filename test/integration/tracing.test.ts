/**
 * Tracing, embedded: with an SDK registered, one flow is one trace of
 * flow -> submit -> schedule / queue -> fetch-inputs / run -> serialize, and a span opened by
 * the user's task inside a pool thread nests under floe's run span. Without an SDK, floe
 * records nothing and puts no traceparent on the wire.
 */
import t from 'tap';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { flow } from '../../src/index.ts';
import { activeTraceparent, tracingEnabled } from '../../src/telemetry/trace.ts';
import { THREAD_SPANS_CHANNEL, type PostedSpan } from '../fixtures/otel-channel.ts';
import { boom, sum, userSpan } from '../fixtures/traced-tasks.ts';
import { localClient } from '../helpers/e2e.ts';

const threadSetup = new URL('../fixtures/otel-thread-setup.ts', import.meta.url).href;

t.test('without an SDK nothing is traced', async (t) => {
  t.equal(tracingEnabled(), false);
  t.equal(activeTraceparent(), '');
  const client = await localClient(t, { threads: 1 });
  t.equal(await client.run(flow('untraced', () => sum([userSpan(1), userSpan(2)]))), 6);
});

t.test('with an SDK: one trace per flow, user spans under run', async (t) => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  t.teardown(async () => {
    await provider.shutdown();
    trace.disable();
  });
  t.equal(tracingEnabled(), true);

  const threadSpans: PostedSpan[] = [];
  const channel = new BroadcastChannel(THREAD_SPANS_CHANNEL);
  t.teardown(() => channel.close());
  const userSpans = new Promise<void>((resolve) => {
    channel.onmessage = (ev: MessageEvent) => {
      threadSpans.push(...(ev.data as PostedSpan[]));
      if (threadSpans.filter((s) => s.name === 'user-work').length >= 2) resolve();
    };
  });

  const client = await localClient(t, { workers: 2, threads: 1, threadSetup });
  const result = await client.run(flow('doubled', () => sum([userSpan(1), userSpan(2)])));
  t.equal(result, 6);
  await userSpans;

  const spans = exporter.getFinishedSpans();
  const byName = (name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
  const parentOf = (s: { parentSpanContext?: { spanId: string } | undefined }): ReadableSpan | undefined =>
    spans.find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId);

  const [root] = byName('flow doubled');
  t.ok(root, 'a flow span');
  if (root === undefined) return;
  t.equal(root.parentSpanContext, undefined, 'the flow span is the root');
  t.equal(root.attributes['floe.flow'], 'doubled');
  const traceId = root.spanContext().traceId;
  for (const s of spans) t.equal(s.spanContext().traceId, traceId, `${s.name} is in the flow's trace`);

  const [submit] = byName('submit');
  t.equal(parentOf(submit!), root, 'submit under flow');
  t.equal(parentOf(byName('schedule')[0]!), submit, 'schedule under submit');
  const queues = byName('queue');
  t.equal(queues.length, 3, 'a queue span per task');
  for (const q of queues) t.equal(parentOf(q), submit, 'queue under submit');
  const runs = byName('run');
  t.equal(runs.length, 3, 'a run span per task');
  for (const r of runs) {
    t.equal(parentOf(r)?.name, 'queue', 'run under queue');
    t.equal(parentOf(r)?.attributes['floe.task.key'], r.attributes['floe.task.key']);
    t.match(r.attributes, { 'floe.task.name': String, 'floe.worker': String, 'floe.attempt': 1, 'floe.serializer': 'msgpack' });
  }
  t.same(new Set(runs.map((r) => r.attributes['floe.task.name'])), new Set(['userSpan', 'sum']));
  for (const f of byName('fetch-inputs')) t.equal(parentOf(f)?.name, 'queue', 'fetch-inputs under queue');
  const serializes = byName('serialize');
  t.equal(serializes.length, 3);
  for (const s of serializes) {
    t.equal(parentOf(s)?.name, 'run', 'serialize under run');
    t.equal(s.attributes['floe.serializer'], 'msgpack');
    t.type(s.attributes['floe.bytes'], 'number');
  }

  const userWork = threadSpans.filter((s) => s.name === 'user-work');
  const userRuns = runs.filter((r) => r.attributes['floe.task.name'] === 'userSpan').map((r) => r.spanContext().spanId);
  for (const u of userWork) {
    t.equal(u.traceId, traceId, 'the user span is in the flow trace');
    t.ok(userRuns.includes(u.parentSpanId!), "the user span's parent is floe's run span");
  }

  await t.test('a failing task: run span has error status and the exception', async (t) => {
    exporter.reset();
    await t.rejects(client.run(flow('failing', () => boom(1))), { code: 'TASK_ERROR' });
    const run = exporter.getFinishedSpans().find((s) => s.name === 'run');
    t.equal(run?.status.code, SpanStatusCode.ERROR);
    t.match(run?.events.find((e) => e.name === 'exception')?.attributes, { 'exception.message': /boom on purpose/ });
    const root = exporter.getFinishedSpans().find((s) => s.name === 'flow failing');
    t.equal(root?.status.code, SpanStatusCode.ERROR);
  });
});
