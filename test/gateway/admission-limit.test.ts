/**
 * MAX_CONCURRENT_STREAMS: a replica that already runs that many turns (SSE and JSON alike) refuses
 * the next one before any backend call, with 503 `server_overloaded`, `retry-after` and the OpenAI
 * envelope over HTTP, the same error frame over WebSocket; once a turn ends, a new one is admitted.
 * /metrics shows the turns in flight, the cap and the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessGateway, startInProcessGateway, waitFor } from '../reliability/support/in-process-gateway.ts';
import {
  DEFAULT_MODEL_ID,
  type ScriptedBackend,
  done,
  finishChunk,
  pauseUntil,
  roleChunk,
  startScriptedBackend,
  textChunks,
  usageChunk,
} from '../support/scripted-backend.ts';
import { connectSocket, toResponsesSocketUrl } from '../support/websocket-client.ts';

const KEY = 'sk-admission-limit';
let backend: ScriptedBackend;
let gateway: InProcessGateway;
/** One release per backend request, in arrival order: each answer is held until its own is called. */
const releases: (() => void)[] = [];

beforeAll(async () => {
  backend = await startScriptedBackend();
  backend.setHandler(() => {
    const { promise, resolve } = Promise.withResolvers<void>();
    releases.push(resolve);
    return {
      steps: [
        roleChunk(),
        ...textChunks('held '),
        pauseUntil(promise),
        ...textChunks('done'),
        finishChunk('stop'),
        usageChunk({ prompt: 3, completion: 2 }),
        done(),
      ],
    };
  });
  gateway = await startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn', MAX_CONCURRENT_STREAMS: '2' });
});
afterAll(async () => {
  for (const release of releases) release();
  await gateway?.stop();
  await backend?.close();
});

function create(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', store: false, ...body }),
  });
}

async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1));
}

describe('MAX_CONCURRENT_STREAMS', () => {
  it('refuses a third turn with 503 server_overloaded before any backend call, then admits one once a turn ended', async () => {
    expect(await metric('gateway_turns_in_flight_limit')).toBe(2);
    const rejectionsBefore = await metric('gateway_admission_rejections_total{reason="concurrency"}');
    // One streamed turn and one JSON turn, both held open by the backend.
    const streamed = await create({ stream: true });
    expect(streamed.status).toBe(200);
    const json = create({ stream: false });
    await waitFor(() => backend.chatRequests().length === 2, 5_000, 'both turns to reach the backend');
    expect(await metric('gateway_turns_in_flight')).toBe(2);

    const refused = await create({ stream: true });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const envelope = (await refused.json()) as { error: Record<string, unknown> };
    expect(Object.keys(envelope.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(envelope.error).toMatchObject({ type: 'server_error', param: null, code: 'server_overloaded' });
    expect(envelope.error['message']).toContain('capacity');

    // A background request is refused at submission, while the client is there to read it, not queued to fail.
    const background = await create({ background: true, store: true });
    expect(background.status).toBe(503);
    expect(((await background.json()) as { error: { code: string } }).error.code).toBe('server_overloaded');

    // WebSocket turns count against the same cap and get the error frame WebSocket errors use.
    const client = await connectSocket(toResponsesSocketUrl(gateway.baseURL), { apiKey: KEY });
    const frames = await client.create({ model: DEFAULT_MODEL_ID, input: 'hi', store: false });
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ type: 'error', status: 503, error: { code: 'server_overloaded', type: 'server_error' } });
    expect(backend.chatRequests()).toHaveLength(2);
    expect(await metric('gateway_admission_rejections_total{reason="concurrency"}')).toBe(rejectionsBefore + 3);

    // The first turn ends: a slot is free, and the next turn (over the socket) gets it.
    releases[0]!();
    expect(await streamed.text()).toContain('response.completed');
    await waitFor(async () => (await metric('gateway_turns_in_flight')) === 1, 3_000, 'the finished turn to leave the count');
    const admitted = client.create({ model: DEFAULT_MODEL_ID, input: 'again', store: false });
    await waitFor(() => backend.chatRequests().length === 3, 5_000, 'the next turn to reach the backend');
    expect(await metric('gateway_turns_in_flight')).toBe(2);
    releases[1]!();
    releases[2]!();
    expect((await json).status).toBe(200);
    expect((await admitted).at(-1)).toMatchObject({ type: 'response.completed' });
    await waitFor(async () => (await metric('gateway_turns_in_flight')) === 0, 3_000, 'every turn to leave the count');
    client.close();
  });
});
