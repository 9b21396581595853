/**
 * The limits and timers of WebSocket-mode connections, each against a real in-process gateway whose
 * timers are configured in tenths of a second (the same settings an operator sets in seconds).
 */
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type InProcessGateway, startInProcessGateway } from '../reliability/support/in-process-gateway.ts';
import { DEFAULT_MODEL_ID, type ScriptedBackend, startScriptedBackend, textAnswer } from '../support/scripted-backend.ts';
import { type SocketClient, connectSocket, readUpgradeRefusal, toResponsesSocketUrl } from '../support/websocket-client.ts';

const KEY = 'sk-websocket-lifecycle';
let backend: ScriptedBackend;
const opened: SocketClient[] = [];

beforeAll(async () => {
  backend = await startScriptedBackend();
});
afterAll(async () => {
  await backend?.close();
});
beforeEach(() => backend.reset());
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});

/** One gateway per describe block, with its own WebSocket settings. */
function useGateway(env: Readonly<Record<string, string>>): () => InProcessGateway {
  let gateway: InProcessGateway | undefined;
  beforeAll(async () => {
    gateway = await startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn', ...env });
  });
  afterAll(async () => {
    await gateway?.stop();
  });
  return () => {
    if (gateway === undefined) throw new Error('gateway not started');
    return gateway;
  };
}

async function connect(gateway: InProcessGateway, options: { readonly autoPong?: boolean } = {}): Promise<SocketClient> {
  // autoPong false: what a dead peer looks like from the server (pings go unanswered).
  const client = await connectSocket(toResponsesSocketUrl(gateway.baseURL), { apiKey: KEY, autoPong: options.autoPong ?? true });
  opened.push(client);
  return client;
}

async function readMetrics(gateway: InProcessGateway): Promise<string> {
  return (await fetch(`${gateway.url}/metrics`)).text();
}

describe('timers', () => {
  const gateway = useGateway({ WEBSOCKET_IDLE_TIMEOUT_SECONDS: '1', WEBSOCKET_KEEPALIVE_SECONDS: '0.2', WEBSOCKET_MAX_FRAME_BYTES: '65536' });

  it('closes a connection with no response and no frame for WEBSOCKET_IDLE_TIMEOUT_SECONDS with 1000', async () => {
    const startedAt = performance.now();
    const client = await connect(gateway());
    await expect(client.closed).resolves.toEqual({ code: 1000, reason: 'idle timeout' });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1_000);
  });

  it('sends keepalive events while the backend prefills, numbered in sequence with the events, and the idle timeout does not cut the response', async () => {
    backend.enqueue({ ...textAnswer('after a long prefill'), headersDelayMs: 1_500 });
    const client = await connect(gateway());
    const frames = await client.create({ model: DEFAULT_MODEL_ID, input: 'think hard' });

    const created = frames.findIndex((frame) => frame.type === 'response.created');
    const keepalives = frames.slice(0, created).filter((frame) => frame.type === 'keepalive');
    // 1.5 s of silence at a 0.2 s period: a handful.
    expect(keepalives.length).toBeGreaterThanOrEqual(4);
    expect(frames.slice(0, created).every((frame) => frame.type === 'keepalive')).toBe(true);
    expect(frames.map((frame) => frame['sequence_number'])).toEqual(frames.map((_, index) => index));
    expect(frames.at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed' } });
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes the connection with 1009 on a frame over WEBSOCKET_MAX_FRAME_BYTES', async () => {
    const client = await connect(gateway());
    client.send({ type: 'response.create', model: DEFAULT_MODEL_ID, input: 'x'.repeat(70_000) });
    await expect(client.closed).resolves.toMatchObject({ code: 1009 });
    expect(backend.chatRequests()).toHaveLength(0);
    await expect.poll(async () => /gateway_websocket_frame_errors_total\{reason="too_large"\} [1-9]/.test(await readMetrics(gateway()))).toBe(true);
  });

  it('drops a peer that stops answering pings', async () => {
    const client = await connect(gateway(), { autoPong: false });
    // Three missed periods of 0.2 s: the server terminates, the client sees an abnormal close.
    await expect(client.closed).resolves.toMatchObject({ code: 1006 });
  });
});

describe('the connection limit', () => {
  const gateway = useGateway({ WEBSOCKET_MAX_CONNECTION_SECONDS: '1', WEBSOCKET_KEEPALIVE_SECONDS: '0.1' });

  it('tells an idle connection websocket_connection_limit_reached at the limit, then closes it', async () => {
    const client = await connect(gateway());
    const frame = await client.nextTurn(5_000);
    expect(frame).toEqual([
      {
        type: 'error',
        status: 400,
        error: {
          type: 'invalid_request_error',
          code: 'websocket_connection_limit_reached',
          message: 'Responses websocket connection limit reached (1s). Create a new websocket connection to continue.',
          param: null,
        },
      },
    ]);
    await expect(client.closed).resolves.toEqual({ code: 1000, reason: 'websocket_connection_limit_reached' });
  });

  it('lets a response in flight at the limit finish before it says so', async () => {
    backend.enqueue({ ...textAnswer('one two three four five six seven eight'), stepDelayMs: 150 });
    const client = await connect(gateway());
    const turn = await client.create({ model: DEFAULT_MODEL_ID, input: 'a long answer' });
    expect(turn.at(-1)).toMatchObject({ type: 'response.completed' });
    const [limit] = await client.nextTurn(5_000);
    expect(limit).toMatchObject({ type: 'error', error: { code: 'websocket_connection_limit_reached' } });
    await expect(client.closed).resolves.toMatchObject({ code: 1000 });
  });
});

describe('WebSocket mode turned off', () => {
  const gateway = useGateway({ WEBSOCKET_ENABLED: 'false' });

  it('answers the upgrade 426 Upgrade Required (Codex falls back to HTTP at once) and keeps serving HTTP', async () => {
    const refusal = await readUpgradeRefusal(toResponsesSocketUrl(gateway().baseURL), { authorization: `Bearer ${KEY}` });
    expect(refusal.status).toBe(426);
    expect(refusal.body).toMatchObject({ error: { code: 'websocket_disabled' } });
    backend.enqueue(textAnswer('over HTTP'));
    const http = await fetch(`${gateway().baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi' }),
    });
    expect(http.status).toBe(200);
  });
});
