/**
 * floe's metrics, through the OpenTelemetry metrics API. Instruments are made when a
 * coordinator or worker is constructed, from the meter provider registered then (the
 * metrics API has no proxy provider: an SDK must be registered before, as the CLI does).
 * Without an SDK they are the API's no-op instruments: recording costs a call.
 */
import { createNoopMeter, metrics, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';

export const METER_NAME = 'floe';

/** Metric names, documented in the README (Observability). */
export const METRIC = {
  tasks: 'floe.tasks',
  tasksFinished: 'floe.tasks.finished',
  workersConnected: 'floe.workers.connected',
  queueLength: 'floe.worker.queue.length',
  taskDuration: 'floe.task.duration',
  transferBytes: 'floe.transfer.bytes',
  memoryBytes: 'floe.worker.memory.bytes',
  spilledBytes: 'floe.worker.spilled.bytes',
} as const;

function meter(): Meter {
  return metrics.getMeter(METER_NAME);
}

const NoopMeter = createNoopMeter().constructor;

/** Whether a meter records anything (false for the API's no-op meter: no SDK registered). */
function isRecording(m: Meter): boolean {
  return !(m instanceof NoopMeter);
}

export interface CoordinatorMetricsSource {
  counts(): Readonly<Record<string, number>>;
  workersConnected(): number;
}

/** The coordinator's metrics: tasks by state, tasks finished (a counter: its rate is tasks/s), workers. */
export class CoordinatorMetrics {
  private readonly tasksFinished: Counter;
  private readonly recording: boolean;

  constructor(source: CoordinatorMetricsSource) {
    const m = meter();
    this.recording = isRecording(m);
    this.tasksFinished = m.createCounter(METRIC.tasksFinished, { description: 'tasks finished (outcome: memory or erred); its rate is tasks per second' });
    m.createObservableGauge(METRIC.tasks, { description: 'tasks the scheduler knows, by state' }).addCallback((result) => {
      for (const [state, count] of Object.entries(source.counts())) result.observe(count, { 'floe.state': state });
    });
    m.createObservableGauge(METRIC.workersConnected, { description: 'workers registered with the coordinator' }).addCallback((result) => {
      result.observe(source.workersConnected());
    });
  }

  /** Tasks reported finished (in memory) and failed by workers. */
  finished(memory: number, erred: number): void {
    if (!this.recording) return;
    if (memory > 0) this.tasksFinished.add(memory, { 'floe.outcome': 'memory' });
    if (erred > 0) this.tasksFinished.add(erred, { 'floe.outcome': 'erred' });
  }
}

export interface WorkerMetricsSource {
  queueLength(): number;
  memoryBytes(): number;
  spilledBytes(): number;
}

/** A worker's metrics: queue length, task durations, bytes moved, memory held and spilled. */
export class WorkerMetrics {
  readonly taskDuration: Histogram;
  readonly transferBytes: Counter;
  private readonly attributes: Attributes;
  /** False without an SDK: then per-task recording returns before building attributes. */
  private readonly recording: boolean;

  constructor(workerId: string, source: WorkerMetricsSource) {
    const m = meter();
    this.recording = isRecording(m);
    this.attributes = { 'floe.worker': workerId };
    this.taskDuration = m.createHistogram(METRIC.taskDuration, { description: 'task run time in the pool thread', unit: 'ms' });
    this.transferBytes = m.createCounter(METRIC.transferBytes, { description: 'result bytes fetched from peers', unit: 'By' });
    const gauge = (name: string, description: string, unit: string, read: () => number): void => {
      m.createObservableGauge(name, { description, unit }).addCallback((result) => result.observe(read(), this.attributes));
    };
    gauge(METRIC.queueLength, 'tasks assigned to this worker and not running yet', '{task}', () => source.queueLength());
    gauge(METRIC.memoryBytes, 'result bytes held in memory', 'By', () => source.memoryBytes());
    gauge(METRIC.spilledBytes, 'result bytes spilled to disk', 'By', () => source.spilledBytes());
  }

  taskFinished(name: string, durationMs: number, ok: boolean): void {
    if (!this.recording) return;
    this.taskDuration.record(durationMs, { ...this.attributes, 'floe.task.name': name, 'floe.outcome': ok ? 'ok' : 'error' });
  }

  fetched(bytes: number): void {
    if (!this.recording) return;
    this.transferBytes.add(bytes, this.attributes);
  }
}
