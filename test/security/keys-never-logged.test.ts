import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MODEL_ID,
  errorChunk,
  httpError,
  roleChunk,
  type ScriptedBackend,
  startScriptedBackend,
  textAnswer,
  textChunks,
} from '../support/scripted-backend.ts';
import { type InProcessGateway, startInProcessGateway } from '../reliability/support/in-process-gateway.ts';

/**
 * A key in no vendor's format, so only the gateway's knowledge of the key (not a pattern such as
 * `sk-…`) can keep it out of the logs. Logging at trace level: the most the gateway ever writes.
 */
const KEY = 'gwtest9Zq8u3NfK1pXr7LmW2';
let backend: ScriptedBackend;
let gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  gateway = await startInProcessGateway({
    UPSTREAM_BASE_URL: backend.url,
    LOG_LEVEL: 'trace',
    UPSTREAM_HEADERS_TIMEOUT_MS: '300',
    UPSTREAM_MAX_RETRIES: '1',
  });
});
afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});
beforeEach(() => backend.reset());

async function call(options: { stream?: boolean; headers?: Record<string, string>; query?: string } = {}): Promise<number> {
  const response = await fetch(`${gateway.baseURL}/responses${options.query ?? ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.headers ?? { authorization: `Bearer ${KEY}` }) },
    body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', stream: options.stream === true }),
  });
  await response.text();
  return response.status;
}

describe('API keys never reach the logs', () => {
  it('not from successful calls, headers, query strings or any backend failure that echoes the key', async () => {
    const echo = `Incorrect API key provided: ${KEY}. Authorization: Bearer ${KEY} key=${KEY}`;
    backend.enqueue(textAnswer('hello'), textAnswer('hello'), textAnswer('hello'));
    expect(await call()).toBe(200);
    expect(await call({ stream: true })).toBe(200);
    expect(await call({ headers: { 'x-api-key': KEY }, query: `?api_key=${KEY}&key=${KEY}` })).toBe(200);

    backend.enqueue(httpError(401, { message: echo, type: 'AuthenticationError' }));
    expect(await call()).toBe(401);
    // A 429 that says when is retried after that delay (its reason is logged), then passed back.
    const limited = httpError(429, { message: echo, type: 'RateLimitError' }, { headers: { 'retry-after-ms': '20' } });
    backend.enqueue(limited, limited);
    expect(await call({ stream: true })).toBe(429);
    backend.enqueue(httpError(429, { message: echo, type: 'RateLimitError' }, { headers: { 'retry-after': '30' } }));
    expect(await call()).toBe(429);
    backend.enqueue({ httpError: { status: 500, body: `<html>upstream proxy error for ${KEY}</html>` } });
    expect(await call()).toBe(502);
    backend.enqueue({ httpError: { status: 400, body: { error: { message: echo, type: 'BadRequestError', param: null, code: 400 } } } });
    expect(await call()).toBe(400);
    backend.enqueue({ steps: [roleChunk(), ...textChunks('partial'), errorChunk({ message: echo })] });
    expect(await call({ stream: true })).toBe(200);
    backend.enqueue({ steps: [roleChunk(), errorChunk({ message: echo })] });
    expect(await call({ stream: true })).toBeGreaterThanOrEqual(500);
    backend.enqueue({ hang: 'before-headers' }); // a timeout is not retried
    expect(await call()).toBe(504);
    backend.enqueue({ httpError: { status: 503, body: echo } }, { httpError: { status: 503, body: echo } });
    expect(await call()).toBe(502);

    expect(backend.chatRequests().every((request) => request.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    const logs = gateway.logs.join('\n');
    expect(logs.length).toBeGreaterThan(1_000);
    expect(logs).not.toContain(KEY);
    // Not even a recognisable piece of it.
    expect(logs).not.toContain(KEY.slice(0, 12));
  });
});
