/**
 * docker/ without a Docker engine: the compose file and the collector config parse, the
 * services are all there, every floe command and flag in them is one the CLI accepts
 * (checked against `floe <command> --help`), the URLs name services and ports that exist,
 * and the Dockerfile copies files that exist and starts the CLI the build produces.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cluster', 'cli.js');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: string[];
  profiles?: string[];
}

const compose = parse(readFileSync(join(root, 'docker', 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const collector = parse(readFileSync(join(root, 'docker', 'otel-collector.yaml'), 'utf8')) as {
  receivers: { otlp: { protocols: { http: { endpoint: string } } } };
  exporters: Record<string, { endpoint?: string }>;
  service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
};

const helpCache = new Map<string, string>();
function help(command: string): string {
  let text = helpCache.get(command);
  if (text === undefined) {
    text = execFileSync(process.execPath, [cli, command, '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    helpCache.set(command, text);
  }
  return text;
}

/** host:port of the published or container ports of a service. */
function containerPorts(s: Service): string[] {
  return (s.ports ?? []).map((p) => p.split(':').at(-1)!);
}

t.test('the compose file has the whole stack', async (t) => {
  for (const name of ['nats', 'coordinator', 'worker-1', 'worker-2', 'otel-collector', 'jaeger', 'client']) t.ok(services[name], `service ${name}`);
  t.match(services.nats?.image, /^nats:/);
  t.match(services.jaeger?.image, /^jaegertracing\/all-in-one:/);
  t.match(services['otel-collector']?.image, /^otel\/opentelemetry-collector/);
  t.ok(containerPorts(services.jaeger!).includes('16686'), 'the Jaeger UI is published');
});

t.test('floe services: the image, real CLI commands and flags, URLs that resolve', async (t) => {
  const floeServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
  t.same(floeServices.map(([n]) => n).sort(), ['client', 'coordinator', 'worker-1', 'worker-2']);
  const collectorPort = collector.receivers.otlp.protocols.http.endpoint.split(':').at(-1);
  for (const [name, s] of floeServices) {
    t.equal(s.build?.dockerfile, 'docker/Dockerfile', `${name} builds docker/Dockerfile`);
    t.ok(existsSync(join(root, 'docker', s.build!.context, s.build!.dockerfile)), `${name}: the Dockerfile exists from its context`);
    const [command, ...args] = s.command ?? [];
    t.ok(command !== undefined && ['coordinator', 'worker', 'run', 'local', 'status', 'bench'].includes(command), `${name}: command ${command}`);
    const text = help(command!);
    for (const flag of args.filter((a) => a.startsWith('--'))) t.ok(text.includes(flag), `${name}: floe ${command} accepts ${flag}`);
    const flagValue = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    const nats = new URL(flagValue('--nats') ?? '');
    t.ok(services[nats.hostname], `${name}: --nats names service ${nats.hostname}`);
    t.equal(nats.port, '4222');
    const otlp = new URL(flagValue('--otlp') ?? '');
    t.equal(otlp.hostname, 'otel-collector', `${name}: --otlp goes to the collector`);
    t.equal(otlp.port, collectorPort, `${name}: on the collector's OTLP/HTTP port`);
    t.equal(s.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, otlp.origin, `${name}: the standard variable agrees with --otlp`);
    t.ok(s.depends_on?.includes('nats') || s.depends_on?.includes('coordinator'), `${name} starts after the cluster it joins`);
    if (command === 'worker') {
      t.equal(flagValue('--advertise-host'), name, `${name}: peers reach it by its service name`);
      t.equal(flagValue('--host'), '0.0.0.0');
    }
    if (command === 'run') t.ok(existsSync(join(root, args[0]!)), `${name}: the flow file ${args[0]} exists`);
  }
});

t.test('the collector receives OTLP and sends traces to Jaeger', async (t) => {
  t.equal(collector.receivers.otlp.protocols.http.endpoint, '0.0.0.0:4318');
  const traces = collector.service.pipelines.traces!;
  t.same(traces.receivers, ['otlp']);
  for (const name of traces.exporters) {
    const endpoint = collector.exporters[name]?.endpoint;
    t.ok(endpoint, `exporter ${name} is defined`);
    t.ok(services[endpoint!.split(':')[0]!], `exporter ${name} sends to a compose service (${endpoint})`);
  }
  t.ok(collector.service.pipelines.metrics?.receivers.includes('otlp'), 'metrics are received too');
  const mount = services['otel-collector']?.volumes?.[0]?.split(':') ?? [];
  t.ok(existsSync(join(root, 'docker', mount[0]!)), 'the collector config is mounted from docker/');
  t.ok(services['otel-collector']?.command?.some((c) => c.includes(mount[1]!)), 'and the collector is told to read it');
});

t.test('the Dockerfile copies what exists and starts the built CLI', async (t) => {
  const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1]!.split(/\s+/)) t.ok(existsSync(join(root, src)), `COPY ${src} exists`);
  }
  const entry = /^ENTRYPOINT \["node", "([^"]+)"\]/m.exec(dockerfile)?.[1];
  t.equal(entry, 'dist/cluster/cli.js');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { floe: string } };
  t.equal(pkg.bin.floe, entry, 'the entrypoint is the package bin');
  t.ok(existsSync(join(root, entry!)), 'npm run build produces it');
  t.match(dockerfile, /^FROM node:20/m, 'Node 20, as package.json engines');
});
