import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { InvalidRequestError, RateLimitError, ServiceUnavailableError } from '@rgw/errors';
import type { RequestLogFields } from '@rgw/observability';
import { hashRateLimitKey } from '@rgw/rate-limit';
import { createMemoryResponseStore } from '@rgw/response-store';
import type { Response } from '@rgw/responses';
import { prepareConversation } from '../conversation/prepare-conversation.ts';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { ClientSendTimeout } from '../http/client-send-timeout.ts';
import { formatDuration } from '../http/limit-request-rate.ts';
import { readCreateRequest } from '../routes/read-create-request.ts';
import { runResponseTurn } from '../routes/run-response-turn.ts';
import { PLAIN, type WebSocketSink, createWebSocketSink } from '../sinks/create-websocket-sink.ts';
import { SHUTTING_DOWN_CODE } from '../turns/map-response-failure.ts';
import type { Turn } from '../turns/turn.ts';
import { warmUpTurn } from '../turns/warm-up-turn.ts';
import { buildErrorFrame, isGatewayError } from './build-error-frame.ts';
import { layerResponseStores } from './layer-response-stores.ts';

export interface ConnectionContext {
  /** Forwarded to the backend, never stored or logged. */
  readonly apiKey: string;
  /** The keyed hash of the key: whose stored responses these are. */
  readonly owner: string;
  /** The upgrade request's id; turn n is `<id>.<n>` in logs and as `x-request-id` to the backend. */
  readonly connectionId: string;
  readonly log: Logger;
}

export interface ResponsesConnection {
  /** Graceful drain: closes with 1001 now when idle, else once the response in flight has ended. */
  drain(): void;
  /** Resolves once the socket closed. */
  readonly closed: Promise<void>;
}

/** Most bytes queued for a client before a turn waits for it (the backend read waits with it). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** A client that answered no ping for this many keepalive periods is gone (a dead peer, no FIN). */
const MISSED_PONGS_BEFORE_TERMINATE = 3;
const KNOWN_CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011]);
/** Client events that carry no request for us: Codex's `response.processed` acknowledgement. */
const IGNORED_CLIENT_EVENTS = new Set(['response.processed']);

type TurnKind = 'generate' | 'warmup' | 'compaction';
type TurnOutcome = 'completed' | 'incomplete' | 'failed' | 'error' | 'aborted';

interface InFlight {
  readonly controller: AbortController;
  readonly sink: WebSocketSink;
}

/**
 * One WebSocket-mode connection on `/v1/responses` (OpenAI's Responses WebSocket mode): each
 * `{"type":"response.create", …}` frame is one turn, run by the same pipeline as `POST
 * /v1/responses` into a WebSocket sink; one response at a time. State: a small cache of this
 * connection's responses (store:false ones live only here, so `previous_response_id` continues them
 * on this socket and is `previous_response_not_found` anywhere else), layered over the shared store
 * (store:true ones, any replica, HTTP too). Lifecycle: the 60-minute limit, an idle timeout, pings
 * (a peer that stops answering is dropped), keepalive events during a long response, a graceful drain.
 */
export function openResponsesConnection(deps: GatewayDependencies, socket: WebSocket, context: ConnectionContext): ResponsesConnection {
  const { config, metrics } = deps;
  const keepaliveMs = config.WEBSOCKET_KEEPALIVE_SECONDS * 1000;
  const cache = createMemoryResponseStore<Response>({
    maxEntries: config.WEBSOCKET_CACHE_MAX_RESPONSES,
    // Never outlives the connection; the bound is only there because the store needs one.
    ttlSeconds: Math.ceil(config.WEBSOCKET_MAX_CONNECTION_SECONDS) + 60,
  });
  const store = layerResponseStores(cache, deps.stored.store);
  /** Ids of responses whose chain exists only here (a shared record must not point at them). */
  const localOnly = new Set<string>();
  const openedAt = performance.now();
  let lastActivityAt = openedAt;
  let lastPongAt = openedAt;
  let inFlight: InFlight | null = null;
  /** The last write to the cache, which the next turn waits for before it reads the cache. */
  let cacheWrite: Promise<unknown> = Promise.resolve();
  let turnCount = 0;
  let draining = false;
  let limitReached = false;
  let closing = false;

  metrics.websocketConnections.inc();
  context.log.info({ request_id: context.connectionId }, 'websocket connection opened');

  const sendFrame = (frame: unknown) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame), PLAIN);
  };
  const close = (code: number, reason: string) => {
    if (closing) return;
    closing = true;
    socket.close(code, reason);
  };
  /** After a response ended, or at once when none runs: the reasons a connection ends on its own. */
  const closeIfDone = () => {
    if (inFlight !== null) return;
    if (limitReached) {
      sendFrame(
        buildErrorFrame(
          new InvalidRequestError(
            `Responses websocket connection limit reached (${formatDuration(config.WEBSOCKET_MAX_CONNECTION_SECONDS * 1000)}). Create a new websocket connection to continue.`,
            { code: 'websocket_connection_limit_reached' },
          ),
        ),
      );
      close(1000, 'websocket_connection_limit_reached');
    } else if (draining) {
      close(1001, 'server shutting down');
    }
  };

  const ageLimit = setTimeout(() => {
    limitReached = true;
    closeIfDone();
  }, config.WEBSOCKET_MAX_CONNECTION_SECONDS * 1000);
  ageLimit.unref();
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - lastPongAt > MISSED_PONGS_BEFORE_TERMINATE * keepaliveMs) {
      context.log.warn({ request_id: context.connectionId }, 'websocket peer stopped answering pings; dropping the connection');
      socket.terminate();
      return;
    }
    socket.ping();
    inFlight?.sink.keepAlive();
    if (inFlight === null && now - lastActivityAt >= config.WEBSOCKET_IDLE_TIMEOUT_SECONDS * 1000) close(1000, 'idle timeout');
  }, keepaliveMs);
  ticker.unref();

  socket.on('pong', () => {
    lastPongAt = performance.now();
  });
  socket.on('error', (error: Error & { code?: string }) => {
    // ws closes the socket itself after a protocol error (oversized frame 1009, bad UTF-8 1007).
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') metrics.websocketFrameErrors.inc({ reason: 'too_large' });
    context.log.warn({ request_id: context.connectionId, err: error }, 'websocket protocol error');
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', (code: number) => {
      clearTimeout(ageLimit);
      clearInterval(ticker);
      // The backend call stops: nobody is left to read it.
      inFlight?.controller.abort();
      metrics.websocketConnections.dec();
      metrics.websocketCloses.inc({ code: KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other' });
      context.log.info(
        { request_id: context.connectionId, close_code: code, turns: turnCount, duration_ms: Math.round(performance.now() - openedAt) },
        'websocket connection closed',
      );
      resolve();
    });
  });

  socket.on('message', (data: Buffer, isBinary: boolean) => {
    lastActivityAt = performance.now();
    if (isBinary) return refuseFrame('binary', 'Binary frames are not supported; send each event as a JSON text frame.');
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      return refuseFrame('not_json', 'The frame is not valid JSON.');
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || typeof (frame as { type?: unknown }).type !== 'string') {
      return refuseFrame('not_an_event', 'Each frame must be a JSON object with a string \'type\', e.g. {"type":"response.create", …}.');
    }
    const event = frame as Record<string, unknown> & { type: string };
    if (event.type !== 'response.create') {
      // Later clients may send events we do not know: ignored, the connection stays.
      if (!IGNORED_CLIENT_EVENTS.has(event.type)) {
        metrics.websocketFrameErrors.inc({ reason: 'unknown_type' });
        context.log.debug({ request_id: context.connectionId, event_type: event.type.slice(0, 100) }, 'ignored an unknown websocket client event');
      }
      return undefined;
    }
    if (inFlight !== null) {
      metrics.websocketFrameErrors.inc({ reason: 'in_flight' });
      // The response in flight goes on; only this frame is refused.
      return sendFrame(
        buildErrorFrame(
          new InvalidRequestError('A response is already in progress on this connection; wait for its terminal event (or open another connection).', {
            code: 'response_already_in_flight',
          }),
        ),
      );
    }
    // Our close frame is on its way (idle, limit, drain): nothing more is taken.
    if (closing) return undefined;
    if (limitReached || draining) {
      if (!limitReached) sendFrame(buildErrorFrame(createShuttingDownError()));
      return closeIfDone();
    }
    void runFrame(event);
    return undefined;
  });

  function refuseFrame(reason: 'binary' | 'not_json' | 'not_an_event', message: string): void {
    metrics.websocketFrameErrors.inc({ reason });
    sendFrame(buildErrorFrame(new InvalidRequestError(message, { code: 'invalid_event' })));
  }

  async function runFrame(event: Record<string, unknown>): Promise<void> {
    const startedAt = performance.now();
    turnCount += 1;
    // This turn's number: the next frame may start before this one's bookkeeping is done.
    const turnNumber = turnCount;
    const requestId = `${context.connectionId}.${turnNumber}`;
    const log = context.log.child({ request_id: requestId });
    const controller = new AbortController();
    const untrack = deps.turnShutdown.track(controller);
    const sink = createWebSocketSink(socket, {
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      sendTimeoutMs: config.CLIENT_SEND_TIMEOUT_MS,
      onTerminal: (response) => settle(response),
    });
    // Taken at once (before any await): a second response.create arriving meanwhile is refused.
    const current: InFlight = { controller, sink };
    inFlight = current;
    const logFields: RequestLogFields = {};
    let kind: TurnKind = event['generate'] === false ? 'warmup' : 'generate';
    let outcome: TurnOutcome = 'error';
    let previousId: string | null = null;
    let remember: ((response: Response) => void) | undefined;

    /**
     * Right after the terminal frame went out: cache the response (or forget a failed continuation's
     * parent) and take the next frame, which waits for that write (`cacheWrite`) before it reads the
     * cache. Serialising the conversation thus never delays the terminal frame.
     */
    function settle(response: Response): void {
      logFields.response_id = response.id;
      outcome = response.status === 'completed' ? 'completed' : response.status === 'incomplete' ? 'incomplete' : 'failed';
      if (outcome === 'failed') forgetPrevious();
      else remember?.(response);
      if (inFlight === current) inFlight = null;
      lastActivityAt = performance.now();
    }
    /** A failed continuation evicts what it continued from (OpenAI's rule): a retry gets previous_response_not_found. */
    function forgetPrevious(): void {
      if (previousId === null) return;
      cacheWrite = cache.delete(context.owner, previousId).catch(() => undefined);
      localOnly.delete(previousId);
    }

    try {
      const body = readCreateBody(event);
      await limitRate();
      const { request, compactionTrigger } = readCreateRequest(body, config.MAX_INPUT_ITEMS);
      if (compactionTrigger && kind === 'warmup') {
        throw new InvalidRequestError('A warm-up (generate: false) cannot carry a compaction_trigger: compaction needs the model.', {
          param: 'generate',
          code: 'invalid_value',
        });
      }
      if (compactionTrigger) kind = 'compaction';
      previousId = request.previous_response_id ?? null;
      logFields.model = request.model.slice(0, 200);
      // What a continuation sent: the id it chained from and how many new items (Codex sends only those).
      logFields.previous_response_id = previousId;
      logFields.input_items = Array.isArray(request.input) ? request.input.length : 1;
      // The previous turn's cache write, made after its terminal frame went out.
      await cacheWrite;
      const conversation = await prepareConversation(request, { store, owner: context.owner, createId: deps.createId, unseal: deps.unsealReasoning, log });
      // A chain that lives only on this socket is stored whole when a response of it goes to the shared
      // store, so that record never points at responses no other replica can read.
      const chainIsLocal = previousId !== null && localOnly.has(previousId);
      const responseId = deps.createId('resp');
      remember = (response) => {
        // The whole conversation on one record: continuing never needs an older one, so the cache can stay small.
        cacheWrite = cache.save(context.owner, { response, inputItems: conversation.conversationItems, ancestorIds: [] }).catch(() => undefined);
        if (request.store === false || chainIsLocal) localOnly.add(response.id);
      };
      const turn: Turn = {
        request: conversation.request,
        apiKey: context.apiKey,
        responseId,
        createdAt: deps.now(),
        signal: controller.signal,
        log,
        requestId,
        startedAt,
        onFinished: (fields) => Object.assign(logFields, fields),
        ...(request.store === false
          ? {}
          : {
              persist: {
                store: deps.stored.store,
                owner: context.owner,
                inputItems: chainIsLocal ? conversation.conversationItems : conversation.inputItems,
                ancestorIds: chainIsLocal ? [] : conversation.ancestorIds,
              },
            }),
      };
      if (kind === 'warmup') await warmUpTurn(deps, turn, sink);
      else await runResponseTurn(deps, turn, sink, compactionTrigger);
    } catch (error) {
      if (error instanceof ClientSendTimeout) {
        // The sink terminated the socket: a client that reads nothing is treated as one that left.
        outcome = 'aborted';
        metrics.clientSendTimeouts.inc({ transport: 'websocket' });
        log.warn({ timeout_ms: error.timeoutMs }, 'client stopped reading its stream; closed it and aborted the backend call');
      } else if (controller.signal.aborted && socket.readyState !== socket.OPEN) {
        outcome = 'aborted';
      } else if (sink.ended) {
        log.error({ err: error }, 'websocket turn failed after its terminal event');
      } else {
        outcome = 'error';
        forgetPrevious();
        if (!isGatewayError(error)) log.error({ err: error }, 'websocket turn failed');
        const frame = buildErrorFrame(error);
        logFields.error_code = frame.error.code ?? frame.error.type;
        sendFrame(frame);
      }
    } finally {
      untrack();
      if (inFlight === current) inFlight = null;
      lastActivityAt = performance.now();
      metrics.websocketTurns.inc({ kind, outcome });
      log.info({ ...logFields, turn: turnNumber, kind, outcome, duration_ms: Math.round(performance.now() - startedAt) }, 'websocket turn');
      closeIfDone();
    }
  }

  /** The frame minus what only the transport reads: `type`, `generate`, and `stream` (Codex sends it; every socket turn streams). */
  function readCreateBody(event: Record<string, unknown>): Record<string, unknown> {
    const { type: _type, generate, stream: _stream, ...body } = event;
    if (generate !== undefined && generate !== null && typeof generate !== 'boolean') {
      throw new InvalidRequestError("Invalid type for 'generate': expected a boolean.", { param: 'generate', code: 'invalid_type' });
    }
    if (body['background'] === true) {
      throw new InvalidRequestError('Background responses are not supported over WebSocket; use POST /v1/responses with background: true.', {
        param: 'background',
        code: 'unsupported_parameter',
      });
    }
    return body;
  }

  /** Each response.create counts against the key's request budget, as a POST would. */
  async function limitRate(): Promise<void> {
    if (deps.rateLimiter === undefined) return;
    const decision = await deps.rateLimiter.consume(hashRateLimitKey(context.apiKey));
    if (decision.allowed) return;
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new RateLimitError(`Rate limit reached: ${decision.limit} requests per minute for this API key. Retry in ${seconds}s.`, {
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(seconds), 'retry-after-ms': String(decision.retryAfterMs) },
    });
  }

  return {
    drain() {
      draining = true;
      closeIfDone();
    },
    closed,
  };
}

/** What a frame or an upgrade gets while the gateway drains, as HTTP answers it. */
export function createShuttingDownError(): ServiceUnavailableError {
  return new ServiceUnavailableError('The gateway is shutting down; retry the request.', { code: SHUTTING_DOWN_CODE, headers: { 'retry-after': '1' } });
}
