import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AnswerBody } from '../support/json-bodies.ts';
import { DEFAULT_MODEL_ID, type ScriptedBackend, startScriptedBackend, textAnswer } from '../support/scripted-backend.ts';
import { type InProcessGateway, startInProcessGateway } from '../reliability/support/in-process-gateway.ts';

/** OWASP API1 (broken object level authorization): a stored response belongs to the key that created it. */
const OWNER = 'sk-owner-key-aaaaaaaa';
const OTHER = 'sk-other-key-bbbbbbbb';
let backend: ScriptedBackend;
let gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  gateway = await startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});
beforeEach(() => {
  backend.reset();
  backend.setHandler(() => textAnswer('private answer'));
});

async function call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; json: AnswerBody | null }> {
  const response = await fetch(`${gateway.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : (JSON.parse(text) as AnswerBody) };
}

describe('stored responses are isolated per API key', () => {
  it('another key gets the same 404 as for an unknown id, on every endpoint, and cannot continue the conversation', async () => {
    const created = await call('POST', '/responses', OWNER, { model: DEFAULT_MODEL_ID, input: 'my secret', store: true });
    expect(created.status).toBe(200);
    expect(created.json?.id).toMatch(/^resp_/);
    const id = created.json?.id ?? '';
    expect((await call('GET', `/responses/${id}`, OWNER)).status).toBe(200);

    const unknown = await call('GET', '/responses/resp_doesnotexist', OTHER);
    expect(unknown.status).toBe(404);
    for (const [method, path] of [
      ['GET', `/responses/${id}`],
      ['GET', `/responses/${id}/input_items`],
      ['POST', `/responses/${id}/cancel`],
      ['DELETE', `/responses/${id}`],
    ] as const) {
      const answer = await call(method, path, OTHER);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(JSON.stringify(answer.json)).not.toContain('my secret');
      expect(JSON.stringify(answer.json)).not.toContain('private answer');
    }
    const continued = await call('POST', '/responses', OTHER, { model: DEFAULT_MODEL_ID, input: 'and then?', previous_response_id: id });
    // OpenAI answers an unknown previous_response_id with 400 previous_response_not_found.
    expect([400, 404]).toContain(continued.status);
    expect(continued.json?.error?.code).toBe('previous_response_not_found');
    expect(backend.chatRequests().every((request) => !request.rawBody.includes('my secret') || request.headers.authorization === `Bearer ${OWNER}`)).toBe(true);

    // Nothing the other key did touched it.
    const again = await call('GET', `/responses/${id}`, OWNER);
    expect(again.status).toBe(200);
    expect(again.json?.id).toBe(id);
  });
});
