/**
 * Options of the NATS transport: validated up front with messages that name the
 * option, then turned into nats.js connection options. Credential files are read here,
 * so a missing or unreadable file is an INVALID_OPTION before any network I/O.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { FloeError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../util/logger.ts';

export interface NatsTlsOptions {
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /** PEM client certificate (mutual TLS); needs `keyFile`. */
  certFile?: string;
  /** PEM private key of `certFile`. */
  keyFile?: string;
}

export interface NatsOptions {
  /** One or more server URLs, e.g. `nats://127.0.0.1:4222` or `tls://nats.example:4222`. */
  servers: string | string[];
  /** Connection name shown by the server's monitoring pages. */
  name?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** File holding a user nkey seed (`SU...`). */
  nkeySeedFile?: string;
  /** A `.creds` file (user JWT plus nkey seed), as made by `nsc`. */
  credsFile?: string;
  /** Require TLS; the files are optional (an empty object uses the system CAs). */
  tls?: NatsTlsOptions;
  /** Pause between reconnect attempts to the same server. Default 250. */
  reconnectTimeWaitMs?: number;
  /** How long one connection handshake may take. Default nats.js' (20 s). */
  connectTimeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_RECONNECT_TIME_WAIT_MS = 250;

export interface ResolvedNatsOptions {
  servers: string[];
  logger: Logger;
  connection: NodeConnectionOptions;
}

function invalid(message: string): FloeError {
  return new FloeError('INVALID_OPTION', message);
}

function optionalString(options: NatsOptions, key: keyof NatsOptions): string | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(`options.${key} must be a non-empty string`);
  return value;
}

function optionalMs(options: NatsOptions, key: 'reconnectTimeWaitMs' | 'connectTimeoutMs', min: number): number | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(`options.${key} must be an integer >= ${min} (milliseconds), got ${String(value)}`);
  }
  return value;
}

const SERVER_PROTOCOLS = new Set(['nats:', 'tls:']);

function validateServers(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalid('options.servers must be a server URL or a non-empty array of them (e.g. nats://127.0.0.1:4222)');
  }
  return list.map((server: unknown, i) => {
    const name = typeof value === 'string' ? 'options.servers' : `options.servers[${i}]`;
    if (typeof server !== 'string' || server.trim() === '' || /\s/.test(server.trim())) {
      throw invalid(`${name} must be a server URL such as nats://127.0.0.1:4222, got ${JSON.stringify(server)}`);
    }
    const trimmed = server.trim();
    if (trimmed.includes('://')) {
      let url: URL;
      try {
        url = new URL(trimmed);
      } catch {
        throw invalid(`${name} is not a valid URL: ${trimmed}`);
      }
      if (!SERVER_PROTOCOLS.has(url.protocol)) {
        throw invalid(`${name} must use nats:// or tls://, got ${trimmed}`);
      }
    }
    return trimmed;
  });
}

function readOptionFile(path: string, option: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new FloeError('INVALID_OPTION', `${option} cannot be read: ${path} (${(error as Error).message})`, { cause: error });
  }
}

function checkReadable(path: string | undefined, option: string): void {
  if (path === undefined) return;
  if (typeof path !== 'string' || path === '') throw invalid(`${option} must be a non-empty file path`);
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    throw new FloeError('INVALID_OPTION', `${option} cannot be read: ${path} (${(error as Error).message})`, { cause: error });
  }
}

function validateLogger(value: Logger | undefined): Logger {
  if (value === undefined) return silentLogger;
  const ok = typeof value === 'object' && value !== null &&
    (['debug', 'info', 'warn', 'error'] as const).every((level) => typeof value[level] === 'function');
  if (!ok) {
    throw invalid('options.logger must have debug, info, warn and error methods');
  }
  return value;
}

function authOptions(options: NatsOptions): Partial<NodeConnectionOptions> {
  const user = optionalString(options, 'user');
  const pass = optionalString(options, 'pass');
  const token = optionalString(options, 'token');
  const nkeySeedFile = optionalString(options, 'nkeySeedFile');
  const credsFile = optionalString(options, 'credsFile');
  if (pass !== undefined && user === undefined) throw invalid('options.pass needs options.user');
  const kinds = [
    user === undefined ? undefined : 'options.user',
    token === undefined ? undefined : 'options.token',
    nkeySeedFile === undefined ? undefined : 'options.nkeySeedFile',
    credsFile === undefined ? undefined : 'options.credsFile',
  ].filter((kind) => kind !== undefined);
  if (kinds.length > 1) throw invalid(`${kinds.join(' and ')} are mutually exclusive: choose one way to authenticate`);

  if (user !== undefined) return pass === undefined ? { user } : { user, pass };
  if (token !== undefined) return { token };
  if (nkeySeedFile !== undefined) {
    const seed = new TextDecoder().decode(readOptionFile(nkeySeedFile, 'options.nkeySeedFile')).trim();
    if (!/^S[A-Z2-7]{20,}$/.test(seed)) throw invalid(`options.nkeySeedFile does not hold an nkey seed (expected S...): ${nkeySeedFile}`);
    return { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) };
  }
  if (credsFile !== undefined) {
    const creds = readOptionFile(credsFile, 'options.credsFile');
    if (!new TextDecoder().decode(creds).includes('-----BEGIN NATS USER JWT-----')) {
      throw invalid(`options.credsFile is not a NATS .creds file (no user JWT block): ${credsFile}`);
    }
    return { authenticator: credsAuthenticator(creds) };
  }
  return {};
}

function tlsOptions(tls: unknown): NodeConnectionOptions['tls'] {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) throw invalid('options.tls must be an object');
  const { caFile, certFile, keyFile } = tls as NatsTlsOptions;
  checkReadable(caFile, 'options.tls.caFile');
  checkReadable(certFile, 'options.tls.certFile');
  checkReadable(keyFile, 'options.tls.keyFile');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw invalid('options.tls.certFile and options.tls.keyFile must be given together');
  }
  return {
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
  };
}

/** Validates everything and builds the nats.js options; throws INVALID_OPTION naming the option. */
export function resolveNatsOptions(options: NatsOptions): ResolvedNatsOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object with at least `servers`');
  const servers = validateServers(options.servers);
  const name = optionalString(options, 'name');
  const reconnectTimeWait = optionalMs(options, 'reconnectTimeWaitMs', 0) ?? DEFAULT_RECONNECT_TIME_WAIT_MS;
  const timeout = optionalMs(options, 'connectTimeoutMs', 1);
  const logger = validateLogger(options.logger);
  const tls = tlsOptions(options.tls);
  const connection: NodeConnectionOptions = {
    servers,
    ...authOptions(options),
    ...(name === undefined ? {} : { name }),
    ...(timeout === undefined ? {} : { timeout }),
    ...(tls === undefined ? {} : { tls }),
    // Reconnect forever: a worker or coordinator outlives a NATS restart. The first
    // connection, though, must fail fast so a wrong URL is reported, not retried.
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: false,
    reconnectTimeWait,
    // Only our own handlers report failures; nats.js' async traces cost a stack per request.
    noAsyncTraces: true,
  };
  return { servers, logger, connection };
}
