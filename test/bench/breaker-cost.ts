/**
 * What the circuit breaker costs per request (acquire + record), in memory and through Redis.
 *
 *   node scripts/node24.mjs test/bench/breaker-cost.ts
 *
 * Starts its own redis-server on a free loopback port. Prints µs per acquire+record pair:
 * - memory: the embedded breaker;
 * - redis, closed scope: the cluster breaker's common path (local mirror, no Redis round trip);
 * - redis, success after a failure: the record resets the shared failure count (one round trip);
 * - redis, scripts every time: ACQUIRE + RECORD Lua calls for every request (what the mirror saves).
 */
import { randomUUID } from 'node:crypto';
import { createMemoryBreaker, createRedisBreaker, type BreakerAdmission, type CircuitBreaker } from '@rgw/breaker';
import { createRequestPathRedis, defineScripts } from '@rgw/redis';
import { BREAKER_KEY_PREFIX, breakerKeys, breakerScripts } from '../../libs/breaker/src/breaker-scripts.ts';
import { startRedis } from '../support/redis-server.ts';

const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 20_000);
const options = { failureThreshold: 1_000_000_000, openMs: 30_000 };

function ticketOf(admission: BreakerAdmission) {
  if (!admission.allowed) throw new Error('unexpected refusal');
  return admission.ticket;
}

async function measure(name: string, iterations: number, pair: () => Promise<void>): Promise<void> {
  for (let i = 0; i < Math.min(1_000, iterations); i += 1) await pair(); // warm-up (JIT, script cache)
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) await pair();
  const micros = Number(process.hrtime.bigint() - started) / 1_000 / iterations;
  process.stdout.write(`${name.padEnd(48)} ${micros.toFixed(2).padStart(8)} µs/pair  (${Math.round(1e6 / micros)} pairs/s, n=${iterations})\n`);
}

async function pairOn(breaker: CircuitBreaker, scope: string, outcome: 'success' | 'failure'): Promise<void> {
  await breaker.record(ticketOf(await breaker.acquire(scope)), outcome);
}

const redisServer = await startRedis({ mode: 'process' });
const client = createRequestPathRedis(redisServer.url);
try {
  while (client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 10));
  const memory = createMemoryBreaker(options);
  await measure('memory breaker', ITERATIONS, () => pairOn(memory, 'backend#m', 'success'));

  const shared = createRedisBreaker({ ...options, redis: client });
  while (shared.backend() !== 'redis') await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 200)); // mirror synced
  await measure('redis breaker, closed scope (mirror)', ITERATIONS, () => pairOn(shared, 'backend#closed', 'success'));
  await measure('redis breaker, failure + success (2 round trips)', ITERATIONS / 4, async () => {
    await pairOn(shared, 'backend#flaky', 'failure');
    await pairOn(shared, 'backend#flaky', 'success');
  });

  const scripts = defineScripts(client, breakerScripts);
  const keys = breakerKeys(BREAKER_KEY_PREFIX, 'backend#raw');
  await measure('redis scripts every time (ACQUIRE + RECORD)', ITERATIONS / 4, async () => {
    await scripts.acquire({
      keys: { open: keys.open, tripped: keys.tripped, probe: keys.probe, gen: keys.gen },
      args: { token: randomUUID(), probeLeaseMs: 30_000 },
    });
    await scripts.record({
      keys: { ...keys, active: `${BREAKER_KEY_PREFIX}active` },
      args: {
        outcome: 's',
        token: '',
        genSeen: -1,
        threshold: 5,
        openMs: 30_000,
        maxOpenMs: 30_000,
        scope: 'backend#raw',
        channel: `${BREAKER_KEY_PREFIX}events`,
        consecTtlMs: 600_000,
        halfOpenTtlMs: 300_000,
      },
    });
  });
  await shared.close();
} finally {
  client.disconnect();
  await redisServer.stop();
}
