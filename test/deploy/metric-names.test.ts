/**
 * Every metric a Grafana dashboard or a Prometheus alert queries must be one that a running gateway
 * or worker actually exposes. Starts the real processes (scripted backend, Redis, gateway, worker),
 * drives one streamed request through the gateway, scrapes both /metrics and compares.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayMetrics, createWorkerMetrics } from '@rgw/observability';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { DEFAULT_MODEL_ID, startScriptedBackend, textAnswer, type ScriptedBackend } from '../support/scripted-backend.ts';
import { startGateway, type StartedGateway } from '../support/start-gateway.ts';
import { collectDashboardQueries, extractMetricNames, isExposed, readAlertRules, readExposedMetricTypes, repositoryRoot } from './deploy-files.ts';

// Series Prometheus itself creates for every target.
const PROMETHEUS_SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

interface StartedWorker {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: string[];
}

async function startWorkerProcess(env: Record<string, string>): Promise<StartedWorker> {
  const child = spawn(process.execPath, ['apps/worker/src/main.ts'], {
    cwd: repositoryRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output.join('')}`)), 20_000);
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = /"port":(\d+)[^\n]*"msg":"worker listening"/.exec(output.join(''));
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${output.join('')}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, child, output };
}

async function stopWorkerProcess(worker: StartedWorker | undefined): Promise<void> {
  if (worker === undefined || worker.child.exitCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await once(worker.child, 'exit');
  clearTimeout(timer);
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('metrics queried by dashboards and alerts', () => {
  let backend: ScriptedBackend | undefined;
  let redis: TestRedis | undefined;
  let gateway: StartedGateway | undefined;
  let worker: StartedWorker | undefined;
  let exposed = new Map<string, string>();
  let gatewayExposition = '';

  beforeAll(async () => {
    backend = await startScriptedBackend();
    redis = await startRedis({ mode: 'process' });
    [gateway, worker] = await Promise.all([
      startGateway({ env: { UPSTREAM_BASE_URL: backend.url, REDIS_URL: redis.url } }),
      startWorkerProcess({ REDIS_URL: redis.url, UPSTREAM_BASE_URL: backend.url, WORKER_PORT: '0', WORKER_HOST: '127.0.0.1', LOG_LEVEL: 'info' }),
    ]);
    // One real streamed request, so per-request series exist too (not only their # TYPE lines).
    backend.enqueue(textAnswer('Hello from the scripted backend'));
    const response = await fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-metrics-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'Hi', stream: true }),
    });
    await response.text();
    gatewayExposition = await scrape(gateway.url);
    const workerExposition = await scrape(worker.url);
    exposed = new Map([...readExposedMetricTypes(workerExposition), ...readExposedMetricTypes(gatewayExposition)]);
  });

  afterAll(async () => {
    await Promise.allSettled([gateway?.stop(), stopWorkerProcess(worker)]);
    await Promise.allSettled([redis?.stop(), backend?.close()]);
  });

  it('exposes every metric a Grafana dashboard queries', () => {
    const missing = collectDashboardQueries().flatMap((query) =>
      extractMetricNames(query.expr)
        .filter((name) => !PROMETHEUS_SYNTHETIC.has(name) && !isExposed(name, exposed))
        .map((name) => `${query.dashboard} "${query.panel}": ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('exposes every metric an alert rule queries', () => {
    const missing = readAlertRules().flatMap((rule) =>
      extractMetricNames(rule.expr)
        .filter((name) => !PROMETHEUS_SYNTHETIC.has(name) && !isExposed(name, exposed))
        .map((name) => `${rule.alert ?? rule.record}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('serves every metric @rgw/observability defines, from the gateway and the worker', async () => {
    const defined = new Map([
      ...readExposedMetricTypes(await createGatewayMetrics().registry.metrics()),
      ...readExposedMetricTypes(await createWorkerMetrics().registry.metrics()),
    ]);
    expect([...defined.keys()].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('counts the streamed request it served, by route template and status', () => {
    expect(gatewayExposition).toMatch(/gateway_http_request_duration_seconds_count\{route="\/v1\/responses",method="POST",status="200"\} 1/);
  });
});
