import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import type { GatewayError } from '@rgw/errors';
import { UpstreamError } from '@rgw/errors';
import { type ChatCompletion, type ChatCompletionRequest, type ChatStreamEvent, parseChatCompletion } from '@rgw/responses';
import { mapUpstreamHttpError } from './map-upstream-http-error.ts';
import { classifyTransportError, mapUpstreamTransportError } from './map-upstream-transport-error.ts';
import { readChatStreamEvents } from './read-chat-stream-events.ts';
import { type ModelEntry, parseModelList } from '@rgw/model-catalog';

export interface UpstreamClientOptions {
  /** Chat Completions base URL including `/v1`, e.g. https://llm.chutes.ai/v1. */
  readonly baseUrl: string;
  readonly connectTimeoutMs: number;
  /** Time to the backend's response headers. */
  readonly headersTimeoutMs: number;
  /** Longest gap between two body chunks. */
  readonly idleTimeoutMs: number;
  /** Retries before any byte reached our client: connection errors and 502/503/504 only. */
  readonly maxRetries: number;
  /** Largest single SSE event from the backend, bytes. */
  readonly maxEventBytes?: number;
  /** Injected for tests and benchmarks; defaults to a keep-alive pool on the backend's origin. */
  readonly dispatcher?: Dispatcher;
  /** Injected randomness for retry jitter. */
  readonly random?: () => number;
}

export interface UpstreamCallOptions {
  readonly apiKey: string;
  readonly signal: AbortSignal;
  readonly requestId?: string;
  /** Called before each retry with the error that caused it (for logs and metrics). */
  readonly onRetry?: (error: GatewayError, attempt: number) => void;
}

export interface UpstreamClient {
  /** Resolves once the backend answered 2xx; its events then arrive lazily. Throws a GatewayError otherwise. */
  streamChat(request: ChatCompletionRequest, options: UpstreamCallOptions): Promise<AsyncGenerator<ChatStreamEvent>>;
  completeChat(request: ChatCompletionRequest, options: UpstreamCallOptions): Promise<ChatCompletion>;
  listModels(options: { readonly apiKey?: string; readonly signal: AbortSignal }): Promise<ModelEntry[]>;
  close(): Promise<void>;
}

const RETRYABLE_STATUSES = new Set([502, 503, 504]);

export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const dispatcher =
    options.dispatcher ??
    new Pool(base.origin, {
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
      // Long streams hold a connection each; the pool grows as needed.
      connections: null,
      keepAliveTimeout: 30_000,
    });
  const random = options.random ?? Math.random;
  const maxEventBytes = options.maxEventBytes ?? 1024 * 1024;

  function headersFor(call: { apiKey?: string; requestId?: string }, accept: string): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept };
    if (call.apiKey) headers['authorization'] = `Bearer ${call.apiKey}`;
    if (call.requestId) headers['x-request-id'] = call.requestId;
    return headers;
  }

  /** One backend call with bounded, jittered retries while nothing has reached our client yet. */
  async function send(path: string, body: string, call: UpstreamCallOptions, accept: string): Promise<Dispatcher.ResponseData> {
    for (let attempt = 0; ; attempt += 1) {
      let failure: GatewayError;
      try {
        const response = await dispatcher.request({
          origin: base.origin,
          path: basePath + path,
          method: 'POST',
          headers: headersFor(call, accept),
          body,
          signal: call.signal,
          headersTimeout: options.headersTimeoutMs,
          bodyTimeout: options.idleTimeoutMs,
        });
        if (response.statusCode >= 200 && response.statusCode < 300) return response;
        // Backends echo the key in auth errors ("Incorrect API key provided: …"); the message reaches logs and clients.
        const text = removeApiKey(await response.body.text().catch(() => ''), call.apiKey);
        failure = mapUpstreamHttpError(response.statusCode, text, response.headers);
        if (!RETRYABLE_STATUSES.has(response.statusCode)) throw failure;
      } catch (error) {
        if (classifyTransportError(error) === 'aborted' || call.signal.aborted) throw error;
        if (isGatewayError(error)) throw error;
        failure = mapUpstreamTransportError(error);
        // A timeout already cost the client its patience; only fast connection failures are retried.
        if (failure.status === 504) throw failure;
      }
      if (attempt >= options.maxRetries) throw failure;
      call.onRetry?.(failure, attempt + 1);
      // Exponential backoff with full jitter: 100 ms, 200 ms, 400 ms… capped at 2 s.
      const delay = Math.min(2000, 100 * 2 ** attempt) * (0.5 + random() / 2);
      await sleep(delay, undefined, { signal: call.signal });
    }
  }

  return {
    async streamChat(request, call) {
      const body = JSON.stringify({ ...request, stream: true, stream_options: { ...request.stream_options, include_usage: true } });
      const response = await send('/chat/completions', body, call, 'text/event-stream');
      return readChatStreamEvents(response.body, { maxEventBytes });
    },

    async completeChat(request, call) {
      const body = JSON.stringify({ ...request, stream: false, stream_options: undefined });
      const response = await send('/chat/completions', body, call, 'application/json');
      let json: unknown;
      try {
        json = await response.body.json();
      } catch (error) {
        if (classifyTransportError(error) === 'aborted' || call.signal.aborted) throw error;
        if (classifyTransportError(error) === 'timeout') throw mapUpstreamTransportError(error);
        throw new UpstreamError('The backend sent a malformed completion (invalid JSON).', { code: 'upstream_malformed_response' });
      }
      const completion = parseChatCompletion(json);
      if (!completion) throw new UpstreamError('The backend sent a completion of an unexpected shape.', { code: 'upstream_malformed_response' });
      return completion;
    },

    async listModels(call) {
      let response: Dispatcher.ResponseData;
      try {
        response = await dispatcher.request({
          origin: base.origin,
          path: `${basePath}/models`,
          method: 'GET',
          headers: headersFor(call, 'application/json'),
          signal: call.signal,
        });
      } catch (error) {
        throw mapUpstreamTransportError(error);
      }
      if (response.statusCode !== 200) {
        throw mapUpstreamHttpError(response.statusCode, await response.body.text().catch(() => ''), response.headers);
      }
      try {
        return parseModelList(await response.body.json());
      } catch {
        throw new UpstreamError('The backend sent a malformed model list.', { code: 'upstream_malformed_response' });
      }
    },

    async close() {
      await dispatcher.close();
    },
  };
}

/** The caller's exact key, whatever its format (pattern-based redaction only knows `sk-…`-like keys). */
function removeApiKey(text: string, apiKey: string): string {
  return apiKey.length >= 8 ? text.replaceAll(apiKey, '[REDACTED]') : text;
}

function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof Error && 'status' in error && 'type' in error && 'param' in error;
}
