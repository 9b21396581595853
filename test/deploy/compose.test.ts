import { existsSync } from 'node:fs';
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
    expect(result.output).not.toMatch(/error|required/i);
    expect(result.status).toBe(0);
    // Empty means unset to the gateway's config.
    expect(result.output).toMatch(/REASONING_ENCRYPTION_KEY: ''/);
  });

  it('runs Redis, the worker, the gateway, nginx, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['gateway', 'grafana', 'nginx', 'prometheus', 'redis', 'worker']);
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
    for (const path of hostPaths) expect(existsSync(repositoryPath(path.slice(2))), path).toBe(true);
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
