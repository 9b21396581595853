import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestPathRedis } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import type { BreakerAdmission, CircuitBreaker } from './circuit-breaker.ts';
import { createMemoryBreaker } from './create-memory-breaker.ts';
import { createRedisBreaker } from './create-redis-breaker.ts';

/**
 * The in-process breaker is the fallback for the Lua scripts: both must make the same decisions
 * for the same outcomes. Real Redis TTLs mean real waits, so runs are few and short.
 */
const OPEN_MS = 120;
type Step = { kind: 'call'; outcome: 'success' | 'failure' | 'ignored' } | { kind: 'wait' };

let redisServer: TestRedis;
let client: Redis;
beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
  client = createRequestPathRedis(redisServer.url);
});
afterAll(async () => {
  client.disconnect();
  await redisServer.stop();
});

function summarise(admission: BreakerAdmission): string {
  return admission.allowed ? (admission.probe ? 'probe' : 'allowed') : `refused:${admission.state}`;
}

async function run(breaker: CircuitBreaker, scope: string, steps: readonly Step[]): Promise<string[]> {
  const decisions: string[] = [];
  for (const step of steps) {
    if (step.kind === 'wait') {
      await new Promise((resolve) => setTimeout(resolve, OPEN_MS + 50));
      continue;
    }
    const admission = await breaker.acquire(scope);
    decisions.push(summarise(admission));
    if (admission.allowed) await breaker.record(admission.ticket, step.outcome);
  }
  return decisions;
}

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('success', 'failure', 'ignored').map((outcome) => ({ kind: 'call' as const, outcome })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wait' as const }) },
);

describe('memory and Redis breakers', () => {
  it('make the same decisions for the same sequence of outcomes', async () => {
    const redisBreaker = createRedisBreaker({ redis: client, failureThreshold: 2, openMs: OPEN_MS, maxOpenMs: OPEN_MS * 2 });
    while (redisBreaker.backend() !== 'redis') await new Promise((resolve) => setTimeout(resolve, 10));
    let runNumber = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArbitrary, { minLength: 4, maxLength: 14 }), async (steps) => {
          runNumber += 1;
          // maxOpenMs > openMs: after a failed probe the open time doubles, so one wait is not enough in either.
          const memory = createMemoryBreaker({ failureThreshold: 2, openMs: OPEN_MS, maxOpenMs: OPEN_MS * 2 });
          const [fromMemory, fromRedis] = await Promise.all([run(memory, 'parity', steps), run(redisBreaker, `parity-${runNumber}`, steps)]);
          expect(fromRedis).toEqual(fromMemory);
        }),
        { numRuns: 25, seed: 20_260_000 },
      );
    } finally {
      await redisBreaker.close();
    }
  });
});
