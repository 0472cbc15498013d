/**
 * The logging surface floe's drivers use: the subset of pino's API we need, so the
 * CLI can hand in a real pino logger and libraries stay silent by default.
 */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => undefined;

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
