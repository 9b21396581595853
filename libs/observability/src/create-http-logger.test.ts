import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { ErrorRequestHandler } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpLogger } from './create-http-logger.ts';
import { createLogger } from './create-logger.ts';

const KEY = 'cpk_9b1e44d0c2.a7f3e1b8.KeyMaterial77';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function startApp() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  const app = express();
  app.use(createHttpLogger(logger));
  app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/v1/models/:id', (req, res) => void res.json({ id: req.params.id, requestId: req.id }));
  app.post('/v1/responses', (_req, res) => {
    res.locals['logFields'] = { model: 'deepseek-ai/DeepSeek-V3', ttft_ms: 412, input_tokens: 10, output_tokens: 5 };
    res.json({ ok: true });
  });
  app.post('/v1/fails', () => {
    throw new Error(`backend https://llm.example/v1/chat/completions?api_key=${KEY} answered 401 for Bearer ${KEY}`);
  });
  const renderError: ErrorRequestHandler = (error: Error, _req, res, _next) => {
    res.err = error;
    res.status(502).json({ error: { message: 'upstream error' } });
  };
  app.use(renderError);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server?.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { url: `http://127.0.0.1:${port}`, lines, records };
}

// The access line is written on the response's `finish`, which can trail the client's read by a tick.
async function waitForLines(lines: string[], count: number): Promise<void> {
  await vi.waitFor(() => expect(lines.length).toBeGreaterThanOrEqual(count), { timeout: 2_000, interval: 5 });
}

describe('createHttpLogger', () => {
  it('writes one line per request with request id, method, path, route template, status, duration and the gateway fields', async () => {
    const app = await startApp();
    const response = await fetch(`${app.url}/v1/responses`, { method: 'POST', headers: { 'x-request-id': 'req_abc-123' } });
    await waitForLines(app.lines, 1);
    expect(response.headers.get('x-request-id')).toBe('req_abc-123');
    expect(app.records()).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'request completed',
        req: { id: 'req_abc-123', method: 'POST', url: '/v1/responses' },
        request_id: 'req_abc-123',
        route: '/v1/responses',
        status: 200,
        duration_ms: expect.any(Number) as unknown,
        model: 'deepseek-ai/DeepSeek-V3',
        ttft_ms: 412,
        input_tokens: 10,
        output_tokens: 5,
      }),
    ]);
  });

  it('logs the route template rather than the concrete path', async () => {
    const app = await startApp();
    await fetch(`${app.url}/v1/models/some-model`);
    await waitForLines(app.lines, 1);
    expect(app.records()[0]).toMatchObject({ route: '/v1/models/:id', req: { url: '/v1/models/some-model' } });
  });

  it('replaces a malformed x-request-id with a generated one and returns it', async () => {
    const app = await startApp();
    const response = await fetch(`${app.url}/v1/models/m`, { headers: { 'x-request-id': 'bad id with spaces' } });
    const body = (await response.json()) as { requestId: string };
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.requestId).toBe(id);
  });

  it('generates a request id when the client sends none', async () => {
    const app = await startApp();
    const response = await fetch(`${app.url}/v1/models/m`);
    await waitForLines(app.lines, 1);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(app.records()[0]?.['request_id']).toBe(response.headers.get('x-request-id'));
  });

  it('never writes the client key: not from headers, not from the query string, not from an error message', async () => {
    const app = await startApp();
    await fetch(`${app.url}/v1/responses?api_key=${KEY}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'x-api-key': KEY, cookie: `session=${KEY}` },
    });
    await fetch(`${app.url}/v1/fails?key=${KEY}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    await waitForLines(app.lines, 2);
    expect(app.lines).toHaveLength(2);
    expect(app.lines.join('\n')).not.toContain(KEY);
    expect(app.records()[0]).toMatchObject({ req: { url: '/v1/responses' } });
    expect(app.records()[1]).toMatchObject({ level: 'error', status: 502, err: { message: expect.stringContaining('[REDACTED]') as unknown } });
  });

  it('does not log health probes', async () => {
    const app = await startApp();
    await fetch(`${app.url}/health`);
    await fetch(`${app.url}/v1/models/m`);
    await waitForLines(app.lines, 1);
    expect(app.records().map((record) => record['route'])).toEqual(['/v1/models/:id']);
  });
});
