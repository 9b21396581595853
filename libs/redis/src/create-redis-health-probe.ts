import { randomBytes } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { classifyRedisError, type RedisProblem } from './classify-redis-error.ts';
import { isClusterClient, isRedisReady, lastRedisError, type RedisClient } from './create-redis-clients.ts';
import { KEY_PREFIX } from './key-prefix.ts';
import { defineScripts, loadLuaScript, reply } from './lua-script.ts';

export interface RedisHealth {
  /** null until the first probe finished. */
  readonly up: boolean | null;
  readonly reason: RedisProblem | null;
  /** The failing command's error (or the connection error behind it), for logs and /ready. */
  readonly message: string | null;
  /** One entry per master probed (one outside Cluster). */
  readonly masters: readonly MasterHealth[];
}

export interface MasterHealth {
  /** host:port, or 'redis' before a Cluster client knows its nodes. */
  readonly address: string;
  readonly up: boolean;
  /** Replicas connected to this master (`INFO replication`), or null when unknown. */
  readonly replicas: number | null;
  readonly reason: RedisProblem | null;
  readonly message: string | null;
}

export interface RedisHealthProbe {
  current(): RedisHealth;
  /**
   * Connected replicas of the master that serves `key`, as last probed: a save waits for one of them
   * (WAIT) when this is above 0. Null when unknown (never probed, or a master the probe has not met).
   */
  replicasFor(key: string): number | null;
  /**
   * Whether the deployment has replicas, so a save must be acknowledged by one: always with Sentinel
   * (the option), and from the first probe that saw a replica on any master (sticky while the process
   * runs). A master alone in such a deployment (its replica down, or an old master about to be demoted
   * in a failover, whose writes its demotion discards) cannot make a write durable.
   */
  replicasExpected(): boolean;
  /** Probe now (coalesced with a probe already running); resolves with the state after it. */
  refresh(): Promise<RedisHealth>;
  /** Called once per change of `up` (and of the reason while down). */
  onChange(listener: (health: RedisHealth, previous: RedisHealth) => void): () => void;
  close(): void;
}

export interface RedisHealthProbeOptions {
  /** Default 1 000 ms. */
  intervalMs?: number;
  /** Each probe command must answer within this (default 1 000 ms); a paused or stalled Redis fails it. */
  timeoutMs?: number;
  /** Consecutive failed probes before the state turns down (default 2): one slow command is not an outage. Up again on the first success. */
  failuresToDown?: number;
  /** Logs one line per change, with the reason. */
  logger?: Logger;
  /** `INFO cluster` says "cluster_enabled:1" on a client that is not a Cluster client: REDIS_URL names a Cluster node. */
  refuseClusterNode?: boolean;
  /** The deployment has replicas whatever the probe has seen so far (Sentinel). Default false. */
  expectReplicas?: boolean;
}

const healthProbe = loadLuaScript({
  file: new URL('./lua/health-probe-2.lua', import.meta.url),
  keys: ['first', 'second'],
  args: ['value', 'ttlMs'],
  decode: (value) => reply.integer(value, 'health-probe'),
});

const STARTING: ReadonlySet<string> = new Set(['wait', 'connecting', 'connect']);

const CLUSTER_NODE_MESSAGE = 'REDIS_URL points at a Redis Cluster node (cluster_enabled:1): set REDIS_CLUSTER_NODES=host:port,… instead of REDIS_URL';

/**
 * Honest health: a real write (a two-key script) with a timeout, every `intervalMs`, on every
 * master (each Cluster master through its own connection, with keys in a slot that master owns).
 * Drives /ready, gateway_redis_up and the store's admission check; also reads each master's
 * connected replicas, which decide whether a save waits for a replica (WAIT).
 */
export function createRedisHealthProbe(client: RedisClient, options: RedisHealthProbeOptions = {}): RedisHealthProbe {
  const intervalMs = options.intervalMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 1_000;
  const failuresToDown = options.failuresToDown ?? 2;
  const id = randomBytes(6).toString('hex');
  const listeners = new Set<(health: RedisHealth, previous: RedisHealth) => void>();
  let health: RedisHealth = { up: null, reason: null, message: null, masters: [] };
  let failures = 0;
  let running: Promise<RedisHealth> | undefined;
  let closed = false;
  let seenReplicas = options.expectReplicas ?? false;
  const slotKeys = new Map<string, string>();

  const withTimeout = <T>(promise: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Command timed out after ${timeoutMs} ms (health probe)`)), timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  async function probeNode(node: Redis, address: string, tag: string, connection: RedisClient): Promise<MasterHealth> {
    try {
      // Before the write: on a Cluster node the write would fail MOVED, which hides the real mistake.
      if (options.refuseClusterNode && !isClusterClient(client) && /cluster_enabled:1/.test(await withTimeout(node.info('cluster')))) {
        return { address, up: false, replicas: null, reason: 'cluster_node', message: CLUSTER_NODE_MESSAGE };
      }
      const run = defineScripts(node, { healthProbe });
      await withTimeout(
        run.healthProbe({ keys: { first: `${KEY_PREFIX}probe:{${tag}}:a`, second: `${KEY_PREFIX}probe:{${tag}}:b` }, args: { value: id, ttlMs: 10_000 } }),
      );
      const replication = await withTimeout(node.info('replication'));
      const connected = /connected_slaves:(\d+)/.exec(replication)?.[1];
      return { address, up: true, replicas: connected === undefined ? null : Number(connected), reason: null, message: null };
    } catch (error) {
      // A command that fails because the client is not connected says nothing: the connection error does.
      const cause =
        !isRedisReady(connection) || classifyRedisError(error) === 'connection' ? (lastRedisError(connection) ?? lastRedisError(node) ?? error) : error;
      const message = cause instanceof Error ? cause.message : String(cause);
      return { address, up: false, replicas: null, reason: classifyRedisError(cause), message };
    }
  }

  /** A key tag whose slot `address` owns, so the probe's keys land on that master. */
  function tagFor(cluster: Cluster, address: string): string | undefined {
    const known = slotKeys.get(address);
    if (known !== undefined && cluster.slots[calculateSlot(known)]?.[0] === address) return known;
    for (let i = 0; i < 100_000; i += 1) {
      const candidate = `${id}-${i}`;
      if (cluster.slots[calculateSlot(candidate)]?.[0] === address) {
        slotKeys.set(address, candidate);
        return candidate;
      }
    }
    return undefined;
  }

  async function probeAll(): Promise<MasterHealth[]> {
    if (!isClusterClient(client)) return [await probeNode(client, 'redis', id, client)];
    const masters = client.nodes('master');
    if (masters.length === 0 || client.status !== 'ready') {
      const cause = lastRedisError(client);
      const message = cause?.message ?? `cluster client is ${client.status}`;
      return [{ address: 'redis', up: false, replicas: null, reason: cause === undefined ? 'connection' : classifyRedisError(cause), message }];
    }
    return Promise.all(
      masters.map(async (node): Promise<MasterHealth> => {
        const address = `${node.options.host ?? ''}:${node.options.port ?? 0}`;
        const tag = tagFor(client, address);
        if (tag === undefined) return { address, up: false, replicas: null, reason: 'cluster_down', message: 'master serves no slot' };
        return probeNode(node, address, tag, client);
      }),
    );
  }

  function settle(masters: MasterHealth[]): RedisHealth {
    const failing = masters.find((master) => !master.up);
    // A client still making its first connection has not failed yet: stay "unknown" until it connects or reports why not.
    if (health.up === null && failing?.reason === 'connection' && lastRedisError(client) === undefined && STARTING.has(client.status)) return health;
    failures = failing === undefined ? 0 : failures + 1;
    const previous = health;
    // The state turns down after failuresToDown failed probes in a row; the first probe decides at once.
    const up = failing === undefined ? true : previous.up === true && failures < failuresToDown && failing.reason !== 'cluster_node';
    const next: RedisHealth = {
      up,
      reason: up ? null : (failing?.reason ?? null),
      message: up ? null : failing === undefined ? null : `${failing.address === 'redis' ? '' : `${failing.address}: `}${failing.message ?? ''}`,
      masters,
    };
    health = next;
    if (masters.some((master) => (master.replicas ?? 0) > 0)) seenReplicas = true;
    if (previous.up !== next.up || (!next.up && previous.reason !== next.reason)) {
      if (next.up) options.logger?.info({ redis: 'probe', masters: masters.length }, 'redis commands succeed again');
      else
        options.logger?.warn({ redis: 'probe', reason: next.reason, detail: next.message }, `redis commands failing (${next.reason ?? 'unknown'}): not ready`);
      for (const listener of listeners) {
        try {
          listener(next, previous);
        } catch {
          // Listeners are logs and metrics: never let one break the probe.
        }
      }
    }
    return next;
  }

  function refresh(): Promise<RedisHealth> {
    if (closed) return Promise.resolve(health);
    running ??= probeAll()
      .then(settle)
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();
  // A (re)connection is news: probe at once rather than at the next tick.
  const onReady = () => void refresh();
  client.on('ready', onReady);
  void refresh();

  return {
    current: () => health,
    replicasFor(key) {
      if (!isClusterClient(client)) return health.masters[0]?.replicas ?? null;
      const owner = client.slots[calculateSlot(key)]?.[0];
      const master = health.masters.find((entry) => entry.address === owner);
      if (master?.replicas !== undefined && master.replicas !== null) return master.replicas;
      // A master the probe has not met yet (a failover, a reshard): the slot map's replicas, until the next probe.
      const known = client.slots[calculateSlot(key)];
      return known === undefined ? null : known.length - 1;
    },
    replicasExpected: () => seenReplicas,
    refresh,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearInterval(timer);
      client.off('ready', onReady);
      listeners.clear();
    },
  };
}

/** The probe's first verdict (up or down, with the reason), or its state after `timeoutMs` (Redis still connecting). */
export async function awaitFirstVerdict(probe: RedisHealthProbe, timeoutMs: number): Promise<RedisHealth> {
  const deadline = Date.now() + timeoutMs;
  while (probe.current().up === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return probe.current();
}
