import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayConfig } from '@rgw/config';
import { agreeOnSharedSecret, type RedisClient, type RedisHealthProbe, SHARED_SECRET_KEY } from '@rgw/redis';

export interface ResolveReasoningSecretsOptions {
  readonly logger: Logger;
  /** Cluster mode: the writer connection (its timeout covers a WAIT) and the health probe (replica counts). */
  readonly redis?: RedisClient;
  readonly health?: RedisHealthProbe;
  /** Pause between attempts while Redis cannot answer, ms (default 500). */
  readonly retryMs?: number;
}

/**
 * The secrets that seal reasoning and key stored responses' owners, current first (docs/adr/0002):
 * 1. REASONING_ENCRYPTION_KEY (then REASONING_ENCRYPTION_PREVIOUS_KEYS, accepted for reading);
 * 2. with Redis and no key: one secret every replica agrees on through Redis (created once,
 *    atomically), so replicas started with nothing but a Redis address share stored responses and
 *    sealed reasoning. Waits for Redis: a replica that went on with a secret of its own would
 *    silently store what no other replica can read;
 * 3. embedded mode: a random per-process secret (sealed blobs do not survive a restart).
 */
export async function resolveReasoningSecrets(config: GatewayConfig, options: ResolveReasoningSecretsOptions): Promise<readonly string[]> {
  const { logger } = options;
  if (config.REASONING_ENCRYPTION_KEY !== undefined) return [config.REASONING_ENCRYPTION_KEY, ...(config.REASONING_ENCRYPTION_PREVIOUS_KEYS ?? [])];
  if (options.redis === undefined) return [randomBytes(32).toString('hex')];
  let lastWarned = 0;
  for (;;) {
    try {
      const { secret, created } = await agreeOnSharedSecret(options.redis, {
        replicas: options.health?.replicasFor(SHARED_SECRET_KEY) ?? 0,
        ackTimeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS || 1_000,
      });
      logger.warn(
        { key: SHARED_SECRET_KEY, created },
        'REASONING_ENCRYPTION_KEY is unset: replicas share a secret generated in Redis. Set REASONING_ENCRYPTION_KEY (32+ chars) in production: ' +
          'this one is as safe as Redis is (anyone who can read Redis can open sealed reasoning), is lost with Redis (an emptied Redis makes ' +
          'sealed reasoning held by clients unreadable), and cannot be rotated',
      );
      return [secret];
    } catch (error) {
      if (Date.now() - lastWarned > 10_000) {
        lastWarned = Date.now();
        logger.warn(
          { err: error },
          'waiting for Redis to agree on the shared reasoning secret (REASONING_ENCRYPTION_KEY is unset); set it to start without Redis',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 500));
    }
  }
}
