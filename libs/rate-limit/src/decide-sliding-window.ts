import type { RateLimitDecision } from './rate-limiter.ts';

export interface SlidingWindowInput {
  /** Units counted in the window before the current one. */
  readonly previous: number;
  /** Units counted in the current window so far. */
  readonly current: number;
  /** Milliseconds since the current window started (0 ≤ elapsed < windowMs). */
  readonly elapsedMs: number;
  readonly windowMs: number;
  readonly limit: number;
  readonly cost: number;
}

/**
 * The sliding-window counter (Cloudflare's "approximated sliding window"): usage is the current
 * window's count plus the previous window's count weighted by how much of it still overlaps the
 * last `windowMs`. Two integers per key instead of a log of timestamps. Pure; the Lua script
 * `rate-limit-1.lua` computes the same numbers inside Redis.
 */
export function decideSlidingWindow(input: SlidingWindowInput): RateLimitDecision {
  const { previous, current, elapsedMs, windowMs, limit, cost } = input;
  const fraction = elapsedMs / windowMs;
  const used = previous * (1 - fraction) + current;
  const untilWindowEnd = windowMs - elapsedMs;
  if (used + cost <= limit) {
    const after = current + cost;
    return {
      allowed: true,
      retryAfterMs: 0,
      remaining: Math.max(0, Math.floor(limit - used - cost)),
      limit,
      // The current window's units weigh on the next window until it ends.
      resetMs: after > 0 ? untilWindowEnd + windowMs : previous > 0 ? untilWindowEnd : 0,
    };
  }
  return { allowed: false, retryAfterMs: computeWaitMs(input), remaining: Math.max(0, Math.floor(limit - used)), limit, resetMs: resetOf(input) };
}

function computeWaitMs({ previous, current, elapsedMs, windowMs, limit, cost }: SlidingWindowInput): number {
  // A cost above the limit can never pass: say "a full window", not a wrong promise.
  if (cost > limit) return 2 * windowMs;
  if (previous > 0 && current + cost <= limit) {
    // Still in this window, once enough of the previous window has slid out.
    const neededFraction = 1 - (limit - current - cost) / previous;
    return Math.max(1, Math.ceil(neededFraction * windowMs - elapsedMs));
  }
  // Next window: today's count becomes the weighted "previous".
  const untilWindowEnd = windowMs - elapsedMs;
  const neededFraction = current > 0 ? Math.max(0, 1 - (limit - cost) / current) : 0;
  return Math.max(1, Math.ceil(untilWindowEnd + neededFraction * windowMs));
}

function resetOf({ previous, current, elapsedMs, windowMs }: SlidingWindowInput): number {
  const untilWindowEnd = windowMs - elapsedMs;
  return current > 0 ? untilWindowEnd + windowMs : previous > 0 ? untilWindowEnd : 0;
}
