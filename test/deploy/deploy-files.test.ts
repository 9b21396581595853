import { describe, expect, it } from 'vitest';
import { extractMetricNames, isExposed, substituteGrafanaVariables } from './deploy-files.ts';

describe('extractMetricNames', () => {
  it('finds the metrics of a histogram quantile, ignoring functions, labels, grouping and ranges', () => {
    const expr = 'histogram_quantile(0.95, sum by (le, model) (rate(gateway_time_to_first_token_seconds_bucket{model=~"$model"}[$__rate_interval])))';
    expect(extractMetricNames(expr)).toEqual(['gateway_time_to_first_token_seconds_bucket']);
  });

  it('finds every operand of a binary expression and skips keywords and time()', () => {
    const expr = 'time() - max(gateway_worker_model_refresh_last_success_timestamp_seconds) > 600 and on (instance) up{job="worker"} == 1';
    expect(extractMetricNames(expr).sort()).toEqual(['gateway_worker_model_refresh_last_success_timestamp_seconds', 'up']);
  });

  it('does not mistake label values or strings for metric names', () => {
    expect(extractMetricNames('sum(rate(gateway_tokens_total{type="output", model="Qwen/Qwen3"}[5m]))')).toEqual(['gateway_tokens_total']);
  });
});

describe('isExposed', () => {
  const types = new Map([
    ['gateway_http_request_duration_seconds', 'histogram'],
    ['gateway_redis_up', 'gauge'],
  ]);
  it('accepts histogram series suffixes only for histograms', () => {
    expect(isExposed('gateway_http_request_duration_seconds_bucket', types)).toBe(true);
    expect(isExposed('gateway_redis_up', types)).toBe(true);
    expect(isExposed('gateway_redis_up_count', types)).toBe(false);
    expect(isExposed('gateway_missing_total', types)).toBe(false);
  });
});

describe('substituteGrafanaVariables', () => {
  it('turns interval variables into durations and template variables into regex wildcards', () => {
    expect(substituteGrafanaVariables('rate(x{model=~"$model"}[$__rate_interval])')).toBe('rate(x{model=~".*"}[5m])');
  });
});
