import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HTTP_DURATION_BUCKETS, STORE_SAVE_BUCKETS, STREAM_DURATION_BUCKETS, TIME_TO_FIRST_TOKEN_BUCKETS } from './metric-buckets.ts';

/**
 * Every metric the gateway exposes on `GET /metrics`, on one registry per process.
 * Label values are bounded by construction: `route` is an express template or `unmatched`, `model` is
 * a catalogue id or `other` (see OTHER_MODEL_LABEL), `scope` is a breaker scope built from catalogue
 * ids; no label ever carries a key, a user, a request id or an error message.
 * docs/operations.md has the reference table; deploy/grafana and deploy/prometheus query these names.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** gateway_http_request_duration_seconds: arrival to response end (streams included). `status` = code. */
  readonly httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
  /** gateway_http_requests_in_flight: requests received and not yet finished, open streams included. */
  readonly httpRequestsInFlight: Gauge<'route'>;
  /**
   * gateway_upstream_request_duration_seconds: backend call start until its answer is complete.
   * outcome = success | client_error | server_error | timeout | connection_error | aborted.
   */
  readonly upstreamRequestDuration: Histogram<'model' | 'outcome'>;
  /** gateway_time_to_first_token_seconds: request arrival to the first output delta sent to the client. */
  readonly timeToFirstToken: Histogram<'model'>;
  /** gateway_stream_duration_seconds: SSE responses, status = completed | incomplete | failed | aborted. */
  readonly streamDuration: Histogram<'model' | 'status'>;
  /** gateway_tokens_total: from backend usage; type = input | output | reasoning | cached_input. */
  readonly tokens: Counter<'model' | 'type'>;
  /** gateway_upstream_errors_total: kind = http_4xx | http_5xx | timeout | connection | stream_cut | malformed. */
  readonly upstreamErrors: Counter<'model' | 'kind'>;
  /** gateway_circuit_breaker_state: 0 closed, 1 open, 2 half-open, per breaker scope. */
  readonly breakerState: Gauge<'scope'>;
  /** gateway_circuit_breaker_transitions_total: to = closed | open | half_open. */
  readonly breakerTransitions: Counter<'scope' | 'to'>;
  /** gateway_model_catalog_models: models in the catalogue this replica serves from. */
  readonly modelCatalogSize: Gauge;
  /** gateway_model_catalog_age_seconds: since the list was last fetched; +Inf until the first load. */
  readonly modelCatalogAge: Gauge;
  /** gateway_redis_up: 1 Redis commands succeed (the health probe), 0 they fail (local fallback, not ready), -1 embedded mode. */
  readonly redisUp: Gauge;
  /** gateway_response_store_operations_total: operation = get | put | delete, result = hit | miss | ok | error. */
  readonly storeOperations: Counter<'operation' | 'result'>;
  /**
   * gateway_response_store_failures_total: failed store calls by operation (get, put, delete, cancel)
   * and reason: unavailable (Redis failing), replica_ack (no replica acknowledged a save in time),
   * full (maxmemory with noeviction). A failed put is a store:true request answered 503.
   */
  readonly storeFailures: Counter<'operation' | 'reason'>;
  /** gateway_response_store_save_duration_seconds: one save (blobs, record, item keys, and the replica wait), by result. */
  readonly storeSaveDuration: Histogram<'result'>;
  /** gateway_build_info: always 1; version = package version, mode = embedded | cluster. */
  readonly buildInfo: Gauge<'version' | 'mode'>;
  /** gateway_websocket_connections: WebSocket-mode connections open now. */
  readonly websocketConnections: Gauge;
  /** gateway_websocket_upgrades_total: result = accepted | unauthenticated | disabled | draining | not_found. */
  readonly websocketUpgrades: Counter<'result'>;
  /**
   * gateway_websocket_turns_total: `response.create` frames answered; kind = generate | warmup | compaction,
   * outcome = completed | incomplete | failed | error (refused before a response existed) | aborted (socket closed).
   */
  readonly websocketTurns: Counter<'kind' | 'outcome'>;
  /** gateway_websocket_closes_total: closed connections by close code (1000, 1001, 1006, 1009, …; `other` past the known set). */
  readonly websocketCloses: Counter<'code'>;
  /** gateway_websocket_frame_errors_total: reason = binary | not_json | not_an_event | unknown_type | in_flight | too_large. */
  readonly websocketFrameErrors: Counter<'reason'>;
  /** gateway_turns_in_flight: turns calling the backend now (SSE, JSON, WebSocket, compaction, background), what MAX_CONCURRENT_STREAMS caps. */
  readonly turnsInFlight: Gauge;
  /** gateway_turns_in_flight_limit: MAX_CONCURRENT_STREAMS (0 = no cap). */
  readonly turnsInFlightLimit: Gauge;
  /** gateway_admission_rejections_total: turns refused before any backend call; reason = concurrency (MAX_CONCURRENT_STREAMS reached). */
  readonly admissionRejections: Counter<'reason'>;
  /** gateway_client_send_timeouts_total: turns ended because the client took no bytes for CLIENT_SEND_TIMEOUT_MS; transport = sse | websocket. */
  readonly clientSendTimeouts: Counter<'transport'>;
  /** Registers how the catalogue age is read at scrape time (seconds, or null = never loaded). */
  setModelCatalogAgeSource(source: () => number | null): void;
  /** Registers how the catalogue size is read at scrape time (models this replica serves from; 0 before a first list). */
  setModelCatalogSizeSource(source: () => number): void;
  /** Registers how Redis health is read at scrape time (true = ready); never called = embedded (-1). */
  setRedisUpSource(source: () => boolean): void;
}

export interface CreateGatewayMetricsOptions {
  /** Default: a new Registry (one per process; tests make their own). */
  readonly registry?: Registry;
  /** Node process metrics (`process_*`, `nodejs_*`); default true. */
  readonly collectDefaultMetrics?: boolean;
}

export function createGatewayMetrics(options: CreateGatewayMetricsOptions = {}): GatewayMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  if (options.collectDefaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  let catalogAgeSource: (() => number | null) | undefined;
  let catalogSizeSource: (() => number) | undefined;
  let redisUpSource: (() => boolean) | undefined;

  const httpRequestDuration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'Time from request arrival to response end, streams included, by route template, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [...HTTP_DURATION_BUCKETS],
    registers,
  });
  const httpRequestsInFlight = new Gauge({
    name: 'gateway_http_requests_in_flight',
    help: 'Requests received and not yet finished (open streams included), by route template.',
    labelNames: ['route'] as const,
    registers,
  });
  const upstreamRequestDuration = new Histogram({
    name: 'gateway_upstream_request_duration_seconds',
    help: 'Backend Chat Completions call duration until its answer is complete, by model and outcome.',
    labelNames: ['model', 'outcome'] as const,
    buckets: [...HTTP_DURATION_BUCKETS],
    registers,
  });
  const timeToFirstToken = new Histogram({
    name: 'gateway_time_to_first_token_seconds',
    help: 'Time from request arrival to the first output token sent to the client (OTel gen_ai.server.time_to_first_token).',
    labelNames: ['model'] as const,
    buckets: [...TIME_TO_FIRST_TOKEN_BUCKETS],
    registers,
  });
  const streamDuration = new Histogram({
    name: 'gateway_stream_duration_seconds',
    help: 'Duration of streamed (SSE) responses by model and final status.',
    labelNames: ['model', 'status'] as const,
    buckets: [...STREAM_DURATION_BUCKETS],
    registers,
  });
  const tokens = new Counter({
    name: 'gateway_tokens_total',
    help: 'Tokens reported by the backend usage, by model and type (input, output, reasoning, cached_input; OTel gen_ai.token.type).',
    labelNames: ['model', 'type'] as const,
    registers,
  });
  const upstreamErrors = new Counter({
    name: 'gateway_upstream_errors_total',
    help: 'Failed backend calls by model and kind (http_4xx, http_5xx, timeout, connection, stream_cut, malformed).',
    labelNames: ['model', 'kind'] as const,
    registers,
  });
  const breakerState = new Gauge({
    name: 'gateway_circuit_breaker_state',
    help: 'Circuit breaker state per scope: 0 closed, 1 open, 2 half-open.',
    labelNames: ['scope'] as const,
    registers,
  });
  const breakerTransitions = new Counter({
    name: 'gateway_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes per scope and target state (closed, open, half_open).',
    labelNames: ['scope', 'to'] as const,
    registers,
  });
  const modelCatalogSize = new Gauge({
    name: 'gateway_model_catalog_models',
    help: 'Number of models in the catalogue this replica serves from.',
    registers,
    collect() {
      if (catalogSizeSource !== undefined) this.set(catalogSizeSource());
    },
  });
  const modelCatalogAge = new Gauge({
    name: 'gateway_model_catalog_age_seconds',
    help: 'Seconds since the model catalogue was last fetched from the backend; +Inf if never.',
    registers,
    collect() {
      if (catalogAgeSource === undefined) return;
      const age = catalogAgeSource();
      this.set(age === null ? Number.POSITIVE_INFINITY : age);
    },
  });
  const redisUp = new Gauge({
    name: 'gateway_redis_up',
    help: 'Redis health from a periodic probe (a real write on every master): 1 commands succeed, 0 they fail (local fallback state, not ready), -1 not configured (embedded mode).',
    registers,
    collect() {
      if (redisUpSource !== undefined) this.set(redisUpSource() ? 1 : 0);
    },
  });
  // Until the gateway says it has a Redis client, it runs embedded: -1 keeps Redis alerts quiet there.
  redisUp.set(-1);
  const storeOperations = new Counter({
    name: 'gateway_response_store_operations_total',
    help: 'Stored-response operations (get, put, delete) by result (hit, miss, ok, error).',
    labelNames: ['operation', 'result'] as const,
    registers,
  });
  const storeFailures = new Counter({
    name: 'gateway_response_store_failures_total',
    help: 'Failed stored-response operations by operation (get, put, delete, cancel) and reason (unavailable, replica_ack, full).',
    labelNames: ['operation', 'reason'] as const,
    registers,
  });
  // Zeroed so alerts on increase() see the series from the first scrape.
  for (const reason of ['unavailable', 'replica_ack', 'full']) storeFailures.inc({ operation: 'put', reason }, 0);
  const storeSaveDuration = new Histogram({
    name: 'gateway_response_store_save_duration_seconds',
    help: 'Duration of one stored-response save (blobs, record, item keys, replica acknowledgement) by result (ok, error).',
    labelNames: ['result'] as const,
    buckets: [...STORE_SAVE_BUCKETS],
    registers,
  });
  const buildInfo = new Gauge({
    name: 'gateway_build_info',
    help: 'Always 1; labels carry the gateway version and mode (embedded or cluster).',
    labelNames: ['version', 'mode'] as const,
    registers,
  });

  const websocketConnections = new Gauge({
    name: 'gateway_websocket_connections',
    help: 'WebSocket-mode connections on /v1/responses open now.',
    registers,
  });
  const websocketUpgrades = new Counter({
    name: 'gateway_websocket_upgrades_total',
    help: 'WebSocket upgrade requests on /v1/responses by result (accepted, unauthenticated, disabled, draining, not_found).',
    labelNames: ['result'] as const,
    registers,
  });
  const websocketTurns = new Counter({
    name: 'gateway_websocket_turns_total',
    help: 'response.create frames answered over WebSocket, by kind (generate, warmup, compaction) and outcome (completed, incomplete, failed, error, aborted).',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  });
  const websocketCloses = new Counter({
    name: 'gateway_websocket_closes_total',
    help: 'Closed WebSocket-mode connections by close code.',
    labelNames: ['code'] as const,
    registers,
  });
  const websocketFrameErrors = new Counter({
    name: 'gateway_websocket_frame_errors_total',
    help: 'Client frames refused or ignored, by reason (binary, not_json, not_an_event, unknown_type, in_flight, too_large).',
    labelNames: ['reason'] as const,
    registers,
  });

  const turnsInFlight = new Gauge({
    name: 'gateway_turns_in_flight',
    help: 'Turns calling the backend now (SSE, JSON, WebSocket, compaction, background runs): what MAX_CONCURRENT_STREAMS caps, and what to autoscale on.',
    registers,
  });
  const turnsInFlightLimit = new Gauge({
    name: 'gateway_turns_in_flight_limit',
    help: 'MAX_CONCURRENT_STREAMS: the most turns this replica runs at once; 0 = no cap.',
    registers,
  });
  const admissionRejections = new Counter({
    name: 'gateway_admission_rejections_total',
    help: 'Turns refused before any backend call because the replica was full, by reason (concurrency: MAX_CONCURRENT_STREAMS reached).',
    labelNames: ['reason'] as const,
    registers,
  });
  admissionRejections.inc({ reason: 'concurrency' }, 0);
  const clientSendTimeouts = new Counter({
    name: 'gateway_client_send_timeouts_total',
    help: 'Streams ended because the client took no bytes for CLIENT_SEND_TIMEOUT_MS (backend call aborted, connection closed), by transport (sse, websocket).',
    labelNames: ['transport'] as const,
    registers,
  });
  for (const transport of ['sse', 'websocket']) clientSendTimeouts.inc({ transport }, 0);

  return {
    registry,
    httpRequestDuration,
    httpRequestsInFlight,
    upstreamRequestDuration,
    timeToFirstToken,
    streamDuration,
    tokens,
    upstreamErrors,
    breakerState,
    breakerTransitions,
    modelCatalogSize,
    modelCatalogAge,
    redisUp,
    storeOperations,
    storeFailures,
    storeSaveDuration,
    buildInfo,
    websocketConnections,
    websocketUpgrades,
    websocketTurns,
    websocketCloses,
    websocketFrameErrors,
    turnsInFlight,
    turnsInFlightLimit,
    admissionRejections,
    clientSendTimeouts,
    setModelCatalogAgeSource(source) {
      catalogAgeSource = source;
    },
    setModelCatalogSizeSource(source) {
      catalogSizeSource = source;
    },
    setRedisUpSource(source) {
      redisUpSource = source;
    },
  };
}
