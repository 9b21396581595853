import type { Logger } from 'pino';
import { createFailureReporter, describeFailure, type WorkerMetrics } from '@rgw/observability';
import { diffModelIds, modelKeys, publishModelSnapshot, type ListModels } from '@rgw/model-catalog';
import type { RedisClient } from '@rgw/redis';

export interface RefreshModelsJobOptions {
  listModels: ListModels;
  /** The backend's host (never its key or path), named in every log line. */
  backend: string;
  /** Client used to publish (fail-fast request-path client). */
  redis: RedisClient;
  /** Replicas treat the list as stale after this long without a refresh, ms (3 × the period). */
  freshMs: number;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Listing timeout, ms. */
  timeoutMs?: number;
  /** While failures repeat with the same reason, one warn line per this many ms (default 60 000). */
  failureLogIntervalMs?: number;
}

/** Ids named in one log line, at most: a backend that renamed everything must not write a megabyte. */
const MAX_IDS_LOGGED = 50;

/**
 * The job BullMQ runs every MODELS_REFRESH_SECONDS: fetch the backend's model list, refuse an
 * empty one (throws, so BullMQ retries with backoff and the last good list stays), publish it
 * if it changed. Throwing marks the run failed; the shared list is untouched.
 * Logs: each refresh (which backend, how many models), each change (ids added and removed), and a
 * failure as one warn line with its reason, throttled while it repeats.
 */
export function createRefreshModelsJob(options: RefreshModelsJobOptions): () => Promise<{ models: number; changed: boolean }> {
  const { metrics, logger, backend } = options;
  const failures = createFailureReporter({
    logger,
    message: 'model list refresh failed; the last published list stays',
    recoveredMessage: 'model list refresh works again',
    ...(options.failureLogIntervalMs === undefined ? {} : { intervalMs: options.failureLogIntervalMs }),
  });
  return async () => {
    const stopTimer = metrics.refreshDuration.startTimer();
    try {
      const models = await options.listModels(AbortSignal.timeout(options.timeoutMs ?? 30_000));
      if (models.length === 0) throw new Error('the backend listed no models');
      const previous = await readPublishedIds(options.redis);
      const changed = await publishModelSnapshot(options.redis, models, { freshMs: options.freshMs });
      stopTimer({ result: 'success' });
      metrics.refreshRuns.inc({ result: 'success' });
      metrics.lastSuccess.set(Date.now() / 1000);
      metrics.catalogSize.set(models.length);
      failures.recovered({ backend });
      if (changed) {
        const { added, removed } = diffModelIds(
          previous.map((id) => ({ id })),
          models,
        );
        logger.info(
          {
            backend,
            models: models.length,
            added: added.slice(0, MAX_IDS_LOGGED),
            removed: removed.slice(0, MAX_IDS_LOGGED),
            ...(added.length === 0 && removed.length === 0 ? { details_changed: true } : {}),
          },
          'model list changed and published',
        );
      } else {
        logger.info({ backend, models: models.length }, 'model list unchanged');
      }
      return { models: models.length, changed };
    } catch (error) {
      stopTimer({ result: 'failure' });
      metrics.refreshRuns.inc({ result: 'failure' });
      failures.failed(describeFailure(error), { backend });
      throw error;
    }
  };
}

/** The ids of the list in Redis now (empty when none, or when Redis cannot say: only the log line's diff is lost). */
async function readPublishedIds(redis: RedisClient): Promise<string[]> {
  try {
    const json = await redis.hget(modelKeys.snapshot, 'json');
    if (json === null) return [];
    const entries: unknown = JSON.parse(json);
    return Array.isArray(entries) ? entries.map((entry: { id?: unknown }) => String(entry.id)) : [];
  } catch {
    return [];
  }
}
