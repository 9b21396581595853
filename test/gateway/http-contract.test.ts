/**
 * The gateway's HTTP contract outside the translation itself: auth, body limits, validation errors,
 * the model catalogue, health and readiness. Every non-2xx answer must be the OpenAI envelope.
 */
import { describe, expect, it } from 'vitest';
import type { AnswerBody, ErrorBody } from '../support/json-bodies.ts';
import { chutesModel, textAnswer } from '../support/scripted-backend.ts';
import { E2E_API_KEY, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';
import { waitForModelCatalog } from '../support/wait-for-model-catalog.ts';

const MODEL = 'deepseek-ai/DeepSeek-V3.2';
const setup = useGatewayWithBackend({
  env: { MAX_BODY_BYTES: '4096', MAX_INPUT_ITEMS: '5' },
  backend: { models: [chutesModel(MODEL), chutesModel('Qwen/Qwen3-235B-A22B'), chutesModel('moonshotai/Kimi-K2-Thinking')] },
});

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: AnswerBody | null; headers: Headers }> {
  const response = await fetch(`${setup.gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as AnswerBody) : null, headers: response.headers };
}

function expectEnvelope(json: unknown): void {
  // Object.keys throws on null and undefined: a missing body fails here too.
  expect(Object.keys(json as object)).toEqual(['error']);
  const { error } = json as ErrorBody;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof error.message).toBe('string');
}

const modelsLoaded = () => waitForModelCatalog(setup.gateway.baseURL, E2E_API_KEY);

describe('authentication', () => {
  it('answers 401 in the OpenAI envelope when no key is sent, without calling the backend', async () => {
    const response = await post('/v1/responses', JSON.stringify({ model: MODEL, input: 'hi' }), { authorization: '' });
    expect(response.status).toBe(401);
    expectEnvelope(response.json);
    expect(setup.backend.chatRequests()).toHaveLength(0);
  });

  it('accepts x-api-key and forwards it to the backend as a bearer token', async () => {
    setup.backend.enqueue(textAnswer('ok'));
    const response = await post('/v1/responses', JSON.stringify({ model: MODEL, input: 'hi' }), { authorization: '', 'x-api-key': 'sk-from-x-api-key' });
    expect(response.status).toBe(200);
    expect(setup.backend.chatRequests()[0]?.headers.authorization).toBe('Bearer sk-from-x-api-key');
  });
});

describe('bad input', () => {
  it('answers 400 invalid_json for a malformed body', async () => {
    const response = await post('/v1/responses', '{"model": "x", "input": ');
    expect(response.status).toBe(400);
    expectEnvelope(response.json);
    expect(response.json?.error?.code).toBe('invalid_json');
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await post('/v1/responses', 'model=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(400);
    expectEnvelope(response.json);
  });

  it('answers 413 for a body over MAX_BODY_BYTES, and the connection still works', async () => {
    const response = await post('/v1/responses', JSON.stringify({ model: MODEL, input: 'x'.repeat(10_000) }));
    expect(response.status).toBe(413);
    expectEnvelope(response.json);
    const health = await fetch(`${setup.gateway.url}/health`);
    expect(health.status).toBe(200);
  });

  it('names the field in a type error', async () => {
    const response = await post('/v1/responses', JSON.stringify({ model: MODEL, input: 'hi', max_output_tokens: 'many' }));
    expect(response.status).toBe(400);
    expect(response.json?.error?.param).toBe('max_output_tokens');
    expect(response.json?.error?.code).toBe('invalid_type');
  });

  it('refuses more input items than MAX_INPUT_ITEMS, naming input', async () => {
    const input = Array.from({ length: 6 }, (_, index) => ({ role: 'user', content: `message ${index}` }));
    const response = await post('/v1/responses', JSON.stringify({ model: MODEL, input }));
    expect(response.status).toBe(400);
    expect(response.json?.error?.param).toBe('input');
  });

  it('answers the API’s previous_response_not_found for an unknown previous_response_id', async () => {
    const response = await post('/v1/responses', JSON.stringify({ model: MODEL, input: 'hi', previous_response_id: 'resp_doesnotexist' }));
    expect(response.status).toBe(400);
    expect(response.json?.error).toMatchObject({ param: 'previous_response_id', code: 'previous_response_not_found', type: 'invalid_request_error' });
    expect(setup.backend.chatRequests()).toHaveLength(0);
  });

  it('answers 404 with the envelope for an unknown route', async () => {
    const response = await fetch(`${setup.gateway.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${E2E_API_KEY}` } });
    expect(response.status).toBe(404);
    expectEnvelope(await response.json());
  });
});

describe('model catalogue', () => {
  it('serves the backend list with every field the backend sent', async () => {
    await modelsLoaded();
    const response = await fetch(`${setup.gateway.baseURL}/models`, { headers: { authorization: `Bearer ${E2E_API_KEY}` } });
    const body = (await response.json()) as { object: string; data: { id: string; supported_features?: string[] }[] };
    expect(body.object).toBe('list');
    const model = body.data.find((entry) => entry.id === MODEL);
    expect(model).toMatchObject({ id: MODEL, object: 'model', pricing: { prompt: 0.25, completion: 1 }, max_model_len: 131_072 });
    expect(model?.supported_features).toContain('reasoning');
  });

  it('retrieves one model by id, case-insensitively', async () => {
    await modelsLoaded();
    const response = await fetch(`${setup.gateway.baseURL}/models/${encodeURIComponent(MODEL.toLowerCase())}`, {
      headers: { authorization: `Bearer ${E2E_API_KEY}` },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { id: string }).id).toBe(MODEL);
  });

  it('sends the backend its exact model id when the client used other casing', async () => {
    await modelsLoaded();
    setup.backend.enqueue(textAnswer('ok'));
    const response = await post('/v1/responses', JSON.stringify({ model: 'DEEPSEEK-AI/deepseek-v3.2', input: 'hi' }));
    expect(response.status).toBe(200);
    expect(setup.backend.chatRequests()[0]?.body?.model).toBe(MODEL);
    expect(response.json?.model).toBe(MODEL);
  });

  it('answers 404 model_not_found naming the closest ids for an unknown model', async () => {
    await modelsLoaded();
    const response = await post('/v1/responses', JSON.stringify({ model: 'deepseek-ai/DeepSeek-V3.1', input: 'hi' }));
    expect(response.status).toBe(404);
    expect(response.json?.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(response.json?.error?.message).toContain(MODEL);
    expect(setup.backend.chatRequests()).toHaveLength(0);
  });
});

describe('health and readiness', () => {
  it('answers /health and /ready without a key', async () => {
    const health = await fetch(`${setup.gateway.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${setup.gateway.url}/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { mode: string }).mode).toBe('embedded');
  });

  it('returns the client’s x-request-id', async () => {
    const response = await fetch(`${setup.gateway.baseURL}/models`, { headers: { authorization: `Bearer ${E2E_API_KEY}`, 'x-request-id': 'trace-abc.123' } });
    expect(response.headers.get('x-request-id')).toBe('trace-abc.123');
  });
});
