import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REFRESH_DURATION_BUCKETS } from './metric-buckets.ts';

/** The worker's metrics (served on its own port, 9464 by default). */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** gateway_worker_model_refresh_runs_total: result = success | failure. */
  readonly refreshRuns: Counter<'result'>;
  /** gateway_worker_model_refresh_duration_seconds: one model-list fetch + publish, by result. */
  readonly refreshDuration: Histogram<'result'>;
  /** gateway_worker_model_refresh_last_success_timestamp_seconds: Unix time of the last good refresh, 0 = never. */
  readonly lastSuccess: Gauge;
  /** gateway_worker_model_catalog_size: models in the last published list. */
  readonly catalogSize: Gauge;
  /** gateway_worker_redis_errors_total: Redis errors seen by the worker's connections and BullMQ, by reason (auth, tls, timeout, crossslot, oom, connection, …). */
  readonly redisErrors: Counter<'reason'>;
}

export function createWorkerMetrics(options: { readonly registry?: Registry; readonly collectDefaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  if (options.collectDefaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const refreshRuns = new Counter({
    name: 'gateway_worker_model_refresh_runs_total',
    help: 'Model-list refresh runs by result (success, failure).',
    labelNames: ['result'] as const,
    registers,
  });
  const refreshDuration = new Histogram({
    name: 'gateway_worker_model_refresh_duration_seconds',
    help: 'Duration of one model-list refresh (fetch, validate, publish) by result.',
    labelNames: ['result'] as const,
    buckets: [...REFRESH_DURATION_BUCKETS],
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'gateway_worker_model_refresh_last_success_timestamp_seconds',
    help: 'Unix time of the last successful model-list refresh; 0 if none since start.',
    registers,
  });
  const catalogSize = new Gauge({
    name: 'gateway_worker_model_catalog_size',
    help: 'Number of models in the last list the worker published.',
    registers,
  });
  const redisErrors = new Counter({
    name: 'gateway_worker_redis_errors_total',
    help: 'Redis errors seen by the worker (its connections and BullMQ), by reason (auth, tls, timeout, moved, crossslot, oom, readonly, connection, unknown).',
    labelNames: ['reason'] as const,
    registers,
  });
  // Pre-create both result series so rate() and absent-based alerts see 0 rather than nothing.
  refreshRuns.inc({ result: 'success' }, 0);
  refreshRuns.inc({ result: 'failure' }, 0);
  return { registry, refreshRuns, refreshDuration, lastSuccess, catalogSize, redisErrors };
}
