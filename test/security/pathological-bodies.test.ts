import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../support/json-bodies.ts';
import { DEFAULT_MODEL_ID, type ScriptedBackend, startScriptedBackend, textAnswer } from '../support/scripted-backend.ts';
import { type InProcessGateway, startInProcessGateway } from '../reliability/support/in-process-gateway.ts';
import { openRawConnection } from '../reliability/support/raw-http.ts';

const MAX_BODY_BYTES = 64 * 1024;
const KEY = 'sk-pathological-test';
let backend: ScriptedBackend;
let gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  gateway = await startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, MAX_BODY_BYTES: String(MAX_BODY_BYTES), MAX_INPUT_ITEMS: '100', LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});
beforeEach(() => {
  backend.reset();
  backend.setHandler(() => textAnswer('ok'));
});

async function post(body: string | Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

function expectEnvelope(result: { status: number; json: unknown }, status: number, code?: string): void {
  expect(result.status, `${JSON.stringify(result.json)}`).toBe(status);
  const anyCode = expect.anything() as unknown;
  expect(result.json).toEqual({
    error: {
      message: expect.any(String) as unknown,
      type: expect.any(String) as unknown,
      param: expect.toSatisfy((value: unknown) => value === null || typeof value === 'string') as unknown,
      code: code ?? anyCode,
    },
  });
}

const valid = JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'Say hi' });

describe('pathological request bodies', () => {
  it('refuses bodies that are not JSON by content type with a 400, and accepts JSON media types', async () => {
    for (const contentType of ['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/jsonp', '']) {
      expectEnvelope(await post(valid, { 'content-type': contentType }), 400, 'unsupported_content_type');
    }
    expect((await post(valid, { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('refuses every truncation of a valid body with a 400 invalid_json', async () => {
    const body = JSON.stringify({ model: DEFAULT_MODEL_ID, input: [{ role: 'user', content: [{ type: 'input_text', text: 'héllo 🤔' }] }] });
    const bytes = Buffer.from(body);
    for (let cut = 0; cut < bytes.length; cut += 7) {
      const result = await post(bytes.subarray(0, cut));
      expectEnvelope(result, 400, 'invalid_json');
    }
    expect((await post(bytes)).status).toBe(200);
  });

  it('answers invalid UTF-8 and lone surrogates with a 2xx or 4xx, and forwards only well-formed JSON', async () => {
    const prefix = Buffer.from(`{"model":"${DEFAULT_MODEL_ID}","input":"`);
    const suffix = Buffer.from('"}');
    for (const bad of [[0xff, 0xfe], [0xc0, 0xaf], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const result = await post(Buffer.concat([prefix, Buffer.from(bad), suffix]));
      expect(result.status).toBeLessThan(500);
    }
    const surrogate = await post(`{"model":"${DEFAULT_MODEL_ID}","input":"a\\ud800b\\udfffc"}`);
    expect(surrogate.status).toBeLessThan(500);
    for (const request of backend.chatRequests()) expect(request.body, 'the backend got JSON it could parse').toBeDefined();
  });

  it('refuses prototype-polluting keys or ignores them, and the gateway process stays unpolluted', async () => {
    for (const body of [
      `{"model":"${DEFAULT_MODEL_ID}","input":"hi","__proto__":{"polluted":"yes"}}`,
      `{"model":"${DEFAULT_MODEL_ID}","input":"hi","constructor":{"prototype":{"polluted":"yes"}}}`,
      `{"model":"${DEFAULT_MODEL_ID}","input":[{"role":"user","content":"hi","__proto__":{"polluted":"yes"}}],"metadata":{"__proto__":"x"}}`,
      `{"model":"${DEFAULT_MODEL_ID}","input":"hi","tools":[{"type":"function","name":"f","parameters":{"__proto__":{"polluted":"yes"},"type":"object"}}]}`,
    ]) {
      expect((await post(body)).status).toBeLessThan(500);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    }
  });

  it('refuses deep nesting with a 400, never a stack overflow', async () => {
    expectEnvelope(await post('['.repeat(30_000) + ']'.repeat(30_000)), 400);
    let nested = '"leaf"';
    for (let depth = 0; depth < 6_000; depth += 1) nested = `{"a":[${nested}]}`;
    expect(nested.length).toBeLessThan(MAX_BODY_BYTES);
    expectEnvelope(await post(`{"model":"${DEFAULT_MODEL_ID}","input":"hi","metadata":${nested}}`), 400, 'nesting_too_deep');
    expectEnvelope(
      await post(`{"model":"${DEFAULT_MODEL_ID}","input":"hi","tools":[{"type":"function","name":"f","parameters":${nested}}]}`),
      400,
      'nesting_too_deep',
    );
    expect(backend.chatRequests()).toHaveLength(0);
  });

  it('refuses huge arrays with a 400 naming the field', async () => {
    const items = Array.from({ length: 101 }, () => ({ role: 'user', content: 'x' }));
    const result = await post(JSON.stringify({ model: DEFAULT_MODEL_ID, input: items }));
    expectEnvelope(result, 400, 'array_above_max_length');
    expect((result.json as ErrorBody).error.param).toBe('input');
    expect((await post(JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', include: Array.from({ length: 20_000 }, () => 0) }))).status).toBe(400);
  });

  it('refuses a body whose declared length is over the limit before a byte of it is sent', async () => {
    const connection = await openRawConnection(gateway.port);
    await connection.write(
      `POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${MAX_BODY_BYTES * 100}\r\n\r\n`,
    );
    const head = await connection.head;
    expect(head.status).toBe(413);
    connection.socket.destroy();
  });

  it('refuses a chunked body as soon as it passes the limit, while the client is still sending', async () => {
    const connection = await openRawConnection(gateway.port);
    await connection.write(
      `POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
    );
    const piece = `{"model":"${DEFAULT_MODEL_ID}","input":"${'x'.repeat(MAX_BODY_BYTES)}`;
    await connection.write(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
    // The request is not finished (no terminating 0-chunk): the 413 must come anyway.
    const head = await connection.head;
    expect(head.status).toBe(413);
    expect(head.raw).toContain('request_too_large');
    connection.socket.destroy();
  });

  it('refuses a compressed body that inflates past the limit (a zip bomb) with a 413', async () => {
    const bomb = gzipSync(Buffer.from(`{"model":"${DEFAULT_MODEL_ID}","input":"${'0'.repeat(MAX_BODY_BYTES * 50)}"}`));
    expect(bomb.length).toBeLessThan(MAX_BODY_BYTES / 4);
    expectEnvelope(await post(bomb, { 'content-encoding': 'gzip' }), 413, 'request_too_large');
    expectEnvelope(await post(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }), 400);
    expectEnvelope(await post(valid, { 'content-encoding': 'compress' }), 400);
  });

  it('answers any JSON body with a 2xx or a 4xx envelope (fuzzed over HTTP)', async () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          model: fc.oneof(fc.constant(DEFAULT_MODEL_ID), fc.string(), fc.jsonValue()),
          input: fc.oneof(
            fc.string(),
            fc.array(fc.record({ role: fc.constantFrom('user', 'assistant', 'system', 'x'), content: fc.oneof(fc.string(), fc.jsonValue()) }), {
              maxLength: 3,
            }),
            fc.jsonValue(),
          ),
          stream: fc.boolean(),
          temperature: fc.oneof(fc.double(), fc.jsonValue()),
          tools: fc.oneof(
            fc.constant(undefined),
            fc.array(fc.record({ type: fc.constantFrom('function', 'custom', 'web_search'), name: fc.string() }), { maxLength: 2 }),
          ),
        },
        { requiredKeys: ['model'] },
      ),
    );
    const samples = fc.sample(body, { numRuns: 150, seed: 4242 });
    for (const sample of samples) {
      const result = await post(JSON.stringify(sample) ?? 'null');
      expect(result.status, `${JSON.stringify(sample)}`).toBeLessThan(500);
      if (result.status >= 400) expectEnvelope(result, result.status);
    }
  });
});
