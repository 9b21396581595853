/**
 * Backend errors as a client of the gateway meets them, through the real gateway process and the
 * openai SDK: a FastAPI-shaped refusal is a readable message (not `{"detail":…}` as a string), and a
 * UPSTREAM_BASE_URL without its /v1 is reported as the wrong URL it is, on the request and on /ready.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startScriptedBackend, textAnswer, type ScriptedBackend } from '../support/scripted-backend.ts';
import { startGateway, type StartedGateway } from '../support/start-gateway.ts';
import { E2E_API_KEY, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

const MODEL = 'org/model-a';

async function sdkError(run: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const outcome = await run().then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(OpenAI.APIError);
  return outcome as InstanceType<typeof OpenAI.APIError>;
}

describe('backend error bodies reach the client as readable messages', () => {
  const fixture = useGatewayWithBackend({ backend: { models: [MODEL] }, env: { UPSTREAM_MAX_RETRIES: '0' } });
  const client = () => new OpenAI({ apiKey: E2E_API_KEY, baseURL: fixture.gateway.baseURL, maxRetries: 0 });

  it('a rejected Chutes key ({"detail":"Invalid token."}) is a 401 saying "Invalid token."', async () => {
    fixture.backend.enqueue({ httpError: { status: 401, body: { detail: 'Invalid token.' } } });
    const error = await sdkError(() => client().responses.create({ model: MODEL, input: 'hi' }));
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.code).toBe('invalid_api_key');
    expect(error.error).toMatchObject({ message: 'Invalid token.' });
  });

  it('a FastAPI validation list is named field by field, streamed or not', async () => {
    const body = { detail: [{ type: 'missing', loc: ['body', 'messages'], msg: 'Field required', input: {} }] };
    fixture.backend.enqueue({ httpError: { status: 422, body } }, { httpError: { status: 422, body } });
    for (const stream of [false, true]) {
      const error = await sdkError(() => client().responses.create({ model: MODEL, input: 'hi', stream }));
      expect(error.status).toBe(422);
      expect(error.error).toMatchObject({ message: 'The backend refused the request: body.messages: Field required' });
    }
  });

  it('an HTML error page from a proxy in front of the backend becomes its title', async () => {
    fixture.backend.enqueue({ httpError: { status: 500, body: '<html><head><title>500 Internal Server Error</title></head><body>…</body></html>' } });
    const error = await sdkError(() => client().responses.create({ model: MODEL, input: 'hi' }));
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ message: 'Backend error (HTTP 500): 500 Internal Server Error', code: 'upstream_error' });
  });
});

describe('UPSTREAM_BASE_URL without /v1', () => {
  let backend: ScriptedBackend | undefined;
  let gateway: StartedGateway | undefined;
  beforeAll(async () => {
    backend = await startScriptedBackend({ models: [MODEL] });
    backend.setHandler(() => textAnswer('never reached'));
    // The backend serves /v1/models and /v1/chat/completions; this URL makes the gateway call /models and /chat/completions.
    gateway = await startGateway({ env: { UPSTREAM_BASE_URL: new URL(backend.url).origin, UPSTREAM_MAX_RETRIES: '0' } });
  });
  afterAll(async () => {
    await gateway?.stop();
    await backend?.close();
  });

  it('is a 404 naming the path and the variable, not model_not_found', async () => {
    const client = new OpenAI({ apiKey: E2E_API_KEY, baseURL: gateway!.baseURL, maxRetries: 0 });
    const error = await sdkError(() => client.responses.create({ model: MODEL, input: 'hi' }));
    expect(error.status).toBe(404);
    expect(error.code).toBe('upstream_not_found');
    expect(error.param).toBeNull();
    expect(error.error).toMatchObject({ message: expect.stringMatching(/has no POST \/chat\/completions .*Check UPSTREAM_BASE_URL/) as unknown });
    expect(JSON.stringify(error.error)).not.toContain('{\\"detail');
  });

  it('/ready says the model list cannot be fetched, and why', async () => {
    await vi.waitFor(
      async () => {
        const ready = (await (await fetch(`${gateway!.url}/ready`)).json()) as Record<string, unknown>;
        expect(ready['models']).toBeNull();
        expect(ready['model_list_error']).toMatch(/has no GET \/models \(HTTP 404: Not Found\)\. Check UPSTREAM_BASE_URL/);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('logs the failed listing as one warn line with the reason, no stack, however often it is retried', async () => {
    // Retries at about 0, 2 and 6 s: three failures, one line.
    await vi.waitFor(() => expect(backend!.requests.filter((request) => request.path === '/models').length).toBeGreaterThanOrEqual(3), {
      timeout: 15_000,
      interval: 100,
    });
    const warnings = gateway!.logRecords().filter((record) => record['msg'] === 'listing backend models failed; keeping the last list');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!['reason']).toMatch(/Check UPSTREAM_BASE_URL/);
    expect(JSON.stringify(warnings[0])).not.toContain('"stack"');
  });
});
