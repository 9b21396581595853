import type { Logger } from 'pino';
import { agreeOnSharedSecret, type RedisClient } from '@rgw/redis';

export interface KeepSharedSecretOptions {
  readonly logger: Logger;
  /** How often the secret is re-asserted, ms (default 30 000). */
  readonly intervalMs?: number;
  /** Connected replicas of the secret's master (for the creation's WAIT). */
  readonly replicas?: () => number | null;
  readonly ackTimeoutMs?: number;
}

/**
 * Keeps the secret this replica agreed on in Redis (REASONING_ENCRYPTION_KEY unset). A Redis that lost
 * its data (restarted empty, a failover that lost the key) would let the next replica to start create
 * a different secret, and replicas would then disagree on owners and sealed reasoning: so each running
 * replica puts its own back when the key is missing (SET NX, the same script that created it). A
 * different secret already there is reported, loudly and once: the replicas have split.
 */
export function keepSharedSecret(client: RedisClient, secret: string, options: KeepSharedSecretOptions): () => void {
  let reported: string | undefined;
  const check = () =>
    void agreeOnSharedSecret(client, { candidate: secret, replicas: options.replicas?.() ?? 0, ackTimeoutMs: options.ackTimeoutMs ?? 1_000 }).then(
      ({ secret: inRedis, created }) => {
        if (created) options.logger.warn('the shared reasoning secret was missing from Redis (Redis lost its data?); put this replica’s back');
        if (inRedis !== secret && reported !== inRedis) {
          reported = inRedis;
          options.logger.error(
            'Redis holds another shared reasoning secret than this replica: replicas now disagree on stored responses and sealed reasoning. Set REASONING_ENCRYPTION_KEY on every replica, or restart this one',
          );
        }
      },
      () => undefined, // Redis unavailable: the health probe reports it; try again next time.
    );
  const timer = setInterval(check, options.intervalMs ?? 30_000);
  timer.unref();
  return () => clearInterval(timer);
}
