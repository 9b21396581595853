import type { Logger } from 'pino';
import type { WorkerMetrics } from '@rgw/observability';
import { publishModelSnapshot, type ListModels } from '@rgw/model-catalog';
import type { RedisClient } from '@rgw/redis';

export interface RefreshModelsJobOptions {
  listModels: ListModels;
  /** Client used to publish (fail-fast request-path client). */
  redis: RedisClient;
  /** Replicas treat the list as stale after this long without a refresh, ms (3 × the period). */
  freshMs: number;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Listing timeout, ms. */
  timeoutMs?: number;
}

/**
 * The job BullMQ runs every MODELS_REFRESH_SECONDS: fetch the backend's model list, refuse an
 * empty one (throws, so BullMQ retries with backoff and the last good list stays), publish it
 * if it changed. Throwing marks the run failed; the shared list is untouched.
 */
export function createRefreshModelsJob(options: RefreshModelsJobOptions): () => Promise<{ models: number; changed: boolean }> {
  const { metrics, logger } = options;
  return async () => {
    const stopTimer = metrics.refreshDuration.startTimer();
    try {
      const models = await options.listModels(AbortSignal.timeout(options.timeoutMs ?? 30_000));
      if (models.length === 0) throw new Error('backend listed no models; keeping the last published list');
      const changed = await publishModelSnapshot(options.redis, models, { freshMs: options.freshMs });
      stopTimer({ result: 'success' });
      metrics.refreshRuns.inc({ result: 'success' });
      metrics.lastSuccess.set(Date.now() / 1000);
      metrics.catalogSize.set(models.length);
      if (changed) logger.info({ models: models.length }, 'model list changed and published');
      else logger.debug({ models: models.length }, 'model list unchanged');
      return { models: models.length, changed };
    } catch (error) {
      stopTimer({ result: 'failure' });
      metrics.refreshRuns.inc({ result: 'failure' });
      logger.warn({ err: error }, 'model list refresh failed');
      throw error;
    }
  };
}
