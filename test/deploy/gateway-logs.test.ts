/**
 * The access log of the real gateway process: one JSON line per request with the fields operators
 * search by, and never the client's key — not from headers, not from the query string, not from a
 * backend error message that echoes it (OpenAI-compatible backends do: "Incorrect API key provided: …").
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MODEL_ID, httpError, startScriptedBackend, textAnswer, type ScriptedBackend } from '../support/scripted-backend.ts';
import { startGateway, type StartedGateway } from '../support/start-gateway.ts';
import { waitForModelCatalog } from '../support/wait-for-model-catalog.ts';

const KEY = 'cpk_5f0e9b1c7a.d2c4e6f8a1b3.LogGrepSecret42';

/** The gateway writes a request's log line as the response finishes, which can trail the client's read. */
async function waitForLog(condition: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(condition()).toBe(true), { timeout: 2_000, interval: 10 });
}

describe('gateway access log', () => {
  let backend: ScriptedBackend | undefined;
  let gateway: StartedGateway | undefined;

  beforeAll(async () => {
    backend = await startScriptedBackend();
    gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url } });
    // The model label in logs and metrics is a catalogue id: wait until the catalogue has loaded.
    await waitForModelCatalog(`${gateway.url}/v1`, KEY);
  });
  afterAll(async () => {
    await gateway?.stop();
    await backend?.close();
  });

  function accessLines(): Record<string, unknown>[] {
    return (gateway?.logRecords() ?? []).filter((record) => typeof record['request_id'] === 'string');
  }

  it('writes one line per request with request id, route, model, status, time to first token, tokens and duration', async () => {
    backend?.enqueue(textAnswer('Hello there', { usage: { prompt: 21, completion: 3 } }));
    const response = await fetch(`${gateway?.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-request-id': 'ops-trace-0001' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'Hi', stream: true }),
    });
    await response.text();
    expect(response.headers.get('x-request-id')).toBe('ops-trace-0001');
    await waitForLog(() => accessLines().some((line) => line['request_id'] === 'ops-trace-0001'));
    const lines = accessLines().filter((line) => line['request_id'] === 'ops-trace-0001');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      route: '/v1/responses',
      status: 200,
      model: DEFAULT_MODEL_ID,
      ttft_ms: expect.any(Number) as unknown,
      input_tokens: 21,
      output_tokens: 3,
      duration_ms: expect.any(Number) as unknown,
    });
  });

  it('never writes the client key, even when it is in the query string and the backend echoes it in an error', async () => {
    backend?.enqueue(
      httpError(401, { message: `Incorrect API key provided: ${KEY}. Authorization: Bearer ${KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' }),
    );
    const response = await fetch(`${gateway?.url}/v1/responses?api_key=${KEY}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'x-api-key': KEY, 'content-type': 'application/json', 'x-request-id': 'ops-trace-0002' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'Hi' }),
    });
    await response.text();
    expect(response.status).toBeGreaterThanOrEqual(400);
    await waitForLog(() => accessLines().some((line) => line['request_id'] === 'ops-trace-0002'));
    expect(accessLines().find((line) => line['request_id'] === 'ops-trace-0002')).toMatchObject({
      req: { url: '/v1/responses' },
      status: response.status,
    });
    const everything = [...(gateway?.logs ?? []), ...(gateway?.errors ?? [])].join('\n');
    expect(everything).not.toContain(KEY);
  });
});

describe('gateway log at LOG_LEVEL=debug', () => {
  let backend: ScriptedBackend | undefined;
  let gateway: StartedGateway | undefined;
  beforeAll(async () => {
    backend = await startScriptedBackend();
    gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'debug', UPSTREAM_MAX_RETRIES: '1' } });
  });
  afterAll(async () => {
    await gateway?.stop();
    await backend?.close();
  });

  it('adds one summary line per backend call (host, path, status, attempt, duration, request id), never a key or a body', async () => {
    const host = new URL(backend!.url).host;
    backend!.enqueue(httpError(503, { message: `busy, key ${KEY}` }), textAnswer('the secret body text'));
    const response = await fetch(`${gateway!.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-request-id': 'req-debug-1' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'the secret prompt text', stream: true }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await waitForLog(
      () => (gateway?.logRecords() ?? []).filter((record) => record['msg'] === 'backend call' && record['request_id'] === 'req-debug-1').length >= 2,
    );
    const calls = (gateway?.logRecords() ?? []).filter((record) => record['msg'] === 'backend call' && record['request_id'] === 'req-debug-1');
    expect(
      calls.map((record) => [record['level'], record['backend'], record['method'], record['path'], record['status'], record['attempt'], record['model']]),
    ).toEqual([
      ['debug', host, 'POST', '/v1/chat/completions', 503, 0, DEFAULT_MODEL_ID],
      ['debug', host, 'POST', '/v1/chat/completions', 200, 1, DEFAULT_MODEL_ID],
    ]);
    expect(calls.every((record) => typeof record['duration_ms'] === 'number')).toBe(true);
    const everything = gateway!.logs.join('\n');
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain('the secret prompt text');
    expect(everything).not.toContain('the secret body text');
  });
});
