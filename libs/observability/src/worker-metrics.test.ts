import { describe, expect, it } from 'vitest';
import { createWorkerMetrics } from './worker-metrics.ts';

describe('createWorkerMetrics', () => {
  it('exposes refresh runs by result from the start, so a failure rate is computable before the first failure', async () => {
    const metrics = createWorkerMetrics({ collectDefaultMetrics: false });
    const text = await metrics.registry.metrics();
    expect(text).toContain('gateway_worker_model_refresh_runs_total{result="success"} 0');
    expect(text).toContain('gateway_worker_model_refresh_runs_total{result="failure"} 0');
    expect(text).toContain('# TYPE gateway_worker_model_refresh_duration_seconds histogram');
    expect(text).toContain('gateway_worker_model_refresh_last_success_timestamp_seconds 0');
    expect(text).toContain('gateway_worker_model_catalog_size 0');
  });
});
