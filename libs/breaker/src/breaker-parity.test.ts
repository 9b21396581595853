import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRequestPathRedis, createSubscriberRedis } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { waitForRedisReady } from '../../../test/support/wait-for-redis-ready.ts';
import { BREAKER_KEY_PREFIX, breakerKeys } from './breaker-scripts.ts';
import type { BreakerAdmission, CircuitBreaker } from './circuit-breaker.ts';
import { createMemoryBreaker } from './create-memory-breaker.ts';
import { createRedisBreaker, type RedisCircuitBreaker } from './create-redis-breaker.ts';

/**
 * The in-process breaker is the fallback for the Lua scripts: both must make the same decisions
 * for the same outcomes. Time is the test's: each breaker reads a clock the test moves, and a wait
 * moves Redis's side too, by shortening (or ending) the TTL of each of the scope's keys by as much.
 * The periods are long next to the real milliseconds a run takes, so Redis's own clock adds nothing.
 */
const OPEN_MS = 10_000;
/** Longer than the open time, shorter than the doubled one (maxOpenMs) after a failed probe. */
const WAIT_MS = 12_000;
type Step = { kind: 'call'; outcome: 'success' | 'failure' | 'ignored' } | { kind: 'wait' };

let redisServer: TestRedis;
let client: Redis;
let subscriber: Redis;
beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
  client = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
  subscriber = createSubscriberRedis(redisServer.url);
  await waitForRedisReady(client, subscriber);
});
afterAll(async () => {
  client.disconnect();
  subscriber.disconnect();
  await redisServer.stop();
});

function testClock() {
  let at = Date.now();
  return {
    now: () => at,
    advance(ms: number) {
      at += ms;
    },
  };
}

function summarise(admission: BreakerAdmission): string {
  return admission.allowed ? (admission.probe ? 'probe' : 'allowed') : `refused:${admission.state}`;
}

async function run(breaker: CircuitBreaker, scope: string, steps: readonly Step[], wait: () => Promise<void>): Promise<string[]> {
  const decisions: string[] = [];
  for (const step of steps) {
    if (step.kind === 'wait') {
      await wait();
      continue;
    }
    const admission = await breaker.acquire(scope);
    decisions.push(summarise(admission));
    if (admission.allowed) await breaker.record(admission.ticket, step.outcome);
  }
  return decisions;
}

/** `ms` pass for the scope's keys in Redis: each TTL shortened by `ms`, or the key gone if that ends it. */
async function advanceRedisTime(scope: string, ms: number): Promise<void> {
  for (const key of Object.values(breakerKeys(BREAKER_KEY_PREFIX, scope))) {
    const ttl = await client.pttl(key);
    if (ttl < 0) continue; // absent (-2) or without a TTL (-1)
    if (ttl <= ms) await client.del(key);
    else await client.pexpire(key, ttl - ms);
  }
}

/**
 * Resolves once the breaker has applied every breaker event published before the call (a marker
 * event on the same channel: one connection delivers in order). An event applied after the clock
 * moved would start its TTL from the moved clock.
 */
let markers = 0;
async function waitForEventsApplied(breaker: RedisCircuitBreaker): Promise<void> {
  markers += 1;
  const marker = `parity-marker-${markers}`;
  await vi.waitFor(
    async () => {
      await client.publish(`${BREAKER_KEY_PREFIX}events`, JSON.stringify({ scope: marker, state: 'closed', ttl: 0, gen: 0, consec: 0 }));
      expect(breaker.snapshot().has(marker)).toBe(true);
    },
    { timeout: 5_000, interval: 10 },
  );
}

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('success', 'failure', 'ignored').map((outcome) => ({ kind: 'call' as const, outcome })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wait' as const }) },
);

describe('memory and Redis breakers', () => {
  it('make the same decisions for the same sequence of outcomes', async () => {
    const redisClock = testClock();
    // maxOpenMs > openMs: after a failed probe the open time doubles, so one wait is not enough in either.
    // No periodic resync: the start-up one is the only one (the connections are up already).
    const redisBreaker = createRedisBreaker({
      redis: client,
      subscriber,
      failureThreshold: 2,
      openMs: OPEN_MS,
      maxOpenMs: OPEN_MS * 2,
      now: redisClock.now,
      syncMs: 3_600_000,
    });
    // Subscribed once it hears a marker. Its start-up resync may still be in flight: it covers no scope
    // a run uses (Redis is empty), and a resync never overrides what the mirror learned after it was sent.
    await waitForEventsApplied(redisBreaker);
    let runNumber = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArbitrary, { minLength: 4, maxLength: 14 }), async (steps) => {
          runNumber += 1;
          const scope = `parity-${runNumber}`;
          const memoryClock = testClock();
          const memory = createMemoryBreaker({ failureThreshold: 2, openMs: OPEN_MS, maxOpenMs: OPEN_MS * 2, now: memoryClock.now });
          const [fromMemory, fromRedis] = await Promise.all([
            run(memory, 'parity', steps, async () => memoryClock.advance(WAIT_MS)),
            run(redisBreaker, scope, steps, async () => {
              await waitForEventsApplied(redisBreaker);
              redisClock.advance(WAIT_MS);
              await advanceRedisTime(scope, WAIT_MS);
            }),
          ]);
          expect(fromRedis).toEqual(fromMemory);
        }),
        { numRuns: 100, seed: 20_260_000 },
      );
    } finally {
      await redisBreaker.close();
    }
  });
});
