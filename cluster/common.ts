/**
 * Shared pieces of the CLI commands: logging, shutdown signals, option parsing.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino } from 'pino';
import { FloeError } from '../src/errors.ts';
import type { Logger } from '../src/util/logger.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * JSON lines on stderr (stdout stays for results). A line written while a span is active
 * carries its trace_id and span_id, so logs and traces join up in a backend.
 */
export function makeLogger(service: string, level: string, destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino({ name: service, level, mixin: traceIds }, destination);
}

/** pino mixin: the active span's ids (nothing when there is none, or no SDK). */
export function traceIds(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/**
 * Set by a parent that starts floe processes (`floe local`, tests, benches): the child's
 * stdin is a pipe from the parent, and when it closes (the parent exited, even by
 * SIGKILL) the child shuts down as on SIGTERM. No orphaned cluster processes.
 */
export const EXIT_WITH_PARENT_ENV = 'FLOE_EXIT_WITH_PARENT';

export function exitWithParent(): () => void {
  if (process.env[EXIT_WITH_PARENT_ENV] !== '1') return () => undefined;
  const onClose = (): void => {
    process.kill(process.pid, 'SIGTERM');
    // A graceful shutdown that hangs must not outlive the parent for long.
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.stdin.once('close', onClose).resume();
  // Once the command is done, stop watching (an open stdin would keep the process alive).
  return () => {
    process.stdin.off('close', onClose);
    process.stdin.destroy();
  };
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
export function shutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** `gpu=1,memory=8GiB` → { gpu: 1, memory: 8589934592 }. */
export function parseResources(text: string, parseSize: (v: string, what: string) => number): Record<string, number> {
  const out: Record<string, number> = {};
  if (text.trim() === '') return out;
  for (const part of text.split(',')) {
    const [name, value, ...rest] = part.split('=');
    if (name === undefined || name.trim() === '' || value === undefined || rest.length > 0) {
      throw new FloeError('INVALID_OPTION', `--resources must look like gpu=1,memory=8GiB (got ${JSON.stringify(part)})`);
    }
    out[name.trim()] = parseSize(value.trim(), `--resources ${name.trim()}`);
  }
  return out;
}
