import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AuthenticationError, type GatewayError, InvalidRequestError, NotFoundError, toErrorEnvelope } from '@rgw/errors';
import { resolveRequestId } from '@rgw/observability';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { readApiKey } from '../http/authenticate.ts';
import { type ResponsesConnection, createShuttingDownError, openResponsesConnection } from './open-responses-connection.ts';

export interface ResponsesWebSocketServer {
  /** The HTTP server's `upgrade` listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Refuses new upgrades (503) and drains every connection: idle ones close with 1001 now, busy ones after their response. */
  drain(): Promise<void>;
}

const RESPONSES_PATH = '/v1/responses';

/**
 * WebSocket mode on `GET /v1/responses`, the path the HTTP API uses (OpenAI's WebSocket mode; Codex with
 * `supports_websockets = true`; the openai SDK's `ResponsesWS`). The upgrade is checked before it is
 * accepted, and refused with a plain HTTP answer carrying the OpenAI error envelope: 401 without a key
 * (Bearer or `x-api-key`, as HTTP), 426 when WebSocket mode is off (Codex then falls back to HTTP at once),
 * 503 while draining, 404 on other paths. The `ws` package does the framing: text frames,
 * permessage-deflate when the client offers it, `maxPayload` = WEBSOCKET_MAX_FRAME_BYTES.
 */
export function createResponsesWebSocketServer(deps: GatewayDependencies): ResponsesWebSocketServer {
  const { config, metrics } = deps;
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: config.WEBSOCKET_MAX_FRAME_BYTES,
    // Accepted when offered, so a client's frames (a whole create body) may come compressed. What we
    // send goes out plain (`compress: false` on every send, which RFC 7692 allows per message), see
    // sinks/create-websocket-sink.ts.
    perMessageDeflate: true,
    clientTracking: false,
  });
  const requestIds = new WeakMap<IncomingMessage, string>();
  // The upgrade answer names the connection: its turns are logged as `<id>.<n>`.
  server.on('headers', (headers: string[], req: IncomingMessage) => {
    const id = requestIds.get(req);
    if (id !== undefined) headers.push(`x-request-id: ${id}`);
  });
  const connections = new Set<ResponsesConnection>();
  const log = deps.logger.child({ transport: 'websocket' });
  let draining = false;

  return {
    handleUpgrade(req, socket, head) {
      const path = (req.url ?? '/').split('?')[0]?.replace(/\/+$/, '') ?? '';
      if (path !== RESPONSES_PATH) {
        metrics.websocketUpgrades.inc({ result: 'not_found' });
        return refuseUpgrade(socket, new NotFoundError(`Unknown route: WebSocket upgrade on ${path.slice(0, 200)}`, { code: 'unknown_route' }));
      }
      if (!config.WEBSOCKET_ENABLED) {
        metrics.websocketUpgrades.inc({ result: 'disabled' });
        return refuseUpgrade(socket, new UpgradeRequiredError());
      }
      if (draining) {
        metrics.websocketUpgrades.inc({ result: 'draining' });
        return refuseUpgrade(socket, createShuttingDownError());
      }
      const apiKey = readApiKey(req.headers);
      if (!apiKey) {
        metrics.websocketUpgrades.inc({ result: 'unauthenticated' });
        return refuseUpgrade(
          socket,
          new AuthenticationError(
            "You didn't provide an API key. Provide it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY) or in an x-api-key header.",
            { code: 'missing_api_key' },
          ),
        );
      }
      const connectionId = resolveRequestId(req.headers['x-request-id']);
      requestIds.set(req, connectionId);
      server.handleUpgrade(req, socket, head, (websocket) => {
        metrics.websocketUpgrades.inc({ result: 'accepted' });
        const connection = openResponsesConnection(deps, websocket, { apiKey, owner: deps.stored.ownerOf(apiKey), connectionId, log });
        connections.add(connection);
        void connection.closed.then(() => connections.delete(connection));
      });
      return undefined;
    },
    async drain() {
      draining = true;
      const open = [...connections];
      for (const connection of open) connection.drain();
      await Promise.all(open.map((connection) => connection.closed));
    },
  };
}

/** 426: the client may use HTTP instead (Codex falls back at once, where a 404 would cost it retries). */
class UpgradeRequiredError extends InvalidRequestError {
  override readonly status = 426;
  constructor() {
    super('WebSocket mode is turned off on this gateway (WEBSOCKET_ENABLED=false); use HTTP POST /v1/responses.', { code: 'websocket_disabled' });
  }
}

/** Answers an upgrade with a plain HTTP response (the OpenAI error envelope) and closes the socket. */
function refuseUpgrade(socket: Duplex, error: GatewayError): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { status, body, headers } = toErrorEnvelope(error);
  const json = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(json)}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${json}`);
}
