import { createHash } from 'node:crypto';

/** The limiter's key for an API key: SHA-256, hex. The key itself never reaches Redis or the heap map. */
export function hashRateLimitKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}
