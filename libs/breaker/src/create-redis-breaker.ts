import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { defineScripts, duplicateForSubscribe, isRedisReady, type RedisClient } from '@rgw/redis';
import { BREAKER_KEY_PREFIX, breakerKeys, breakerScripts } from './breaker-scripts.ts';
import {
  computeOpenMs,
  DEFAULT_PROBE_LEASE_MS,
  type BreakerAdmission,
  type BreakerOptions,
  type BreakerOutcome,
  type BreakerState,
  type BreakerStateChange,
  type BreakerTicket,
  type CircuitBreaker,
} from './circuit-breaker.ts';
import { createMemoryBreaker } from './create-memory-breaker.ts';

export interface RedisBreakerOptions extends BreakerOptions {
  /** Request-path client (`RedisClients.requestPath`: fail-fast). Not closed by `close()`. */
  redis: RedisClient;
  /** Connection for SUBSCRIBE. Default: a duplicate of `redis`, owned (and closed) by the breaker. */
  subscriber?: RedisClient;
  /** Default 'gw:v2:{cb}:'. Must carry a hash tag: the scripts touch several keys at once (Redis Cluster). */
  keyPrefix?: string;
  logger?: Logger;
  /** Backstop resync of the mirror, ms (default 5 000): pub/sub gives no delivery guarantee. */
  syncMs?: number;
  /** After a Redis error the breaker decides locally for this long, ms (default 1 000), so a hung Redis costs one commandTimeout per period, not per request. */
  redisCooldownMs?: number;
}

export interface RedisCircuitBreaker extends CircuitBreaker {
  /** Which state decides right now: 'redis' (shared) or 'local' (Redis unreachable: in-process fallback). */
  backend(): 'redis' | 'local';
}

/**
 * The mirror's view of one scope, from pub/sub messages, script replies and resyncs: each state with
 * exactly the fields that mean something in it. `changed` is when the mirror learned it, on a counter
 * of mirror changes (see `resync`).
 */
type MirrorEntry =
  /** `consecutiveFailures` backend failures in a row across the cluster so far. */
  | { readonly state: 'closed'; readonly generation: number; readonly consecutiveFailures: number; readonly changed: number }
  /** Refused without asking Redis until `until` (local clock ms): the open TTL, or the probe's lease. */
  | { readonly state: 'open' | 'half_open'; readonly generation: number; readonly until: number; readonly changed: number };

/** Tickets admitted by the in-process fallback carry this token prefix. */
const LOCAL_TOKEN = 'local:';

/**
 * Breaker shared by every replica through Redis (ADR 0001). Redis holds the truth (counts, the
 * open TTL, the probe lease); each replica keeps a mirror fed by pub/sub, so `acquire` on a closed
 * scope costs no round trip. Open scopes are refused from the mirror until their TTL ends; then
 * one ACQUIRE script call per request races for the cluster-wide probe lease. Without Redis
 * (down, hung, restarting), an in-process breaker with the same rules decides (fail open).
 */
export function createRedisBreaker(options: RedisBreakerOptions): RedisCircuitBreaker {
  const { redis, logger } = options;
  const now = options.now ?? Date.now;
  const prefix = options.keyPrefix ?? BREAKER_KEY_PREFIX;
  const activeKey = `${prefix}active`;
  const channel = `${prefix}events`;
  const probeLeaseMs = options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS;
  const maxOpenMs = computeOpenMs(options, Number.MAX_SAFE_INTEGER);
  const consecTtlMs = Math.max(10 * options.openMs, 600_000);
  const halfOpenTtlMs = 10 * maxOpenMs;
  const cooldownMs = options.redisCooldownMs ?? 1_000;
  const scripts = defineScripts(redis, breakerScripts);
  const local = createMemoryBreaker(options);
  const mirror = new Map<string, MirrorEntry>();
  let changes = 0;
  const listeners = new Set<(event: BreakerStateChange) => void>();
  const ownsSubscriber = options.subscriber === undefined;
  const subscriber = options.subscriber ?? duplicateForSubscribe(redis);
  let mirrorSynced = false;
  let redisSuspendedUntil = 0;
  let lastBackend: 'redis' | 'local' | null = null;
  let closed = false;

  function emit(event: BreakerStateChange): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // Listeners are metrics and logs: never let them break the request path.
      }
    }
  }
  local.onStateChange(emit);

  function usingRedis(): boolean {
    const usable = !closed && isRedisReady(redis) && now() >= redisSuspendedUntil;
    const backend = usable ? 'redis' : 'local';
    if (backend !== lastBackend && lastBackend !== null) {
      if (usable) logger?.info('circuit breaker state shared through Redis again');
      else logger?.warn('circuit breaker deciding from local state: Redis unavailable');
    }
    lastBackend = backend;
    return usable;
  }

  function noteRedisError(error: unknown, operation: string): void {
    redisSuspendedUntil = now() + cooldownMs;
    logger?.debug({ err: error, operation }, 'breaker Redis call failed; deciding locally');
  }

  /**
   * Apply a state learned from Redis. Pub/sub and script replies travel on different connections:
   * never let an older generation win. A resync reply (`resyncSentAt`) bypasses the generation
   * guard (generations restart after Redis restarts empty) but not what the mirror learned after
   * the resync was sent: that is newer than the reply, whatever its generation.
   */
  function apply(scope: string, state: BreakerState, ttlMs: number, generation: number, consecutiveFailures: number, resyncSentAt?: number): void {
    const entry = mirror.get(scope);
    if (entry !== undefined && (resyncSentAt === undefined ? generation < entry.generation : entry.changed > resyncSentAt)) return;
    const from = entry?.state ?? 'closed';
    changes += 1;
    mirror.set(
      scope,
      state === 'closed' ? { state, generation, consecutiveFailures, changed: changes } : { state, generation, until: now() + ttlMs, changed: changes },
    );
    if (from !== state) emit({ scope, from, to: state });
  }

  /** The keys breaker-sync-n.lua reads per scope, in its order: gen, open, consec, tripped, probe. */
  function scopeKeysForSync(scope: string) {
    const keys = breakerKeys(prefix, scope);
    return { gen: keys.gen, open: keys.open, consec: keys.consec, tripped: keys.tripped, probe: keys.probe };
  }

  async function resync(): Promise<void> {
    if (!usingRedis()) return;
    try {
      const sentAt = changes;
      // Two steps: the scopes, then one script over their declared keys (a script may not build key
      // names itself in Redis Cluster). A scope activated in between shows up by pub/sub or the next sync.
      const scopes = await redis.smembers(activeKey);
      const synced = await scripts.sync({
        keys: { active: activeKey, scopeKeys: scopes.flatMap((scope) => Object.values(scopeKeysForSync(scope))) },
        args: { scopes },
      });
      const seen = new Set<string>();
      for (const entry of synced) {
        seen.add(entry.scope);
        apply(entry.scope, entry.state, entry.ttlMs, entry.generation, entry.consecutiveFailures, sentAt);
      }
      for (const [scope, entry] of mirror) {
        if (seen.has(scope) || entry.changed > sentAt) continue;
        // Not in Redis (closed, expired, or Redis restarted empty): closed with an unknown generation.
        mirror.delete(scope);
        if (entry.state !== 'closed') emit({ scope, from: entry.state, to: 'closed' });
      }
      mirrorSynced = subscriber.status === 'ready';
    } catch (error) {
      noteRedisError(error, 'sync');
    }
  }

  subscriber.on('error', () => {
    // Logged by the request-path client's state logging; an unhandled 'error' would crash.
  });
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const event = JSON.parse(message) as { scope: string; state: BreakerState; ttl: number; gen: number; consec: number };
      apply(event.scope, event.state, event.ttl, event.gen, event.consec);
    } catch {
      logger?.warn({ channel }, 'unparseable breaker event ignored');
    }
  });
  // Messages published while unsubscribed are lost: the mirror is untrusted until resynced.
  subscriber.on('close', () => {
    mirrorSynced = false;
  });
  const subscribeAndResync = () => {
    void subscriber
      .subscribe(channel)
      .then(resync)
      .catch(() => undefined);
  };
  subscriber.on('ready', subscribeAndResync);
  if (subscriber.status === 'ready') subscribeAndResync();
  // The request-path client may come up after the subscriber: resync as soon as both are up.
  const resyncOnReady = () => void resync();
  redis.on('ready', resyncOnReady);
  const syncTimer = setInterval(() => void resync(), options.syncMs ?? 5_000);
  syncTimer.unref();

  async function acquireLocal(scope: string): Promise<BreakerAdmission> {
    const admission = await local.acquire(scope);
    if (!admission.allowed) return admission;
    return { ...admission, ticket: { ...admission.ticket, token: LOCAL_TOKEN + admission.ticket.token } };
  }

  return {
    async acquire(scope: string): Promise<BreakerAdmission> {
      if (!usingRedis()) return acquireLocal(scope);
      const entry = mirror.get(scope);
      if (mirrorSynced) {
        if (entry === undefined || entry.state === 'closed') {
          return { allowed: true, probe: false, ticket: { scope, generation: entry?.generation ?? -1, token: '' } };
        }
        const remaining = entry.until - now();
        if (remaining > 0) return { allowed: false, state: entry.state, retryAfterMs: remaining };
      }
      const token = randomUUID();
      const keys = breakerKeys(prefix, scope);
      try {
        const {
          state,
          ttlMs: ttl,
          generation,
        } = await scripts.acquire({
          keys: { open: keys.open, tripped: keys.tripped, probe: keys.probe, gen: keys.gen },
          args: { token, probeLeaseMs },
        });
        switch (state) {
          case 'closed':
            apply(scope, 'closed', 0, generation, entry?.state === 'closed' ? entry.consecutiveFailures : 0);
            return { allowed: true, probe: false, ticket: { scope, generation, token: '' } };
          case 'probe':
            apply(scope, 'half_open', ttl, generation, 0);
            return { allowed: true, probe: true, ticket: { scope, generation, token } };
          case 'open':
          case 'half_open':
            apply(scope, state, ttl, generation, 0);
            return { allowed: false, state, retryAfterMs: ttl };
        }
      } catch (error) {
        noteRedisError(error, 'acquire');
        return acquireLocal(scope);
      }
    },

    async record(ticket: BreakerTicket, outcome: BreakerOutcome): Promise<void> {
      if (ticket.token.startsWith(LOCAL_TOKEN)) {
        return local.record({ ...ticket, token: ticket.token.slice(LOCAL_TOKEN.length) }, outcome);
      }
      const probe = ticket.token !== '';
      if (!probe && outcome === 'ignored') return;
      // A success only matters to Redis when it resets a run of failures the mirror knows about.
      const known = mirror.get(ticket.scope);
      if (!probe && outcome === 'success' && mirrorSynced && (known?.state !== 'closed' || known.consecutiveFailures === 0)) return;
      if (!usingRedis()) {
        local.recordUnticketed(ticket.scope, outcome);
        return;
      }
      const keys = breakerKeys(prefix, ticket.scope);
      try {
        const { result, generation, value } = await scripts.record({
          keys: { ...keys, active: activeKey },
          args: {
            outcome: outcome === 'success' ? 's' : outcome === 'failure' ? 'f' : 'i',
            token: ticket.token,
            genSeen: ticket.generation,
            threshold: options.failureThreshold,
            openMs: options.openMs,
            maxOpenMs,
            scope: ticket.scope,
            channel,
            consecTtlMs,
            halfOpenTtlMs,
          },
        });
        if (result === 'open') apply(ticket.scope, 'open', value, generation, 0);
        else if (result === 'closed') apply(ticket.scope, 'closed', 0, generation, value);
        // The probe gave its lease back (a client error or abort says nothing): the next request,
        // here or on any replica (the script publishes it), may probe at once, as in memory.
        else if (result === 'released') apply(ticket.scope, 'half_open', 0, generation, 0);
      } catch (error) {
        noteRedisError(error, 'record');
        local.recordUnticketed(ticket.scope, outcome);
      }
    },

    snapshot(): ReadonlyMap<string, BreakerState> {
      if (!usingRedis()) return local.snapshot();
      const states = new Map<string, BreakerState>();
      const at = now();
      for (const [scope, entry] of mirror) {
        // Past its TTL an open scope is half-open in Redis, even before anyone asked.
        states.set(scope, entry.state === 'open' && at >= entry.until ? 'half_open' : entry.state);
      }
      return states;
    },

    onStateChange(listener: (event: BreakerStateChange) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    backend: () => (usingRedis() ? 'redis' : 'local'),

    async close(): Promise<void> {
      closed = true;
      clearInterval(syncTimer);
      redis.off('ready', resyncOnReady);
      listeners.clear();
      await local.close();
      if (ownsSubscriber) subscriber.disconnect();
      // Not awaited: with Redis down the command would wait in the offline queue forever, and
      // shutdown must not hang on Redis. The owner disconnects the subscriber anyway.
      else if (subscriber.status === 'ready') void subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
