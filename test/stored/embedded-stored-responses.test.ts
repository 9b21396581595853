/**
 * Stored responses in embedded mode (no Redis): the in-memory store behind the same endpoints,
 * with a 1-second TTL so expiry is observable.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MODEL_ID, type ScriptedBackend, startScriptedBackend, textAnswer } from '../support/scripted-backend.ts';
import { type StartedGateway, startGateway } from '../support/start-gateway.ts';
import { chatContentText } from '../support/use-gateway-with-backend.ts';

const KEY = 'sk-embedded-owner';
let backend: ScriptedBackend;
let gateway: StartedGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url, RESPONSES_TTL_SECONDS: '1' } });
});
afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});
beforeEach(() => backend.reset());

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('stored responses in embedded mode', () => {
  it('chains turns with previous_response_id from the in-memory store', async () => {
    backend.enqueue(textAnswer('Blue.'), textAnswer('Because of Rayleigh scattering.'));
    const first = await call('POST', '/responses', { model: DEFAULT_MODEL_ID, input: 'Sky colour?' });
    const second = await call('POST', '/responses', { model: DEFAULT_MODEL_ID, input: 'Why?', previous_response_id: first.body['id'] });
    expect(second.status).toBe(200);
    const messages = backend.chatRequests()[1]?.body?.messages ?? [];
    expect(messages.map((message) => chatContentText(message.content))).toEqual(['Sky colour?', 'Blue.', 'Why?']);
  });

  it('serves on GET exactly the Response the JSON answer carried, and its input as input_items', async () => {
    backend.enqueue(textAnswer('Stored verbatim.'));
    const created = await call('POST', '/responses', { model: DEFAULT_MODEL_ID, input: 'Keep this.', metadata: { topic: 'store' } });
    expect(created.status).toBe(200);
    const read = await call('GET', `/responses/${String(created.body['id'])}`);
    expect(read).toEqual({ status: 200, body: created.body });
    const items = await call('GET', `/responses/${String(created.body['id'])}/input_items`);
    expect(items.body['data']).toMatchObject([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Keep this.' }] }]);
  });

  it('forgets a response once RESPONSES_TTL_SECONDS have passed', async () => {
    backend.enqueue(textAnswer('Short-lived.'));
    const created = await call('POST', '/responses', { model: DEFAULT_MODEL_ID, input: 'hello' });
    const id = String(created.body['id']);
    expect((await call('GET', `/responses/${id}`)).status).toBe(200);
    // The gateway is a child process: its clock cannot be moved, so this waits for the 1 s TTL to
    // end. The exact boundary is the store's own test (libs/response-store, with an injected clock);
    // this one shows RESPONSES_TTL_SECONDS reaches it.
    await vi.waitFor(async () => expect((await call('GET', `/responses/${id}`)).status).toBe(404), { timeout: 5_000, interval: 100 });
    const chained = await call('POST', '/responses', { model: DEFAULT_MODEL_ID, input: 'again', previous_response_id: id });
    expect(chained.body).toMatchObject({ error: { code: 'previous_response_not_found' } });
  });

  it('stores nothing with store:false', async () => {
    backend.enqueue(textAnswer('Not kept.'));
    const created = await call('POST', '/responses', { model: DEFAULT_MODEL_ID, input: 'ephemeral', store: false });
    expect(created.body['store']).toBe(false);
    expect((await call('GET', `/responses/${String(created.body['id'])}`)).status).toBe(404);
  });
});
