/**
 * WebSocket mode on `/v1/responses` against the real gateway process and the scripted backend, with
 * the openai SDK's `ResponsesWS` (a real client) and raw `ws` clients for what the SDK hides (frame
 * types, compression, refused upgrades).
 */
import OpenAI from 'openai';
import type { ResponsesServerEvent } from 'openai/resources/responses/responses';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, type ReceivedRequest, textAnswer, toolCallAnswer } from '../support/scripted-backend.ts';
import { E2E_API_KEY, chatContentText, postResponsesStream, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';
import { type Frame, type SocketClient, connectSocket, readUpgradeRefusal, toResponsesSocketUrl } from '../support/websocket-client.ts';

const setup = useGatewayWithBackend();
const open: { close(): void }[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.close();
});

async function connect(options: Parameters<typeof connectSocket>[1] = { apiKey: E2E_API_KEY }): Promise<SocketClient> {
  const client = await connectSocket(toResponsesSocketUrl(setup.gateway.baseURL), options);
  open.push(client);
  return client;
}

/** The openai SDK's WebSocket client, open. */
async function openSdkSocket(): Promise<ResponsesWS> {
  const ws = new ResponsesWS(new OpenAI({ apiKey: E2E_API_KEY, baseURL: setup.gateway.baseURL }));
  open.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.socket.on('open', () => resolve());
    ws.socket.on('error', (error: Error) => reject(error));
  });
  return ws;
}

/** One `response.create` over the SDK's client: every event up to the terminal one. */
function sdkTurn(ws: ResponsesWS, body: Record<string, unknown>): Promise<ResponsesServerEvent[]> {
  return new Promise((resolve) => {
    const events: ResponsesServerEvent[] = [];
    const onEvent = (event: ResponsesServerEvent) => {
      events.push(event);
      if (
        event.type === 'response.completed' ||
        event.type === 'response.failed' ||
        event.type === 'response.incomplete' ||
        (event.type === 'error' && 'status' in event)
      ) {
        ws.off('event', onEvent);
        resolve(events);
      }
    };
    ws.on('event', onEvent);
    // The SDK reports error events on its `error` channel too; the events list is what we check.
    ws.on('error', () => undefined);
    ws.send({ type: 'response.create', model: DEFAULT_MODEL_ID, ...body } as Parameters<ResponsesWS['send']>[0]);
  });
}

/** Events with generated ids and clocks replaced by their order of appearance, for comparing two runs. */
function normaliseEvents(events: readonly unknown[]): unknown {
  const ids = new Map<string, string>();
  return JSON.parse(JSON.stringify(events), (key, value: unknown) => {
    if (key === 'created_at' || key === 'completed_at') return typeof value === 'number' ? 'time' : value;
    if (key === 'encrypted_content' && typeof value === 'string') return 'sealed';
    if (typeof value === 'string' && /^[a-z]+_[0-9a-f]{48}$/.test(value)) {
      if (!ids.has(value)) ids.set(value, `id${ids.size}`);
      return ids.get(value);
    }
    return value;
  }) as unknown;
}

function terminalOf(frames: readonly Frame[]): Frame {
  const last = frames.at(-1);
  if (last === undefined) throw new Error('no frames');
  return last;
}

function responseOf(frames: readonly Frame[]): {
  id: string;
  status: string;
  output: { type: string; [key: string]: unknown }[];
  previous_response_id: string | null;
} {
  return terminalOf(frames)['response'] as never;
}

function messagesOf(request: ReceivedRequest | undefined): { role: string; text: string }[] {
  return (request?.body?.messages ?? []).map((message) => ({ role: message.role, text: chatContentText((message as { content?: unknown }).content) }));
}

describe('a response over WebSocket', () => {
  it('streams exactly the events the SSE path sends, in order, over the openai SDK client', async () => {
    setup.backend.setHandler(() => textAnswer('Hello over a socket', { reasoning: 'Thinking first.' }));
    const body = { model: DEFAULT_MODEL_ID, input: 'hi', reasoning: { summary: 'auto' } };
    const sse = await postResponsesStream(setup.gateway.baseURL, body);
    const ws = await openSdkSocket();
    const events = await sdkTurn(ws, body);

    expect(events.at(-1)?.type).toBe('response.completed');
    // Same events, field for field, once ids and clocks are set aside.
    expect(normaliseEvents(events)).toEqual(normaliseEvents(sse.events.map((event) => event.data)));
    expect(events.map((event) => ('sequence_number' in event ? event.sequence_number : null))).toEqual(events.map((_, index) => index));
  });

  it('sends each event as its own text frame (the raw socket sees one JSON object per frame)', async () => {
    setup.backend.setHandler(() => textAnswer('one frame per event'));
    const client = await connect();
    const frames = await client.create({ model: DEFAULT_MODEL_ID, input: 'hi' });
    expect(frames[0]?.type).toBe('response.created');
    expect(frames.filter((frame) => frame.type === 'response.output_text.delta').length).toBeGreaterThan(0);
    expect(terminalOf(frames).type).toBe('response.completed');
  });
});

describe('continuing over a socket', () => {
  it('continues a store:false response on the same socket with previous_response_id and only the new input; the backend gets the whole conversation', async () => {
    setup.backend.enqueue(textAnswer('The code word is cobalt.'), textAnswer('cobalt'));
    const client = await connect();
    const first = responseOf(await client.create({ model: DEFAULT_MODEL_ID, store: false, input: 'Remember: cobalt.' }));
    const second = await client.create({ model: DEFAULT_MODEL_ID, store: false, previous_response_id: first.id, input: 'What is the code word?' });

    expect(responseOf(second)).toMatchObject({ status: 'completed', previous_response_id: first.id });
    expect(messagesOf(setup.backend.chatRequests()[1])).toEqual([
      { role: 'user', text: 'Remember: cobalt.' },
      { role: 'assistant', text: 'The code word is cobalt.' },
      { role: 'user', text: 'What is the code word?' },
    ]);
  });

  it('answers a store:false id with previous_response_not_found on another socket and over HTTP; a full-input create on that socket then completes', async () => {
    setup.backend.setHandler(() => textAnswer('ok'));
    const first = await connect();
    const { id } = responseOf(await first.create({ model: DEFAULT_MODEL_ID, store: false, input: 'Remember: copper.' }));

    const second = await connect();
    const refused = terminalOf(await second.create({ model: DEFAULT_MODEL_ID, store: false, previous_response_id: id, input: 'go on' }));
    expect(refused).toEqual({
      type: 'error',
      status: 400,
      error: {
        type: 'invalid_request_error',
        code: 'previous_response_not_found',
        message: `Previous response with id '${id}' not found.`,
        param: 'previous_response_id',
      },
    });
    const overHttp = await fetch(`${setup.gateway.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, previous_response_id: id, input: 'go on' }),
    });
    expect(overHttp.status).toBe(400);
    expect(((await overHttp.json()) as { error: { code: string } }).error.code).toBe('previous_response_not_found');
    expect(responseOf(await second.create({ model: DEFAULT_MODEL_ID, store: false, input: 'Start again.' })).status).toBe('completed');
  });

  it('chains store:true responses through the shared store: a socket response continues over HTTP, an HTTP response continues on a socket', async () => {
    setup.backend.setHandler(() => textAnswer('noted'));
    const client = await connect();
    const fromSocket = responseOf(await client.create({ model: DEFAULT_MODEL_ID, input: 'First, over the socket.' }));
    const http = new OpenAI({ apiKey: E2E_API_KEY, baseURL: setup.gateway.baseURL, maxRetries: 0 });
    const overHttp = await http.responses.create({ model: DEFAULT_MODEL_ID, previous_response_id: fromSocket.id, input: 'Second, over HTTP.' });
    const other = await connect();
    const back = await other.create({ model: DEFAULT_MODEL_ID, previous_response_id: overHttp.id, input: 'Third, on another socket.' });

    expect(responseOf(back).status).toBe('completed');
    expect(messagesOf(setup.backend.chatRequests()[2]).map((message) => message.text)).toEqual([
      'First, over the socket.',
      'noted',
      'Second, over HTTP.',
      'noted',
      'Third, on another socket.',
    ]);
    expect((await http.responses.retrieve(fromSocket.id)).status).toBe('completed');
  });

  it('answers a made-up previous_response_id with previous_response_not_found and stays usable', async () => {
    setup.backend.setHandler(() => textAnswer('fine'));
    const client = await connect();
    const refused = terminalOf(await client.create({ model: DEFAULT_MODEL_ID, store: false, previous_response_id: 'resp_made_up', input: 'x' }));
    expect(refused).toMatchObject({ type: 'error', status: 400, error: { code: 'previous_response_not_found' } });
    expect(setup.backend.chatRequests()).toHaveLength(0);
    expect(responseOf(await client.create({ model: DEFAULT_MODEL_ID, input: 'y' })).status).toBe('completed');
  });

  it('evicts the cached response after a failed continuation: a retry with the same previous_response_id gets previous_response_not_found', async () => {
    setup.backend.setHandler(() => textAnswer('OK'));
    const client = await connect();
    const { id } = responseOf(await client.create({ model: DEFAULT_MODEL_ID, store: false, input: 'Remember: ember.' }));
    const failed = terminalOf(
      await client.create({
        model: DEFAULT_MODEL_ID,
        store: false,
        previous_response_id: id,
        input: [{ type: 'function_call_output', call_id: 'call_missing', output: 'No such call.' }],
      }),
    );
    expect(failed).toMatchObject({ type: 'error', status: 400, error: { code: 'invalid_value', param: 'input[0].call_id' } });
    const retry = terminalOf(await client.create({ model: DEFAULT_MODEL_ID, store: false, previous_response_id: id, input: 'stale' }));
    expect(retry).toMatchObject({ type: 'error', status: 400, error: { code: 'previous_response_not_found' } });
  });

  it('warms up with generate:false without calling the backend, and the next turn chains from the warm-up id', async () => {
    setup.backend.setHandler(() => textAnswer('warm'));
    const client = await connect();
    const warmUp = await client.create({
      model: DEFAULT_MODEL_ID,
      store: false,
      generate: false,
      instructions: 'Be brief.',
      input: [{ role: 'developer', content: 'House rules.' }],
    });
    expect(warmUp.map((frame) => frame.type)).toEqual(['response.created', 'response.in_progress', 'response.completed']);
    expect(responseOf(warmUp)).toMatchObject({ status: 'completed', output: [] });
    expect(setup.backend.chatRequests()).toHaveLength(0);

    const turn = await client.create({
      model: DEFAULT_MODEL_ID,
      store: false,
      instructions: 'Be brief.',
      previous_response_id: responseOf(warmUp).id,
      input: 'Hello',
    });
    expect(responseOf(turn).status).toBe('completed');
    expect(messagesOf(setup.backend.chatRequests()[0])).toEqual([
      { role: 'system', text: 'Be brief.\n\nHouse rules.' },
      { role: 'user', text: 'Hello' },
    ]);
  });
});

describe('one response at a time', () => {
  it('refuses a second response.create while one is in flight with response_already_in_flight, and the first one completes', async () => {
    setup.backend.setHandler(() => ({ ...textAnswer('slow and steady'), stepDelayMs: 60 }));
    const client = await connect();
    client.send({ type: 'response.create', model: DEFAULT_MODEL_ID, input: 'first' });
    await client.waitForFrame((frame) => frame.type === 'response.created');
    client.send({ type: 'response.create', model: DEFAULT_MODEL_ID, input: 'second' });
    const refusal = await client.waitForFrame((frame) => frame.type === 'error');
    expect(refusal).toMatchObject({ status: 400, error: { type: 'invalid_request_error', code: 'response_already_in_flight' } });
    // The refusal is delivered among the first response's events; the first response is untouched.
    const completed = await client.waitForFrame((frame) => frame.type === 'response.completed');
    expect(completed['response']).toMatchObject({ status: 'completed', output: [{ type: 'message', content: [{ text: 'slow and steady' }] }] });
    expect(client.frames.filter((frame) => frame.type === 'response.created')).toHaveLength(1);
    expect(setup.backend.chatRequests()).toHaveLength(1);
  });
});

describe('client frames', () => {
  it('ignores response.processed and unknown event types, refuses binary and non-JSON frames with an error frame, and stays open', async () => {
    setup.backend.setHandler(() => textAnswer('still here'));
    const client = await connect();
    client.send({ type: 'response.processed', response_id: 'resp_x' });
    client.send({ type: 'session.update', anything: true });
    client.socket.send(Buffer.from('{"type":"response.create"}'), { binary: true });
    client.send('not json');
    client.send([1, 2]);
    const refusals = [await client.nextTurn(), await client.nextTurn(), await client.nextTurn()].map((turn) => terminalOf(turn));
    expect(refusals.map((frame) => (frame['error'] as { code: string }).code)).toEqual(['invalid_event', 'invalid_event', 'invalid_event']);
    expect(refusals.every((frame) => frame['status'] === 400)).toBe(true);
    expect(responseOf(await client.create({ model: DEFAULT_MODEL_ID, input: 'hi' })).status).toBe('completed');
  });

  it('tolerates stream:true (Codex sends it) and refuses background:true with a 400 naming background', async () => {
    setup.backend.setHandler(() => textAnswer('streamed anyway'));
    const client = await connect();
    expect(responseOf(await client.create({ model: DEFAULT_MODEL_ID, stream: true, input: 'hi' })).status).toBe('completed');
    expect(terminalOf(await client.create({ model: DEFAULT_MODEL_ID, background: true, input: 'hi' }))).toMatchObject({
      type: 'error',
      status: 400,
      error: { param: 'background', code: 'unsupported_parameter' },
    });
  });

  it('refuses what HTTP refuses, with the same status and envelope: an unknown model is a 404 model_not_found', async () => {
    const client = await connect();
    const frame = terminalOf(await client.create({ model: 'no/such-model', input: 'hi' }));
    const overHttp = await fetch(`${setup.gateway.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no/such-model', input: 'hi' }),
    });
    expect(frame).toEqual({ type: 'error', status: overHttp.status, ...((await overHttp.json()) as object) });
    expect(frame).toMatchObject({ status: 404, error: { code: 'model_not_found', param: 'model' } });
  });
});

describe('the upgrade', () => {
  it('refuses an upgrade without a key with 401 and the OpenAI envelope, before upgrading', async () => {
    const refusal = await readUpgradeRefusal(toResponsesSocketUrl(setup.gateway.baseURL));
    expect(refusal.status).toBe(401);
    expect(refusal.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'missing_api_key' } });
  });

  it('accepts the key in x-api-key, as HTTP does, and names the connection in x-request-id', async () => {
    setup.backend.setHandler(() => textAnswer('keyed'));
    const client = await connect({ headers: { 'x-api-key': E2E_API_KEY, 'x-request-id': 'conn-abc' } });
    expect(responseOf(await client.create({ model: DEFAULT_MODEL_ID, input: 'hi' })).status).toBe('completed');
    expect(setup.backend.chatRequests()[0]?.headers['x-request-id']).toBe('conn-abc.1');
    expect(setup.backend.chatRequests()[0]?.headers.authorization).toBe(`Bearer ${E2E_API_KEY}`);
  });

  it('answers an upgrade on another path with 404', async () => {
    const refusal = await readUpgradeRefusal(`${toResponsesSocketUrl(setup.gateway.baseURL)}/other`, { authorization: `Bearer ${E2E_API_KEY}` });
    expect(refusal.status).toBe(404);
  });

  it('accepts permessage-deflate when the client offers it (Codex does)', async () => {
    setup.backend.setHandler(() => textAnswer('x'.repeat(3000)));
    const client = await connect({ apiKey: E2E_API_KEY, perMessageDeflate: true });
    expect(client.socket.extensions).toContain('permessage-deflate');
    const frames = await client.create({ model: DEFAULT_MODEL_ID, input: 'a'.repeat(5000) });
    expect(responseOf(frames).status).toBe('completed');
  });
});

const SUMMARY = 'SUMMARY: the user asked to remember the word slate.';

describe('remote compaction v2 (a trailing compaction_trigger) and other Codex inputs', () => {
  it('answers a compaction_trigger continuation with exactly one compaction item, which a later request carries back as the summary', async () => {
    setup.backend.enqueue(textAnswer('OK.'), textAnswer(SUMMARY), textAnswer('slate'));
    const client = await connect();
    const first = responseOf(await client.create({ model: DEFAULT_MODEL_ID, store: false, input: 'Remember the word slate.' }));
    const compacted = await client.create({ model: DEFAULT_MODEL_ID, store: false, previous_response_id: first.id, input: [{ type: 'compaction_trigger' }] });

    expect(compacted.map((frame) => frame.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(compacted.map((frame) => frame['sequence_number'])).toEqual([0, 1, 2, 3, 4]);
    const output = responseOf(compacted).output;
    expect(output.map((item) => item.type)).toEqual(['compaction']);
    expect(output[0]?.['id']).toMatch(/^cmp_/);
    expect(Object.keys(output[0] ?? {}).sort()).toEqual(['encrypted_content', 'id', 'type']);
    expect(JSON.stringify(compacted)).not.toContain('slate.');
    // The summary turn saw the whole conversation and the hand-off prompt, last.
    const summaryTurn = messagesOf(setup.backend.chatRequests()[1]);
    expect(summaryTurn.slice(0, 2)).toEqual([
      { role: 'user', text: 'Remember the word slate.' },
      { role: 'assistant', text: 'OK.' },
    ]);
    expect(summaryTurn.at(-1)?.text).toMatch(/CONTEXT CHECKPOINT COMPACTION/);

    const resumed = await client.create({
      model: DEFAULT_MODEL_ID,
      store: false,
      input: [{ role: 'user', content: 'Remember the word slate.' }, ...output, { role: 'user', content: 'Which word?' }],
    });
    expect(responseOf(resumed).status).toBe('completed');
    const carried = messagesOf(setup.backend.chatRequests()[2]);
    expect(carried).toHaveLength(1);
    expect(carried[0]?.text).toContain(SUMMARY);
    expect(carried[0]?.text).toMatch(/^Remember the word slate\.[\s\S]*Which word\?$/);
  });

  it('answers a compaction_trigger over HTTP too (JSON and SSE), storing the compaction response like any other', async () => {
    setup.backend.setHandler(() => textAnswer(SUMMARY));
    const http = new OpenAI({ apiKey: E2E_API_KEY, baseURL: setup.gateway.baseURL, maxRetries: 0 });
    const input = [{ role: 'user' as const, content: 'Remember the word slate.' }, { type: 'compaction_trigger' }];
    const json = await http.responses.create({ model: DEFAULT_MODEL_ID, input } as never);
    expect(json.output.map((item) => item.type)).toEqual(['compaction']);
    expect((await http.responses.retrieve(json.id)).output.map((item) => item.type)).toEqual(['compaction']);
    const sse = await postResponsesStream(setup.gateway.baseURL, { model: DEFAULT_MODEL_ID, input });
    expect(sse.events.map((event) => event.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('refuses a compaction_trigger that is not the final input item, or that rides on a warm-up', async () => {
    const client = await connect();
    const refused = terminalOf(await client.create({ model: DEFAULT_MODEL_ID, input: [{ type: 'compaction_trigger' }, { role: 'user', content: 'after' }] }));
    expect(refused).toMatchObject({
      status: 400,
      error: { code: 'invalid_value', param: 'input[0]', message: "The 'compaction_trigger' item must be the final input item." },
    });
    const warmUp = terminalOf(
      await client.create({ model: DEFAULT_MODEL_ID, generate: false, input: [{ role: 'user', content: 'x' }, { type: 'compaction_trigger' }] }),
    );
    expect(warmUp).toMatchObject({ status: 400, error: { code: 'invalid_value', param: 'generate' } });
    expect(setup.backend.chatRequests()).toHaveLength(0);
  });

  it('accepts the output of POST /v1/responses/compact (its compaction item) as the input of a new socket create', async () => {
    setup.backend.enqueue(textAnswer(SUMMARY), textAnswer('compacted'));
    const compact = await fetch(`${setup.gateway.baseURL}/responses/compact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: [{ role: 'user', content: 'Remember the word slate.' }] }),
    });
    expect(compact.status).toBe(200);
    const { output } = (await compact.json()) as { output: unknown[] };
    const client = await connect();
    const turn = await client.create({ model: DEFAULT_MODEL_ID, store: false, input: [...output, { role: 'user', content: 'Continue.' }], tools: [] });
    expect(responseOf(turn).status).toBe('completed');
    expect(messagesOf(setup.backend.chatRequests()[1])[0]?.text).toContain(SUMMARY);
  });

  it('sends the tools of additional_tools items to the backend, and a call of a namespaced tool comes back with its namespace', async () => {
    setup.backend.setHandler(() => toolCallAnswer([{ id: 'call_crm_1', name: 'crm__find_customer', arguments: '{"q":"acme"}' }]));
    const client = await connect();
    const frames = await client.create({
      model: DEFAULT_MODEL_ID,
      input: [
        {
          type: 'additional_tools',
          role: 'developer',
          tools: [
            {
              type: 'namespace',
              name: 'crm',
              description: 'CRM',
              tools: [{ type: 'function', name: 'find_customer', parameters: { type: 'object', properties: { q: { type: 'string' } } } }],
            },
          ],
        },
        { role: 'user', content: 'Find acme.' },
      ],
    });
    const tools = (setup.backend.chatRequests()[0]?.body?.tools ?? []) as { function: { name: string } }[];
    expect(tools.map((tool) => tool.function.name)).toEqual(['crm__find_customer']);
    const done = frames.find((frame) => frame.type === 'response.output_item.done');
    expect(done?.['item']).toMatchObject({ type: 'function_call', name: 'find_customer', namespace: 'crm', call_id: 'call_crm_1', arguments: '{"q":"acme"}' });
  });
});

/** The value of one series in a Prometheus text exposition (0 when absent). */
function readMetric(exposition: string, series: string): number {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('operations', () => {
  it('counts connections, turns, close codes and frame errors, and logs each turn under its own request id', async () => {
    setup.backend.setHandler(() => textAnswer('measured'));
    const scrape = async () => (await fetch(`${setup.gateway.url}/metrics`)).text();
    // Sockets of earlier tests close asynchronously; count from a quiet gateway.
    await expect.poll(async () => readMetric(await scrape(), 'gateway_websocket_connections')).toBe(0);
    const before = await scrape();
    const client = await connect({ apiKey: E2E_API_KEY, headers: { 'x-request-id': 'conn-ops' } });
    await client.create({ model: DEFAULT_MODEL_ID, input: 'one' });
    await client.create({ model: DEFAULT_MODEL_ID, generate: false, input: 'two' });
    client.socket.send(Buffer.from('x'), { binary: true });
    await client.nextTurn();
    const during = await scrape();
    client.close();
    await client.closed;
    await expect
      .poll(async () => readMetric(await scrape(), 'gateway_websocket_closes_total{code="1000"}'))
      .toBe(readMetric(before, 'gateway_websocket_closes_total{code="1000"}') + 1);
    const after = await scrape();

    expect(readMetric(during, 'gateway_websocket_connections')).toBe(1);
    expect(readMetric(after, 'gateway_websocket_connections')).toBe(0);
    const delta = (series: string) => readMetric(after, series) - readMetric(before, series);
    expect(delta('gateway_websocket_upgrades_total{result="accepted"}')).toBe(1);
    expect(delta('gateway_websocket_turns_total{kind="generate",outcome="completed"}')).toBe(1);
    expect(delta('gateway_websocket_turns_total{kind="warmup",outcome="completed"}')).toBe(1);
    expect(delta('gateway_websocket_frame_errors_total{reason="binary"}')).toBe(1);

    const turns = setup.gateway.logRecords().filter((record) => record['msg'] === 'websocket turn' && String(record['request_id']).startsWith('conn-ops.'));
    expect(turns.map((record) => [record['request_id'], record['kind'], record['outcome']])).toEqual([
      ['conn-ops.1', 'generate', 'completed'],
      ['conn-ops.2', 'warmup', 'completed'],
    ]);
    expect(turns[0]).toMatchObject({ model: DEFAULT_MODEL_ID, input_tokens: 12, output_tokens: 'measured'.length });
    expect(setup.backend.chatRequests()[0]?.headers['x-request-id']).toBe('conn-ops.1');
    const closed = setup.gateway.logRecords().find((record) => record['msg'] === 'websocket connection closed' && record['request_id'] === 'conn-ops');
    expect(closed).toMatchObject({ close_code: 1000, turns: 2 });
    expect(JSON.stringify(setup.gateway.logRecords())).not.toContain(E2E_API_KEY);
  });
});
