/**
 * openai SDK `responses.create()` without streaming, through the gateway to the scripted backend.
 */
import OpenAI from 'openai';
import type { ResponseFunctionToolCall, ResponseInputItem } from 'openai/resources/responses/responses';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, textAnswer, toolCallAnswer } from '../support/scripted-backend.ts';
import { E2E_API_KEY, chatContentText, expectReasoningText, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

const setup = useGatewayWithBackend();
let client: OpenAI;

beforeAll(() => {
  client = new OpenAI({ baseURL: setup.gateway.baseURL, apiKey: E2E_API_KEY, maxRetries: 0 });
});

describe('openai SDK responses.create() through the gateway', () => {
  it('answers a text prompt with one completed message, mapped usage and the instructions sent as a system message', async () => {
    setup.backend.enqueue(textAnswer('Hello wörld 👋', { usage: { prompt: 9, completion: 5 } }));
    const response = await client.responses.create({ model: DEFAULT_MODEL_ID, instructions: 'Be terse.', input: 'Say hello', store: false });

    expect(response.id).toMatch(/^resp_/);
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: DEFAULT_MODEL_ID, error: null, incomplete_details: null });
    expect(response.output_text).toBe('Hello wörld 👋');
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(response.usage).toMatchObject({ input_tokens: 9, output_tokens: 5, total_tokens: 14 });

    const [sent] = setup.backend.chatRequests();
    expect(sent?.headers.authorization).toBe(`Bearer ${E2E_API_KEY}`);
    expect(sent?.body?.model).toBe(DEFAULT_MODEL_ID);
    const messages = sent?.body?.messages ?? [];
    expect(messages.map((message) => [message.role, chatContentText(message.content)])).toEqual([
      ['system', 'Be terse.'],
      ['user', 'Say hello'],
    ]);
  });

  it('puts the backend reasoning in a reasoning item before the message', async () => {
    setup.backend.enqueue(textAnswer('42.', { reasoning: 'The user wants the answer.', usage: { prompt: 20, completion: 10, reasoning: 6 } }));
    const response = await client.responses.create({
      model: DEFAULT_MODEL_ID,
      input: 'What is the answer?',
      reasoning: { effort: 'low', summary: 'auto' },
      store: false,
    });

    expect(response.status).toBe('completed');
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expectReasoningText(response.output[0], 'The user wants the answer.');
    expect(response.output_text).toBe('42.');
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(6);
  });

  it('returns a function call and, on the next turn, sends its output to the backend as a tool message', async () => {
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: 'function',
        name: 'get_weather',
        description: 'Current weather for a city.',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
        strict: true,
      },
    ];
    setup.backend.enqueue(toolCallAnswer([{ id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' }], { fragment: 4 }));
    const first = await client.responses.create({ model: DEFAULT_MODEL_ID, input: 'Weather in Paris?', tools, store: false });

    expect(first.status).toBe('completed');
    expect(first.output).toHaveLength(1);
    const call = first.output[0] as ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', call_id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(setup.backend.chatRequests()[0]?.body?.tools).toEqual([
      expect.objectContaining({
        type: 'function',
        function: expect.objectContaining({
          name: 'get_weather',
          description: 'Current weather for a city.',
          parameters: tools[0]?.type === 'function' ? tools[0].parameters : undefined,
        }) as unknown,
      }),
    ]);

    setup.backend.enqueue(textAnswer('It is 21 °C in Paris.'));
    const input: ResponseInputItem[] = [
      { role: 'user', content: 'Weather in Paris?' },
      ...(first.output as ResponseInputItem[]),
      { type: 'function_call_output', call_id: 'call_weather_1', output: '{"temperature_c":21}' },
    ];
    const second = await client.responses.create({ model: DEFAULT_MODEL_ID, input, tools, store: false });

    expect(second.output_text).toBe('It is 21 °C in Paris.');
    const messages = setup.backend.chatRequests()[1]?.body?.messages ?? [];
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    expect(messages[1]).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    expect(messages[2]).toMatchObject({ role: 'tool', tool_call_id: 'call_weather_1' });
    expect(chatContentText(messages[2]?.content)).toBe('{"temperature_c":21}');
  });
});
