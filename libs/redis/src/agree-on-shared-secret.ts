import { randomBytes } from 'node:crypto';
import type { RedisClient } from './create-redis-clients.ts';
import { KEY_PREFIX } from './key-prefix.ts';
import { defineScripts, loadLuaScript, reply } from './lua-script.ts';

/** Where the generated reasoning secret lives (no TTL; `noeviction` keeps it; see docs/adr/0002). */
export const SHARED_SECRET_KEY = `${KEY_PREFIX}secret:reasoning`;

const sharedSecret = loadLuaScript({
  file: new URL('./lua/shared-secret-1.lua', import.meta.url),
  keys: ['secret'],
  args: ['candidate'],
  decode(value) {
    const [secret, created] = reply.array(value, 'shared-secret');
    return { secret: reply.string(secret, 'shared-secret'), created: reply.integer(created, 'shared-secret') === 1 };
  },
});

export interface AgreeOnSharedSecretOptions {
  /** Connected replicas of the key's master; when above 0 the creation waits for one (WAIT), so a failover cannot lose it. */
  readonly replicas?: number | null;
  /** Bound of that wait, ms (default 1 000). */
  readonly ackTimeoutMs?: number;
  /** The secret to create when Redis has none (default: 32 fresh random bytes): a running replica re-seeds its own. */
  readonly candidate?: string;
}

/**
 * The secret all replicas share when REASONING_ENCRYPTION_KEY is unset: read from Redis, or created
 * there (32 random bytes, hex) by the first replica to ask. Rejects when Redis cannot answer, or a
 * freshly created secret was not acknowledged by a replica: the caller retries.
 */
export async function agreeOnSharedSecret(client: RedisClient, options: AgreeOnSharedSecretOptions = {}): Promise<{ secret: string; created: boolean }> {
  const run = defineScripts(client, { sharedSecret });
  const agreed = await run.sharedSecret({ keys: { secret: SHARED_SECRET_KEY }, args: { candidate: options.candidate ?? randomBytes(32).toString('hex') } });
  if (agreed.created && (options.replicas ?? 0) > 0) {
    // WAIT has no key: send it with a keyed no-op so a Cluster client routes it to the secret's master.
    const pipeline = client.pipeline();
    pipeline.exists(SHARED_SECRET_KEY);
    pipeline.call('WAIT', 1, options.ackTimeoutMs ?? 1_000);
    const results = (await pipeline.exec()) ?? [];
    if (!(Number(results[1]?.[1]) >= 1)) throw new Error('the generated secret was not acknowledged by a replica');
  }
  return agreed;
}
