/**
 * Backend dialects and conversion warnings as a user meets them: the openai SDK against the real
 * gateway, whose scripted backend speaks like Ollama (every parallel call at index 0), like a Qwen3
 * server without a reasoning parser (`<think>` in content, cut anywhere, written in pieces), and lists
 * its models like Chutes. Values in the backend scripts come from the converter's transcribed fixtures
 * (libs/responses/src/__fixtures__, each naming its source).
 */
import OpenAI, { BadRequestError } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { beforeAll, describe, expect, it } from 'vitest';
import { chutesModel, DEFAULT_MODEL_ID, done, finishChunk, roleChunk, type ScriptStep, textAnswer, usageChunk } from '../support/scripted-backend.ts';
import { E2E_API_KEY, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

const QWEN3 = 'Qwen/Qwen3-32B';
const HOUSE_MODEL = 'local/house-model';

const setup = useGatewayWithBackend({
  backend: { models: [DEFAULT_MODEL_ID, chutesModel(QWEN3), chutesModel(HOUSE_MODEL)] },
  // The operator says the house model runs on Ollama, whatever its /v1/models entry looks like.
  env: { BACKEND_PROFILES: JSON.stringify([{ models: 'local/*', backend: 'ollama' }]) },
});
let client: OpenAI;

beforeAll(() => {
  client = new OpenAI({ baseURL: setup.gateway.baseURL, apiKey: E2E_API_KEY, maxRetries: 0 });
});

function warningsOf(headers: Headers): string[] {
  const value = headers.get('x-gateway-warnings');
  return value === null ? [] : (JSON.parse(value) as string[]);
}

const tools: OpenAI.Responses.Tool[] = [
  { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } }, strict: false },
  { type: 'function', name: 'get_time', parameters: { type: 'object', properties: { timezone: { type: 'string' } } }, strict: false },
];

// Ollama's two parallel calls, both at index 0 (libs/responses/src/__fixtures__/ollama-parallel-calls-at-index-zero.chunks.txt).
const ollamaParallelCalls: ScriptStep[] = [
  {
    kind: 'delta',
    delta: {
      role: 'assistant',
      content: '',
      tool_calls: [{ index: 0, id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Seattle"}' } }],
    },
  },
  {
    kind: 'delta',
    delta: { content: '', tool_calls: [{ index: 0, id: 'call_def456', type: 'function', function: { name: 'get_time', arguments: '{"timezone":"UTC"}' } }] },
  },
  finishChunk('tool_calls'),
  usageChunk({ prompt: 3, completion: 2 }),
  done(),
];

// vLLM's Qwen3 parser test output, cut inside both tags (…/vllm-qwen3-inline-think-split-tags.chunks.txt).
const splitThink: ScriptStep[] = [
  roleChunk(),
  ...['<', 'thi', 'nk>This is a reas', 'oning section<', '/th', 'ink', '>This is the rest'].map(
    (content): ScriptStep => ({ kind: 'delta', delta: { content } }),
  ),
  finishChunk('stop'),
  usageChunk({ prompt: 247, completion: 228 }),
  done(),
];

describe('backend dialects through the gateway, read with the openai SDK', () => {
  it('keeps Ollama parallel calls that all come at index 0 as two function_call items, each with its own call_id', async () => {
    // Every SSE event written in 7-byte pieces, so the calls also cross TCP writes.
    setup.backend.enqueue({ steps: ollamaParallelCalls, writeBytesPerPiece: 7 });
    const stream = client.responses.stream({ model: DEFAULT_MODEL_ID, input: 'Weather in Seattle and the time in UTC?', tools, store: false });
    const response = await stream.finalResponse();
    expect(response.output.map((item) => (item.type === 'function_call' ? [item.call_id, item.name, item.arguments] : item.type))).toEqual([
      ['call_abc123', 'get_weather', '{"location":"Seattle"}'],
      ['call_def456', 'get_time', '{"timezone":"UTC"}'],
    ]);
  });

  it('turns <think> split across chunks and TCP writes into a reasoning item, with no piece of a tag in the answer', async () => {
    setup.backend.enqueue({ steps: splitThink, writeBytesPerPiece: 3 });
    const stream = client.responses.stream({ model: DEFAULT_MODEL_ID, input: 'hi', store: false });
    const events: ResponseStreamEvent[] = [];
    stream.on('event', (event) => events.push(event));
    const response = await stream.finalResponse();
    expect(response.output).toMatchObject([
      { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'This is a reasoning section' }] },
      { type: 'message', content: [{ type: 'output_text', text: 'This is the rest' }] },
    ]);
    expect(response.output_text).toBe('This is the rest');
    const textDeltas = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : []));
    expect(textDeltas.join('')).toBe('This is the rest');
    expect(textDeltas.filter((delta) => /[<>]/.test(delta))).toEqual([]);
  });

  it('splits <think> in a non-streamed answer the same way', async () => {
    setup.backend.enqueue({ steps: splitThink });
    const response = await client.responses.create({ model: DEFAULT_MODEL_ID, input: 'hi', store: false });
    expect(setup.backend.chatRequests()[0]?.body).toMatchObject({ stream: false });
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(response.output_text).toBe('This is the rest');
  });

  it("switches a Qwen3 model's thinking off through chat_template_kwargs on a Chutes catalogue, and says what it did", async () => {
    setup.backend.enqueue(textAnswer('Hi.'));
    const { data, response } = await client.responses.create({ model: QWEN3, input: 'hi', reasoning: { effort: 'none' }, store: false }).withResponse();
    expect(data.output_text).toBe('Hi.');
    const sent = setup.backend.chatRequests()[0]?.body as Record<string, unknown> | undefined;
    expect(sent?.['chat_template_kwargs']).toEqual({ enable_thinking: false });
    expect(sent).not.toHaveProperty('reasoning_effort');
    expect(warningsOf(response.headers)).toEqual([expect.stringMatching(/'reasoning\.effort' 'none' is not sent: the backend \(chutes\/qwen3\)/)]);
  });

  it('follows BACKEND_PROFILES over what the catalogue suggests', async () => {
    setup.backend.enqueue(textAnswer('Hi.'));
    await client.responses.create({ model: HOUSE_MODEL, input: 'hi', reasoning: { effort: 'none' }, store: false });
    const sent = setup.backend.chatRequests()[0]?.body as Record<string, unknown> | undefined;
    // Ollama turns thinking off with reasoning_effort "none" (a Chutes model would get no effort at all).
    expect(sent?.['reasoning_effort']).toBe('none');
    expect(sent).not.toHaveProperty('chat_template_kwargs');
  });
});

describe('conversion warnings and tool kinds through the gateway', () => {
  it('drops a hosted tool with a warning the client reads in x-gateway-warnings, on a JSON answer', async () => {
    setup.backend.enqueue(textAnswer('Hello.'));
    const { data, response } = await client.responses
      .create({ model: DEFAULT_MODEL_ID, input: 'hi', tools: [{ type: 'web_search' }, ...tools], store: false })
      .withResponse();
    expect(data.output_text).toBe('Hello.');
    expect(warningsOf(response.headers)).toEqual(["tools[0]: dropped hosted tool of type 'web_search'; it cannot run behind a Chat Completions backend."]);
    expect(setup.backend.chatRequests()[0]?.body?.tools?.map((tool) => (tool.type === 'function' ? tool.function.name : tool.type))).toEqual([
      'get_weather',
      'get_time',
    ]);
  });

  it('sends the same header on an event stream', async () => {
    setup.backend.enqueue(textAnswer('Hello.'));
    const { data, response } = await client.responses
      .create({ model: DEFAULT_MODEL_ID, input: 'hi', tools: [{ type: 'image_generation' }], stream: true, store: false })
      .withResponse();
    for await (const _event of data) {
      // drain
    }
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(warningsOf(response.headers)).toEqual([expect.stringContaining("dropped hosted tool of type 'image_generation'")]);
  });

  it('sends no header when nothing was dropped', async () => {
    setup.backend.enqueue(textAnswer('Hello.'));
    const { response } = await client.responses.create({ model: DEFAULT_MODEL_ID, input: 'hi', store: false }).withResponse();
    expect(response.headers.get('x-gateway-warnings')).toBeNull();
  });

  it('refuses a tool type nobody defines with a 400 naming tools[i].type, before calling the backend', async () => {
    const failure = await client.responses
      .create({ model: DEFAULT_MODEL_ID, input: 'hi', tools: [{ type: 'web_search' }, { type: 'functions', name: 'f' } as unknown as OpenAI.Responses.Tool] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BadRequestError);
    expect(failure).toMatchObject({ status: 400, param: 'tools[1].type', code: 'invalid_value' });
    expect((failure as BadRequestError).message).toContain("Invalid value: 'functions'");
    expect(setup.backend.chatRequests()).toEqual([]);
  });
});
