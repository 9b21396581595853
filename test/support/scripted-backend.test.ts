/**
 * Proves the scripted backend speaks the real Chat Completions protocol: the openai SDK (which
 * parses SSE, accumulates tool-call fragments and maps HTTP errors) must read every script back.
 */
import { request as httpRequest } from 'node:http';
import OpenAI, { APIConnectionTimeoutError, APIError, BadRequestError, RateLimitError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MODEL_ID,
  type ScriptedBackend,
  chutesModel,
  done,
  errorChunk,
  finishChunk,
  httpError,
  pauseUntil,
  reasoningChunks,
  roleChunk,
  startScriptedBackend,
  textAnswer,
  textChunks,
  toolCallAnswer,
  toolCallChunks,
  usageChunk,
} from './scripted-backend.ts';
import { parseSseEvents } from './read-sse-events.ts';

let backend: ScriptedBackend;
let client: OpenAI;

beforeAll(async () => {
  backend = await startScriptedBackend();
  client = new OpenAI({ baseURL: backend.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(async () => {
  await backend.close();
});
beforeEach(() => {
  backend.reset();
});

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** The raw response body of a streamed chat request, and how many reads it took. */
function fetchRaw(body: unknown): Promise<{ text: string; reads: number; status: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${backend.url}/chat/completions`);
    const outgoing = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (incoming) => {
      const parts: Buffer[] = [];
      incoming.on('data', (part: Buffer) => parts.push(part));
      incoming.on('end', () => resolve({ text: Buffer.concat(parts).toString('utf8'), reads: parts.length, status: incoming.statusCode ?? 0 }));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

describe('scripted backend, driven by the openai SDK', () => {
  it('streams text chunks in the real chunk shape, with usage last when include_usage is set', async () => {
    backend.enqueue(textAnswer('Hello wörld 👋', { usage: { prompt: 7, completion: 5 } }));
    const chunks = await collect(
      await client.chat.completions.create({
        model: DEFAULT_MODEL_ID,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Hello wörld 👋');
    const first = chunks[0];
    expect(first?.id).toMatch(/^chatcmpl-/);
    expect(first).toMatchObject({ object: 'chat.completion.chunk', model: DEFAULT_MODEL_ID, usage: null });
    expect(first?.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 } });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('leaves out the usage chunk and the usage key when include_usage was not asked for', async () => {
    backend.enqueue(textAnswer('ok'));
    const chunks = await collect(await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [{ role: 'user', content: 'hi' }], stream: true }));
    expect(chunks.every((chunk) => chunk.choices.length === 1 && !('usage' in chunk))).toBe(true);
  });

  it('streams reasoning in the field the script names', async () => {
    backend.enqueue({ steps: [roleChunk(), ...reasoningChunks('think', { field: 'reasoning' }), ...textChunks('answer'), finishChunk('stop'), done()] });
    const chunks = await collect(await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [{ role: 'user', content: 'hi' }], stream: true }));
    const deltas = chunks.map((chunk) => chunk.choices[0]?.delta as Record<string, unknown> | undefined);
    const reasoning = deltas.map((delta) => delta?.['reasoning'] ?? '');
    expect(reasoning.every((piece) => typeof piece === 'string')).toBe(true);
    expect((reasoning as string[]).join('')).toBe('think');
    expect(deltas.some((delta) => delta !== undefined && 'reasoning_content' in delta)).toBe(false);
  });

  it('streams interleaved fragmented parallel tool calls that the SDK reassembles by index', async () => {
    backend.enqueue(
      toolCallAnswer(
        [
          { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_b', name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
        ],
        { fragment: 3, interleave: true },
      ),
    );
    const stream = client.chat.completions.stream({
      model: DEFAULT_MODEL_ID,
      messages: [{ role: 'user', content: 'weather and time' }],
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
        { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
      ],
    });
    const indexes: number[] = [];
    stream.on('chunk', (chunk) => {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) indexes.push(call.index);
    });
    const completion = await stream.finalChatCompletion();
    expect(indexes.slice(0, 4)).toEqual([0, 1, 0, 1]);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"zone":"Europe/Paris"}' } },
    ]);
  });

  it('answers stream:false with one chat.completion folded from the same script', async () => {
    backend.enqueue({
      steps: [
        roleChunk(),
        ...reasoningChunks('hmm'),
        ...textChunks('Calling.'),
        ...toolCallChunks([{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }], { fragment: 2 }),
        finishChunk('tool_calls'),
        usageChunk({ prompt: 10, completion: 4, reasoning: 2, cached: 3 }),
        done(),
      ],
    });
    const completion = await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [{ role: 'user', content: 'go' }] });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: DEFAULT_MODEL_ID,
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'Calling.',
            reasoning_content: 'hmm',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
          },
        },
      ],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 4,
        total_tokens: 14,
        prompt_tokens_details: { cached_tokens: 3 },
        completion_tokens_details: { reasoning_tokens: 2 },
      },
    });
  });

  it('answers a scripted HTTP error that the SDK maps to its status, body and headers', async () => {
    backend.enqueue(
      httpError(400, { message: "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens." }),
      httpError(429, { message: 'Too many requests', type: 'rate_limit_exceeded' }, { headers: { 'retry-after': '7' } }),
    );
    const overflow = await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [] }).catch((error: unknown) => error);
    expect(overflow).toBeInstanceOf(BadRequestError);
    expect((overflow as BadRequestError).error).toMatchObject({ type: 'BadRequestError', code: 400 });
    expect((overflow as BadRequestError).message).toContain('maximum context length');
    const limited = await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [] }).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers.get('retry-after')).toBe('7');
  });

  it('sends a mid-stream error payload that the SDK raises as an APIError', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('partial'), errorChunk({ message: 'engine died', code: 500 })] });
    const stream = await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [], stream: true });
    await expect(collect(stream)).rejects.toBeInstanceOf(APIError);
  });

  it('cuts the connection after the given number of chunks', async () => {
    backend.enqueue({ ...textAnswer('one two three four five'), cutAfterSteps: 3 });
    const stream = await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [], stream: true });
    const seen: ChatCompletionChunk[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) seen.push(chunk);
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(seen).toHaveLength(3);
  });

  it('holds a stream at a pause until its promise settles, the chunks before it already delivered', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    backend.enqueue({
      steps: [roleChunk(), ...textChunks('before', { split: 10 }), pauseUntil(released), ...textChunks('after', { split: 10 }), finishChunk('stop'), done()],
    });
    const arrivals = new Map<string, number>();
    for await (const chunk of await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [], stream: true })) {
      const text = chunk.choices[0]?.delta.content;
      if (text) arrivals.set(text, performance.now());
      // The client saw the chunk before the pause; the backend goes on 300 ms later.
      if (text === 'before') setTimeout(release, 300);
    }
    expect([...arrivals.keys()]).toEqual(['before', 'after']);
    expect((arrivals.get('after') ?? 0) - (arrivals.get('before') ?? 0)).toBeGreaterThanOrEqual(290);
  });

  it('can end a stream without [DONE]', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('bye'), finishChunk('stop')] });
    const raw = await fetchRaw({ model: DEFAULT_MODEL_ID, messages: [], stream: true });
    expect(raw.text).toContain('"finish_reason":"stop"');
    expect(raw.text).not.toContain('[DONE]');
  });

  it('splits one event across writes, even inside multi-byte characters, and the SDK still decodes it', async () => {
    const script = { steps: [roleChunk(), ...textChunks('wörld 👋', { split: 8 }), finishChunk('stop'), done()], writeBytesPerPiece: 3 };
    backend.enqueue(script, script);
    const raw = await fetchRaw({ model: DEFAULT_MODEL_ID, messages: [], stream: true });
    const events = parseSseEvents(raw.text);
    expect(raw.reads).toBeGreaterThan(events.length * 2);
    const chunks = await collect(await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [], stream: true }));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('wörld 👋');
  });

  it('delays headers and chunks as scripted', async () => {
    backend.enqueue({ ...textAnswer('slow'), headersDelayMs: 150, stepDelayMs: 20 });
    const started = performance.now();
    await collect(await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [], stream: true }));
    // 150 ms before headers + 4 gaps of 20 ms between the role, text, finish and usage/[DONE] chunks.
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('can hang before headers until the client gives up, and still closes cleanly', async () => {
    backend.enqueue({ hang: 'before-headers' });
    const failure = await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [] }, { timeout: 300 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('records every request with path, headers and parsed body, and answers dynamically from a handler', async () => {
    backend.setHandler((request) => textAnswer(`echo ${request.body?.messages.length ?? 0}`));
    const completion = await client.chat.completions.create({
      model: DEFAULT_MODEL_ID,
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'u' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('echo 2');
    expect(backend.chatRequests()).toHaveLength(1);
    const [recorded] = backend.requests;
    expect(recorded).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: { model: DEFAULT_MODEL_ID } });
    expect(recorded?.headers.authorization).toBe('Bearer sk-test');
  });

  it('fails loudly when nothing was scripted', async () => {
    const failure = await client.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).status).toBe(500);
    expect((failure as APIError).message).toContain('no script queued');
  });

  it('serves the model list in Chutes shape', async () => {
    backend.setModels(['deepseek-ai/DeepSeek-V3-0324', chutesModel('Qwen/Qwen3-32B', { max_model_len: 40_960 })]);
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toEqual(['deepseek-ai/DeepSeek-V3-0324', 'Qwen/Qwen3-32B']);
    expect(page.data[1]).toMatchObject({ object: 'model', root: 'Qwen/Qwen3-32B', max_model_len: 40_960, pricing: { prompt: 0.25 } });
    backend.setModels([DEFAULT_MODEL_ID]);
  });

  it('rejects requests without the configured API key', async () => {
    const guarded = await startScriptedBackend({ apiKey: 'sk-right' });
    try {
      const wrong = new OpenAI({ baseURL: guarded.url, apiKey: 'sk-wrong', maxRetries: 0 });
      const failure = await wrong.models.list().catch((error: unknown) => error);
      expect((failure as APIError).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });

  it('closes while a connection is still open', async () => {
    const doomed = await startScriptedBackend();
    doomed.enqueue({ steps: [roleChunk()], hang: 'after-steps' });
    const doomedClient = new OpenAI({ baseURL: doomed.url, apiKey: 'k', maxRetries: 0 });
    const stream = await doomedClient.chat.completions.create({ model: DEFAULT_MODEL_ID, messages: [], stream: true });
    const reading = collect(stream);
    await doomed.close();
    await expect(reading).rejects.toBeInstanceOf(Error);
  });
});
