import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, roleChunk, type ScriptedBackend, startScriptedBackend, textAnswer, textChunks } from '../support/scripted-backend.ts';
import { type StartedGateway, startGateway } from '../support/start-gateway.ts';
import { waitFor } from './support/in-process-gateway.ts';
import { parseSseData } from '../support/read-sse-events.ts';

const KEY = 'sk-graceful-shutdown';
const STREAMS = 100;
const ANSWER = 'Draining must not cut a single stream short. '.repeat(3);
let backend: ScriptedBackend;
let gateway: StartedGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url, SHUTDOWN_GRACE_SECONDS: '30', LOG_LEVEL: 'info' } });
});
afterAll(async () => {
  await gateway?.stop('SIGKILL');
  await backend?.close();
});

interface StreamResult {
  readonly status: number;
  readonly text: string;
  readonly terminal: string | undefined;
  readonly sequenceOk: boolean;
}

async function openStream(): Promise<{ headers: Promise<void>; result: Promise<StreamResult> }> {
  let headersArrived: () => void = () => undefined;
  const headers = new Promise<void>((resolve) => (headersArrived = resolve));
  const result = (async (): Promise<StreamResult> => {
    const response = await fetch(`${gateway.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', stream: true }),
    });
    headersArrived();
    const body = await response.text();
    const events = parseSseData<{ type: string; delta?: string; sequence_number: number }>(body);
    return {
      status: response.status,
      text: events
        .filter((event) => event.type === 'response.output_text.delta')
        .map((event) => event.delta)
        .join(''),
      terminal: events.at(-1)?.type,
      sequenceOk: events.every((event, index) => event.sequence_number === index),
    };
  })();
  return { headers, result };
}

describe('SIGTERM with streams in flight', () => {
  it(`lets all ${STREAMS} in-flight streams finish completely, refuses new connections, then exits 0`, async () => {
    // ~45 chunks 40 ms apart: each stream lasts ~2 s, most of it after the signal.
    backend.setHandler(() => ({ ...textAnswer(ANSWER), stepDelayMs: 40 }));
    const streams = await Promise.all(Array.from({ length: STREAMS }, () => openStream()));
    await Promise.all(streams.map((stream) => stream.headers));
    await waitFor(() => backend.chatRequests().length === STREAMS, 10_000, 'every stream to reach the backend');

    const exited = new Promise<number | null>((resolve) => gateway.process.once('exit', (code) => resolve(code)));
    const signalledAt = performance.now();
    gateway.process.kill('SIGTERM');
    await waitFor(() => gateway.logRecords().some((record) => record['msg'] === 'shutting down: draining in-flight requests'), 5_000, 'the drain to start');
    await expect(fetch(`${gateway.url}/health`)).rejects.toThrow('fetch failed');

    const results = await Promise.all(streams.map((stream) => stream.result));
    const finishedAt = performance.now();
    const truncated = results.filter(
      (result) => result.status !== 200 || result.terminal !== 'response.completed' || result.text !== ANSWER || !result.sequenceOk,
    );
    expect(truncated).toEqual([]);
    expect(await exited).toBe(0);
    // The drain waited for the streams, and no longer than needed (not the whole grace period).
    expect(finishedAt - signalledAt).toBeGreaterThan(500);
    expect(performance.now() - signalledAt).toBeLessThan(15_000);
  }, 60_000);
});

describe('SIGTERM when the grace period runs out', () => {
  it('ends an open stream with error + response.failed and answers a waiting JSON request with a 503 envelope, before closing', async () => {
    const slowBackend = await startScriptedBackend();
    const short = await startGateway({ env: { UPSTREAM_BASE_URL: slowBackend.url, SHUTDOWN_GRACE_SECONDS: '1', LOG_LEVEL: 'info' } });
    try {
      // The stream has started (some text out) and then the backend goes quiet; the JSON request waits for headers.
      slowBackend.setHandler((request) =>
        request.body?.stream ? { steps: [roleChunk(), ...textChunks('started ')], hang: 'after-steps' } : { hang: 'before-headers' },
      );
      const streamed = fetch(`${short.baseURL}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', stream: true }),
      });
      const waiting = fetch(`${short.baseURL}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi' }),
      });
      const stream = await streamed;
      expect(stream.status).toBe(200);
      await waitFor(() => slowBackend.chatRequests().length === 2, 10_000, 'both requests to reach the backend');
      const exited = new Promise<number | null>((resolve) => short.process.once('exit', (code) => resolve(code)));
      short.process.kill('SIGTERM');

      const events = parseSseData<{ type: string; code?: string; response?: { status: string; error: { code: string } | null } }>(await stream.text());
      expect(events.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
      expect(events.at(-1)?.response).toMatchObject({ status: 'failed', error: { code: 'server_shutting_down' } });
      const answer = await waiting;
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(await answer.json()).toMatchObject({
        error: { type: 'server_error', code: 'server_shutting_down', message: expect.stringContaining('shutting down') as unknown },
      });
      expect(await exited).toBe(0);
    } finally {
      await short.stop('SIGKILL');
      await slowBackend.close();
    }
  }, 30_000);
});
