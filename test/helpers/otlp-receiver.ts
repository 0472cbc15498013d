/**
 * A local OTLP/HTTP receiver for tests: a node http server on 127.0.0.1 that accepts
 * protobuf ExportTraceServiceRequest / ExportMetricsServiceRequest bodies (as the OTLP
 * proto exporters send them), decodes them with a schema written from the OTLP spec (only
 * the fields the tests read) and keeps the spans and metric names it got.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const OTLP_SUBSET = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; bytes bytes_value = 7; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  repeated Event events = 11; Status status = 15;
}
message ScopeSpans { repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message Metric { string name = 1; }
message ScopeMetrics { repeated Metric metrics = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
`;

const root = protobuf.parse(OTLP_SUBSET, { keepCase: false }).root;
const TraceRequest = root.lookupType('otlp.ExportTraceServiceRequest');
const MetricsRequest = root.lookupType('otlp.ExportMetricsServiceRequest');

export interface ReceivedSpan {
  service: string;
  /** service.instance.id: tells two worker processes apart. */
  instance: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
  statusCode: number;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** metric name -> services that sent it */
  metrics: Map<string, Set<string>>;
  /** Resolves once `ok()` holds after some request (rejects after `limitMs`, naming `what`). */
  waitFor(what: string, ok: () => boolean, limitMs?: number): Promise<void>;
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;

function attributesOf(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (list as Obj[] | undefined) ?? []) {
    const v = (kv.value ?? {}) as Obj;
    out[kv.key as string] = v.stringValue ?? v.boolValue ?? v.intValue ?? v.doubleValue;
  }
  return out;
}

const hex = (b: unknown): string => Buffer.from((b as Uint8Array | undefined) ?? new Uint8Array()).toString('hex');

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/** The spans of an OTLP/HTTP traces request. */
function spansOf(bytes: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const msg = TraceRequest.toObject(TraceRequest.decode(bytes), { longs: String, defaults: true });
  for (const rs of msg.resourceSpans as Obj[]) {
    const resource = attributesOf((rs.resource as Obj | undefined)?.attributes);
    for (const ss of rs.scopeSpans as Obj[]) {
      for (const s of ss.spans as Obj[]) {
        out.push({
          service: String(resource['service.name']),
          instance: String(resource['service.instance.id']),
          name: s.name as string,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          attributes: attributesOf(s.attributes),
          statusCode: ((s.status as Obj | undefined)?.code as number | undefined) ?? 0,
        });
      }
    }
  }
  return out;
}

/** Adds the metric names of an OTLP/HTTP metrics request, each with the services that sent it. */
function addMetrics(metrics: Map<string, Set<string>>, bytes: Uint8Array): void {
  const msg = MetricsRequest.toObject(MetricsRequest.decode(bytes), { defaults: true });
  for (const rm of msg.resourceMetrics as Obj[]) {
    const service = String(attributesOf((rm.resource as Obj | undefined)?.attributes)['service.name']);
    for (const sm of rm.scopeMetrics as Obj[]) {
      for (const m of sm.metrics as Obj[]) {
        const set = metrics.get(m.name as string) ?? new Set<string>();
        set.add(service);
        metrics.set(m.name as string, set);
      }
    }
  }
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metrics = new Map<string, Set<string>>();
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    body(req)
      .then((bytes) => {
        if (req.url === '/v1/traces') {
          spans.push(...spansOf(bytes));
        } else if (req.url === '/v1/metrics') {
          addMetrics(metrics, bytes);
        } else {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        for (const w of [...waiters]) w();
      })
      .catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    metrics,
    waitFor(what, ok, limitMs = 20_000) {
      if (ok()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const limit = setTimeout(() => {
          waiters.delete(check);
          const got = spans.map((s) => `${s.service}:${s.name}`).sort().join(', ');
          reject(new Error(`OTLP receiver: never got ${what}; got spans [${got}] and metrics [${[...metrics.keys()].join(', ')}]`));
        }, limitMs);
        const check = (): void => {
          if (!ok()) return;
          clearTimeout(limit);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
