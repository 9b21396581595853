/**
 * WebSocket mode in cluster mode: two replicas sharing Redis behind nginx (deploy/nginx snippets, as
 * shipped). The upgrade passes nginx; store:true responses chain from any replica; store:false ones
 * live on their socket only.
 */
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import type { ResponsesServerEvent } from 'openai/resources/responses/responses';
import { afterEach, describe, expect, it } from 'vitest';
import { textAnswer } from '../support/scripted-backend.ts';
import { type Frame, type SocketClient, connectSocket, toResponsesSocketUrl } from '../support/websocket-client.ts';
import { API_KEY, useCluster } from './cluster-test-helpers.ts';

const MODEL = 'org/model-a';
const fixture = useCluster({ backend: { models: [MODEL] }, cluster: { replicas: 2 } });
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});

async function connect(baseURL: string): Promise<SocketClient> {
  const client = await connectSocket(toResponsesSocketUrl(baseURL), { apiKey: API_KEY });
  opened.push(client);
  return client;
}

function responseOf(frames: readonly Frame[]): { id: string; status: string } {
  return frames.at(-1)?.['response'] as never;
}

function replicaBaseURL(index: number): string {
  const replica = fixture.cluster.replicas[index];
  if (replica === undefined) throw new Error(`no replica ${index}`);
  return replica.baseURL;
}

describe('WebSocket mode behind nginx, two replicas', () => {
  it('upgrades through nginx (Upgrade passed on) and streams turns to the openai SDK client', async () => {
    fixture.backend.setHandler(() => textAnswer('through nginx'));
    const ws = new ResponsesWS(new OpenAI({ apiKey: API_KEY, baseURL: fixture.cluster.baseURL }));
    opened.push(ws);
    const events: ResponsesServerEvent[] = [];
    const completed = new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('event', (event) => {
        events.push(event);
        if (event.type === 'response.completed') resolve();
      });
    });
    ws.send({ type: 'response.create', model: MODEL, input: 'hi' });
    await completed;
    expect(events[0]?.type).toBe('response.created');
    expect(
      events
        .filter((event) => event.type === 'response.output_text.delta')
        .map((event) => ('delta' in event ? event.delta : ''))
        .join(''),
    ).toBe('through nginx');
    // nginx logs a proxied WebSocket when it ends.
    ws.close();
    await expect
      .poll(() => fixture.cluster.accessLog().some((line) => /"GET \/v1\/responses HTTP\/1\.1" 101 .*upstream=127\.0\.0\.1:\d+/.test(line)))
      .toBe(true);
  });

  it('chains store:true responses across replicas: made on a socket to one, continued on a socket to the other and over HTTP through nginx', async () => {
    fixture.backend.setHandler(() => textAnswer('stored'));
    const first = await connect(replicaBaseURL(0));
    const made = responseOf(await first.create({ model: MODEL, input: 'Remember: basalt.' }));
    const second = await connect(replicaBaseURL(1));
    const continued = responseOf(await second.create({ model: MODEL, previous_response_id: made.id, input: 'And now?' }));
    expect(continued.status).toBe('completed');
    const http = new OpenAI({ apiKey: API_KEY, baseURL: fixture.cluster.baseURL, maxRetries: 0 });
    const overHttp = await http.responses.create({ model: MODEL, previous_response_id: continued.id, input: 'Once more.' });
    expect(overHttp.status).toBe('completed');
    const texts = (fixture.backend.chatRequests().at(-1)?.body?.messages ?? []).map((message) => (message as { content?: unknown }).content);
    expect(texts).toEqual(['Remember: basalt.', 'stored', 'And now?', 'stored', 'Once more.']);
  });

  it('keeps a store:false response on its socket: the other replica answers previous_response_not_found', async () => {
    fixture.backend.setHandler(() => textAnswer('local'));
    const first = await connect(replicaBaseURL(0));
    const made = responseOf(await first.create({ model: MODEL, store: false, input: 'Remember: slate.' }));
    expect(responseOf(await first.create({ model: MODEL, store: false, previous_response_id: made.id, input: 'Same socket.' })).status).toBe('completed');
    const other = await connect(replicaBaseURL(1));
    const refused = (await other.create({ model: MODEL, store: false, previous_response_id: made.id, input: 'Other replica.' })).at(-1);
    expect(refused).toMatchObject({ type: 'error', status: 400, error: { code: 'previous_response_not_found' } });
  });
});
