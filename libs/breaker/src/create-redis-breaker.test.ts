import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRedisClients, createRequestPathRedis, createSubscriberRedis } from '@rgw/redis';
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster.ts';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { waitForRedisReady } from '../../../test/support/wait-for-redis-ready.ts';
import { BREAKER_KEY_PREFIX, breakerKeys, breakerScripts } from './breaker-scripts.ts';
import type { BreakerAdmission, BreakerTicket } from './circuit-breaker.ts';
import { createRedisBreaker, type RedisCircuitBreaker } from './create-redis-breaker.ts';

/**
 * Two breakers on two clients stand for two gateway replicas sharing one Redis. No test waits for a
 * TTL: the replicas read a clock the test moves (`clock.advance`), and the end of an open period in
 * Redis is what Redis does when the `open` key's TTL runs out: the key goes (`endOpenPeriod`).
 */
let redisServer: TestRedis;
let admin: Redis;
const opened: { breaker?: RedisCircuitBreaker; client?: { disconnect(): void } }[] = [];
let scopeCounter = 0;

beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});
beforeEach(async () => {
  // Every test starts on an empty Redis, whatever an earlier test (or a restart) left there.
  admin = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
  await waitForRedisReady(admin);
  await admin.flushall();
});
afterEach(async () => {
  // Breakers first (pushed after their connections), then the connections.
  for (const { breaker, client } of opened.splice(0).reverse()) {
    await breaker?.close();
    client?.disconnect();
  }
  admin.disconnect();
});

/** A clock the test moves; start it at the real time so ms values look like timestamps. */
function testClock() {
  let at = Date.now();
  return {
    now: () => at,
    advance(ms: number) {
      at += ms;
    },
  };
}

async function replica(options: { openMs?: number; failureThreshold?: number; now?: () => number; probeLeaseMs?: number; syncMs?: number } = {}) {
  const client = createRequestPathRedis(redisServer.url);
  const subscriber = createSubscriberRedis(redisServer.url);
  opened.push({ client: { disconnect: () => [client, subscriber].forEach((connection) => connection.disconnect()) } });
  // Both connections up before the breaker exists: its one start-up resync is then the subscriber's
  // (subscribe, then resync), and no periodic one runs during a test (syncMs default 1 h here).
  await waitForRedisReady(client, subscriber);
  const breaker = createRedisBreaker({
    redis: client,
    subscriber,
    failureThreshold: options.failureThreshold ?? 3,
    openMs: options.openMs ?? 60_000,
    probeLeaseMs: options.probeLeaseMs ?? 10_000,
    syncMs: options.syncMs ?? 3_600_000,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  opened.push({ breaker });
  await waitForTrustedMirror(breaker);
  return { breaker, client };
}

/** The start-up resync is done once a closed scope is admitted from the mirror, without a script call. */
async function waitForTrustedMirror(breaker: RedisCircuitBreaker): Promise<void> {
  await vi.waitFor(
    async () => {
      const before = await scriptCalls();
      await breaker.acquire(nextScope());
      expect((await scriptCalls()) - before).toBe(0);
    },
    { timeout: 5_000, interval: 10 },
  );
}

/**
 * Resolves once each breaker has applied every breaker event published before the call: a marker
 * event goes out on the same channel, and one connection delivers messages in order. Needed before
 * the test moves the clock: an event applied later would start its TTL from the moved clock.
 */
async function waitForEventsApplied(...breakers: RedisCircuitBreaker[]): Promise<void> {
  const marker = nextScope();
  await vi.waitFor(
    async () => {
      await admin.publish(`${BREAKER_KEY_PREFIX}events`, JSON.stringify({ scope: marker, state: 'closed', ttl: 0, gen: 0, consec: 0 }));
      for (const breaker of breakers) expect(breaker.snapshot().has(marker)).toBe(true);
    },
    { timeout: 5_000, interval: 10 },
  );
}

async function waitForBackend(breaker: RedisCircuitBreaker, backend: 'redis' | 'local'): Promise<void> {
  // A client reconnecting after a Redis restart may be in its reconnect backoff for a few seconds.
  await vi.waitFor(() => expect(breaker.backend()).toBe(backend), { timeout: 10_000, interval: 10 });
}

async function waitForState(breaker: RedisCircuitBreaker, scope: string, state: string | undefined, timeout = 5_000): Promise<void> {
  await vi.waitFor(() => expect(breaker.snapshot().get(scope)).toBe(state), { timeout, interval: 10 });
}

/** What Redis does when the open period's TTL runs out: the `open` key expires. */
async function endOpenPeriod(scope: string): Promise<void> {
  expect(await admin.del(breakerKeys(BREAKER_KEY_PREFIX, scope).open)).toBe(1);
}

/** EVAL + EVALSHA calls the Redis server has run (all clients). */
async function scriptCalls(): Promise<number> {
  const stats = await admin.info('commandstats');
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

describe('createRedisBreaker', () => {
  it('counts failures from several replicas together and opens for every replica', async () => {
    const a = await replica({ failureThreshold: 3 });
    const b = await replica({ failureThreshold: 3 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await b.breaker.record(ticketOf(await b.breaker.acquire(scope)), 'failure');
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForState(b.breaker, scope, 'open');
    expect(await b.breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'open' });
  });

  it('lets a success on any replica reset the run of failures', async () => {
    const a = await replica({ failureThreshold: 2 });
    const b = await replica({ failureThreshold: 2 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForState(b.breaker, scope, 'closed'); // B heard of the failure (a closed scope with a count)
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
    const clock = testClock();
    const a = await replica({ failureThreshold: 1, now: clock.now });
    const b = await replica({ failureThreshold: 1, now: clock.now });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForEventsApplied(a.breaker, b.breaker);
    expect(b.breaker.snapshot().get(scope)).toBe('open');
    clock.advance(60_000);
    await endOpenPeriod(scope);
    const admissions = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).breaker.acquire(scope)));
    expect(admissions.filter((admission) => admission.allowed && admission.probe)).toHaveLength(1);
    expect(admissions.filter((admission) => !admission.allowed)).toHaveLength(9);
  });

  it('closes for every replica when the probe succeeds, and reopens when it fails', async () => {
    const clock = testClock();
    const a = await replica({ failureThreshold: 1, now: clock.now });
    const b = await replica({ failureThreshold: 1, now: clock.now });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForEventsApplied(a.breaker, b.breaker);
    clock.advance(60_000);
    await endOpenPeriod(scope);
    const failedProbe = await b.breaker.acquire(scope);
    expect(failedProbe).toMatchObject({ allowed: true, probe: true });
    await b.breaker.record(ticketOf(failedProbe), 'failure');
    await waitForEventsApplied(a.breaker, b.breaker);
    expect(a.breaker.snapshot().get(scope)).toBe('open'); // A's mirror had it half-open (past its open time)
    const reopened = await a.breaker.acquire(scope);
    expect(reopened).toMatchObject({ allowed: false, state: 'open' });
    expect(!reopened.allowed && reopened.retryAfterMs).toBeGreaterThan(55_000); // a new open period
    clock.advance(60_000);
    await endOpenPeriod(scope);
    const probe = await a.breaker.acquire(scope);
    expect(probe).toMatchObject({ allowed: true, probe: true });
    await a.breaker.record(ticketOf(probe), 'success');
    await waitForEventsApplied(a.breaker, b.breaker);
    expect(b.breaker.snapshot().get(scope)).toBe('closed');
    expect(await b.breaker.acquire(scope)).toMatchObject({ allowed: true, probe: false });
  });

  it('lets the next request on any replica probe at once when a probe gives its lease back (a client error says nothing)', async () => {
    const clock = testClock();
    const a = await replica({ failureThreshold: 1, now: clock.now, probeLeaseMs: 30_000 });
    const b = await replica({ failureThreshold: 1, now: clock.now, probeLeaseMs: 30_000 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForEventsApplied(a.breaker, b.breaker);
    clock.advance(60_000);
    await endOpenPeriod(scope);
    const probe = await a.breaker.acquire(scope);
    expect(probe).toMatchObject({ allowed: true, probe: true });
    // B meanwhile refuses for the probe's lease: one probe at a time.
    expect(await b.breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'half_open' });
    await a.breaker.record(ticketOf(probe), 'ignored');
    await waitForEventsApplied(a.breaker, b.breaker);
    // No 30 s wait for the lease to run out, on either replica (the memory breaker does the same).
    const next = await b.breaker.acquire(scope);
    expect(next).toMatchObject({ allowed: true, probe: true });
    expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'half_open' });
    await b.breaker.record(ticketOf(next), 'success');
  });

  it('keeps the open period on Redis clock: a replica whose clock is an hour ahead still refuses', async () => {
    const a = await replica({ failureThreshold: 1, openMs: 30_000 });
    const b = await replica({ failureThreshold: 1, openMs: 30_000, now: () => Date.now() + 3_600_000 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForState(b.breaker, scope, 'open');
    const admission = await b.breaker.acquire(scope);
    expect(admission).toMatchObject({ allowed: false, state: 'open' });
    expect(!admission.allowed && admission.retryAfterMs).toBeGreaterThan(25_000);
  });

  it('makes no Redis call to admit a request to a closed scope', async () => {
    const { breaker } = await replica(); // mirror trusted, no periodic resync during the count
    const scope = nextScope();
    await breaker.record(ticketOf(await breaker.acquire(scope)), 'failure'); // one call: counted in Redis
    await breaker.record(ticketOf(await breaker.acquire(scope)), 'success'); // one call: resets the count
    const before = await scriptCalls();
    for (let i = 0; i < 50; i += 1) await breaker.record(ticketOf(await breaker.acquire(scope)), 'success');
    expect((await scriptCalls()) - before).toBe(0);
    await breaker.record(ticketOf(await breaker.acquire(scope)), 'failure');
    expect((await scriptCalls()) - before).toBe(1); // the counter does see breaker calls
  });

  it('ignores a failure reported for a call admitted before the breaker closed again', async () => {
    const clock = testClock();
    const a = await replica({ failureThreshold: 1, now: clock.now });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForEventsApplied(a.breaker);
    clock.advance(60_000);
    await endOpenPeriod(scope);
    const probe = ticketOf(await a.breaker.acquire(scope));
    await a.breaker.record(probe, 'success');
    await a.breaker.record({ ...probe, token: '', generation: probe.generation }, 'failure');
    expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: true });
  });
});

describe('createRedisBreaker when Redis fails', () => {
  it('decides locally while Redis is down (fail open, then its own count), and shares state again once Redis returns empty', async () => {
    const a = await replica({ failureThreshold: 2 });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
    await waitForState(a.breaker, scope, 'open');
    await redisServer.kill();
    try {
      await waitForBackend(a.breaker, 'local'); // the client saw the connection drop: no call waits for Redis
      const admission = await a.breaker.acquire(scope);
      expect(admission).toMatchObject({ allowed: true }); // fail open: the local breaker saw no failures
      await a.breaker.record(ticketOf(admission), 'failure');
      await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
      expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: false, state: 'open' }); // local breaker tripped
    } finally {
      await redisServer.restart();
    }
    await waitForBackend(a.breaker, 'redis');
    await waitForState(a.breaker, scope, undefined); // the resync found nothing in the emptied Redis
    expect(await a.breaker.acquire(scope)).toMatchObject({ allowed: true }); // Redis (empty) decides again
  });

  // No timing bound: a close that waited for the unsubscribe would wait for Redis, which comes back
  // only after close() resolved, so the test would time out.
  it('closes with a shared subscriber while Redis is down, without waiting for it', { timeout: 15_000 }, async () => {
    const client = createRequestPathRedis(redisServer.url);
    const subscriber = createSubscriberRedis(redisServer.url);
    const breaker = createRedisBreaker({ redis: client, subscriber, failureThreshold: 3, openMs: 1_000 });
    await waitForBackend(breaker, 'redis');
    await vi.waitFor(() => expect(subscriber.status).toBe('ready'), { timeout: 5_000 });
    await redisServer.kill();
    try {
      await breaker.close();
    } finally {
      client.disconnect();
      subscriber.disconnect();
      await redisServer.restart();
    }
  });

  it('does not hang a request on a hung Redis: one command timeout, then local decisions for the cooldown', async () => {
    const clock = testClock();
    const a = await replica({ failureThreshold: 5, now: clock.now });
    const scope = nextScope();
    await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure'); // mirror knows about a failure
    redisServer.pause();
    try {
      // The failure goes to Redis and times out (commandTimeout 250 ms); without it this would hang.
      await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'failure');
      expect(a.breaker.backend()).toBe('local');
      // Cooldown (1 s by default): every call decides locally, none waits for the hung Redis.
      for (let i = 0; i < 20; i += 1) await a.breaker.record(ticketOf(await a.breaker.acquire(scope)), 'success');
      clock.advance(999);
      expect(a.breaker.backend()).toBe('local');
      clock.advance(1);
      expect(a.breaker.backend()).toBe('redis'); // then Redis is tried again
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
      await waitForBackend(breaker, 'redis');
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
      await vi.waitFor(() => expect(scopes.map((scope) => a.snapshot().get(scope))).toEqual(['open', 'open', 'open']), { timeout: 5_000 });
      // C subscribes after every trip was published: only the resync script can tell it.
      const c = await start();
      await vi.waitFor(() => expect(scopes.map((scope) => c.snapshot().get(scope))).toEqual(['open', 'open', 'open']), { timeout: 10_000 });
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
