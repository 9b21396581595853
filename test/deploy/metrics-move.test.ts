/**
 * Every metric a Grafana dashboard queries or docs/operations.md documents moves with what it
 * describes: each is scraped before and after the traffic (or event) that should move it, from a real
 * replica and worker of `scripts/cluster-local.ts` (Redis, one replica, the worker). A metric that is
 * exposed but never set (gateway_model_catalog_models was always 0) fails here; so does a metric a
 * dashboard or the docs add without a scenario below.
 */
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import packageJson from '../../package.json' with { type: 'json' };
import { createRequestPathRedis } from '@rgw/redis';
import { startLocalCluster, type LocalCluster } from '../../scripts/cluster-local.ts';
import {
  done,
  finishChunk,
  httpError,
  pauseUntil,
  roleChunk,
  startScriptedBackend,
  textAnswer,
  textChunks,
  type ScriptedBackend,
} from '../support/scripted-backend.ts';
import { collectDashboardQueries, extractMetricNames, readText } from './deploy-files.ts';

const KEY = 'sk-metrics-move';
const MODEL_A = 'org/model-a';
const MODEL_B = 'org/model-b';

let backend: ScriptedBackend;
let cluster: LocalCluster;
const moved = new Set<string>();

beforeAll(async () => {
  // Nothing listed at first: the catalogue metrics start from "never loaded".
  backend = await startScriptedBackend({ models: [] });
  cluster = await startLocalCluster({
    upstreamBaseUrl: backend.url,
    replicas: 1,
    gatewayEnv: {
      MODELS_REFRESH_SECONDS: '1',
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
      UPSTREAM_MAX_RETRIES: '0',
      // Small enough for the scenarios below to reach; no other scenario runs two turns at once or leaves a stream unread.
      MAX_CONCURRENT_STREAMS: '2',
      CLIENT_SEND_TIMEOUT_MS: '500',
    },
    workerEnv: { MODELS_REFRESH_SECONDS: '1' },
  });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  await backend?.close();
});

/** `name{labels}` → value, from a Prometheus text exposition. */
function readSamples(exposition: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const text = match[2];
    samples.set(match[1], text === '+Inf' ? Number.POSITIVE_INFINITY : text === '-Inf' ? Number.NEGATIVE_INFINITY : Number(text));
  }
  return samples;
}

async function scrape(url: string): Promise<Map<string, number>> {
  return readSamples(await (await fetch(`${url}/metrics`)).text());
}

const replica = () => scrape(cluster.replicas[0]!.url);
const worker = () => scrape(`http://127.0.0.1:${cluster.worker!.port}`);

/** Sum of the series of `name` whose labels contain every `label="value"` given. */
function total(samples: ReadonlyMap<string, number>, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const [series, value] of samples) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([label, wanted]) => series.includes(`${label}="${wanted}"`))) sum += value;
  }
  return sum;
}

/** Records that `names` were seen moving (the last test checks every required metric was). */
function sawMove(...names: string[]): void {
  for (const name of names) moved.add(name);
}

async function createResponse(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${cluster.replicas[0]!.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('metrics move with what they describe', () => {
  it('catalogue and refresh metrics: from "never loaded" to the backend’s list, and with each change', async () => {
    const [gatewayBefore, workerBefore] = await Promise.all([replica(), worker()]);
    expect(total(gatewayBefore, 'gateway_model_catalog_age_seconds')).toBe(Number.POSITIVE_INFINITY);
    expect(total(gatewayBefore, 'gateway_model_catalog_models')).toBe(0);
    expect(total(workerBefore, 'gateway_worker_model_refresh_last_success_timestamp_seconds')).toBe(0);
    // The worker refuses an empty list: a failed run.
    await vi.waitFor(async () => expect(total(await worker(), 'gateway_worker_model_refresh_runs_total', { result: 'failure' })).toBeGreaterThan(0), {
      timeout: 10_000,
      interval: 100,
    });

    backend.setModels([MODEL_A]);
    await vi.waitFor(
      async () => {
        const [gateway, refresher] = await Promise.all([replica(), worker()]);
        expect(total(gateway, 'gateway_model_catalog_models')).toBe(1);
        expect(total(gateway, 'gateway_model_catalog_age_seconds')).toBeLessThan(10);
        expect(total(refresher, 'gateway_worker_model_catalog_size')).toBe(1);
        expect(total(refresher, 'gateway_worker_model_refresh_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
        expect(total(refresher, 'gateway_worker_model_refresh_runs_total', { result: 'success' })).toBeGreaterThan(0);
        expect(total(refresher, 'gateway_worker_model_refresh_duration_seconds_count')).toBeGreaterThan(
          total(workerBefore, 'gateway_worker_model_refresh_duration_seconds_count'),
        );
      },
      { timeout: 15_000, interval: 100 },
    );

    backend.setModels([MODEL_A, MODEL_B]);
    await vi.waitFor(
      async () => {
        expect(total(await replica(), 'gateway_model_catalog_models')).toBe(2);
        expect(total(await worker(), 'gateway_worker_model_catalog_size')).toBe(2);
      },
      { timeout: 15_000, interval: 100 },
    );
    sawMove(
      'gateway_model_catalog_models',
      'gateway_model_catalog_age_seconds',
      'gateway_worker_model_catalog_size',
      'gateway_worker_model_refresh_last_success_timestamp_seconds',
      'gateway_worker_model_refresh_runs_total',
      'gateway_worker_model_refresh_duration_seconds',
    );
  });

  it('request, backend, first-token, stream and token metrics: one streamed answer', async () => {
    const before = await replica();
    backend.enqueue(textAnswer('Hello there', { usage: { prompt: 30, completion: 4 } }));
    const response = await createResponse({ model: MODEL_A, input: 'hi', stream: true });
    expect(response.status).toBe(200);
    await response.text();
    const after = await replica();
    const grew = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
    expect(grew('gateway_http_request_duration_seconds_count', { route: '/v1/responses', status: '200' })).toBe(1);
    expect(grew('gateway_upstream_request_duration_seconds_count', { model: MODEL_A, outcome: 'success' })).toBe(1);
    expect(grew('gateway_time_to_first_token_seconds_count', { model: MODEL_A })).toBe(1);
    expect(grew('gateway_stream_duration_seconds_count', { model: MODEL_A, status: 'completed' })).toBe(1);
    expect(grew('gateway_stream_duration_seconds_sum', { model: MODEL_A })).toBeGreaterThan(0);
    expect(grew('gateway_tokens_total', { model: MODEL_A, type: 'input' })).toBe(30);
    expect(grew('gateway_tokens_total', { model: MODEL_A, type: 'output' })).toBe(4);
    sawMove(
      'gateway_http_request_duration_seconds',
      'gateway_upstream_request_duration_seconds',
      'gateway_time_to_first_token_seconds',
      'gateway_stream_duration_seconds',
      'gateway_tokens_total',
    );
  });

  it('in-flight requests: 1 while a stream is open, 0 after', async () => {
    backend.enqueue({ ...textAnswer('one two three four five six'), stepDelayMs: 150 });
    const pending = createResponse({ model: MODEL_A, input: 'hi', stream: true }).then((response) => response.text());
    await vi.waitFor(async () => expect(total(await replica(), 'gateway_http_requests_in_flight', { route: '/v1/responses' })).toBe(1), {
      timeout: 5_000,
      interval: 20,
    });
    await pending;
    expect(total(await replica(), 'gateway_http_requests_in_flight', { route: '/v1/responses' })).toBe(0);
    sawMove('gateway_http_requests_in_flight');
  });

  it('turns in flight and admission: the gauge follows held turns, the cap is shown, a third turn is refused and counted', async () => {
    const before = await replica();
    expect(total(before, 'gateway_turns_in_flight_limit')).toBe(2);
    expect(total(before, 'gateway_turns_in_flight')).toBe(0);
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const held = { steps: [roleChunk(), ...textChunks('held'), pauseUntil(released), finishChunk('stop'), done()] };
    backend.enqueue(held, held);
    const pending = [1, 2].map(() => createResponse({ model: MODEL_A, input: 'hi', stream: true }).then((response) => response.text()));
    await vi.waitFor(async () => expect(total(await replica(), 'gateway_turns_in_flight')).toBe(2), { timeout: 5_000, interval: 20 });
    const refused = await createResponse({ model: MODEL_A, input: 'hi', stream: true });
    expect(refused.status).toBe(503);
    release();
    await Promise.all(pending);
    const after = await replica();
    expect(total(after, 'gateway_turns_in_flight')).toBe(0);
    expect(
      total(after, 'gateway_admission_rejections_total', { reason: 'concurrency' }) -
        total(before, 'gateway_admission_rejections_total', { reason: 'concurrency' }),
    ).toBe(1);
    sawMove('gateway_turns_in_flight', 'gateway_turns_in_flight_limit', 'gateway_admission_rejections_total');
  });

  it('client send timeouts: a client that stops reading a long stream is dropped after CLIENT_SEND_TIMEOUT_MS and counted', async () => {
    const before = await replica();
    // About 20 MB of text: more than the socket buffers between backend, gateway and client hold.
    const chunk = textChunks('z'.repeat(4_000), { split: 4_000 });
    backend.enqueue({ steps: [roleChunk(), ...Array.from({ length: 5_000 }, () => chunk).flat(), finishChunk('stop'), done()] });
    const url = new URL(`${cluster.replicas[0]!.url}/v1/responses`);
    const request = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } });
    request.on('error', () => undefined);
    request.on('response', (response) => {
      response.on('error', () => undefined);
      response.pause(); // never read
    });
    request.end(JSON.stringify({ model: MODEL_A, input: 'hi', stream: true }));
    await vi.waitFor(
      async () =>
        expect(
          total(await replica(), 'gateway_client_send_timeouts_total', { transport: 'sse' }) -
            total(before, 'gateway_client_send_timeouts_total', { transport: 'sse' }),
        ).toBe(1),
      { timeout: 15_000, interval: 50 },
    );
    request.destroy();
    sawMove('gateway_client_send_timeouts_total');
  });

  it('stored-response operations: a stored answer is a put, reading it a get hit', async () => {
    const before = await replica();
    backend.enqueue(textAnswer('stored'));
    const created = (await (await createResponse({ model: MODEL_A, input: 'hi', store: true })).json()) as { id: string };
    const read = await fetch(`${cluster.replicas[0]!.url}/v1/responses/${created.id}`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(read.status).toBe(200);
    const after = await replica();
    const grew = (labels: Record<string, string>) =>
      total(after, 'gateway_response_store_operations_total', labels) - total(before, 'gateway_response_store_operations_total', labels);
    expect(grew({ operation: 'put', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(grew({ operation: 'get', result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(
      total(after, 'gateway_response_store_save_duration_seconds_count', { result: 'ok' }) -
        total(before, 'gateway_response_store_save_duration_seconds_count', { result: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    sawMove('gateway_response_store_operations_total', 'gateway_response_store_save_duration_seconds');
  });

  it('stored-response failures: a full Redis refuses the save, counted by reason', async () => {
    const admin = createRequestPathRedis(cluster.redisUrl, { commandTimeoutMs: 5_000 });
    try {
      await vi.waitFor(() => expect(admin.status).toBe('ready'), { timeout: 5_000, interval: 20 });
      const before = await replica();
      // noeviction (the configured policy) with no room left: every write is refused with OOM.
      await admin.config('SET', 'maxmemory', '1');
      backend.enqueue(textAnswer('not kept'));
      const refused = await createResponse({ model: MODEL_A, input: 'hi', store: true });
      expect(refused.status).toBe(503);
      const after = await replica();
      expect(
        total(after, 'gateway_response_store_failures_total', { operation: 'put', reason: 'full' }) -
          total(before, 'gateway_response_store_failures_total', { operation: 'put', reason: 'full' }),
      ).toBe(1);
      sawMove('gateway_response_store_failures_total');
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
  });

  it('WebSocket mode: an upgrade, a turn, a frame error and a close each move their metric; the open-connection gauge follows', async () => {
    const before = await replica();
    const socket = new WebSocket(`${cluster.replicas[0]!.url.replace('http', 'ws')}/v1/responses`, { headers: { authorization: `Bearer ${KEY}` } });
    await once(socket, 'open');
    await vi.waitFor(async () => expect(total(await replica(), 'gateway_websocket_connections')).toBe(total(before, 'gateway_websocket_connections') + 1), {
      timeout: 5_000,
      interval: 20,
    });
    const frames: { type: string }[] = [];
    socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as { type: string }));
    backend.enqueue(textAnswer('over the socket'));
    socket.send(JSON.stringify({ type: 'response.create', model: MODEL_A, input: 'hi', store: false }));
    await vi.waitFor(() => expect(frames.at(-1)?.type).toBe('response.completed'), { timeout: 10_000, interval: 20 });
    socket.send('not json');
    await vi.waitFor(() => expect(frames.at(-1)?.type).toBe('error'), { timeout: 5_000, interval: 20 });
    socket.close(1000);
    await once(socket, 'close');
    await vi.waitFor(
      async () => {
        const after = await replica();
        const grew = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
        expect(grew('gateway_websocket_upgrades_total', { result: 'accepted' })).toBe(1);
        expect(grew('gateway_websocket_turns_total')).toBe(1);
        expect(grew('gateway_websocket_frame_errors_total', { reason: 'not_json' })).toBe(1);
        expect(grew('gateway_websocket_closes_total', { code: '1000' })).toBe(1);
        expect(total(after, 'gateway_websocket_connections')).toBe(total(before, 'gateway_websocket_connections'));
      },
      { timeout: 5_000, interval: 20 },
    );
    sawMove(
      'gateway_websocket_connections',
      'gateway_websocket_upgrades_total',
      'gateway_websocket_turns_total',
      'gateway_websocket_frame_errors_total',
      'gateway_websocket_closes_total',
    );
  });

  it('backend errors and the breaker: two 500s count as errors and open the breaker for the model', async () => {
    const before = await replica();
    backend.enqueue(httpError(500, { message: 'boom' }), httpError(500, { message: 'boom' }));
    for (let i = 0; i < 2; i += 1) expect((await createResponse({ model: MODEL_B, input: 'hi' })).status).toBe(502);
    expect((await createResponse({ model: MODEL_B, input: 'hi' })).status).toBe(503);
    await vi.waitFor(
      async () => {
        const after = await replica();
        expect(
          total(after, 'gateway_upstream_errors_total', { model: MODEL_B, kind: 'http_5xx' }) -
            total(before, 'gateway_upstream_errors_total', { model: MODEL_B }),
        ).toBe(2);
        expect(total(after, 'gateway_circuit_breaker_state', { scope: `${new URL(backend.url).host}#${MODEL_B}` })).toBe(1);
        expect(
          total(after, 'gateway_circuit_breaker_transitions_total', { to: 'open' }) -
            total(before, 'gateway_circuit_breaker_transitions_total', { to: 'open' }),
        ).toBe(1);
      },
      { timeout: 5_000, interval: 50 },
    );
    sawMove('gateway_upstream_errors_total', 'gateway_circuit_breaker_state', 'gateway_circuit_breaker_transitions_total');
  });

  it('process metrics: CPU time grows with traffic; memory and event-loop lag are measured', async () => {
    const before = await replica();
    for (let i = 0; i < 20; i += 1) {
      backend.enqueue(textAnswer('x'.repeat(200)));
      await (await createResponse({ model: MODEL_A, input: 'hi', stream: true })).text();
    }
    const after = await replica();
    expect(total(after, 'process_cpu_seconds_total')).toBeGreaterThan(total(before, 'process_cpu_seconds_total'));
    expect(total(after, 'process_resident_memory_bytes')).toBeGreaterThan(20 * 1024 * 1024);
    expect(total(after, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    sawMove('process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds');
  });

  it('build info: 1, labelled with this version and the mode', async () => {
    expect(total(await replica(), 'gateway_build_info', { version: packageJson.version, mode: 'cluster' })).toBe(1);
    sawMove('gateway_build_info');
  });

  // Last: it takes Redis away.
  it('Redis state: 1 while connected, 0 while Redis is down, 1 again once it is back', async () => {
    expect(total(await replica(), 'gateway_redis_up')).toBe(1);
    const workerErrorsBefore = total(await worker(), 'gateway_worker_redis_errors_total');
    await cluster.redis!.kill();
    await vi.waitFor(async () => expect(total(await replica(), 'gateway_redis_up')).toBe(0), { timeout: 10_000, interval: 50 });
    await vi.waitFor(async () => expect(total(await worker(), 'gateway_worker_redis_errors_total')).toBeGreaterThan(workerErrorsBefore), {
      timeout: 10_000,
      interval: 50,
    });
    await cluster.redis!.restart();
    await vi.waitFor(async () => expect(total(await replica(), 'gateway_redis_up')).toBe(1), { timeout: 15_000, interval: 100 });
    sawMove('gateway_redis_up', 'gateway_worker_redis_errors_total');
  });

  it('covered every metric the dashboards query and docs/operations.md documents', () => {
    const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    const dashboards = collectDashboardQueries().flatMap((query) => extractMetricNames(query.expr));
    // The metric tables of docs/operations.md: `gateway_…` in the first column.
    const documented = [...readText('docs/operations.md').matchAll(/^\| `(gateway_\w+)` \|/gm)].map((match) => match[1]!);
    expect(documented.length).toBeGreaterThan(15);
    // `up` is Prometheus's own series for a target, not one the gateway exposes.
    const required = new Set([...dashboards, ...documented].map(base).filter((name) => name !== 'up'));
    expect([...required].filter((name) => !moved.has(name)).sort()).toEqual([]);
  });
});
