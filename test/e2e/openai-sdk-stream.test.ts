/**
 * openai SDK `responses.stream()` through the gateway. The SDK's accumulator checks event order
 * strictly (created first, items appended in order, deltas only into announced items/parts,
 * complete output at the terminal event): `finalResponse()` resolving is itself an assertion.
 */
import OpenAI from 'openai';
import type { ResponseCreateParamsNonStreaming, ResponseFunctionToolCall, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, done, errorChunk, finishChunk, roleChunk, textAnswer, textChunks, toolCallAnswer, usageChunk } from '../support/scripted-backend.ts';
import { E2E_API_KEY, expectReasoningText, postResponsesStream, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

// Several tests here are backend faults on purpose; a tripped breaker would turn later ones into 503s.
const setup = useGatewayWithBackend({ env: { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '1000' } });
let client: OpenAI;

beforeAll(() => {
  client = new OpenAI({ baseURL: setup.gateway.baseURL, apiKey: E2E_API_KEY, maxRetries: 0 });
});

async function streamResponse(params: Omit<ResponseCreateParamsNonStreaming, 'stream'>) {
  const stream = client.responses.stream({ ...params, store: false });
  const events: ResponseStreamEvent[] = [];
  stream.on('event', (event) => events.push(event));
  const response = await stream.finalResponse();
  return { response, types: events.map((event) => event.type) };
}

const weatherTools: OpenAI.Responses.Tool[] = [
  { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false },
  { type: 'function', name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } }, strict: false },
];

describe('openai SDK responses.stream() through the gateway', () => {
  it.each([
    { field: 'reasoning_content' as const, summary: 'auto' as const },
    { field: 'reasoning' as const, summary: undefined },
  ])('streams $field reasoning then text in order, and asks the backend for usage', async ({ field, summary }) => {
    setup.backend.enqueue(
      textAnswer('Hi there, wörld 👋!', { reasoning: 'The user greets me.', reasoningField: field, usage: { prompt: 11, completion: 9, reasoning: 4 } }),
    );
    const { response, types } = await streamResponse({
      model: DEFAULT_MODEL_ID,
      input: 'Hello',
      reasoning: summary === undefined ? { effort: 'medium' } : { effort: 'medium', summary },
    });

    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((type) => type === 'response.completed')).toHaveLength(1);
    expect(response.status).toBe('completed');
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expectReasoningText(response.output[0], 'The user greets me.');
    expect(response.output_text).toBe('Hi there, wörld 👋!');
    expect(response.usage).toMatchObject({ input_tokens: 11, output_tokens: 9, total_tokens: 20, output_tokens_details: { reasoning_tokens: 4 } });

    const sent = setup.backend.chatRequests()[0]?.body;
    expect(sent).toMatchObject({ model: DEFAULT_MODEL_ID, stream: true, stream_options: { include_usage: true } });
  });

  it('streams parallel tool calls whose fragments the backend interleaved as separate function_call items', async () => {
    setup.backend.enqueue(
      toolCallAnswer(
        [
          { id: 'call_w', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_t', name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
        ],
        { fragment: 3, interleave: true },
      ),
    );
    const { response, types } = await streamResponse({ model: DEFAULT_MODEL_ID, input: 'Weather and time in Paris?', tools: weatherTools });

    expect(response.status).toBe('completed');
    const calls = response.output as ResponseFunctionToolCall[];
    expect(calls.map((call) => [call.type, call.call_id, call.name, call.arguments])).toEqual([
      ['function_call', 'call_w', 'get_weather', '{"city":"Paris"}'],
      ['function_call', 'call_t', 'get_time', '{"zone":"Europe/Paris"}'],
    ]);
    expect(types.filter((type) => type === 'response.function_call_arguments.done')).toHaveLength(2);
    const sent = setup.backend.chatRequests()[0]?.body;
    expect(sent?.tools?.map((tool) => (tool.type === 'function' ? tool.function.name : tool.type))).toEqual(['get_weather', 'get_time']);
    expect(sent?.stream_options).toEqual({ include_usage: true });
  });

  it('ends as incomplete with reason max_output_tokens when the backend stops for length', async () => {
    setup.backend.enqueue({
      steps: [roleChunk(), ...textChunks('Once upon a time'), finishChunk('length'), usageChunk({ prompt: 5, completion: 16 }), done()],
    });
    const { response, types } = await streamResponse({ model: DEFAULT_MODEL_ID, input: 'Tell a long story', max_output_tokens: 16 });

    expect(types.at(-1)).toBe('response.incomplete');
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output_text).toBe('Once upon a time');
    const sent = setup.backend.chatRequests()[0]?.body as Record<string, unknown> | undefined;
    expect(sent?.['max_completion_tokens'] ?? sent?.['max_tokens']).toBe(16);
  });

  it('surfaces a backend connection cut mid-stream as an error, ending the stream with error and response.failed', async () => {
    const cut = { ...textAnswer('This sentence will never be finished.'), cutAfterSteps: 4 };
    setup.backend.enqueue(cut, cut);

    const stream = client.responses.stream({ model: DEFAULT_MODEL_ID, input: 'Talk', store: false });
    await expect(stream.finalResponse()).rejects.toBeInstanceOf(OpenAI.APIError);

    const wire = await postResponsesStream(setup.gateway.baseURL, { model: DEFAULT_MODEL_ID, input: 'Talk', store: false });
    expect(wire.status).toBe(200);
    const types = wire.events.map((event) => event.data['type']);
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    const failed = wire.events.at(-1)?.data['response'] as { status: string; error: { code: unknown; message: unknown } };
    expect(failed.status).toBe('failed');
    expect(typeof failed.error.code).toBe('string');
    expect(typeof failed.error.message).toBe('string');
    // Every frame names its event, and sequence numbers count up from 0.
    expect(wire.events.every((event) => event.event === event.data['type'])).toBe(true);
    expect(wire.events.map((event) => event.data['sequence_number'])).toEqual(wire.events.map((_, index) => index));
  });

  it('turns an in-band backend error payload into error and response.failed', async () => {
    setup.backend.enqueue({
      steps: [roleChunk(), ...textChunks('Partial'), errorChunk({ message: 'CUDA out of memory', type: 'InternalServerError', code: 500 })],
    });
    const wire = await postResponsesStream(setup.gateway.baseURL, { model: DEFAULT_MODEL_ID, input: 'Talk', store: false });

    const types = wire.events.map((event) => event.data['type']);
    expect(types[0]).toBe('response.created');
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(types.filter((type) => type === 'response.completed')).toHaveLength(0);
  });

  it('reassembles events the backend split across TCP writes, inside multi-byte characters too', async () => {
    setup.backend.enqueue({ ...textAnswer('Grüße 👋 und 🌍', { reasoning: 'Übersetzen…' }), writeBytesPerPiece: 3 });
    const { response } = await streamResponse({ model: DEFAULT_MODEL_ID, input: 'Greet', reasoning: { summary: 'auto' } });

    expect(response.output_text).toBe('Grüße 👋 und 🌍');
    expectReasoningText(response.output[0], 'Übersetzen…');
  });

  it('keeps the status and envelope of an early backend 400: context length → 400 context_length_exceeded', async () => {
    setup.backend.setHandler(() => ({
      httpError: {
        status: 400,
        body: {
          error: {
            message:
              "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens (39000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
            type: 'BadRequestError',
            param: null,
            code: 400,
          },
        },
      },
    }));
    const failure = await client.responses
      .create({ model: DEFAULT_MODEL_ID, input: 'x'.repeat(1000), stream: true, store: false })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    const error = failure as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.status).toBe(400);
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toContain('maximum context length');
  });

  it('answers an early backend 500 with a 502 in the OpenAI error envelope', async () => {
    setup.backend.setHandler(() => ({ httpError: { status: 500, body: { error: { message: 'boom', type: 'InternalServerError', param: null, code: 500 } } } }));
    const failure = await client.responses.create({ model: DEFAULT_MODEL_ID, input: 'hi', stream: true, store: false }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const error = failure as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ message: expect.any(String) as unknown, type: expect.any(String) as unknown });
  });
});
