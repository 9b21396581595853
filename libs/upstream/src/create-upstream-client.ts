import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type Dispatcher, Pool } from 'undici';
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
  /**
   * Retries before any byte reached our client: connection errors and 502/503/504, and a 429 that
   * says when to retry (`retry-after-ms` / `retry-after`) within `maxRetryAfterMs`.
   */
  readonly maxRetries: number;
  /**
   * Longest backend-requested wait (`retry-after-ms` / `retry-after` on 429/503) the gateway sits out
   * itself before retrying, ms (default 5 000). A longer one is not retried here: the error goes to
   * the client with the header, and its SDK waits (openai-node obeys up to 60 s).
   */
  readonly maxRetryAfterMs?: number;
  /** Debug lines per backend call (method, path, status, attempt, duration; never keys or bodies). */
  readonly logger?: Logger;
  /** Largest single SSE event from the backend, bytes. */
  readonly maxEventBytes?: number;
  /**
   * Offer HTTP/2 by ALPN (https backends only): a few connections then carry many multiplexed streams.
   * Off (default): HTTP/1.1 only, one connection per concurrent stream, what vLLM, SGLang and Ollama speak.
   */
  readonly http2?: boolean;
  /** Extra CAs (PEM) trusted for the backend's certificate, on top of Node's public ones: a private backend. */
  readonly tlsCa?: string | Buffer | undefined;
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

/** Retried with backoff (or after the backend's retry-after, when it gives one within the cap). */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);
/** Retried only when the backend says when: a 429 without a delay is the client's to back off from. */
const RETRY_WHEN_TOLD_STATUSES = new Set([429]);
const DEFAULT_MAX_RETRY_AFTER_MS = 5_000;
/**
 * With HTTP/2: streams per connection (the backend's SETTINGS_MAX_CONCURRENT_STREAMS may lower it).
 * Connections are not capped: a full one makes the pool open another, so 10,000 streams take about
 * 100; a cap would queue streams in the pool unseen (MAX_CONCURRENT_STREAMS is the bound, and it answers).
 */
export const H2_MAX_CONCURRENT_STREAMS = 100;

/**
 * The wait a backend asked for, ms, as openai-node reads it: `retry-after-ms` (a number of ms), else
 * `retry-after` (seconds, or an HTTP date); undefined when absent or unreadable.
 */
export function readRetryAfterMs(headers: Readonly<Record<string, string | string[] | undefined>>, now = Date.now()): number | undefined {
  const first = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const ms = Number.parseFloat(first('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const after = first('retry-after');
  if (after === undefined) return undefined;
  const seconds = Number.parseFloat(after);
  if (/^\s*\d+(\.\d+)?\s*$/.test(after) && Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const dispatcher = options.dispatcher ?? createBackendPool(base.origin, options);
  const random = options.random ?? Math.random;
  const maxEventBytes = options.maxEventBytes ?? 1024 * 1024;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const logger = options.logger;
  // Set when GET /models answered 404: the base URL is wrong, so a chat 404 is too, whatever its body says.
  let modelListMissing = false;

  function headersFor(call: { apiKey?: string; requestId?: string }, accept: string): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept };
    if (call.apiKey) headers['authorization'] = `Bearer ${call.apiKey}`;
    if (call.requestId) headers['x-request-id'] = call.requestId;
    return headers;
  }

  /** One backend call with bounded, jittered retries while nothing has reached our client yet. */
  async function send(path: string, body: string, call: UpstreamCallOptions, accept: string, model: string): Promise<Dispatcher.ResponseData> {
    for (let attempt = 0; ; attempt += 1) {
      let failure: GatewayError;
      // The backend's own wait before a retry (retry-after); undefined = our backoff.
      let toldWaitMs: number | undefined;
      let retryable = true;
      const startedAt = performance.now();
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
        logCall('POST', path, response.statusCode, attempt, startedAt, call, model);
        if (response.statusCode >= 200 && response.statusCode < 300) return response;
        // Backends echo the key in auth errors ("Incorrect API key provided: …"); the message reaches logs and clients.
        const text = removeApiKey(await response.body.text().catch(() => ''), call.apiKey);
        failure = mapUpstreamHttpError(response.statusCode, text, response.headers, {
          method: 'POST',
          path: basePath + path,
          kind: 'chat',
          modelListMissing,
          host: base.host,
        });
        toldWaitMs = readRetryAfterMs(response.headers);
        const status = response.statusCode;
        retryable =
          response.headers['x-should-retry'] !== 'false' &&
          (RETRYABLE_STATUSES.has(status) || (RETRY_WHEN_TOLD_STATUSES.has(status) && toldWaitMs !== undefined)) &&
          // A wait longer than the cap is the client's to sit out (the header goes back with the error).
          (toldWaitMs === undefined || toldWaitMs <= maxRetryAfterMs);
        if (!retryable) throw failure;
      } catch (error) {
        if (classifyTransportError(error) === 'aborted' || call.signal.aborted) throw error;
        if (isGatewayError(error)) throw error;
        logCall('POST', path, null, attempt, startedAt, call, model);
        failure = mapUpstreamTransportError(error);
        // A timeout already cost the client its patience; only fast connection failures are retried.
        if (failure.status === 504) throw failure;
      }
      if (attempt >= options.maxRetries) throw failure;
      call.onRetry?.(failure, attempt + 1);
      // Exponential backoff with full jitter: 100 ms, 200 ms, 400 ms… capped at 2 s; or what the backend asked for.
      const delay = toldWaitMs ?? Math.min(2000, 100 * 2 ** attempt) * (0.5 + random() / 2);
      await sleep(delay, undefined, { signal: call.signal });
    }
  }

  /** One debug line per backend attempt: what was called and how it went, never a key or a body. */
  function logCall(
    method: string,
    path: string,
    status: number | null,
    attempt: number,
    startedAt: number,
    call: { requestId?: string },
    model?: string,
  ): void {
    if (logger === undefined || !logger.isLevelEnabled('debug')) return;
    logger.debug(
      {
        backend: base.host,
        method,
        path: basePath + path,
        status: status ?? 'no_response',
        attempt,
        duration_ms: Math.round(performance.now() - startedAt),
        ...(model === undefined ? {} : { model }),
        ...(call.requestId === undefined ? {} : { request_id: call.requestId }),
      },
      'backend call',
    );
  }

  return {
    async streamChat(request, call) {
      const body = JSON.stringify({ ...request, stream: true, stream_options: { ...request.stream_options, include_usage: true } });
      const response = await send('/chat/completions', body, call, 'text/event-stream', request.model);
      return readChatStreamEvents(response.body, { maxEventBytes });
    },

    async completeChat(request, call) {
      const body = JSON.stringify({ ...request, stream: false, stream_options: undefined });
      const response = await send('/chat/completions', body, call, 'application/json', request.model);
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
      const startedAt = performance.now();
      try {
        response = await dispatcher.request({
          origin: base.origin,
          path: `${basePath}/models`,
          method: 'GET',
          headers: headersFor(call, 'application/json'),
          signal: call.signal,
        });
      } catch (error) {
        logCall('GET', '/models', null, 0, startedAt, {});
        throw mapUpstreamTransportError(error);
      }
      logCall('GET', '/models', response.statusCode, 0, startedAt, {});
      if (response.statusCode !== 200) {
        modelListMissing = response.statusCode === 404;
        const text = await response.body.text().catch(() => '');
        throw mapUpstreamHttpError(response.statusCode, call.apiKey === undefined ? text : removeApiKey(text, call.apiKey), response.headers, {
          method: 'GET',
          path: `${basePath}/models`,
          kind: 'models',
          host: base.host,
        });
      }
      modelListMissing = false;
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

function createBackendPool(origin: string, options: UpstreamClientOptions): Pool {
  const connect = { timeout: options.connectTimeoutMs, ...(options.tlsCa === undefined ? {} : { ca: options.tlsCa }) };
  const shared = { headersTimeout: options.headersTimeoutMs, bodyTimeout: options.idleTimeoutMs, keepAliveTimeout: 30_000 };
  if (options.http2 === true) {
    return new Pool(origin, {
      ...shared,
      // Offer h2 first: a server that speaks both then picks it whatever its own preference.
      connect: { ...connect, preferH2: true },
      allowH2: true,
      // A connection is shared by many streams; a new one opens only when the others are full.
      connections: null,
      h2Options: { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS },
      // After a GOAWAY, undici detaches the draining session but counts its open streams against
      // `pipelining` (1 by default) until they end: every new request routed to that Client would wait
      // for the longest of them (minutes, for a reasoning stream). At the stream limit, a new connection
      // opens at once. A backend that answers HTTP/1.1 anyway is not pipelined by it: undici sends no
      // POST behind a running request, and the pool opens another connection.
      pipelining: H2_MAX_CONCURRENT_STREAMS,
    });
  }
  return new Pool(origin, {
    ...shared,
    connect,
    // undici 8 offers h2 by default; off means off, so an h2-capable CDN gets HTTP/1.1 like any backend.
    allowH2: false,
    // Long streams hold a connection each; the pool grows as needed.
    connections: null,
  });
}

/** The caller's exact key, whatever its format (pattern-based redaction only knows `sk-…`-like keys). */
function removeApiKey(text: string, apiKey: string): string {
  return apiKey.length >= 8 ? text.replaceAll(apiKey, '[REDACTED]') : text;
}

function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof Error && 'status' in error && 'type' in error && 'param' in error;
}
