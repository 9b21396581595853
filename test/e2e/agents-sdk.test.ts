/**
 * The OpenAI Agents SDK (JS) running a tool loop through the gateway with OpenAIResponsesModel:
 * the model calls a function tool, the SDK runs it and sends the result back, the model answers.
 */
import { Agent, OpenAIResponsesModel, run, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MODEL_ID, textAnswer, toolCallAnswer } from '../support/scripted-backend.ts';
import { E2E_API_KEY, chatContentText, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

const setup = useGatewayWithBackend();

beforeAll(() => {
  // Tracing would export spans to api.openai.com.
  setTracingDisabled(true);
});

function createWeatherAgent(calls: string[]): Agent {
  const client = new OpenAI({ baseURL: setup.gateway.baseURL, apiKey: E2E_API_KEY, maxRetries: 0 });
  const getWeather = tool({
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return `Sunny, 24 °C in ${city}`;
    },
  });
  return new Agent({
    name: 'Weather agent',
    instructions: 'Answer weather questions with the get_weather tool.',
    model: new OpenAIResponsesModel(client, DEFAULT_MODEL_ID),
    tools: [getWeather],
  });
}

describe('@openai/agents through the gateway', () => {
  it.each([{ stream: false }, { stream: true }])('runs one function tool and answers with its result (stream: $stream)', async ({ stream }) => {
    setup.backend.enqueue(
      toolCallAnswer([{ id: 'call_agent_1', name: 'get_weather', arguments: '{"city":"Lyon"}' }], { fragment: 5 }),
      textAnswer('It is sunny and 24 °C in Lyon.'),
    );
    const calls: string[] = [];
    const agent = createWeatherAgent(calls);

    const finalOutput = stream
      ? await (async () => {
          const result = await run(agent, 'What is the weather in Lyon?', { stream: true });
          await result.completed;
          return result.finalOutput;
        })()
      : (await run(agent, 'What is the weather in Lyon?')).finalOutput;

    expect(calls).toEqual(['Lyon']);
    expect(finalOutput).toBe('It is sunny and 24 °C in Lyon.');
    const requests = setup.backend.chatRequests();
    expect(requests).toHaveLength(2);
    const first = requests[0]?.body;
    expect(first?.tools?.map((entry) => (entry.type === 'function' ? entry.function.name : entry.type))).toEqual(['get_weather']);
    const followUp = requests[1]?.body?.messages ?? [];
    const toolMessage = followUp.find((message) => message.role === 'tool');
    expect(toolMessage).toMatchObject({ tool_call_id: 'call_agent_1' });
    expect(chatContentText(toolMessage?.content)).toContain('Sunny, 24 °C in Lyon');
    expect(followUp[0]).toMatchObject({ role: 'system' });
    expect(chatContentText(followUp[0]?.content)).toContain('get_weather tool');
  });
});
