/**
 * A submission's request to the coordinator (or first to a worker: client/direct.ts),
 * retried while it times out, up to the client's submit timeout.
 */
import { FloeError, fromErrorInfo, isFloeError } from '../errors.ts';
import { decodeMessage } from '../transport/codec.ts';
import type { Transport, TransportMessage } from '../transport/transport.ts';
import type { DirectRoute } from './direct.ts';
import type { CoordinatorIncarnation } from './incarnation.ts';

/** Per-attempt limit; the whole submission may take up to the client's submit timeout. */
const ATTEMPT_TIMEOUT_MS = 5_000;
/**
 * Limit of a direct attempt, after which the submission goes to the coordinator (a
 * coordinator slower than this to answer gets the submission twice, which is harmless).
 */
const DIRECT_ATTEMPT_TIMEOUT_MS = 2_000;

/**
 * Submits are requests, and a request can be lost around a NATS restart or while the
 * coordinator is not (yet) listening. Resubmitting is safe: the scheduler treats keys it
 * already has as the same tasks. So a timed-out attempt is retried, with backoff, until
 * the overall timeout. With `direct`, a worker's subject is tried first (client/direct.ts):
 * if that gets no answer, the coordinator's.
 */
export async function requestWithRetry(
  transport: Transport, subject: string, payload: Uint8Array, timeoutMs: number, direct?: Pick<DirectRoute, 'subject' | 'via' | 'failed'>,
): Promise<TransportMessage> {
  const deadline = performance.now() + timeoutMs;
  if (direct !== undefined) {
    try {
      const attemptMs = Math.max(1, Math.min(DIRECT_ATTEMPT_TIMEOUT_MS, timeoutMs));
      return await transport.request(direct.subject, payload, direct.via === undefined ? { timeoutMs: attemptMs } : { timeoutMs: attemptMs, sendVia: direct.via });
    } catch (error) {
      // The worker is gone (no responders), or its relay or the answer was lost, or the stream broke.
      if (!isFloeError(error) || error.code !== 'REQUEST_TIMEOUT') throw error;
      direct.failed();
    }
  }
  let backoffMs = 20;
  for (;;) {
    const remaining = deadline - performance.now();
    try {
      return await transport.request(subject, payload, { timeoutMs: Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, remaining)) });
    } catch (error) {
      const retryable = isFloeError(error) && error.code === 'REQUEST_TIMEOUT' && error.retryable;
      if (!retryable || deadline - performance.now() <= backoffMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 1_000);
    }
  }
}

/** Reads the coordinator's answer to a submission: throws the error it says, if any. */
export function checkSubmitAnswer(reply: TransportMessage, incarnation: CoordinatorIncarnation | undefined): void {
  const msg = decodeMessage(reply.data);
  if (msg.type === 'error') throw fromErrorInfo(msg.error);
  if (msg.type !== 'submitReply') throw new FloeError('MALFORMED_MESSAGE', `unexpected ${msg.type} reply to submit`);
  incarnation?.heard(msg.incarnation);
  if (msg.error !== undefined) throw fromErrorInfo(msg.error);
}
