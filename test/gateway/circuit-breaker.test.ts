/**
 * The breaker as a client sees it on one gateway: backend faults open it, client errors never do,
 * and while it is open the gateway answers 503 with Retry-After without calling the backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnswerBody } from '../support/json-bodies.ts';
import { chutesModel, errorChunk, httpError, roleChunk, textAnswer, textChunks } from '../support/scripted-backend.ts';
import { E2E_API_KEY, postResponsesStream, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';
import { waitForModelCatalog } from '../support/wait-for-model-catalog.ts';

const BROKEN = 'broken/model';
const HEALTHY = 'healthy/model';
const FLAKY = 'flaky/model';
const LONG_PROMPTS = 'long-prompts/model';
// Each test that needs an open breaker opens its own model's: no test relies on another's state.
const DOWN = 'down/model';
const METERED = 'metered/model';
const setup = useGatewayWithBackend({
  env: { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '3', CIRCUIT_BREAKER_OPEN_SECONDS: '30', UPSTREAM_MAX_RETRIES: '0' },
  backend: {
    models: [BROKEN, HEALTHY, 'client/error-model', FLAKY, LONG_PROMPTS, DOWN, METERED].map((id) => chutesModel(id)),
  },
});

beforeAll(async () => {
  await waitForModelCatalog(setup.gateway.baseURL, E2E_API_KEY);
});

async function ask(model: string, stream = false): Promise<{ status: number; body: AnswerBody; retryAfter: string | null }> {
  const response = await fetch(`${setup.gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input: 'hi', stream }),
  });
  return { status: response.status, body: (await response.json()) as AnswerBody, retryAfter: response.headers.get('retry-after') };
}

/** Three backend faults in a row (the threshold) through `model`: its breaker is open after them. */
async function openBreakerOf(model: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    setup.backend.enqueue(httpError(500, { message: 'CUDA out of memory', type: 'InternalServerError' }));
  }
  for (let attempt = 0; attempt < 3; attempt += 1) expect((await ask(model)).status).toBe(502);
}

describe('circuit breaker on one gateway', () => {
  it('never opens on client errors (a bad key, a context overflow), however many', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      setup.backend.enqueue(httpError(401, { message: 'Invalid API key', type: 'AuthenticationError' }));
    }
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await ask('client/error-model')).status).toBe(401);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      setup.backend.enqueue(httpError(400, { message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens." }));
    }
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const overflow = await ask('client/error-model');
      expect(overflow.status).toBe(400);
      expect(overflow.body.error?.code).toBe('context_length_exceeded');
    }
    setup.backend.enqueue(textAnswer('still here'));
    expect((await ask('client/error-model')).status).toBe(200);
  });

  it('opens after the threshold of consecutive backend failures and then answers 503 with Retry-After, without calling the backend', async () => {
    await openBreakerOf(BROKEN);
    const callsBefore = setup.backend.chatRequests().length;

    const refused = await ask(BROKEN);
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe('circuit_open');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(30);
    expect(setup.backend.chatRequests().length).toBe(callsBefore);
  });

  it('keeps serving other models while one model’s breaker is open (per-model scope)', async () => {
    await openBreakerOf(DOWN);
    expect((await ask(DOWN)).status).toBe(503);
    setup.backend.enqueue(textAnswer('fine'));
    const healthy = await ask(HEALTHY);
    expect(healthy.status).toBe(200);
    expect(healthy.body.output?.at(-1)?.content?.[0]?.text).toBe('fine');
  });

  it('reports the open breaker in /metrics (1 = open) and stays live on /health', async () => {
    await openBreakerOf(METERED);
    const metrics = await (await fetch(`${setup.gateway.url}/metrics`)).text();
    const line = metrics.split('\n').find((entry) => entry.startsWith('gateway_circuit_breaker_state{') && entry.includes(METERED));
    expect(line?.trim().endsWith(' 1')).toBe(true);
    expect((await fetch(`${setup.gateway.url}/health`)).status).toBe(200);
  });

  it('counts a backend error sent in-band before any output, which streams answer as an HTTP error', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      setup.backend.enqueue({ steps: [roleChunk(), errorChunk({ message: 'worker crashed', type: 'InternalServerError', code: 500 })] });
    }
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await ask(FLAKY, true)).status).toBe(502);
    const callsBefore = setup.backend.chatRequests().length;
    expect((await ask(FLAKY, true)).status).toBe(503);
    expect(setup.backend.chatRequests().length).toBe(callsBefore);
  });

  it('never opens on client-caused failures the backend reports in-band (context overflow, rate limit), before or after output', async () => {
    const overflow = errorChunk({
      message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens.",
      type: 'BadRequestError',
      code: 400,
    });
    const slowDown = errorChunk({ message: 'Rate limit reached for requests, try again in 2s.', type: 'RateLimitError', code: 429 });
    for (let attempt = 0; attempt < 4; attempt += 1) setup.backend.enqueue({ steps: [roleChunk(), overflow] }, { steps: [roleChunk(), slowDown] });
    for (let attempt = 0; attempt < 4; attempt += 1) {
      // Before any output: the stream is answered with an HTTP error carrying the in-band code.
      const tooLong = await ask(LONG_PROMPTS, true);
      expect([tooLong.status, tooLong.body.error?.code]).toEqual([400, 'context_length_exceeded']);
      const limited = await ask(LONG_PROMPTS, true);
      expect([limited.status, limited.body.error?.code]).toEqual([429, 'rate_limit_exceeded']);
    }
    // After output: the stream ends with response.failed; that is no backend fault either.
    for (let attempt = 0; attempt < 4; attempt += 1) setup.backend.enqueue({ steps: [roleChunk(), ...textChunks('partial'), overflow] });
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const { events } = await postResponsesStream(setup.gateway.baseURL, { model: LONG_PROMPTS, input: 'hi' });
      expect(events.at(-1)?.data).toMatchObject({ type: 'response.failed', response: { error: { code: 'context_length_exceeded' } } });
    }
    // 16 in-band failures against a threshold of 3: the breaker is still closed and the backend still asked.
    setup.backend.enqueue(textAnswer('still here'));
    const callsBefore = setup.backend.chatRequests().length;
    expect((await ask(LONG_PROMPTS)).status).toBe(200);
    expect(setup.backend.chatRequests().length).toBe(callsBefore + 1);
  });
});
