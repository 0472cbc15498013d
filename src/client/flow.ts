/**
 * Flows: a function that builds a graph from task calls. Inside a flow, calling a task
 * returns a future without running anything; when the body returns, the whole graph
 * goes to the scheduler as one submission (like dask.delayed or a Prefect flow), and
 * the futures in the body's return value are resolved to their results.
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import type { Client } from './client.ts';
import { runInFlow, type FlowBuilder } from './flow-context.ts';
import { type Future, isFuture, type Resolved } from './future.ts';
import type { QueuedTask } from './submitter.ts';
import { ATTR, ROOT_CONTEXT, SpanKind, recordFailure, startSpan, tracingEnabled, withSpan } from '../telemetry/trace.ts';

const FLOW_BRAND = Symbol.for('floe.flow');

export interface FlowDef<P extends unknown[], R> {
  readonly [FLOW_BRAND]: true;
  readonly name: string;
  readonly body: (...params: P) => R | Promise<R>;
}

/** Defines a flow. Run it with `client.run(flow, ...params)` or `runFlow()`. */
export function flow<P extends unknown[], R>(name: string, body: (...params: P) => R | Promise<R>): FlowDef<P, R> {
  if (typeof name !== 'string' || name === '') {
    throw new FloeError('INVALID_ARGUMENT', 'flow(name, body): name must be a non-empty string');
  }
  if (typeof body !== 'function') throw new FloeError('INVALID_ARGUMENT', 'flow(name, body): body must be a function');
  return { [FLOW_BRAND]: true, name, body };
}

export function isFlowDef(value: unknown): value is FlowDef<unknown[], unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[FLOW_BRAND] === true;
}

/**
 * Runs a flow on a client: builds the graph, submits it, waits for the futures in the
 * returned value and returns their results (same structure, futures replaced).
 */
export async function runFlow<P extends unknown[], R>(client: Client, def: FlowDef<P, R>, ...params: P): Promise<Resolved<Awaited<R>>> {
  if (!isFlowDef(def)) throw new FloeError('INVALID_ARGUMENT', 'run(flow, ...params): the first argument must be made with flow()');
  if (!tracingEnabled()) return runFlowUntraced<P, R>(client, def, params);
  // One trace per flow: its root span is the parent of every submit, and through the
  // traceparent in each TaskSpec, of every span the cluster opens for its tasks.
  const span = startSpan(`flow ${def.name}`, { [ATTR.flow]: def.name, [ATTR.client]: client.clientId }, ROOT_CONTEXT, { kind: SpanKind.CLIENT });
  try {
    return await withSpan(span, () => runFlowUntraced<P, R>(client, def, params));
  } catch (error) {
    recordFailure(span, toErrorInfo(error, 'INTERNAL'));
    throw error;
  } finally {
    span.end();
  }
}

async function runFlowUntraced<P extends unknown[], R>(client: Client, def: FlowDef<P, R>, params: P): Promise<Resolved<Awaited<R>>> {
  const nodes: Future<unknown>[] = [];
  const tracker = client.progress.trackFlow(def.name);
  /** Set when the flow's last progress event is out: a fan-out expanding later is not counted. */
  let ended = false;
  const track = (f: Future<unknown>): void => {
    nodes.push(f);
    if (tracker !== undefined) client.progress.trackKey(tracker, f.key);
  };
  // The graph is collected here and sent when the body returns: an async body (one that
  // awaits between task calls) must not be split into batches, or the scheduler would
  // drop the unwanted tasks of the first batch before the next one refers to them.
  const graph: QueuedTask[] = [];
  const builder: FlowBuilder = {
    call: (task, args) => {
      const f = client.submitWith(task, {}, args, false, graph);
      track(f);
      return f as Future<never>;
    },
    map: (task, items, rest) => {
      // A map over a future adds its tasks once the list exists: the flow's total grows.
      const out = client.mapWith(task, items, rest, false, graph, (keys) => {
        if (tracker !== undefined && !ended) for (const key of keys) client.progress.trackKey(tracker, key);
      });
      for (const f of Array.isArray(out) ? out : [out]) track(f as Future<unknown>);
      return out;
    },
  };
  // A body that awaits one of its own futures needs the graph so far to run now. It is
  // sent with every task wanted (so a later batch can still refer to any of them); the
  // flow releases them all when it ends.
  const flushEarly = (key: string): void => {
    if (!graph.some((task) => task.state.key === key)) return;
    client.submitDeferred(graph.splice(0), true);
  };
  client.flowFlushers.add(flushEarly);
  let output: unknown;
  try {
    output = await runInFlow(builder, () => def.body(...params));
  } catch (error) {
    client.submitDeferred(graph); // nothing wants them: the scheduler drops them
    for (const node of nodes) node.release();
    ended = true;
    if (tracker !== undefined) client.progress.untrackFlow(tracker);
    throw error;
  } finally {
    client.flowFlushers.delete(flushEarly);
  }
  client.submitDeferred(graph);
  try {
    return (await resolveDeep(output)) as Resolved<Awaited<R>>;
  } finally {
    for (const node of nodes) node.release();
    ended = true;
    if (tracker !== undefined) client.progress.untrackFlow(tracker);
  }
}

/** Replaces every future in arrays, plain objects, Maps (their values) and Sets by its result. */
async function resolveDeep(value: unknown): Promise<unknown> {
  if (isFuture(value)) return value.result();
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  // Left as they are, their futures would be released with the flow's, unresolved.
  if (value instanceof Map) return new Map(await Promise.all([...value].map(async ([k, v]) => [k, await resolveDeep(v)] as const)));
  if (value instanceof Set) return new Set(await Promise.all([...value].map(resolveDeep)));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}
