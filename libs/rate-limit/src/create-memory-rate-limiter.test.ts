import { describe, expect, it } from 'vitest';
import { createMemoryRateLimiter } from './create-memory-rate-limiter.ts';

function clock(start = 1_800_000_000_000) {
  let at = start;
  return { now: () => at, advance: (ms: number) => void (at += ms) };
}

async function consumeTimes(limiter: ReturnType<typeof createMemoryRateLimiter>, key: string, times: number) {
  const decisions = [];
  for (let i = 0; i < times; i += 1) decisions.push(await limiter.consume(key));
  return decisions;
}

describe('createMemoryRateLimiter', () => {
  it('allows `limit` requests per window and refuses the next one with a retry delay', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ limit: 3, windowMs: 60_000, now: time.now });
    const decisions = await consumeTimes(limiter, 'key-a', 4);
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((decision) => decision.remaining)).toEqual([2, 1, 0, 0]);
    const refused = decisions[3]!;
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(120_000);
    expect(refused.limit).toBe(3);
  });

  it('allows again once the promised retry delay has passed, not before', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ limit: 5, windowMs: 10_000, now: time.now });
    await consumeTimes(limiter, 'key', 5);
    time.advance(4_000);
    const refused = await limiter.consume('key');
    expect(refused.allowed).toBe(false);
    time.advance(refused.retryAfterMs - 1);
    expect((await limiter.consume('key')).allowed).toBe(false);
    time.advance(1);
    expect((await limiter.consume('key')).allowed).toBe(true);
  });

  it('keeps keys apart', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ limit: 1, now: time.now });
    expect((await limiter.consume('a')).allowed).toBe(true);
    expect((await limiter.consume('a')).allowed).toBe(false);
    expect((await limiter.consume('b')).allowed).toBe(true);
  });

  it('slides: a burst at the end of one window still counts early in the next', async () => {
    const time = clock(0);
    const limiter = createMemoryRateLimiter({ limit: 10, windowMs: 1_000, now: time.now });
    time.advance(900);
    await consumeTimes(limiter, 'k', 10);
    time.advance(200); // 100 ms into the next window: 90 % of the previous burst still weighs
    expect((await limiter.consume('k')).allowed).toBe(true);
    expect((await limiter.consume('k')).allowed).toBe(false);
    time.advance(2_000);
    expect((await consumeTimes(limiter, 'k', 10)).every((decision) => decision.allowed)).toBe(true);
  });

  it('never counts a refused request, so a client hammering a limit is let in after the delay', async () => {
    const time = clock(0);
    const limiter = createMemoryRateLimiter({ limit: 2, windowMs: 1_000, now: time.now });
    await consumeTimes(limiter, 'k', 2);
    for (let i = 0; i < 100; i += 1) expect((await limiter.consume('k')).allowed).toBe(false);
    time.advance(2_000);
    expect((await limiter.consume('k')).allowed).toBe(true);
  });

  it('refuses a cost above the limit without counting it', async () => {
    const limiter = createMemoryRateLimiter({ limit: 3, now: clock().now });
    const decision = await limiter.consume('k', 4);
    expect(decision.allowed).toBe(false);
    expect((await limiter.consume('k', 3)).allowed).toBe(true);
  });

  it('holds at most maxKeys keys, forgetting the least recently used', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ limit: 1, maxKeys: 100, now: time.now });
    expect((await limiter.consume('hot')).allowed).toBe(true);
    for (let i = 0; i < 99; i += 1) await limiter.consume(`cold-${i}`);
    expect((await limiter.consume('hot')).allowed).toBe(false); // used again: now the most recent
    for (let i = 0; i < 50; i += 1) await limiter.consume(`new-${i}`);
    expect((await limiter.consume('hot')).allowed).toBe(false);
    expect((await limiter.consume('cold-0')).allowed).toBe(true); // evicted, so forgotten
  });
});
