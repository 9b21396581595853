/**
 * What every Redis deployment mode must show, with two real gateway replicas and the real worker
 * (processes) on that mode's real Redis: stored responses and sealed reasoning shared with no
 * REASONING_ENCRYPTION_KEY, a breaker opened through one replica holding on the other, a model
 * added at the backend reaching both through the worker. Each redis-*.test.ts file starts its
 * topology once and runs these plus its own faults.
 */
import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { DEFAULT_MODEL_ID, type ScriptedBackend, httpError, startScriptedBackend, textAnswer, toolCallAnswer } from '../support/scripted-backend.ts';
import { type StartedGateway, startGateway } from '../support/start-gateway.ts';
import { type StartedWorkerProcess, startWorkerProcess } from '../support/start-worker.ts';
import { chatContentText } from '../support/use-gateway-with-backend.ts';

export const API_KEY = 'sk-redis-mode-test';
export const FAILING_MODEL = 'org/failing-model';
const MODELS = [DEFAULT_MODEL_ID, FAILING_MODEL];

export interface RedisModeFixture {
  readonly backend: ScriptedBackend;
  readonly replicas: readonly [StartedGateway, StartedGateway];
  readonly worker: StartedWorkerProcess;
  /** The Redis variables both replicas and the worker got. */
  readonly redisEnv: Readonly<Record<string, string>>;
}

/**
 * Starts the backend, then two replicas and the worker with `redisEnv()` (read after the caller's
 * own beforeAll started its Redis) and nothing else: no REASONING_ENCRYPTION_KEY.
 */
export function useRedisMode(redisEnv: () => Record<string, string>, gatewayEnv: Record<string, string> = {}): RedisModeFixture {
  let backend: ScriptedBackend | undefined;
  let replicas: [StartedGateway, StartedGateway] | undefined;
  let worker: StartedWorkerProcess | undefined;
  let env: Record<string, string> = {};
  beforeAll(async () => {
    env = redisEnv();
    backend = await startScriptedBackend({ models: MODELS });
    const gateway = () =>
      startGateway({
        env: {
          UPSTREAM_BASE_URL: backend?.url ?? '',
          UPSTREAM_MAX_RETRIES: '0',
          MODELS_REFRESH_SECONDS: '1',
          CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
          CIRCUIT_BREAKER_OPEN_SECONDS: '60',
          ...env,
          ...gatewayEnv,
        },
      });
    const started = await Promise.all([gateway(), gateway(), startWorkerProcess({ UPSTREAM_BASE_URL: backend.url, MODELS_REFRESH_SECONDS: '1', ...env })]);
    replicas = [started[0], started[1]];
    worker = started[2];
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled([replicas?.[0].stop(), replicas?.[1].stop(), worker?.stop()]);
    await backend?.close();
  }, 60_000);
  beforeEach(() => backend?.reset());
  return {
    get backend() {
      if (backend === undefined) throw new Error('backend not started');
      return backend;
    },
    get replicas() {
      if (replicas === undefined) throw new Error('replicas not started');
      return replicas;
    },
    get worker() {
      if (worker === undefined) throw new Error('worker not started');
      return worker;
    },
    get redisEnv() {
      return env;
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export async function call(gateway: StartedGateway, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${gateway.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export const create = (gateway: StartedGateway, body: Record<string, unknown>) => call(gateway, 'POST', '/responses', { model: DEFAULT_MODEL_ID, ...body });

export async function readiness(gateway: StartedGateway): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}/ready`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function listModelIds(gateway: StartedGateway): Promise<string[]> {
  const answer = await call(gateway, 'GET', '/models');
  return ((answer.body['data'] as { id: string }[] | undefined) ?? []).map((model) => model.id).sort();
}

/** The scenarios every mode must pass (registered as `it` blocks in the caller's describe). */
export function itSharesStateAcrossReplicas(fixture: RedisModeFixture): void {
  it('shares stored responses and chains across replicas with no REASONING_ENCRYPTION_KEY (the secret is agreed through Redis)', async () => {
    const { backend, replicas } = fixture;
    const [a, b] = replicas;
    backend.enqueue(textAnswer('Paris.'), textAnswer('About 2.1 million.'));
    const first = await create(a, { input: 'Capital of France?' });
    expect(first.status).toBe(200);
    const fetched = await call(b, 'GET', `/responses/${String(first.body['id'])}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(first.body);
    const second = await create(b, { input: 'Its population?', previous_response_id: first.body['id'] });
    expect(second.status).toBe(200);
    const sent = (backend.chatRequests()[1]?.body?.messages ?? []).map((message) => [message.role, chatContentText(message.content)]);
    expect(sent).toEqual([
      ['user', 'Capital of France?'],
      ['assistant', 'Paris.'],
      ['user', 'Its population?'],
    ]);
    // Both replicas say why an explicit key is still recommended.
    for (const replica of replicas) {
      expect(
        replica
          .logRecords()
          .some((record) => String(record['msg']).startsWith('REASONING_ENCRYPTION_KEY is unset: replicas share a secret generated in Redis')),
      ).toBe(true);
    }
  });

  it('opens on replica B the reasoning replica A sealed (Codex, store:false) with no REASONING_ENCRYPTION_KEY', async () => {
    const { backend, replicas } = fixture;
    const [a, b] = replicas;
    const thinking = 'I should list the files first.';
    backend.enqueue(toolCallAnswer([{ id: 'call_ls', name: 'shell', arguments: '{"command":["ls"]}' }], { reasoning: thinking }), textAnswer('Two files.'));
    const tools = [{ type: 'function', name: 'shell', parameters: { type: 'object', properties: {} } }];
    const turn = { store: false, include: ['reasoning.encrypted_content'], tools };
    const first = await create(a, { ...turn, input: 'list the files' });
    const output = first.body['output'] as Record<string, unknown>[];
    const reasoning = output.find((item) => item['type'] === 'reasoning');
    const functionCall = output.find((item) => item['type'] === 'function_call');
    expect(typeof reasoning?.['encrypted_content']).toBe('string');
    const second = await create(b, {
      ...turn,
      input: [
        { role: 'user', content: 'list the files' },
        { type: 'reasoning', summary: [], encrypted_content: reasoning?.['encrypted_content'] },
        { type: 'function_call', name: 'shell', arguments: functionCall?.['arguments'], call_id: functionCall?.['call_id'] },
        { type: 'function_call_output', call_id: functionCall?.['call_id'], output: 'a.txt\nb.txt' },
      ],
    });
    expect(second.status).toBe(200);
    const assistant = backend.chatRequests()[1]?.body?.messages.find((message) => message.role === 'assistant') as Record<string, unknown> | undefined;
    expect(assistant?.['reasoning_content']).toBe(thinking);
  });

  it('holds a breaker opened through replica A on replica B, with no backend call', async () => {
    const { backend, replicas } = fixture;
    const [a, b] = replicas;
    backend.setHandler((request) =>
      request.body?.model === FAILING_MODEL ? httpError(503, { message: 'no instances available', type: 'ServiceUnavailable' }) : textAnswer('ok'),
    );
    await vi.waitFor(
      async () =>
        expect([await listModelIds(a), await listModelIds(b)]).toEqual([expect.arrayContaining([FAILING_MODEL]), expect.arrayContaining([FAILING_MODEL])]),
      { timeout: 15_000, interval: 100 },
    );
    expect((await create(a, { model: FAILING_MODEL, input: 'x', store: false })).status).toBe(502);
    expect((await create(b, { model: FAILING_MODEL, input: 'x', store: false })).status).toBe(502); // second failure: threshold reached
    // Replica A learns of the trip by pub/sub (through the cluster bus in Redis Cluster: a few ms).
    for (const replica of replicas) {
      await vi.waitFor(
        async () => expect(await (await fetch(`${replica.url}/metrics`)).text()).toMatch(/gateway_circuit_breaker_state\{scope="[^"]*#org\/failing-model"\} 1/),
        { timeout: 5_000, interval: 100 },
      );
    }
    const calls = backend.chatRequests().length;
    for (const replica of [b, a, b]) {
      const refused = await create(replica, { model: FAILING_MODEL, input: 'x', store: false });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ error: { code: 'circuit_open' } });
    }
    expect(backend.chatRequests().length).toBe(calls);
  });

  it('shows a model added at the backend on both replicas, refreshed by the worker', async () => {
    const { backend, replicas, worker } = fixture;
    for (const replica of replicas)
      await vi.waitFor(async () => expect(await listModelIds(replica)).toHaveLength(MODELS.length), { timeout: 10_000, interval: 100 });
    const since = Date.now();
    backend.setModels([...MODELS, 'org/new-model']);
    for (const replica of replicas)
      await vi.waitFor(async () => expect(await listModelIds(replica)).toContain('org/new-model'), { timeout: 10_000, interval: 100 });
    backend.setModels(MODELS);
    for (const replica of replicas) {
      // Through Redis (the worker's publication), not by a replica asking the backend itself.
      const lines = replica.logRecords().filter((record) => Date.parse(String(record['time'])) >= since);
      expect(lines.some((record) => record['msg'] === 'model catalogue updated from Redis' && record['models'] === 3)).toBe(true);
      expect(lines.some((record) => String(record['msg']).startsWith('model list refreshed by this replica'))).toBe(false);
    }
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_worker_model_refresh_runs_total\{result="success"\} [1-9]/);
    expect(worker.logs.filter((line) => line.includes('worker Redis error'))).toEqual([]);
  });
}
