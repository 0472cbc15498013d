/**
 * Metrics, embedded: with a meter provider registered before the cluster starts, a flow
 * shows up as tasks by state, tasks finished, workers connected, queue length, task
 * durations and memory held, read through the OTel metrics API.
 */
import t from 'tap';
import { metrics } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { flow } from '../../src/index.ts';
import { METRIC } from '../../src/telemetry/metrics.ts';
import { sum, userSpan } from '../fixtures/traced-tasks.ts';
import { localClient } from '../helpers/e2e.ts';

class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

t.test('a flow is visible in the metrics', async (t) => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  t.teardown(async () => {
    await provider.shutdown();
    metrics.disable();
  });
  const client = await localClient(t, { workers: 2, threads: 1 });
  t.equal(await client.run(flow('measured', () => sum([userSpan(1), userSpan(2), userSpan(3)]))), 12);

  const { resourceMetrics } = await reader.collect();
  const all: MetricData[] = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  const named = (name: string): MetricData => {
    const m = all.find((x) => x.descriptor.name === name);
    if (m === undefined) throw new Error(`no metric ${name}; have ${all.map((x) => x.descriptor.name).join(', ')}`);
    return m;
  };
  const total = (m: MetricData): number => m.dataPoints.reduce((n, p) => n + (typeof p.value === 'number' ? p.value : 0), 0);

  t.equal(total(named(METRIC.tasksFinished)), 4, 'four tasks finished');
  t.equal(total(named(METRIC.workersConnected)), 2, 'two workers connected');
  const states = named(METRIC.tasks).dataPoints.map((p) => p.attributes['floe.state']);
  t.ok(states.includes('memory'), 'tasks by state include memory');
  const duration = named(METRIC.taskDuration);
  t.equal(duration.dataPointType, DataPointType.HISTOGRAM);
  const count = duration.dataPoints.reduce((n, p) => n + (p.value as { count: number }).count, 0);
  t.equal(count, 4, 'a duration per task');
  t.equal(named(METRIC.queueLength).dataPoints.length, 2, 'a queue length per worker');
  t.equal(named(METRIC.memoryBytes).dataPoints.length, 2, 'memory per worker');
  t.equal(named(METRIC.spilledBytes).dataPoints.length, 2, 'spilled bytes per worker');
});
