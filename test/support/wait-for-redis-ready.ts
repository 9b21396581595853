/**
 * Waits (vi.waitFor) until an ioredis client is connected and ready: for a test's set-up, where a
 * client made a moment ago (or one reconnecting after a Redis restart, in its backoff) is not yet.
 */
import { vi } from 'vitest';

export async function waitForRedisReady(...clients: readonly { readonly status: string }[]): Promise<void> {
  await vi.waitFor(
    () => {
      const pending = clients.filter((client) => client.status !== 'ready');
      if (pending.length > 0) throw new Error(`Redis client not ready: ${pending.map((client) => client.status).join(', ')}`);
    },
    { timeout: 10_000, interval: 10 },
  );
}
