import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClients, createRequestPathRedis, createSubscriberRedis } from '@rgw/redis';
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster.ts';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { BREAKER_KEY_PREFIX, breakerScripts } from './breaker-scripts.ts';
import type { BreakerAdmission, BreakerTicket } from './circuit-breaker.ts';
import { createRedisBreaker, type RedisCircuitBreaker } from './create-redis-breaker.ts';

/** Two breakers on two clients stand for two gateway replicas sharing one Redis. */
let redisServer: TestRedis;
const opened: { breaker: RedisCircuitBreaker; client: Redis }[] = [];
let scopeCounter = 0;

beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});
afterEach(async () => {
  for (const { breaker, client } of opened.splice(0)) {
    await breaker.close();
    client.disconnect();
  }
});

async function replica(options: { openMs?: number; failureThreshold?: number; now?: () => number; probeLeaseMs?: number; syncMs?: number } = {}) {
  const client = createRequestPathRedis(redisServer.url);
  const breaker = createRedisBreaker({
    redis: client,
    failureThreshold: options.failureThreshold ?? 3,
    openMs: options.openMs ?? 60_000,
    probeLeaseMs: options.probeLeaseMs ?? 10_000,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.syncMs === undefined ? {} : { syncMs: options.syncMs }),
  });
  opened.push({ breaker, client });
  await until(() => breaker.backend() === 'redis', 10_000); // a client reconnecting after an earlier test's restart may be in backoff
  return { breaker, client };
}

/** EVAL + EVALSHA calls the Redis server has run (all clients). */
async function scriptCalls(client: Redis): Promise<number> {
  const stats = await client.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

function nextScope(): string {
  scopeCounter += 1;
  return `backend#model-${scopeCounter}`;
}

function ticketOf(admission: BreakerAdmission): BreakerTicket {
  if (!admission.allowed) throw new Error(`expected an admission, got ${JSON.stringify(admission)}`);
  return admission.ticket;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('createRedisBreaker', () => {
  it('counts failures from several replicas together and opens for every replica', async () => {
    const a = await replica({ failureThreshold: 3 });
    const b = await replica({ failureThreshold: 3 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await b.breaker.record(ticketOf(await b.breaker.acquire(scope)), 'failure');
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await until(() => b.breaker.snapshot().get(scope) === 'open');
    expect(await b.breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'open' });
  });

  it('lets a success on any replica reset the run of failures', async () => {
    const a = await replica({ failureThreshold: 2 });
    const b = await replica({ failureThreshold: 2 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await until(() => b.breaker.snapshot().has(scope));
    await b.breaker.record(ticketOf(await b.breaker.acquire(scope)), 'success');
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: true });
  });

  it('keeps a state change learned while a resync is in flight, instead of the older resync reply', async () => {
    const scope = nextScope();
    // The replica's first sync script runs for real, but its reply is held until the replica has
    // opened the scope (a failure recorded through it) and heard that by pub/sub: the order a resync
    // can meet any time a request fails or a message arrives while it is in flight. Later syncs wait
    // until the assertions are done, so none can repair what the held one did.
    // A generous command timeout: with the default 250 ms, a loaded machine could time a script out,
    // the breaker would fall back to local state and publish nothing, and `heard` would never come.
    const client = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 10_000 });
    const subscriber = createSubscriberRedis(redisServer.url);
    await subscriber.subscribe(`${BREAKER_KEY_PREFIX}events`);
    const heard = new Promise<void>((resolve, reject) => {
      subscriber.on('message', (_channel: string, message: string) => message.includes(scope) && resolve());
      // A clear failure instead of the test's timeout, should a script call still fail.
      setTimeout(() => reject(new Error('the open scope was never published (a Redis call failed and the breaker decided locally)')), 15_000).unref();
    });
    let breaker!: RedisCircuitBreaker;
    let syncs = 0;
    let releaseLater!: () => void;
    const later = new Promise<void>((resolve) => (releaseLater = resolve));
    let heldReplied!: () => void;
    let heldFailed!: (error: unknown) => void;
    const heldReply = new Promise<void>((resolve, reject) => {
      heldReplied = resolve;
      heldFailed = reject;
    });
    Object.assign(client, {
      rgw_breaker_sync: async (...args: (string | number)[]) => {
        // Numbered on entry: two resyncs can start together (the subscriber's and the client's ready).
        const number = (syncs += 1);
        if (number > 1) await later;
        // Variadic script: the first argument is the key count.
        const reply: unknown = await client.eval(breakerScripts.sync.lua, ...(args as [number, ...(string | number)[]]));
        if (number === 1) {
          await breaker.record(ticketOf(await breaker.acquire(scope)), 'failure');
          await heard.catch((error: unknown) => heldFailed(error));
          setImmediate(heldReplied); // after the breaker has applied this reply
        }
        return reply;
      },
    });
    breaker = createRedisBreaker({ redis: client, subscriber, failureThreshold: 1, openMs: 60_000, syncMs: 3_600_000 });
    opened.push({ breaker, client });
    try {
      await heldReply;
      expect(breaker.snapshot().get(scope)).toBe('open');
      expect(await breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'open' });
    } finally {
      releaseLater();
      subscriber.disconnect();
    }
  });

  it('admits a single probe across all replicas once the open time has passed in Redis', async () => {
    const a = await replica({ failureThreshold: 1, openMs: 300 });
    const b = await replica({ failureThreshold: 1, openMs: 300 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await new Promise((resolve) => setTimeout(resolve, 350));
    const admissions = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).breaker.acquire(scope)));
    expect(admissions.filter((admission) => admission.allowed && admission.probe)).toHaveLength(1);
    expect(admissions.filter((admission) => !admission.allowed)).toHaveLength(9);
  });

  it('closes for every replica when the probe succeeds, and reopens when it fails', async () => {
    // Open long enough that a loaded machine still observes the reopened state before it ends.
    const a = await replica({ failureThreshold: 1, openMs: 1_000 });
    const b = await replica({ failureThreshold: 1, openMs: 1_000 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await b.breaker.record(ticketOf(await b.breaker.acquire(scope)), 'failure');
    await until(() => a.breaker.snapshot().get(scope) === 'open');
    expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'open' });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'success');
    await until(() => b.breaker.snapshot().get(scope) === 'closed');
    expect(await b.breaker.acquire(scope)).toMatchObject({ allowed: true, probe: false });
  });

  it('keeps the open period on Redis clock: a replica whose clock is an hour ahead still refuses', async () => {
    const a = await replica({ failureThreshold: 1, openMs: 30_000 });
    const b = await replica({ failureThreshold: 1, openMs: 30_000, now: () => Date.now() + 3_600_000 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await until(() => b.breaker.snapshot().get(scope) === 'open');
    const admission = await b.breaker.acquire(scope);
    expect(admission).toMatchObject({ allowed: false, state: 'open' });
    expect(!admission.allowed && admission.retryAfterMs).toBeGreaterThan(25_000);
  });

  it('makes no Redis call to admit a request to a closed scope', async () => {
    const a = await replica({ syncMs: 3_600_000 }); // no periodic resync during the count
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure'); // one call: counted in Redis
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'success'); // one call: resets the count
    await new Promise((resolve) => setTimeout(resolve, 200)); // start-up resyncs are over
    const before = await scriptCalls(a.client);
    for (let i = 0; i < 50; i += 1) await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'success');
    expect((await scriptCalls(a.client)) - before).toBe(0);
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    expect((await scriptCalls(a.client)) - before).toBe(1); // the counter does see breaker calls
  });

  it('ignores a failure reported for a call admitted before the breaker closed again', async () => {
    const a = await replica({ failureThreshold: 1, openMs: 200 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const probe = ticketOf(await a.breaker.acquire(scope));
    await a.breaker.record(probe, 'success');
    await a.breaker.record({ ...probe, token: '', generation: probe.generation }, 'failure');
    expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: true });
  });
});

describe('createRedisBreaker when Redis fails', () => {
  it('decides locally within milliseconds while Redis is down, and shares state again once it returns empty', async () => {
    const a = await replica({ failureThreshold: 2 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await until(() => a.breaker.snapshot().get(scope) === 'open');
    await redisServer.kill();
    try {
      await until(() => a.breaker.backend() === 'local'); // the client saw the connection drop
      const started = performance.now();
      const admission = await a.breaker.acquire(scope);
      expect(performance.now() - started).toBeLessThan(50);
      expect(admission).toMatchObject({ allowed: true }); // fail open: the local breaker saw no failures
      await a.breaker.record(ticketOf(admission), 'failure');
      await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
      expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'open' }); // local breaker tripped
    } finally {
      await redisServer.restart();
    }
    await until(() => a.breaker.backend() === 'redis', 10_000);
    await until(() => a.breaker.snapshot().get(scope) !== 'open');
    expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: true }); // Redis (empty) decides again
  });

  it('closes promptly with a shared subscriber while Redis is down', async () => {
    const client = createRequestPathRedis(redisServer.url);
    const subscriber = createSubscriberRedis(redisServer.url);
    const breaker = createRedisBreaker({ redis: client, subscriber, failureThreshold: 3, openMs: 1_000 });
    await until(() => breaker.backend() === 'redis', 10_000);
    await redisServer.kill();
    try {
      const started = performance.now();
      await breaker.close();
      expect(performance.now() - started).toBeLessThan(100);
    } finally {
      client.disconnect();
      subscriber.disconnect();
      await redisServer.restart();
    }
  });

  it('does not hang a request on a hung Redis', async () => {
    const a = await replica({ failureThreshold: 5 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure'); // mirror knows about a failure
    redisServer.pause();
    try {
      let started = performance.now();
      await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
      expect(performance.now() - started).toBeLessThan(1_000); // one commandTimeout (250 ms)
      started = performance.now();
      for (let i = 0; i < 20; i += 1) await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'success');
      expect(performance.now() - started).toBeLessThan(100); // cooldown: no timeout per request
    } finally {
      redisServer.resume();
    }
  });
});

describe('redis breaker on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('shares a trip between replicas, and a replica started later rebuilds its mirror from the resync (declared keys, one slot)', async () => {
    const clients = createRedisClients({ mode: 'cluster', nodes: cluster.nodes, tls: null });
    const started: { breaker: RedisCircuitBreaker; client: { disconnect(): void } }[] = [];
    const start = async () => {
      const client = clients.requestPath({ commandTimeoutMs: 2_000 });
      const breaker = createRedisBreaker({ redis: client, failureThreshold: 2, openMs: 60_000 });
      started.push({ breaker, client });
      await until(() => breaker.backend() === 'redis', 10_000);
      return breaker;
    };
    try {
      const a = await start();
      const b = await start();
      const scopes = ['backend#model-x', 'backend#model-y', 'other-backend#model-z'];
      for (const scope of scopes) {
        await a.record(ticketOf(await a.acquire(scope)), 'failure');
        await b.record(ticketOf(await b.acquire(scope)), 'failure'); // second failure, through B: opens
      }
      await until(() => scopes.every((scope) => a.snapshot().get(scope) === 'open'));
      // C subscribes after every trip was published: only the resync script can tell it.
      const c = await start();
      await until(() => scopes.every((scope) => c.snapshot().get(scope) === 'open'), 10_000);
      expect(await c.acquire('backend#model-y')).toMatchObject({ allowed: false, state: 'open' });
      expect(c.backend()).toBe('redis');
    } finally {
      for (const { breaker, client } of started) {
        await breaker.close();
        client.disconnect();
      }
    }
  });
});
