import { decideSlidingWindow } from './decide-sliding-window.ts';
import type { RateLimitDecision, RateLimiter } from './rate-limiter.ts';

export interface MemoryRateLimiterOptions {
  /** Units (requests) per window per key, >= 1. */
  readonly limit: number;
  /** Window length, ms (default 60 000: a per-minute limit). */
  readonly windowMs?: number;
  /** Keys tracked at most (default 100 000). Keys are client-chosen: without a cap, random keys grow the heap. */
  readonly maxKeys?: number;
  /** Clock in ms (default Date.now); injected by tests. */
  readonly now?: () => number;
}

interface Counter {
  window: number;
  current: number;
  previous: number;
}

/**
 * The sliding-window limiter in one process: embedded mode, and the fallback of the Redis limiter
 * while Redis is unreachable. No timers: stale keys are swept on use, so nothing needs closing.
 */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  const counters = new Map<string, Counter>();
  let callsSinceSweep = 0;

  function sweep(window: number): void {
    callsSinceSweep = 0;
    for (const [key, counter] of counters) if (counter.window < window - 1) counters.delete(key);
    // Still full of live keys: forget the least recently used (Map keeps insertion order; we re-insert on use).
    for (const key of counters.keys()) {
      if (counters.size < maxKeys) break;
      counters.delete(key);
    }
  }

  return {
    async consume(keyHash: string, cost = 1): Promise<RateLimitDecision> {
      const at = now();
      const window = Math.floor(at / windowMs);
      callsSinceSweep += 1;
      if (callsSinceSweep >= 1_000 || (counters.size >= maxKeys && !counters.has(keyHash))) sweep(window);
      const stored = counters.get(keyHash);
      const counter: Counter =
        stored === undefined || stored.window < window - 1
          ? { window, current: 0, previous: 0 }
          : stored.window === window - 1
            ? { window, current: 0, previous: stored.current }
            : stored;
      const decision = decideSlidingWindow({
        previous: counter.previous,
        current: counter.current,
        elapsedMs: at - window * windowMs,
        windowMs,
        limit: options.limit,
        cost,
      });
      if (decision.allowed) counter.current += cost;
      counters.delete(keyHash);
      counters.set(keyHash, counter);
      return decision;
    },
  };
}
