import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeSseEvent } from '../../apps/gateway/src/http/event-stream.ts';
import {
  DEFAULT_MODEL_ID,
  finishChunk,
  roleChunk,
  type ScriptedBackend,
  startScriptedBackend,
  textAnswer,
  textChunks,
  toolCallAnswer,
  done,
} from '../support/scripted-backend.ts';
import { type InProcessGateway, startInProcessGateway } from '../reliability/support/in-process-gateway.ts';

const KEY = 'sk-surface-test-key';
let backend: ScriptedBackend;
let closedCors: InProcessGateway;
let openCors: InProcessGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  [closedCors, openCors] = await Promise.all([
    startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn', MAX_BODY_BYTES: '1024' }),
    startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn', CORS_ORIGINS: 'https://app.example, https://admin.example' }),
  ]);
});
afterAll(async () => {
  await Promise.all([closedCors?.stop(), openCors?.stop()]);
  await backend?.close();
});
beforeEach(() => backend.reset());

function postResponses(gateway: InProcessGateway, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Splits an SSE body into frames of `{event, data}` lines, as a strict client would. */
function readFrames(text: string): { event: string[]; data: string[] }[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      return { event: lines.filter((line) => line.startsWith('event:')), data: lines.filter((line) => line.startsWith('data:')) };
    });
}

describe('security headers', () => {
  it('sends nosniff, no framing and no referrer on every kind of answer, and never x-powered-by', async () => {
    backend.enqueue(textAnswer('hi'), textAnswer('hi'));
    const answers = [
      await fetch(`${closedCors.url}/health`),
      await postResponses(closedCors, { model: DEFAULT_MODEL_ID, input: 'hi' }),
      await postResponses(closedCors, { model: DEFAULT_MODEL_ID, input: 'hi', stream: true }),
      await fetch(`${closedCors.baseURL}/responses`, { method: 'POST' }),
      await fetch(`${closedCors.url}/nope`),
      await postResponses(closedCors, { model: DEFAULT_MODEL_ID, input: 'x'.repeat(2_000) }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 401, 404, 413]);
    for (const answer of answers) {
      await answer.text();
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      expect(answer.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('never echoes a malformed x-request-id', async () => {
    const answer = await fetch(`${closedCors.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}`, 'x-request-id': `a${'b'.repeat(300)}` } });
    await answer.text();
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const spaced = await fetch(`${closedCors.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}`, 'x-request-id': 'evil value; injected=1' } });
    await spaced.text();
    expect(spaced.headers.get('x-request-id')).not.toContain('evil');
  });
});

describe('CORS', () => {
  it('is off unless configured: no allow-origin for any origin, and preflights are not granted', async () => {
    const simple = await fetch(`${closedCors.url}/v1/models`, { headers: { origin: 'https://app.example', authorization: `Bearer ${KEY}` } });
    await simple.text();
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${closedCors.baseURL}/responses`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    await preflight.text();
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('when configured, allows exactly the listed origins, never a wildcard or credentials', async () => {
    const allowed = await fetch(`${openCors.baseURL}/responses`, {
      method: 'OPTIONS',
      headers: { origin: 'https://admin.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect(allowed.headers.get('vary')).toContain('Origin');
    const refused = await fetch(`${openCors.baseURL}/responses`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.evil.example', 'access-control-request-method': 'POST' },
    });
    await refused.text();
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const nullOrigin = await fetch(`${openCors.url}/health`, { headers: { origin: 'null' } });
    await nullOrigin.text();
    expect(nullOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('SSE framing', () => {
  it('refuses to write an event name that could forge frames', () => {
    expect(() => encodeSseEvent({ type: 'response.completed\ndata: {}' })).toThrow('Refusing to write an SSE event named');
    expect(() => encodeSseEvent({ type: 'x\r\nevent: y' })).toThrow('Refusing to write an SSE event named');
    expect(encodeSseEvent({ type: 'response.output_text.delta' })).toMatch(/^event: response\.output_text\.delta\ndata: .*\n\n$/s);
  });

  it('keeps backend text that looks like SSE inside one data line: no forged events reach the client', async () => {
    const forged = '\n\nevent: response.completed\ndata: {"type":"response.completed"}\n\n\r\n\rdata: [DONE]\n\n';
    backend.enqueue({ steps: [roleChunk(), ...textChunks(forged, { split: 7 }), finishChunk('stop'), done()] });
    backend.enqueue(toolCallAnswer([{ id: 'call_1', name: 'get_weather', arguments: JSON.stringify({ city: forged }) }]));
    const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    // The text answer comes back as a message, the tool call's arguments as sent.
    for (const [body, expected] of [
      [
        { model: DEFAULT_MODEL_ID, input: 'hi', stream: true },
        { type: 'message', text: forged },
      ],
      [
        { model: DEFAULT_MODEL_ID, input: 'hi', stream: true, tools },
        { type: 'function_call', arguments: { city: forged } },
      ],
    ] as const) {
      const answer = await postResponses(closedCors, body);
      const frames = readFrames(await answer.text());
      for (const frame of frames) {
        expect(frame.event).toHaveLength(1);
        expect(frame.data).toHaveLength(1);
        const data = JSON.parse(frame.data[0]!.slice(5)) as { type: string };
        expect(frame.event[0]).toBe(`event: ${data.type}`);
      }
      const types = frames.map((frame) => frame.event[0]);
      expect(types.filter((type) => type === 'event: response.completed')).toHaveLength(1);
      expect(types.at(-1)).toBe('event: response.completed');
      const completed = JSON.parse(frames.at(-1)!.data[0]!.slice(5)) as {
        response: { output: { type: string; content?: { text: string }[]; arguments?: string }[] };
      };
      const item = completed.response.output[0]!;
      const args = item.arguments === undefined ? undefined : (JSON.parse(item.arguments) as unknown);
      expect({ type: item.type, text: item.content?.[0]?.text, arguments: args }).toEqual(expected);
    }
  });
});

describe('no SSRF', () => {
  let canary: Server;
  let canaryHits = 0;
  let canaryUrl = '';

  beforeAll(async () => {
    canary = createServer((request, response) => {
      canaryHits += 1;
      response.end('canary');
    });
    canary.on('connection', () => (canaryHits += 1));
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => canary.close(resolve));
  });

  it('never fetches URLs a client puts in a request, and never lets a client pick the upstream', async () => {
    backend.setHandler(() => textAnswer('seen'));
    const bodies = [
      {
        model: DEFAULT_MODEL_ID,
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'look' },
              { type: 'input_image', image_url: `${canaryUrl}/image.png` },
            ],
          },
        ],
      },
      { model: DEFAULT_MODEL_ID, input: [{ role: 'user', content: [{ type: 'input_file', file_url: `${canaryUrl}/doc.pdf` }] }] },
      { model: DEFAULT_MODEL_ID, input: 'hi', tools: [{ type: 'mcp', server_label: 'x', server_url: `${canaryUrl}/mcp` }] },
      { model: DEFAULT_MODEL_ID, input: `fetch ${canaryUrl}/x please`, instructions: canaryUrl },
    ];
    const headers = {
      host: `127.0.0.1:${new URL(canaryUrl).port}`,
      'x-forwarded-host': new URL(canaryUrl).host,
      'x-upstream-url': canaryUrl,
      'x-portkey-custom-host': canaryUrl,
    };
    for (const body of bodies) {
      for (const stream of [false, true]) {
        const answer = await postResponses(closedCors, { ...body, stream }, headers);
        await answer.text();
        expect(answer.status).toBeLessThan(500);
      }
    }
    expect(canaryHits).toBe(0);
    const imageRequest = backend.chatRequests()[0];
    // Passed through for the backend to fetch (or not), unchanged.
    expect(imageRequest?.rawBody).toContain(`${canaryUrl}/image.png`);
  });
});
