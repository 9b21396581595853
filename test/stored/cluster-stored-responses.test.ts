/**
 * Stored responses across two gateway replicas sharing one real Redis (cluster mode): chains,
 * item references, GET/DELETE/input_items, key isolation, background runs and cross-replica
 * cancel, the Agents SDK's previousResponseId, Codex's stateless reasoning round-trip,
 * compaction, input token counts, and a Redis outage.
 */
import { Agent, OpenAIResponsesModel, run, setTracingDisabled } from '@openai/agents';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseSseData } from '../support/read-sse-events.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import {
  DEFAULT_MODEL_ID,
  type ScriptStep,
  type ScriptedBackend,
  done,
  finishChunk,
  roleChunk,
  startScriptedBackend,
  textAnswer,
  textChunks,
  toolCallAnswer,
  usageChunk,
} from '../support/scripted-backend.ts';
import { type StartedGateway, startGateway } from '../support/start-gateway.ts';
import { chatContentText } from '../support/use-gateway-with-backend.ts';

const KEY_A = 'sk-stored-owner-a';
const KEY_B = 'sk-stored-owner-b';
const SHARED_SECRET = 'shared-reasoning-key-0123456789abcdef';

let redis: TestRedis;
let backend: ScriptedBackend;
let replicaA: StartedGateway;
let replicaB: StartedGateway;

beforeAll(async () => {
  setTracingDisabled(true);
  [redis, backend] = await Promise.all([startRedis({ mode: 'process' }), startScriptedBackend()]);
  const env = { UPSTREAM_BASE_URL: backend.url, REDIS_URL: redis.url, REASONING_ENCRYPTION_KEY: SHARED_SECRET, UPSTREAM_MAX_RETRIES: '0' };
  [replicaA, replicaB] = await Promise.all([startGateway({ env }), startGateway({ env })]);
});
afterAll(async () => {
  await Promise.all([replicaA?.stop(), replicaB?.stop()]);
  await backend?.close();
  await redis?.stop();
});
beforeEach(() => backend.reset());

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function call(gateway: StartedGateway, method: string, path: string, body?: unknown, key = KEY_A): Promise<Answer> {
  const response = await fetch(`${gateway.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const create = (gateway: StartedGateway, body: Record<string, unknown>, key = KEY_A) =>
  call(gateway, 'POST', '/responses', { model: DEFAULT_MODEL_ID, ...body }, key);

/** [role, text] of every message the backend received in its `index`-th chat request. */
function sentMessages(index: number): [string, string][] {
  const messages = backend.chatRequests()[index]?.body?.messages ?? [];
  return messages.map((message) => [message.role, chatContentText(message.content)]);
}

/** GET the response from `gateway` until it is completed (a background run finishes on its own time). */
async function waitForCompleted(gateway: StartedGateway, id: string): Promise<Answer> {
  return vi.waitFor(
    async () => {
      const answer = await call(gateway, 'GET', `/responses/${id}`);
      expect(answer.body['status']).toBe('completed');
      return answer;
    },
    { timeout: 10_000, interval: 50 },
  );
}

/** SSE frames of a streamed POST, parsed. */
async function createStream(gateway: StartedGateway, body: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: DEFAULT_MODEL_ID, stream: true, ...body }),
  });
  expect(response.status).toBe(200);
  return parseSseData<Record<string, unknown>>(await response.text());
}

/** A long, slow answer whose steps count as the backend actually sends them (to see when the call is aborted). */
function slowCountedAnswer(): { script: { steps: ScriptStep[]; stepDelayMs: number }; sent: () => number; ended: () => boolean } {
  const steps: ScriptStep[] = [roleChunk(), ...textChunks('tick '.repeat(400)), finishChunk('stop'), usageChunk({ prompt: 5, completion: 400 }), done()];
  let sent = 0;
  let ended = false;
  const counted = Object.assign([...steps], {
    *[Symbol.iterator]() {
      try {
        for (const step of steps) {
          sent += 1;
          yield step;
        }
      } finally {
        // Also when the backend stops reading steps early (its client, the gateway, went away).
        ended = true;
      }
    },
  });
  return { script: { steps: counted, stepDelayMs: 25 }, sent: () => sent, ended: () => ended };
}

describe('stored responses across two replicas sharing Redis', () => {
  it('continues on replica B, at once, a conversation started on replica A (input and output replayed, instructions not)', async () => {
    backend.enqueue(textAnswer('Paris.'), textAnswer('About 2.1 million.'));
    const first = await create(replicaA, { input: 'Capital of France?', instructions: 'Be brief.' });
    expect(first.status).toBe(200);
    const second = await create(replicaB, { input: 'Its population?', previous_response_id: first.body['id'] });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'completed', previous_response_id: first.body['id'], store: true });
    expect(sentMessages(1)).toEqual([
      ['user', 'Capital of France?'],
      ['assistant', 'Paris.'],
      ['user', 'Its population?'],
    ]);
  });

  it('stores a streamed response before response.completed reaches the client', async () => {
    backend.enqueue(textAnswer('Streamed answer.'), textAnswer('Next.'));
    const events = await createStream(replicaA, { input: 'stream please' });
    const completed = events.at(-1) as { type: string; response: { id: string } };
    expect(completed.type).toBe('response.completed');
    const next = await create(replicaB, { input: 'and then?', previous_response_id: completed.response.id });
    expect(next.status).toBe(200);
    expect(sentMessages(1).map(([, text]) => text)).toEqual(['stream please', 'Streamed answer.', 'and then?']);
  });

  it('serves GET and input_items from any replica, and after DELETE the response is gone everywhere', async () => {
    backend.enqueue(textAnswer('Hello.'));
    const created = await create(replicaA, {
      input: [
        { role: 'user', content: 'hi' },
        { role: 'user', content: [{ type: 'input_text', text: 'there' }] },
      ],
    });
    const id = String(created.body['id']);

    const fetched = await call(replicaB, 'GET', `/responses/${id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);

    const items = await call(replicaB, 'GET', `/responses/${id}/input_items`);
    expect(items.body).toMatchObject({ object: 'list', has_more: false });
    const data = items.body['data'] as { id: string; type: string; status: string; content: { text: string }[] }[];
    expect(data.map((item) => item.content[0]?.text)).toEqual(['there', 'hi']); // newest first by default
    for (const item of data) expect(item).toMatchObject({ id: expect.stringMatching(/^msg_/) as unknown, type: 'message', status: 'completed' });
    const page = await call(replicaA, 'GET', `/responses/${id}/input_items?order=asc&limit=1`);
    expect(page.body).toMatchObject({ has_more: true, first_id: data[1]?.id, last_id: data[1]?.id });
    const rest = await call(replicaA, 'GET', `/responses/${id}/input_items?order=asc&limit=1&after=${data[1]?.id}`);
    expect(rest.body).toMatchObject({ has_more: false, first_id: data[0]?.id });
    expect((await call(replicaA, 'GET', `/responses/${id}/input_items?limit=101`)).status).toBe(400);

    const deleted = await call(replicaB, 'DELETE', `/responses/${id}`);
    expect(deleted).toEqual({ status: 200, body: { id, object: 'response', deleted: true } });
    expect((await call(replicaA, 'GET', `/responses/${id}`)).status).toBe(404);
    expect((await call(replicaA, 'GET', `/responses/${id}/input_items`)).status).toBe(404);
    expect((await call(replicaA, 'DELETE', `/responses/${id}`)).status).toBe(404);
    const chained = await create(replicaA, { input: 'more', previous_response_id: id });
    expect(chained.status).toBe(400);
    expect(backend.chatRequests()).toHaveLength(1);
  });

  it('keeps responses private to the key that created them: any other key gets 404, or 400 when chaining', async () => {
    backend.enqueue(toolCallAnswer([{ id: 'call_w', name: 'get_weather', arguments: '{"city":"Oslo"}' }]));
    const created = await create(replicaA, {
      input: 'Weather in Oslo?',
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } }],
    });
    const id = String(created.body['id']);
    const callItem = (created.body['output'] as { id: string; type: string }[]).find((item) => item.type === 'function_call');

    for (const [method, path] of [
      ['GET', `/responses/${id}`],
      ['GET', `/responses/${id}/input_items`],
      ['DELETE', `/responses/${id}`],
      ['POST', `/responses/${id}/cancel`],
    ] as const) {
      const answer = await call(replicaB, method, path, undefined, KEY_B);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body).toMatchObject({ error: { type: 'invalid_request_error', message: `Response with id '${id}' not found.` } });
    }
    const chained = await create(replicaB, { input: 'hi', previous_response_id: id }, KEY_B);
    expect(chained).toEqual({
      status: 400,
      body: {
        error: {
          message: `Previous response with id '${id}' not found.`,
          type: 'invalid_request_error',
          param: 'previous_response_id',
          code: 'previous_response_not_found',
        },
      },
    });
    const referenced = await create(replicaB, { input: [{ type: 'item_reference', id: callItem?.id }] }, KEY_B);
    expect(referenced.status).toBe(400);
    expect(referenced.body).toMatchObject({ error: { param: 'input[0]' } });
    expect((await call(replicaA, 'GET', `/responses/${id}`)).status).toBe(200);
    expect(backend.chatRequests()).toHaveLength(1);
  });

  it('resolves item_reference inputs from the store on another replica', async () => {
    backend.enqueue(toolCallAnswer([{ id: 'call_r', name: 'get_weather', arguments: '{"city":"Rome"}' }]), textAnswer('Sunny in Rome.'));
    const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const first = await create(replicaA, { input: 'Weather in Rome?', tools });
    const callItem = (first.body['output'] as { id: string; type: string; call_id: string }[]).find((item) => item.type === 'function_call');
    const second = await create(replicaB, {
      tools,
      input: [
        { role: 'user', content: 'Weather in Rome?' },
        { type: 'item_reference', id: callItem?.id },
        { type: 'function_call_output', call_id: callItem?.call_id, output: 'Sunny' },
      ],
    });
    expect(second.status).toBe(200);
    const messages = backend.chatRequests()[1]?.body?.messages ?? [];
    expect(messages[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_r', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] });
    expect(messages[2]).toMatchObject({ role: 'tool', tool_call_id: 'call_r' });
  });

  it('runs a background response detached from the client: POST answers queued, GET polls it to completed', async () => {
    backend.enqueue({ ...textAnswer('Finished in the background.'), stepDelayMs: 20 });
    const queued = await create(replicaA, { input: 'work on this', background: true });
    expect(queued.status).toBe(200);
    expect(queued.body).toMatchObject({ object: 'response', status: 'queued', background: true, output: [] });
    const id = String(queued.body['id']);
    const final = await waitForCompleted(replicaB, id);
    expect(final.body).toMatchObject({ id, status: 'completed', background: true });
    const text = (final.body['output'] as { type: string; content?: { text: string }[] }[])
      .flatMap((item) => item.content ?? [])
      .map((part) => part.text)
      .join('');
    expect(text).toBe('Finished in the background.');
  });

  it('streams a background response as created and queued (status queued), then the run’s events', async () => {
    backend.enqueue(textAnswer('Live.'));
    const events = await createStream(replicaA, { input: 'stream in background', background: true });
    expect(events.slice(0, 2).map((event) => [event['type'], (event['response'] as { status: string }).status])).toEqual([
      ['response.created', 'queued'],
      ['response.queued', 'queued'],
    ]);
    expect(events.at(-1)?.['type']).toBe('response.completed');
    expect(events.map((event) => event['sequence_number'])).toEqual(events.map((_, index) => index));
    const id = String((events[0]?.['response'] as { id?: string } | undefined)?.id);
    expect((await call(replicaB, 'GET', `/responses/${id}`)).body['status']).toBe('completed');

    // GET ?stream=true replays the finished response from the store, resumable with starting_after.
    const replay = await fetch(`${replicaB.baseURL}/responses/${id}?stream=true&starting_after=1`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(replay.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const replayed = parseSseData<Record<string, unknown>>(await replay.text());
    expect(replayed[0]).toMatchObject({ type: 'response.output_item.added', sequence_number: 2 });
    expect(replayed.at(-1)).toMatchObject({ type: 'response.completed', response: { id, status: 'completed' } });
  });

  it('keeps running a streamed background response after its client disconnects', async () => {
    backend.enqueue({ ...textAnswer('Nobody was watching.'), stepDelayMs: 40 });
    const abort = new AbortController();
    const response = await fetch(`${replicaA.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'go', background: true, stream: true }),
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value as Uint8Array | undefined);
    const id = /"id":"(resp_[0-9a-f]+)"/.exec(first)?.[1] ?? '';
    expect(id).toMatch(/^resp_/);
    abort.abort(); // the client goes away mid-run
    const final = await waitForCompleted(replicaB, id);
    const text = (final.body['output'] as { content?: { text: string }[] }[])
      .flatMap((item) => item.content ?? [])
      .map((part) => part.text)
      .join('');
    expect(text).toBe('Nobody was watching.');
  });

  it('cancels on replica B a background response running on replica A, which aborts its backend call', async () => {
    const slow = slowCountedAnswer();
    backend.enqueue(slow.script);
    const queued = await create(replicaA, { input: 'a long job', background: true });
    const id = String(queued.body['id']);
    await vi.waitFor(() => expect(slow.sent()).toBeGreaterThan(3), { timeout: 10_000 });

    const cancelled = await call(replicaB, 'POST', `/responses/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled', background: true });

    // Replica A notices within its poll interval (1 s) and aborts: the backend stops sending, far
    // from the end of the answer.
    await vi.waitFor(() => expect(slow.ended()).toBe(true), { timeout: 5_000 });
    expect(slow.sent()).toBeLessThan(300);
    expect((await call(replicaA, 'GET', `/responses/${id}`)).body['status']).toBe('cancelled');
    // Cancelling again is harmless; a response that was not a background one cannot be cancelled.
    expect((await call(replicaA, 'POST', `/responses/${id}/cancel`)).body['status']).toBe('cancelled');
    backend.enqueue(textAnswer('foreground'));
    const foreground = await create(replicaA, { input: 'quick' });
    expect((await call(replicaB, 'POST', `/responses/${String(foreground.body['id'])}/cancel`)).status).toBe(400);
  });

  it('works with the openai SDK’s retrieve, inputItems.list (auto-paginated), cancel, delete, inputTokens.count and compact', async () => {
    const clientA = new OpenAI({ baseURL: replicaA.baseURL, apiKey: KEY_A, maxRetries: 0 });
    const clientB = new OpenAI({ baseURL: replicaB.baseURL, apiKey: KEY_A, maxRetries: 0 });
    backend.enqueue(textAnswer('Listed.'));
    const input = Array.from({ length: 25 }, (_, index) => ({ role: 'user' as const, content: `line ${index}` }));
    const created = await clientA.responses.create({ model: DEFAULT_MODEL_ID, input });
    const retrieved = await clientB.responses.retrieve(created.id);
    expect(retrieved.output_text).toBe('Listed.');
    const texts: string[] = [];
    for await (const item of clientB.responses.inputItems.list(created.id, { limit: 10, order: 'asc' })) {
      if (item.type === 'message') texts.push(item.content.map((part) => ('text' in part ? part.text : '')).join(''));
    }
    expect(texts).toEqual(input.map((entry) => entry.content));
    const tokens = await clientB.responses.inputTokens.count({ model: DEFAULT_MODEL_ID, input: 'Hello world' });
    expect(tokens).toEqual({ object: 'response.input_tokens', input_tokens: 9 });

    backend.enqueue(textAnswer('A summary.'));
    const compacted = await clientB.responses.compact({ model: DEFAULT_MODEL_ID, previous_response_id: created.id });
    expect(compacted.object).toBe('response.compaction');
    expect(compacted.output).toHaveLength(26);
    expect(compacted.output.at(-1)?.type).toBe('compaction');

    const slow = slowCountedAnswer();
    backend.enqueue(slow.script);
    const queued = await clientA.responses.create({ model: DEFAULT_MODEL_ID, input: 'long', background: true });
    expect(queued.status).toBe('queued');
    const cancelled = await clientB.responses.cancel(queued.id);
    expect(cancelled.status).toBe('cancelled');
    await clientA.responses.delete(created.id);
    await expect(clientB.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('lets the Agents SDK continue a conversation with previousResponseId on another replica', async () => {
    backend.enqueue(textAnswer('Nice to meet you, Ada.'), textAnswer('Your name is Ada.'));
    const agentOn = (gateway: StartedGateway) =>
      new Agent({
        name: 'Memory agent',
        instructions: 'Remember what the user says.',
        model: new OpenAIResponsesModel(new OpenAI({ baseURL: gateway.baseURL, apiKey: KEY_A, maxRetries: 0 }), DEFAULT_MODEL_ID),
      });
    const first = await run(agentOn(replicaA), 'My name is Ada.');
    expect(first.lastResponseId).toMatch(/^resp_/);
    const second = await run(agentOn(replicaB), 'What is my name?', { previousResponseId: first.lastResponseId ?? '' });
    expect(second.finalOutput).toBe('Your name is Ada.');
    expect(sentMessages(1)).toEqual([
      ['system', 'Remember what the user says.'],
      ['user', 'My name is Ada.'],
      ['assistant', 'Nice to meet you, Ada.'],
      ['user', 'What is my name?'],
    ]);
  });

  it('round-trips a reasoning model’s thinking through encrypted_content between replicas (Codex, store:false), dropping tampered blobs', async () => {
    const thinking = 'The user wants the file list; I should call the shell tool.';
    backend.enqueue(
      toolCallAnswer([{ id: 'call_ls', name: 'shell', arguments: '{"command":["ls"]}' }], { reasoning: thinking }),
      textAnswer('There are two files.'),
      textAnswer('There are two files.'),
    );
    const tools = [{ type: 'function', name: 'shell', parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } } } }];
    const codexTurn = {
      store: false,
      include: ['reasoning.encrypted_content'],
      reasoning: { effort: 'medium', summary: 'auto' },
      tools,
      tool_choice: 'auto',
      parallel_tool_calls: false,
    };
    const history = [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions instructions>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list the files' }] },
    ];
    const events = await createStream(replicaA, { ...codexTurn, input: history });
    const done = events.filter((event) => event['type'] === 'response.output_item.done').map((event) => event['item'] as Record<string, unknown>);
    const reasoning = done.find((item) => item['type'] === 'reasoning');
    const functionCall = done.find((item) => item['type'] === 'function_call');
    expect(typeof reasoning?.['encrypted_content']).toBe('string');

    // Codex replays reasoning without its id, with content null.
    const replay = (encrypted: unknown) => [
      ...history,
      { type: 'reasoning', summary: [], content: null, encrypted_content: encrypted },
      { type: 'function_call', name: 'shell', arguments: functionCall?.['arguments'], call_id: functionCall?.['call_id'] },
      { type: 'function_call_output', call_id: functionCall?.['call_id'], output: 'a.txt\nb.txt' },
    ];
    await createStream(replicaB, { ...codexTurn, input: replay(reasoning?.['encrypted_content']) });
    const assistant = backend.chatRequests()[1]?.body?.messages.find((message) => message.role === 'assistant') as Record<string, unknown> | undefined;
    expect(assistant?.['reasoning_content']).toBe(thinking);

    const blob = String(reasoning?.['encrypted_content']);
    const tampered = `${blob.slice(0, 20)}${blob[20] === 'A' ? 'B' : 'A'}${blob.slice(21)}`;
    const events3 = await createStream(replicaB, { ...codexTurn, input: replay(tampered) });
    expect(events3.at(-1)?.['type']).toBe('response.completed');
    const assistant3 = backend.chatRequests()[2]?.body?.messages.find((message) => message.role === 'assistant') as Record<string, unknown> | undefined;
    expect(assistant3?.['reasoning_content']).toBeUndefined();
    expect(replicaB.logRecords().some((record) => String(record['msg']).includes('reasoning encrypted_content that does not open'))).toBe(true);
  });

  it('compacts a conversation into the user messages plus a compaction item that expands again on any replica', async () => {
    expect((await call(replicaA, 'POST', '/responses/compact', { input: 'no model' })).body).toMatchObject({ error: { param: 'model' } });
    backend.enqueue(textAnswer('SUMMARY: parser fixed; tests still to write.'), textAnswer('Writing the tests now.'));
    const compacted = await call(replicaA, 'POST', '/responses/compact', {
      model: DEFAULT_MODEL_ID,
      input: [
        { type: 'message', role: 'developer', content: 'house rules' },
        { type: 'message', role: 'user', content: 'fix the parser' },
        { type: 'message', role: 'assistant', content: 'Fixed.' },
        { type: 'message', role: 'user', content: 'now the tests' },
      ],
    });
    expect(compacted.status).toBe(200);
    expect(compacted.body).toMatchObject({ object: 'response.compaction', id: expect.stringMatching(/^resp_/) as unknown, usage: { input_tokens: 12 } });
    const output = compacted.body['output'] as Record<string, unknown>[];
    expect(output.map((item) => [item['type'], item['role'] ?? null])).toEqual([
      ['message', 'user'],
      ['message', 'user'],
      ['compaction', null],
    ]);
    expect(output[2]).toMatchObject({ id: expect.stringMatching(/^cmp_/) as unknown, encrypted_content: expect.any(String) as unknown });
    expect(JSON.stringify(output)).not.toContain('SUMMARY');
    expect(sentMessages(0).at(-1)?.[1]).toContain('CONTEXT CHECKPOINT COMPACTION');
    // The summary is streamed from the backend: a long one is bounded by the idle timeout between
    // chunks, not by a whole completion's time to headers.
    expect(backend.chatRequests()[0]?.body?.stream).toBe(true);

    const next = await create(replicaB, { input: [...output, { role: 'user', content: 'continue' }], store: false });
    expect(next.status).toBe(200);
    expect(sentMessages(1).some(([role, text]) => role === 'user' && text.includes('SUMMARY: parser fixed; tests still to write.'))).toBe(true);
  });

  it('counts input tokens for a would-be request, including a stored chain', async () => {
    const alone = await call(replicaA, 'POST', '/responses/input_tokens', { model: DEFAULT_MODEL_ID, input: 'Hello world' });
    expect(alone).toEqual({ status: 200, body: { object: 'response.input_tokens', input_tokens: 9 } });
    backend.enqueue(textAnswer('A fairly long answer about many things that happened.'));
    const first = await create(replicaA, { input: 'Tell me a story.' });
    const chained = await call(replicaB, 'POST', '/responses/input_tokens', { input: 'Hello world', previous_response_id: first.body['id'] });
    expect(Number(chained.body['input_tokens'])).toBeGreaterThan(9 + 10);
    expect(backend.chatRequests()).toHaveLength(1);
  });

  it('while Redis is down: refuses store:true with 503 before calling the backend, still answers store:false, and reads are 503 store_unavailable', async () => {
    backend.enqueue(textAnswer('Stored before the outage.'));
    const before = await create(replicaA, { input: 'before' });
    await redis.kill();
    try {
      // The probe notices within seconds; /ready says why.
      const ready = await vi.waitFor(
        async () => {
          const response = await fetch(`${replicaA.url}/ready`);
          expect(response.status).toBe(503);
          return { status: response.status, body: (await response.json()) as Record<string, unknown> };
        },
        { timeout: 10_000, interval: 50 },
      );
      expect(ready.body).toMatchObject({ status: 'not_ready', redis: 'down', redis_reason: 'connection' });
      const calls = backend.chatRequests().length;
      const refused = await fetch(`${replicaA.baseURL}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'during the outage' }),
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({ error: { type: 'server_error', code: 'store_unavailable' } });
      expect(backend.chatRequests()).toHaveLength(calls); // refused before any backend call

      backend.enqueue(textAnswer('Answered anyway.'));
      const stateless = await create(replicaA, { input: 'not stored', store: false });
      expect(stateless.status).toBe(200);
      expect(stateless.body['status']).toBe('completed');

      const read = await call(replicaB, 'GET', `/responses/${String(before.body['id'])}`);
      expect(read.status).toBe(503);
      expect(read.body).toMatchObject({ error: { code: 'store_unavailable' } });
      const chained = await create(replicaB, { input: 'next', previous_response_id: before.body['id'] });
      expect(chained.status).toBe(503);
      const metrics = await (await fetch(`${replicaA.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_response_store_failures_total\{operation="put",reason="unavailable"\} [1-9]/);
      expect(metrics).toMatch(/gateway_redis_up 0/);
    } finally {
      await redis.restart();
    }
    await vi.waitFor(async () => expect((await fetch(`${replicaA.url}/ready`)).status).toBe(200), { timeout: 10_000, interval: 50 });
  });
});
