import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstreamClient, readRetryAfterMs } from './create-upstream-client.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

const servers: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function backend(handler: Handler): Promise<{ url: string; attempts: () => number; authorizations: string[] }> {
  let attempts = 0;
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    attempts += 1;
    authorizations.push(String(req.headers.authorization));
    req.resume();
    handler(req, res, attempts);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({
    // Resolves once the port is closed: a connection to it is refused from then on.
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, attempts: () => attempts, authorizations };
}

function client(url: string, maxRetries = 2) {
  return createUpstreamClient({ baseUrl: url, connectTimeoutMs: 1000, headersTimeoutMs: 2000, idleTimeoutMs: 2000, maxRetries, random: () => 0 });
}

const completion = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const call = () => ({ apiKey: 'sk-test-key-1234567890', signal: new AbortController().signal });

describe('createUpstreamClient', () => {
  it('forwards the key as a bearer token', async () => {
    const server = await backend((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(completion));
    await client(server.url).completeChat({ model: 'm', messages: [] } as never, call());
    expect(server.authorizations).toEqual(['Bearer sk-test-key-1234567890']);
  });

  it('retries a 503 before any byte reached the client, then succeeds', async () => {
    const server = await backend((_req, res, attempt) => {
      if (attempt < 3) res.writeHead(503).end('{"error":{"message":"overloaded"}}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    });
    const retries: number[] = [];
    const answer = await client(server.url).completeChat({ model: 'm', messages: [] } as never, {
      ...call(),
      onRetry: (_error, attempt) => retries.push(attempt),
    });
    expect(answer.choices?.[0]?.message?.content).toBe('hi');
    expect(server.attempts()).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after the retry budget with a 502', async () => {
    const server = await backend((_req, res) => res.writeHead(502).end('bad gateway'));
    await expect(client(server.url, 2).completeChat({ model: 'm', messages: [] } as never, call())).rejects.toMatchObject({ status: 502 });
    expect(server.attempts()).toBe(3);
  });

  it('never retries a client error', async () => {
    const server = await backend((_req, res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad request"}}'));
    await expect(client(server.url).completeChat({ model: 'm', messages: [] } as never, call())).rejects.toMatchObject({ status: 400 });
    expect(server.attempts()).toBe(1);
  });

  it('answers 504 when the backend sends no headers in time, without retrying', async () => {
    const server = await backend(() => {
      /* never answers */
    });
    const slow = createUpstreamClient({ baseUrl: server.url, connectTimeoutMs: 1000, headersTimeoutMs: 200, idleTimeoutMs: 200, maxRetries: 2 });
    await expect(slow.completeChat({ model: 'm', messages: [] } as never, call())).rejects.toMatchObject({ status: 504 });
    expect(server.attempts()).toBe(1);
  });

  it('retries a refused connection and then reports 502', async () => {
    const server = await backend((_req, res) => res.end());
    const url = server.url;
    for (const entry of servers.splice(0)) await entry.close();
    await expect(client(url, 1).completeChat({ model: 'm', messages: [] } as never, call())).rejects.toMatchObject({
      status: 502,
      code: 'upstream_connection_error',
    });
  });
});

describe('readRetryAfterMs (openai-node rules)', () => {
  it('prefers retry-after-ms, then retry-after in seconds, then retry-after as an HTTP date', () => {
    const now = Date.parse('2026-01-05T10:00:00Z');
    expect(readRetryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(readRetryAfterMs({ 'retry-after': '1.5' }, now)).toBe(1500);
    expect(readRetryAfterMs({ 'retry-after': 'Mon, 05 Jan 2026 10:00:03 GMT' }, now)).toBe(3000);
  });

  it('is undefined when absent or unreadable, and never negative for a date in the past', () => {
    const now = Date.parse('2026-01-05T10:00:00Z');
    expect(readRetryAfterMs({}, now)).toBeUndefined();
    expect(readRetryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(readRetryAfterMs({ 'retry-after-ms': '-5' }, now)).toBeUndefined();
    expect(readRetryAfterMs({ 'retry-after': 'Mon, 05 Jan 2026 09:59:00 GMT' }, now)).toBe(0);
  });
});
