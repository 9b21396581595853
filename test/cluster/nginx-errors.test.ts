/**
 * Errors nginx produces itself reach clients as OpenAI envelopes (deploy/nginx/gateway-errors.conf),
 * through the nginx that `npm run cluster` starts: a body over client_max_body_size, and every
 * replica down. The openai SDK must see `error.code`, not `413 <html>…`.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { httpError, textAnswer } from '../support/scripted-backend.ts';
import { API_KEY, useCluster } from './cluster-test-helpers.ts';

const MODEL = 'org/model-a';
const fixture = useCluster({ backend: { models: [MODEL] }, cluster: { replicas: 2, worker: false, gatewayEnv: { UPSTREAM_MAX_RETRIES: '0' } } });

/** The SDK's error for a request that must fail. */
async function sdkError(run: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const outcome = await run().then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(OpenAI.APIError);
  return outcome as InstanceType<typeof OpenAI.APIError>;
}

describe('errors nginx itself produces', () => {
  it('answers a 50 MB body with a 413 envelope, as JSON, that the openai SDK reads', async () => {
    const { cluster, backend } = fixture;
    backend.setHandler(() => textAnswer('never'));
    const input = 'x'.repeat(50 * 1024 * 1024);

    const raw = await fetch(`${cluster.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input }),
    });
    expect(raw.status).toBe(413);
    expect(raw.headers.get('content-type')).toBe('application/json');
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(body.error).toEqual({
      message: expect.stringContaining('larger than the limit') as unknown,
      type: 'invalid_request_error',
      param: null,
      code: 'request_too_large',
    });

    const client = new OpenAI({ apiKey: API_KEY, baseURL: cluster.baseURL, maxRetries: 0 });
    const error = await sdkError(() => client.responses.create({ model: MODEL, input }));
    expect(error.status).toBe(413);
    expect(error.code).toBe('request_too_large');
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).not.toContain('<html>');
    // Nothing reached a replica, so nothing reached the backend.
    expect(backend.chatRequests()).toHaveLength(0);
  });

  it('answers /metrics (never served through nginx) with a JSON 404, not an HTML page', async () => {
    const response = await fetch(`${fixture.cluster.url}/metrics`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unknown_route');
  });

  it('passes a replica’s own 502 envelope through untouched (nginx does not intercept replica errors)', async () => {
    const { cluster, backend } = fixture;
    backend.setHandler(() => httpError(500, { message: 'backend exploded', type: 'InternalServerError' }));
    const client = new OpenAI({ apiKey: API_KEY, baseURL: cluster.baseURL, maxRetries: 0 });
    const error = await sdkError(() => client.responses.create({ model: MODEL, input: 'hi' }));
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_error');
    expect(error.message).toContain('backend exploded');
  });

  // Last: it stops every replica.
  it('answers with a 502 envelope, as JSON, when every replica is down', async () => {
    const { cluster } = fixture;
    await Promise.all(cluster.replicas.slice().map((replica) => replica.stop('SIGKILL')));
    expect(cluster.replicas).toHaveLength(0);

    const raw = await fetch(`${cluster.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 'hi' }),
    });
    expect(raw.status).toBe(502);
    expect(raw.headers.get('content-type')).toBe('application/json');
    expect(raw.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._-]+$/);
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'server_error', param: null, code: 'gateway_unavailable' });

    const client = new OpenAI({ apiKey: API_KEY, baseURL: cluster.baseURL, maxRetries: 0 });
    const error = await sdkError(() => client.responses.create({ model: MODEL, input: 'hi', stream: true }));
    expect(error.status).toBe(502);
    expect(error.code).toBe('gateway_unavailable');
    expect(error.message).not.toContain('<html>');
  });
});
