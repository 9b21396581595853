/**
 * Start-up failures as an operator meets them, from the real gateway and worker processes: one clear
 * line naming the variable and what it must be, a non-zero exit, never a stack trace.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../support/redis-server.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

async function run(script: string, env: Readonly<Record<string, string>>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [script], {
    cwd: repositoryRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

let busy: Server;
let busyPort = 0;
let redis: TestRedis;
beforeAll(async () => {
  busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  busyPort = (busy.address() as { port: number }).port;
  redis = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  busy.close();
  await redis.stop();
});

describe('gateway start-up errors', () => {
  it('a busy PORT is one line naming PORT, exit 78', async () => {
    const result = await run('apps/gateway/src/main.ts', { PORT: String(busyPort), HOST: '127.0.0.1', UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1' });
    expect(result).toEqual({ code: 78, stderr: `gateway: PORT=${busyPort} is already in use on 127.0.0.1: stop what holds it, or set PORT to a free port.\n` });
  });

  it('UPSTREAM_BASE_URL=ftp://x says what is expected', async () => {
    const result = await run('apps/gateway/src/main.ts', { UPSTREAM_BASE_URL: 'ftp://x' });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(
      /^Invalid configuration: UPSTREAM_BASE_URL must be an http:\/\/ or https:\/\/ URL \(the backend's OpenAI-compatible base URL, usually ending in \/v1/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('worker start-up errors', () => {
  it('without REDIS_URL, says REDIS_URL is required and why', async () => {
    const result = await run('apps/worker/src/main.ts', { REDIS_URL: ' ' });
    expect(result).toEqual({
      code: 78,
      stderr:
        'Invalid worker configuration: REDIS_URL is required: a redis:// or rediss:// URL (the worker only runs in cluster mode, on the same Redis as the gateways; or REDIS_CLUSTER_NODES for a Redis Cluster, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER for Sentinel).\n',
    });
  });

  it('a busy WORKER_PORT is one line naming WORKER_PORT, exit 78', async () => {
    const result = await run('apps/worker/src/main.ts', {
      REDIS_URL: redis.url,
      UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1',
      WORKER_PORT: String(busyPort),
      WORKER_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    });
    expect(result).toEqual({
      code: 78,
      stderr: `worker: WORKER_PORT=${busyPort} is already in use on 127.0.0.1: stop what holds it, or set WORKER_PORT to a free port.\n`,
    });
  });
});
