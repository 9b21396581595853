/**
 * The Vercel AI SDK (`ai` 7 + `@ai-sdk/openai` Responses provider) in a tool loop through the
 * gateway: step 1 the model calls a tool, the SDK executes it, step 2 the model answers.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, isStepCount, streamText, tool } from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MODEL_ID, textAnswer, toolCallAnswer } from '../support/scripted-backend.ts';
import { E2E_API_KEY, chatContentText, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

const setup = useGatewayWithBackend();
let provider: ReturnType<typeof createOpenAI>;

beforeAll(() => {
  provider = createOpenAI({ baseURL: setup.gateway.baseURL, apiKey: E2E_API_KEY });
});

function createTools(calls: string[]) {
  return {
    get_weather: tool({
      description: 'Current weather for a city.',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }: { city: string }) => {
        calls.push(city);
        return { city, forecast: 'rain', temperature_c: 12 };
      },
    }),
  };
}

function scriptToolLoop(): void {
  setup.backend.enqueue(
    toolCallAnswer([{ id: 'call_ai_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }], { fragment: 6 }),
    textAnswer('Rainy, 12 °C in Oslo.'),
  );
}

/** The second backend request must carry the tool result as a `tool` message answering the call. */
function expectToolResultSentBack(): void {
  const requests = setup.backend.chatRequests();
  expect(requests).toHaveLength(2);
  const messages = requests[1]?.body?.messages ?? [];
  const assistant = messages.find((message) => message.role === 'assistant');
  expect(assistant).toMatchObject({ tool_calls: [{ id: 'call_ai_1', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] });
  const toolMessage = messages.find((message) => message.role === 'tool');
  expect(toolMessage).toMatchObject({ tool_call_id: 'call_ai_1' });
  expect(JSON.parse(chatContentText(toolMessage?.content))).toEqual({ city: 'Oslo', forecast: 'rain', temperature_c: 12 });
}

describe('AI SDK (@ai-sdk/openai responses) through the gateway', () => {
  it('runs a generateText tool loop with store disabled', async () => {
    scriptToolLoop();
    const calls: string[] = [];
    const result = await generateText({
      model: provider.responses(DEFAULT_MODEL_ID),
      tools: createTools(calls),
      stopWhen: isStepCount(3),
      prompt: 'Weather in Oslo?',
      providerOptions: { openai: { store: false } },
      maxRetries: 0,
    });

    expect(calls).toEqual(['Oslo']);
    expect(result.text).toBe('Rainy, 12 °C in Oslo.');
    expect(result.steps).toHaveLength(2);
    expectToolResultSentBack();
  });

  it('runs a streamText tool loop with store disabled', async () => {
    scriptToolLoop();
    const calls: string[] = [];
    const result = streamText({
      model: provider.responses(DEFAULT_MODEL_ID),
      tools: createTools(calls),
      stopWhen: isStepCount(3),
      prompt: 'Weather in Oslo?',
      providerOptions: { openai: { store: false } },
      maxRetries: 0,
    });

    expect(await result.text).toBe('Rainy, 12 °C in Oslo.');
    expect(calls).toEqual(['Oslo']);
    expect(await result.steps).toHaveLength(2);
    expectToolResultSentBack();
  });

  it('runs the tool loop with the SDK default store: true (item_reference on step 2)', async () => {
    // The AI SDK defaults to store: true and then refers to step 1's output by item_reference, which
    // only resolves when the gateway stored step 1: a broken store fails this test, it never skips it.
    scriptToolLoop();
    const calls: string[] = [];
    const result = await generateText({
      model: provider.responses(DEFAULT_MODEL_ID),
      tools: createTools(calls),
      stopWhen: isStepCount(3),
      prompt: 'Weather in Oslo?',
      maxRetries: 0,
    });

    expect(calls).toEqual(['Oslo']);
    expect(result.text).toBe('Rainy, 12 °C in Oslo.');
    expectToolResultSentBack();
  });
});
