import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './gateway-metrics.ts';

async function scrape(metrics: ReturnType<typeof createGatewayMetrics>): Promise<string> {
  return metrics.registry.metrics();
}

function typeLines(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((line) => line.startsWith('# TYPE '))
      .map((line) => line.split(' ').slice(2, 4) as [string, string]),
  );
}

describe('createGatewayMetrics', () => {
  it('exposes every gateway metric under its Prometheus name and type', async () => {
    const types = typeLines(await scrape(createGatewayMetrics({ collectDefaultMetrics: false })));
    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith('gateway_')))).toEqual({
      gateway_http_request_duration_seconds: 'histogram',
      gateway_http_requests_in_flight: 'gauge',
      gateway_upstream_request_duration_seconds: 'histogram',
      gateway_time_to_first_token_seconds: 'histogram',
      gateway_stream_duration_seconds: 'histogram',
      gateway_tokens_total: 'counter',
      gateway_upstream_errors_total: 'counter',
      gateway_circuit_breaker_state: 'gauge',
      gateway_circuit_breaker_transitions_total: 'counter',
      gateway_model_catalog_models: 'gauge',
      gateway_model_catalog_age_seconds: 'gauge',
      gateway_redis_up: 'gauge',
      gateway_response_store_operations_total: 'counter',
      gateway_response_store_failures_total: 'counter',
      gateway_response_store_save_duration_seconds: 'histogram',
      gateway_build_info: 'gauge',
      gateway_websocket_connections: 'gauge',
      gateway_websocket_upgrades_total: 'counter',
      gateway_websocket_turns_total: 'counter',
      gateway_websocket_closes_total: 'counter',
      gateway_websocket_frame_errors_total: 'counter',
      gateway_turns_in_flight: 'gauge',
      gateway_turns_in_flight_limit: 'gauge',
      gateway_admission_rejections_total: 'counter',
      gateway_client_send_timeouts_total: 'counter',
    });
  });

  it('includes the default Node process metrics unless turned off', async () => {
    const withDefaults = typeLines(await scrape(createGatewayMetrics()));
    expect(withDefaults.get('process_cpu_seconds_total')).toBe('counter');
    expect(withDefaults.get('process_resident_memory_bytes')).toBe('gauge');
    expect(withDefaults.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    const without = typeLines(await scrape(createGatewayMetrics({ collectDefaultMetrics: false })));
    expect(without.has('process_cpu_seconds_total')).toBe(false);
  });

  it('keeps separate registries apart so two instances in one process do not clash', async () => {
    const first = createGatewayMetrics({ collectDefaultMetrics: false });
    const second = createGatewayMetrics({ collectDefaultMetrics: false });
    first.tokens.inc({ model: 'm', type: 'input' }, 3);
    expect(await scrape(first)).toContain('gateway_tokens_total{model="m",type="input"} 3');
    expect(await scrape(second)).not.toContain('gateway_tokens_total{');
  });

  it('labels series with exactly the documented label names', async () => {
    const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
    metrics.httpRequestDuration.observe({ route: '/v1/responses', method: 'POST', status: '200' }, 0.2);
    metrics.timeToFirstToken.observe({ model: 'm' }, 0.3);
    metrics.upstreamRequestDuration.observe({ model: 'm', outcome: 'success' }, 1);
    metrics.streamDuration.observe({ model: 'm', status: 'completed' }, 4);
    metrics.upstreamErrors.inc({ model: 'm', kind: 'http_5xx' });
    metrics.breakerState.set({ scope: 'llm.chutes.ai#m' }, 1);
    metrics.breakerTransitions.inc({ scope: 'llm.chutes.ai#m', to: 'open' });
    metrics.storeOperations.inc({ operation: 'get', result: 'hit' });
    metrics.buildInfo.set({ version: '0.1.0', mode: 'embedded' }, 1);
    const text = await scrape(metrics);
    expect(text).toContain('gateway_http_request_duration_seconds_bucket{le="0.25",route="/v1/responses",method="POST",status="200"} 1');
    expect(text).toContain('gateway_time_to_first_token_seconds_bucket{le="0.001",model="m"} 0');
    expect(text).toContain('gateway_time_to_first_token_seconds_bucket{le="80",model="m"} 1');
    expect(text).toContain('gateway_upstream_request_duration_seconds_count{model="m",outcome="success"} 1');
    expect(text).toContain('gateway_stream_duration_seconds_sum{model="m",status="completed"} 4');
    expect(text).toContain('gateway_upstream_errors_total{model="m",kind="http_5xx"} 1');
    expect(text).toContain('gateway_circuit_breaker_state{scope="llm.chutes.ai#m"} 1');
    expect(text).toContain('gateway_circuit_breaker_transitions_total{scope="llm.chutes.ai#m",to="open"} 1');
    expect(text).toContain('gateway_response_store_operations_total{operation="get",result="hit"} 1');
    expect(text).toContain('gateway_build_info{version="0.1.0",mode="embedded"} 1');
  });

  it('reads the catalogue age at scrape time, +Inf while no list was ever loaded', async () => {
    const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
    let age: number | null = null;
    metrics.setModelCatalogAgeSource(() => age);
    expect(await scrape(metrics)).toContain('gateway_model_catalog_age_seconds +Inf');
    age = 42.5;
    expect(await scrape(metrics)).toContain('gateway_model_catalog_age_seconds 42.5');
  });

  it('reports Redis as -1 in embedded mode and 1 or 0 from the registered health source', async () => {
    const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
    expect(await scrape(metrics)).toContain('gateway_redis_up -1');
    let ready = true;
    metrics.setRedisUpSource(() => ready);
    expect(await scrape(metrics)).toContain('gateway_redis_up 1');
    ready = false;
    expect(await scrape(metrics)).toContain('gateway_redis_up 0');
  });
});
