import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './gateway-metrics.ts';
import { createHttpMetricsMiddleware } from './http-metrics-middleware.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function startApp() {
  const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
  const app = express();
  let release: () => void = () => {};
  app.use(createHttpMetricsMiddleware(metrics, { routes: ['/v1/responses', '/v1/models/:id', '/health'] }));
  app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/v1/models/:id', (_req, res) => void res.status(404).json({ error: {} }));
  app.post('/v1/responses', (_req, res) => {
    res.write('data: first\n\n');
    release = () => res.end();
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server?.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, metrics, release: () => release() };
}

describe('createHttpMetricsMiddleware', () => {
  it('counts a request by route template, method and status once it ends', async () => {
    const app = await startApp();
    await fetch(`${app.url}/v1/models/a`);
    await fetch(`${app.url}/v1/models/b`);
    await fetch(`${app.url}/nope`);
    const text = await app.metrics.registry.metrics();
    expect(text).toContain('gateway_http_request_duration_seconds_count{route="/v1/models/:id",method="GET",status="404"} 2');
    expect(text).toContain('gateway_http_request_duration_seconds_count{route="unmatched",method="GET",status="404"} 1');
  });

  it('shows an open stream as in flight until it ends', async () => {
    const app = await startApp();
    const response = await fetch(`${app.url}/v1/responses`, { method: 'POST' });
    const reader = response.body!.getReader();
    await reader.read();
    expect(await app.metrics.registry.metrics()).toContain('gateway_http_requests_in_flight{route="/v1/responses"} 1');
    app.release();
    while (!(await reader.read()).done);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await app.metrics.registry.metrics()).toContain('gateway_http_requests_in_flight{route="/v1/responses"} 0');
  });

  it('leaves health probes out of the request metrics', async () => {
    const app = await startApp();
    await fetch(`${app.url}/health`);
    expect(await app.metrics.registry.metrics()).not.toContain('route="/health"');
  });
});
