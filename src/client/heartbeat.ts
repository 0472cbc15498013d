/**
 * How often a client with nothing else to say tells the coordinator it is alive, unless
 * told otherwise (`Client.connect({ heartbeatIntervalMs })`). Its own module, free of the
 * client's dependencies: the coordinator probes clients silent for a little longer
 * (coordinator/probes.ts).
 */
export const DEFAULT_CLIENT_HEARTBEAT_INTERVAL_MS = 2000;
