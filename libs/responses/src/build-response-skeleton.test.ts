import { describe, expect, it } from 'vitest';
import { buildResponseSkeleton } from './build-response-skeleton.ts';
import { createTestContext } from './test-support/create-test-context.ts';

describe('buildResponseSkeleton', () => {
  it("echoes OpenAI's sampling defaults as numbers when the request sets none", () => {
    const response = buildResponseSkeleton(createTestContext());
    expect(response).toMatchObject({ temperature: 1, top_p: 1, top_logprobs: 0, presence_penalty: 0, frequency_penalty: 0 });
  });

  it('echoes the sampling values the request sets', () => {
    const response = buildResponseSkeleton(
      createTestContext({ request: { temperature: 0.2, top_p: 0.9, top_logprobs: 3, presence_penalty: 0.5, frequency_penalty: -0.5 } }),
    );
    expect(response).toMatchObject({ temperature: 0.2, top_p: 0.9, top_logprobs: 3, presence_penalty: 0.5, frequency_penalty: -0.5 });
  });

  it('echoes a function tool without description or parameters with both as null', () => {
    const response = buildResponseSkeleton(createTestContext({ request: { tools: [{ type: 'function', name: 'ping' }] } }));
    expect(response.tools).toEqual([{ type: 'function', name: 'ping', description: null, parameters: null, strict: true }]);
  });

  it('echoes a function tool description and parameters as sent', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const response = buildResponseSkeleton(
      createTestContext({ request: { tools: [{ type: 'function', name: 'get_weather', description: 'Weather.', parameters, strict: false }] } }),
    );
    expect(response.tools).toEqual([{ type: 'function', name: 'get_weather', description: 'Weather.', parameters, strict: false }]);
  });
});
