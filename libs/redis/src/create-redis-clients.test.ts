/**
 * The client factory and the health probe against every Redis deployment operators run, all real:
 * one Redis, a 3-master Redis Cluster, a Sentinel set (master, replica, 3 sentinels) and a TLS Redis
 * with a private CA and mutual TLS (test/support/*). One of each for the whole file.
 */
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, type RedisConnectionConfig } from '@rgw/config';
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster.ts';
import { startRedisSentinel, type TestRedisSentinel } from '../../../test/support/redis-sentinel.ts';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { startTlsRedis, type TestTlsRedis } from '../../../test/support/redis-tls.ts';
import { createRedisClients, isRedisReady, type RedisClient } from './create-redis-clients.ts';
import { createRedisHealthProbe, type RedisHealthProbe } from './create-redis-health-probe.ts';
import { defineScripts, loadLuaScript, reply } from './lua-script.ts';
import { memoryLogger } from '../../../test/support/memory-logger.ts';

let single: TestRedis;
let cluster: TestRedisCluster;
let sentinel: TestRedisSentinel;
let tls: TestTlsRedis;
const opened: { disconnect(): void }[] = [];
const probes: RedisHealthProbe[] = [];

beforeAll(async () => {
  [single, cluster, sentinel, tls] = await Promise.all([startRedis({ mode: 'process' }), startRedisCluster(), startRedisSentinel(), startTlsRedis()]);
}, 90_000);
afterAll(async () => {
  for (const probe of probes) probe.close();
  for (const client of opened) client.disconnect();
  await Promise.all([single?.stop(), cluster?.stop(), sentinel?.stop(), tls?.stop()]);
});

/** The parsed config for env variables, exactly as the gateway reads them. */
function redisConfig(env: Record<string, string>): RedisConnectionConfig {
  const config = loadConfig(env).redis;
  if (config === null) throw new Error('no Redis configured');
  return config;
}

function track<T extends { disconnect(): void }>(client: T): T {
  opened.push(client);
  return client;
}

function probe(client: RedisClient, options: Parameters<typeof createRedisHealthProbe>[1] = {}): RedisHealthProbe {
  const created = createRedisHealthProbe(client, { intervalMs: 200, timeoutMs: 500, ...options });
  probes.push(created);
  return created;
}

const bump = loadLuaScript({
  file: new URL('./__fixtures__/echo-keys-n.lua', import.meta.url),
  keys: [],
  restKeys: 'keys',
  args: ['value'],
  restArgs: 'extras',
  decode: (value) => reply.array(value, 'echo-keys'),
});

const modes: [string, () => Record<string, string>][] = [
  ['one Redis (REDIS_URL)', () => ({ REDIS_URL: single.url })],
  ['Redis Cluster (REDIS_CLUSTER_NODES)', () => ({ REDIS_CLUSTER_NODES: cluster.nodesEnv })],
  ['Sentinel (REDIS_SENTINELS)', () => ({ REDIS_SENTINELS: sentinel.sentinelsEnv, REDIS_SENTINEL_MASTER: sentinel.masterName })],
  [
    'TLS with a private CA and a client certificate (rediss://)',
    () => ({ REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.caFile, REDIS_TLS_CERT_FILE: tls.clientCertFile, REDIS_TLS_KEY_FILE: tls.clientKeyFile }),
  ],
];

describe.each(modes)('clients for %s', (_name, env) => {
  it('runs multi-key scripts on hash-tagged keys, pipelines, and delivers pub/sub between its clients', async () => {
    const clients = createRedisClients(redisConfig(env()));
    const requestPath = track(clients.requestPath());
    const subscriber = track(clients.subscriber());
    await vi.waitFor(() => expect(isRedisReady(requestPath)).toBe(true), { timeout: 10_000 });
    for (const tag of ['alpha', 'beta', 'gamma', 'delta']) {
      // Tags that land on different Cluster shards; each call keeps its own keys in one slot.
      expect(await defineScripts(requestPath, { bump }).bump({ keys: { keys: [`t:{${tag}}:a`, `t:{${tag}}:b`] }, args: { value: tag, extras: [] } })).toEqual([
        2,
        `t:{${tag}}:a`,
        `t:{${tag}}:b`,
        tag,
      ]);
      const pipeline = requestPath.pipeline();
      pipeline.set(`t:{${tag}}:a`, '1');
      pipeline.get(`t:{${tag}}:a`);
      expect(await pipeline.exec()).toEqual([
        [null, 'OK'],
        [null, '1'],
      ]);
    }
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe('t:channel');
    await requestPath.publish('t:channel', 'hello');
    await vi.waitFor(() => expect(messages).toEqual(['hello']), { timeout: 5_000 });
  });

  it('builds BullMQ connections that wait for Redis instead of failing (maxRetriesPerRequest: null)', async () => {
    const connection = track(createRedisClients(redisConfig(env())).bullmq());
    expect(await connection.set('t:{bull}:x', 'y')).toBe('OK');
    const options = 'isCluster' in connection && connection.isCluster ? (connection as Cluster).options.redisOptions : (connection as Redis).options;
    expect(options?.maxRetriesPerRequest).toBeNull();
  });

  it('reports healthy with one probe per master, and how many replicas each master has', async () => {
    const client = track(createRedisClients(redisConfig(env())).requestPath());
    const health = probe(client);
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 10_000 });
    const masters = health.current().masters;
    expect(masters.length).toBe(_name.startsWith('Redis Cluster') ? 3 : 1);
    // The Sentinel set's master has its replica; the others have none.
    expect(health.replicasFor('gw:v2:resp:{resp_1}')).toBe(_name.startsWith('Sentinel') ? 1 : 0);
  });
});

describe('health probe', () => {
  it('turns down within seconds when Redis stops answering (SIGSTOP), logs it once with the reason, and comes back', async () => {
    const { lines, logger } = memoryLogger();
    const client = track(createRedisClients(redisConfig({ REDIS_URL: single.url })).requestPath());
    const health = probe(client, { logger });
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 5_000 });
    single.pause();
    try {
      await vi.waitFor(() => expect(health.current()).toMatchObject({ up: false, reason: 'timeout' }), { timeout: 5_000 });
    } finally {
      single.resume();
    }
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 5_000 });
    expect(lines.filter((line) => line['redis'] === 'probe').map((line) => [line['msg'], line['reason'] ?? null])).toEqual([
      ['redis commands succeed again', null],
      ['redis commands failing (timeout): not ready', 'timeout'],
      ['redis commands succeed again', null],
    ]);
  });

  it('names the one stalled Cluster master while the others answer', async () => {
    const client = track(createRedisClients(redisConfig({ REDIS_CLUSTER_NODES: cluster.nodesEnv })).requestPath());
    const health = probe(client);
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 10_000 });
    const [, stalled] = cluster.nodes;
    if (stalled === undefined) throw new Error('three masters expected');
    cluster.pause(stalled);
    try {
      await vi.waitFor(() => expect(health.current()).toMatchObject({ up: false, reason: 'timeout' }), { timeout: 5_000 });
      expect(health.current().message).toContain(`:${stalled.port}`);
      expect(health.current().masters.filter((master) => master.up)).toHaveLength(2);
    } finally {
      cluster.resume(stalled);
    }
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 10_000 });
  });

  it('says "auth" when Redis refuses the password, and recovers when the password is right again', async () => {
    await single.stop();
    await single.restart();
    const admin = track(createRedisClients(redisConfig({ REDIS_URL: single.url })).requestPath({ commandTimeoutMs: 2_000 }));
    await vi.waitFor(() => expect(isRedisReady(admin)).toBe(true), { timeout: 5_000 });
    await admin.call('CONFIG', 'SET', 'requirepass', 'right-password');
    const url = new URL(single.url);
    url.password = 'right-password';
    const client = track(createRedisClients(redisConfig({ REDIS_URL: url.href })).requestPath());
    const health = probe(client);
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 5_000 });
    try {
      // The password was rotated on Redis but not here: established connections stay authenticated, new ones are refused.
      await admin.call('AUTH', 'right-password');
      await admin.call('CONFIG', 'SET', 'requirepass', 'rotated-password');
      await admin.call('AUTH', 'rotated-password');
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await vi.waitFor(() => expect(health.current()).toMatchObject({ up: false, reason: 'auth' }), { timeout: 5_000 });
      expect(health.current().message).toMatch(/WRONGPASS/);
    } finally {
      await admin.call('CONFIG', 'SET', 'requirepass', 'right-password');
    }
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 10_000 });
    await admin.call('CONFIG', 'SET', 'requirepass', '');
  });

  it('says "tls" when the server certificate is not from the configured CA, and recovers when it is', async () => {
    const client = track(
      createRedisClients(
        redisConfig({ REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.caFile, REDIS_TLS_CERT_FILE: tls.clientCertFile, REDIS_TLS_KEY_FILE: tls.clientKeyFile }),
      ).requestPath(),
    );
    const health = probe(client);
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 5_000 });
    await tls.serveUntrustedCertificate();
    try {
      await vi.waitFor(() => expect(health.current()).toMatchObject({ up: false, reason: 'tls' }), { timeout: 5_000 });
    } finally {
      await tls.serveTrustedCertificate();
    }
    await vi.waitFor(() => expect(health.current().up).toBe(true), { timeout: 10_000 });
  });

  it('never reports a TLS Redis healthy when its CA is not given (no silent local mode)', async () => {
    const client = track(createRedisClients(redisConfig({ REDIS_URL: tls.url })).requestPath());
    const health = probe(client);
    await vi.waitFor(() => expect(health.current()).toMatchObject({ up: false, reason: 'tls' }), { timeout: 5_000 });
  });

  it('refuses REDIS_URL pointing at a Cluster node, naming REDIS_CLUSTER_NODES', async () => {
    const [node] = cluster.nodes;
    const client = track(createRedisClients(redisConfig({ REDIS_URL: `redis://${node?.host}:${node?.port}` })).requestPath());
    const health = probe(client, { refuseClusterNode: true });
    await vi.waitFor(() => expect(health.current()).toMatchObject({ up: false, reason: 'cluster_node' }), { timeout: 5_000 });
    expect(health.current().message).toContain('REDIS_CLUSTER_NODES');
  });
});
