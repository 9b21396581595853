import { existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '@rgw/config';
import { workerConfigSchema } from '../../apps/worker/src/worker-config.ts';
import { describe, expect, it } from 'vitest';
import { hasCommand, readText, readYaml, repositoryPath, runCommand, skipNote } from './deploy-files.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  container_name?: string;
  volumes?: string[];
  stop_grace_period?: string;
  init?: boolean;
  profiles?: string[];
}

const compose = readYaml('docker-compose.yaml') as { services: Record<string, ComposeService> };
const services = compose.services;
const hasDockerCompose = hasCommand('docker-compose');
const composeNote = skipNote('docker-compose', 'docker-compose');
const sharedKey = 'k'.repeat(48);

function service(name: string): ComposeService {
  const found = services[name];
  if (found === undefined) throw new Error(`docker-compose.yaml has no service ${name}`);
  return found;
}

function seconds(duration: string | undefined): number {
  const match = /^(\d+)s$/.exec(duration ?? '');
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

describe('docker-compose.yaml', () => {
  it.skipIf(!hasDockerCompose)(`validates with docker-compose (v1) config${composeNote}`, () => {
    const result = runCommand('docker-compose', ['-f', 'docker-compose.yaml', 'config', '--quiet'], {
      env: { ...process.env, REASONING_ENCRYPTION_KEY: sharedKey },
    });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it.skipIf(!hasDockerCompose)(`starts gateway replicas without a reasoning key (they agree on one through Redis)${composeNote}`, () => {
    const env = { ...process.env };
    delete env['REASONING_ENCRYPTION_KEY'];
    const result = runCommand('docker-compose', ['-f', 'docker-compose.yaml', 'config'], { env });
    // What docker-compose says about a `${VAR:?…}` it cannot fill (not file names such as gateway-errors.conf).
    expect(result.output).not.toMatch(/^ERROR|Missing mandatory value|required variable/im);
    expect(result.status).toBe(0);
    // Empty means unset to the gateway's config.
    expect(result.output).toMatch(/REASONING_ENCRYPTION_KEY: ''/);
  });

  it.skipIf(!hasDockerCompose)(`validates with the https profile (Caddy) too${composeNote}`, () => {
    const result = runCommand('docker-compose', ['-f', 'docker-compose.yaml', '--profile', 'https', 'config', '--services'], {
      env: { ...process.env, REASONING_ENCRYPTION_KEY: sharedKey, GATEWAY_DOMAIN: 'gw.example.com', ACME_EMAIL: 'ops@example.com' },
    });
    expect(result.status).toBe(0);
    expect(
      result.output
        .split('\n')
        .filter((line) => line !== '')
        .sort(),
    ).toEqual(['caddy', 'gateway', 'grafana', 'nginx', 'prometheus', 'redis', 'worker']);
  });

  it.skipIf(!hasDockerCompose)(`keeps plain HTTP, Prometheus and Grafana on the host when deploy.sh binds them to 127.0.0.1${composeNote}`, () => {
    const result = runCommand('docker-compose', ['-f', 'docker-compose.yaml', '--profile', 'https', 'config'], {
      env: { ...process.env, REASONING_ENCRYPTION_KEY: sharedKey, GATEWAY_HTTP_BIND: '127.0.0.1', MONITORING_BIND: '127.0.0.1' },
    });
    expect(result.status).toBe(0);
    // docker-compose 1.29 renders a port with an address as `ip:published:target/proto`, one without as `{published, target}`.
    type RenderedPort = string | { host_ip?: string; published: number | string };
    const rendered = parseYaml(result.output) as { services: Record<string, { ports?: RenderedPort[] }> };
    const hostSides = (name: string) =>
      (rendered.services[name]?.ports ?? []).map((port) =>
        typeof port === 'string' ? port.split(':').slice(0, -1).join(':') : [port.host_ip, port.published].filter((part) => part !== undefined).join(':'),
      );
    const localOnly = [expect.stringMatching(/^127\.0\.0\.1:\d+$/)];
    expect({ nginx: hostSides('nginx'), prometheus: hostSides('prometheus'), grafana: hostSides('grafana') }).toEqual({
      nginx: localOnly,
      prometheus: localOnly,
      grafana: localOnly,
    });
    // Caddy is the public entry: all interfaces.
    expect(hostSides('caddy')).toEqual(['80', '443']);
  });

  it('runs Redis, the worker, the gateway, nginx, Prometheus, Grafana, and Caddy in the https profile', () => {
    expect(Object.keys(services).sort()).toEqual(['caddy', 'gateway', 'grafana', 'nginx', 'prometheus', 'redis', 'worker']);
    expect(service('caddy').profiles).toEqual(['https']);
    expect(Object.keys(services).filter((name) => service(name).profiles !== undefined)).toEqual(['caddy']);
  });

  it('lets the gateway scale: no fixed host port, no container name', () => {
    const gateway = service('gateway');
    expect(gateway.ports).toBeUndefined();
    expect(gateway.container_name).toBeUndefined();
    expect(gateway.expose).toEqual([gateway.environment?.['PORT']]);
  });

  it('runs the worker from the gateway image with the worker entry point', () => {
    expect(service('worker').image).toBe(service('gateway').image);
    expect(service('worker').command).toEqual(['node', 'apps/worker/src/main.ts']);
    expect(existsSync(repositoryPath('apps/worker/src/main.ts'))).toBe(true);
  });

  it('points gateway and worker at the compose Redis', () => {
    expect(service('gateway').environment?.['REDIS_URL']).toBe('redis://redis:6379');
    expect(service('worker').environment?.['REDIS_URL']).toBe('redis://redis:6379');
  });

  it('bounds Redis memory with noeviction, so a full Redis refuses writes instead of evicting stored responses', () => {
    const command = service('redis').command ?? [];
    expect(command[command.indexOf('--maxmemory') + 1]).toMatch(/^\$\{REDIS_MAXMEMORY:-\d+[kmg]b\}$/);
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
  });

  it('passes the gateway only environment variables its config schema knows', () => {
    const known = Object.keys(configSchema.shape);
    for (const name of Object.keys(service('gateway').environment ?? {})) expect(known).toContain(name);
  });

  it('passes the worker only environment variables its config schema knows', () => {
    const known = Object.keys(workerConfigSchema.shape);
    for (const name of Object.keys(service('worker').environment ?? {})) expect(known).toContain(name);
  });

  it('gives a stopping gateway longer than its own stream drain before Docker kills it', () => {
    const gateway = service('gateway');
    const drain = Number(/:-(\d+)/.exec(gateway.environment?.['SHUTDOWN_GRACE_SECONDS'] ?? '')?.[1]);
    expect(drain).toBeGreaterThan(0);
    expect(seconds(gateway.stop_grace_period)).toBeGreaterThan(drain);
    expect(gateway.init).toBe(true);
  });

  it('mounts only files that exist in the repository', () => {
    const mounts = Object.values(services).flatMap((entry) => entry.volumes ?? []);
    const hostPaths = mounts.map((mount) => mount.split(':')[0] ?? '').filter((path) => path.startsWith('./'));
    expect(hostPaths).toEqual(expect.arrayContaining(['./deploy/nginx/nginx.conf', './deploy/prometheus/prometheus.yml', './deploy/grafana/provisioning']));
    for (const path of hostPaths) expect(existsSync(repositoryPath(path.slice(2))), `${path}`).toBe(true);
  });

  it('mounts every file the nginx config includes, where the config expects it', () => {
    const nginx = readText('deploy/nginx/nginx.conf');
    const mounted = new Map(
      (service('nginx').volumes ?? []).map((mount) => {
        const [host = '', container = ''] = mount.split(':');
        return [container, host];
      }),
    );
    expect(mounted.get('/etc/nginx/nginx.conf')).toBe('./deploy/nginx/nginx.conf');
    for (const [, included] of nginx.matchAll(/^\s*include\s+(\S+);/gm)) {
      if (included === undefined || included.startsWith('/etc/nginx/mime.types')) continue;
      expect(mounted.has(included), `nginx.conf includes ${included}`).toBe(true);
    }
  });

  it('has nginx resolve gateway replicas at run time through Docker DNS, on the gateway port, unbuffered', () => {
    const nginx = ['nginx.conf', 'gateway-proxy.conf', 'gateway-http.conf']
      .filter((file) => existsSync(repositoryPath(`deploy/nginx/${file}`)))
      .map((file) => readText(`deploy/nginx/${file}`))
      .join('\n');
    expect(nginx).toMatch(/resolver\s+127\.0\.0\.11/);
    expect(nginx).toContain(`gateway:${service('gateway').environment?.['PORT']}`);
    expect(nginx).toMatch(/proxy_pass\s+\$\w+/);
    expect(nginx).toMatch(/proxy_buffering\s+off/);
  });

  it('publishes the port nginx listens on', () => {
    const nginx = readText('deploy/nginx/nginx.conf');
    const published = service('nginx').ports?.[0]?.split(':').at(-1);
    expect(nginx).toMatch(new RegExp(`listen\\s+(\\S*:)?${published}\\b`));
  });

  it('runs a Caddy that re-sends a POST to another replica when one refuses the connection (2.11.2 and later)', () => {
    const version = /^caddy:(\d+)\.(\d+)\.(\d+)/.exec(service('caddy').image ?? '');
    expect(version).not.toBeNull();
    const [major, minor, patch] = (version ?? []).slice(1).map(Number) as [number, number, number];
    expect(major * 1_000_000 + minor * 1_000 + patch).toBeGreaterThanOrEqual(2_011_002);
  });

  it('runs Caddy on the shipped Caddyfile, keeps its certificates on a volume and publishes 80 and 443', () => {
    const caddy = service('caddy');
    const command = caddy.command ?? [];
    const config = command[command.indexOf('--config') + 1];
    expect(caddy.volumes).toContain(`./deploy/caddy/Caddyfile:${config}:ro`);
    expect(caddy.volumes).toContain('caddy-data:/data');
    expect(caddy.ports?.map((port) => port.split(':').at(-1))).toEqual(['80', '443']);
  });

  it('gives Caddy every variable its Caddyfile has no default for, and points it at the gateway replicas through Docker DNS', () => {
    const caddyfile = readText('deploy/caddy/Caddyfile')
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n');
    const environment = service('caddy').environment ?? {};
    const withoutDefault = [...caddyfile.matchAll(/\{\$([A-Z_]+)\}/g)].map((match) => match[1] ?? '');
    expect(withoutDefault.length).toBeGreaterThan(0);
    expect(withoutDefault.filter((name) => !(name in environment))).toEqual([]);
    expect(environment['GATEWAY_UPSTREAM_NAME']).toBe('gateway');
    expect(environment['GATEWAY_UPSTREAM_PORT']).toBe(service('gateway').environment?.['PORT']);
    expect(environment['GATEWAY_DNS_RESOLVER']).toBe('udp/127.0.0.11:53');
  });

  it('lets Caddy finish open streams (its grace period) before Docker kills it', () => {
    const grace = /^\s*grace_period\s+(\d+)s/m.exec(readText('deploy/caddy/Caddyfile'))?.[1];
    expect(Number(grace)).toBeGreaterThan(0);
    expect(seconds(service('caddy').stop_grace_period)).toBeGreaterThan(Number(grace));
  });

  it('has Prometheus discover every gateway and worker replica by DNS on their metrics ports', () => {
    const prometheus = readYaml('deploy/prometheus/prometheus.yml') as {
      scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const discovery = Object.fromEntries(prometheus.scrape_configs.map((job) => [job.job_name, job.dns_sd_configs?.[0]]));
    expect(discovery['gateway']).toMatchObject({ names: ['gateway'], port: Number(service('gateway').environment?.['PORT']) });
    expect(discovery['worker']).toMatchObject({ names: ['worker'], port: Number(service('worker').environment?.['WORKER_PORT']) });
  });

  it('provisions Grafana dashboards from the directory the provider reads', () => {
    const provider = readYaml('deploy/grafana/provisioning/dashboards/responses-gateway.yaml') as {
      providers: Array<{ options: { path: string } }>;
    };
    const dashboardMount = service('grafana').volumes?.find((mount) => mount.startsWith('./deploy/grafana/dashboards:'));
    expect(dashboardMount?.split(':')[1]).toBe(provider.providers[0]?.options.path);
  });
});
