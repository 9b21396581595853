/**
 * The gateway on an HTTP/2 backend (UPSTREAM_HTTP2, UPSTREAM_TLS_CA_FILE): a real node:http2 server
 * with a certificate made at test time, streams multiplexed on a few connections, and a GOAWAY
 * mid-stream turned into `response.failed` for the clients whose streams it cut.
 */
import { constants as http2Constants, type Http2Session } from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { done, finishChunk, textChunks } from '../support/chat-script.ts';
import { answerText, type H2Backend, sseOf, startH2Backend, streamHeaders } from '../support/h2-backend.ts';
import { parseSseData } from '../support/read-sse-events.ts';
import { DEFAULT_MODEL_ID } from '../support/scripted-backend.ts';
import { type InProcessGateway, startInProcessGateway } from './support/in-process-gateway.ts';

const KEY = 'sk-backend-http2';
const IDLE_TIMEOUT_MS = 30_000;
let backend: H2Backend;
let h2Gateway: InProcessGateway;
let h1Gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startH2Backend();
  const common = {
    LOG_LEVEL: 'warn',
    UPSTREAM_BASE_URL: backend.url,
    UPSTREAM_TLS_CA_FILE: backend.caFile,
    UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    CIRCUIT_BREAKER_FAILURE_THRESHOLD: '10000',
  };
  h2Gateway = await startInProcessGateway({ ...common, UPSTREAM_HTTP2: 'true' });
  h1Gateway = await startInProcessGateway(common);
});
afterAll(async () => {
  await Promise.all([h2Gateway?.stop(), h1Gateway?.stop()]);
  await backend?.close();
});
afterEach(() => {
  backend.requests.splice(0);
  backend.handleChat = answerText('Hello over h2');
});

interface Answer {
  readonly status: number;
  readonly events: { type: string; [field: string]: unknown }[];
  readonly elapsedMs: number;
}

/** One streamed create; `onOutput` is called once the first text delta reached this client. */
async function streamResponse(gateway: InProcessGateway, onOutput?: () => void): Promise<Answer> {
  const startedAt = performance.now();
  const response = await fetch(`${gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', stream: true }),
  });
  let text = '';
  const decoder = new TextDecoder();
  for await (const bytes of response.body!) {
    text += decoder.decode(bytes as Uint8Array, { stream: true });
    if (text.includes('"response.output_text.delta"')) onOutput?.();
  }
  return { status: response.status, events: parseSseData<{ type: string }>(text), elapsedMs: performance.now() - startedAt };
}

function textOf(answer: Answer): string {
  return answer.events
    .filter((event) => event.type === 'response.output_text.delta')
    .map((event) => event.delta as string)
    .join('');
}

const chatRequests = () => backend.requests.filter((seen) => seen.path === '/v1/chat/completions');

describe('the gateway on an HTTP/2 backend', () => {
  it('with UPSTREAM_HTTP2=true, 20 concurrent /v1/responses streams reach the backend as HTTP/2 streams on a few connections', async () => {
    let open = 0;
    const allOpen = Promise.withResolvers<void>();
    backend.handleChat = async (_req, res) => {
      res.writeHead(200, streamHeaders);
      res.write(sseOf(textChunks('Hello ')));
      open += 1;
      if (open === 20) allOpen.resolve();
      await allOpen.promise;
      res.end(sseOf([...textChunks('over h2'), finishChunk('stop'), done()]));
    };
    const sessionsBefore = backend.sessions.length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => streamResponse(h2Gateway)));
    for (const answer of answers) {
      expect(answer.events.at(-1)?.type).toBe('response.completed');
      expect(textOf(answer)).toBe('Hello over h2');
    }
    expect(chatRequests().map((seen) => `${seen.httpVersion} ${String(seen.alpnProtocol)}`)).toEqual(Array.from({ length: 20 }, () => '2.0 h2'));
    // The model list's session carries them all; at most one more if a stream raced its handshake.
    expect(backend.sessions.length - sessionsBefore).toBeLessThanOrEqual(1);
  });

  it('by default (UPSTREAM_HTTP2 unset) the same backend, which prefers h2, is spoken to in HTTP/1.1', async () => {
    const answer = await streamResponse(h1Gateway);
    expect(answer.events.at(-1)?.type).toBe('response.completed');
    expect(chatRequests().map((seen) => `${seen.httpVersion} ${String(seen.alpnProtocol)}`)).toEqual(['1.1 http/1.1']);
  });

  it('a backend GOAWAY mid-stream ends each cut stream in response.failed (output kept), well within the idle timeout; the next request succeeds on a fresh connection', async () => {
    // The sessions carrying the cut streams (the pool may have spread them over more than one).
    const carrying = new Set<Http2Session>();
    backend.handleChat = (req, res) => {
      res.writeHead(200, streamHeaders);
      res.write(sseOf(textChunks('partial')));
      carrying.add(req.stream.session!);
    };
    // The GOAWAY comes once each client has its first output: the streams are in full flow.
    const outputs = Array.from({ length: 3 }, () => Promise.withResolvers<void>());
    const answers = Promise.all(outputs.map((output) => streamResponse(h2Gateway, output.resolve)));
    await Promise.all(outputs.map((output) => output.promise));
    const sessionsBefore = backend.sessions.length;
    for (const session of carrying) {
      session.goaway(http2Constants.NGHTTP2_INTERNAL_ERROR);
      session.destroy();
    }
    for (const answer of await answers) {
      expect(answer.status).toBe(200);
      expect(textOf(answer)).toBe('partial');
      expect(answer.events.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' } } });
      expect(answer.elapsedMs).toBeLessThan(IDLE_TIMEOUT_MS);
    }

    backend.handleChat = answerText('after the GOAWAY');
    const after = await streamResponse(h2Gateway);
    expect(after.events.at(-1)?.type).toBe('response.completed');
    expect(textOf(after)).toBe('after the GOAWAY');
    expect(backend.sessions.length).toBe(sessionsBefore + 1);
    expect(chatRequests().at(-1)?.httpVersion).toBe('2.0');
  });
});
