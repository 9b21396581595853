import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, type ScriptedBackend, startScriptedBackend, textAnswer } from '../support/scripted-backend.ts';
import { type InProcessGateway, startInProcessGateway } from '../reliability/support/in-process-gateway.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';

let backend: ScriptedBackend;
let gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  gateway = await startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn', RATE_LIMIT_REQUESTS_PER_MINUTE: '3' });
});
afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});
beforeEach(() => {
  backend.reset();
  backend.setHandler(() => textAnswer('ok'));
});

function post(key: string): Promise<Response> {
  return fetch(`${gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi' }),
  });
}

describe('per-key rate limit (RATE_LIMIT_REQUESTS_PER_MINUTE)', () => {
  it('answers 429 rate_limit_exceeded with retry-after and OpenAI rate-limit headers once a key is over, without calling the backend', async () => {
    const key = 'sk-limited-key-one';
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await post(key));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429]);
    expect(answers.map((answer) => answer.headers.get('x-ratelimit-remaining-requests'))).toEqual(['2', '1', '0', '0']);
    const refused = answers[3]!;
    expect(await refused.json()).toEqual({
      error: { message: expect.stringContaining('Rate limit') as unknown, type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' },
    });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|\d+(\.\d)?s|\d+m\d+(\.\d)?s)$/);
    expect(backend.chatRequests()).toHaveLength(3);
  });

  it('limits each key on its own', async () => {
    for (let i = 0; i < 3; i += 1) expect((await post('sk-limited-key-two')).status).toBe(200);
    expect((await post('sk-limited-key-two')).status).toBe(429);
    expect((await post('sk-limited-key-three')).status).toBe(200);
  });

  it('surfaces as the SDK RateLimitError with the retry headers', async () => {
    const client = new OpenAI({ apiKey: 'sk-limited-key-four', baseURL: gateway.baseURL, maxRetries: 0 });
    for (let i = 0; i < 3; i += 1) await client.responses.create({ model: DEFAULT_MODEL_ID, input: 'hi' });
    const error = await client.responses.create({ model: DEFAULT_MODEL_ID, input: 'hi' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toMatch(/^\d+$/);
  });

  it('never reports the key: limiter state and logs carry only its hash', async () => {
    for (let i = 0; i < 5; i += 1) await (await post('sk-limited-key-five-secret')).text();
    expect(gateway.logs.join('\n')).not.toContain('sk-limited-key-five-secret');
  });
});

describe('per-key rate limit in cluster mode', () => {
  let redis: TestRedis;
  let replicas: InProcessGateway[] = [];

  beforeAll(async () => {
    redis = await startRedis({ mode: 'process' });
    replicas = await Promise.all(
      [1, 2].map(() => startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn', REDIS_URL: redis.url, RATE_LIMIT_REQUESTS_PER_MINUTE: '4' })),
    );
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await redis?.stop();
  });

  async function postTo(replica: InProcessGateway, key: string): Promise<number> {
    const response = await fetch(`${replica.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      // store:false: with Redis down a store:true request is refused (503) before the limiter counts it.
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', store: false }),
    });
    await response.text();
    return response.status;
  }

  it('shares one limit per key across replicas through Redis', async () => {
    const [one, two] = replicas as [InProcessGateway, InProcessGateway];
    const statuses = [];
    for (const replica of [one, two, one, two, one, two]) statuses.push(await postTo(replica, 'sk-cluster-limited'));
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('keeps limiting, per replica, while Redis is down', async () => {
    const [one] = replicas as [InProcessGateway, InProcessGateway];
    await redis.kill();
    try {
      const statuses = [];
      for (let i = 0; i < 6; i += 1) statuses.push(await postTo(one, 'sk-cluster-limited-outage'));
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await redis.restart();
    }
  });
});
