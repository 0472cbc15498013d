/** The CLI's logger: JSON lines, with the active span's trace and span ids when there is one. */
import { Writable } from 'node:stream';
import t from 'tap';
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { makeLogger } from '../../cluster/common.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

t.test('log lines carry trace_id and span_id inside a span', async (t) => {
  const provider = new NodeTracerProvider();
  provider.register();
  t.teardown(() => trace.disable());
  const out = capture();
  const log = makeLogger('floe-test', 'debug', out.stream);
  log.info({ n: 1 }, 'outside');
  let ids = { traceId: '', spanId: '' };
  trace.getTracer('test').startActiveSpan('work', (span) => {
    ids = span.spanContext();
    log.info({ n: 2 }, 'inside');
    span.end();
  });
  log.debug({ n: 3 }, 'debug line');
  const [outside, inside, debug] = out.lines();
  t.match(outside, { name: 'floe-test', msg: 'outside', n: 1 });
  t.notOk(outside && 'trace_id' in outside, 'no ids outside a span');
  t.match(inside, { msg: 'inside', trace_id: ids.traceId, span_id: ids.spanId });
  t.match(debug, { msg: 'debug line', level: 20 });

  const quiet = capture();
  makeLogger('floe-test', 'warn', quiet.stream).info({}, 'dropped');
  t.same(quiet.lines(), [], '--log-level warn drops info');
});
