/**
 * A user's listener (progress, actor restarts) that throws must not break the client's
 * message handling, nor go unseen: its error becomes a process warning (Node prints it on
 * stderr; `process.on('warning')` can take it), and the other listeners are still called.
 */
export function listenerThrew(what: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`${what} threw: ${message}`, { code: 'FLOE_LISTENER_ERROR', ...(error instanceof Error && error.stack !== undefined ? { detail: error.stack } : {}) });
}
