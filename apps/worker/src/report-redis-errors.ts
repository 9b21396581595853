import type { Logger } from 'pino';
import type { WorkerMetrics } from '@rgw/observability';
import { classifyRedisError } from '@rgw/redis';

export interface RedisErrorReporterOptions {
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  /** One log line per reason per this many ms, with how many were folded into it (default 30 000). */
  readonly throttleMs?: number;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
}

/**
 * Every Redis error the worker sees (its connections, the BullMQ queue and worker) counts in
 * gateway_worker_redis_errors_total{reason}; the log gets one warn line per reason per period,
 * with the reason and how many errors it stands for: a Redis that refuses every command is visible,
 * and does not flood the logs.
 */
export function createRedisErrorReporter(options: RedisErrorReporterOptions): (source: string, error: unknown) => void {
  const throttleMs = options.throttleMs ?? 30_000;
  const now = options.now ?? Date.now;
  const last = new Map<string, { at: number; suppressed: number }>();
  return (source, error) => {
    const reason = classifyRedisError(error);
    options.metrics.redisErrors.inc({ reason });
    const seen = last.get(reason);
    if (seen !== undefined && now() - seen.at < throttleMs) {
      seen.suppressed += 1;
      return;
    }
    last.set(reason, { at: now(), suppressed: 0 });
    options.logger.warn(
      { source, reason, err: { message: error instanceof Error ? error.message : String(error) }, suppressed: seen?.suppressed ?? 0 },
      `worker Redis error (${reason})`,
    );
  };
}
