/**
 * SIGTERM with WebSocket-mode connections open, against the real gateway process: what a rolling
 * deploy does to a Codex session.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, type ScriptedBackend, roleChunk, startScriptedBackend, textAnswer, textChunks } from '../support/scripted-backend.ts';
import { type StartedGateway, startGateway } from '../support/start-gateway.ts';
import { connectSocket, toResponsesSocketUrl } from '../support/websocket-client.ts';

const KEY = 'sk-websocket-drain';
let backend: ScriptedBackend;
let gateway: StartedGateway | undefined;

beforeAll(async () => {
  backend = await startScriptedBackend();
});
afterAll(async () => {
  await backend?.close();
});
afterEach(async () => {
  await gateway?.stop('SIGKILL');
  backend.reset();
});

describe('graceful drain on SIGTERM', () => {
  it('lets the response in flight finish, then closes its socket with 1001; an idle socket closes with 1001 at once; the process exits 0', async () => {
    gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url, SHUTDOWN_GRACE_SECONDS: '20' } });
    const url = toResponsesSocketUrl(gateway.baseURL);
    const busy = await connectSocket(url, { apiKey: KEY });
    const idle = await connectSocket(url, { apiKey: KEY });
    backend.enqueue({ ...textAnswer('one two three four five six seven eight nine ten'), stepDelayMs: 100 });
    busy.send({ type: 'response.create', model: DEFAULT_MODEL_ID, input: 'a slow answer' });
    await busy.waitForFrame((frame) => frame.type === 'response.output_text.delta');

    const exited = gateway.stop('SIGTERM');
    const idleClosed = await idle.closed;
    expect(idleClosed).toEqual({ code: 1001, reason: 'server shutting down' });
    // The idle socket went first: the busy one is still streaming.
    expect(busy.frames.some((frame) => frame.type === 'response.completed')).toBe(false);

    const turn = await busy.nextTurn();
    expect(turn.at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed' } });
    await expect(busy.closed).resolves.toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await exited).toBe(0);
  });

  it('ends a response still running when the grace period is over in-band (error + response.failed, server_shutting_down), then closes with 1001', async () => {
    gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url, SHUTDOWN_GRACE_SECONDS: '1' } });
    const client = await connectSocket(toResponsesSocketUrl(gateway.baseURL), { apiKey: KEY });
    // A backend that starts answering and then never finishes.
    backend.enqueue({ steps: [roleChunk(), ...textChunks('stuck')], hang: 'after-steps' });
    client.send({ type: 'response.create', model: DEFAULT_MODEL_ID, input: 'hang' });
    await client.waitForFrame((frame) => frame.type === 'response.output_text.delta');

    const exited = gateway.stop('SIGTERM');
    const turn = await client.nextTurn();
    expect(turn.slice(-2).map((frame) => frame.type)).toEqual(['error', 'response.failed']);
    expect(turn.at(-1)).toMatchObject({ response: { status: 'failed', error: { code: 'server_shutting_down' } } });
    await expect(client.closed).resolves.toMatchObject({ code: 1001 });
    expect(await exited).toBe(0);
  });
});
