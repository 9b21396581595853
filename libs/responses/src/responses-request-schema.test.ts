import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@rgw/errors';
import { describe, expect, it } from 'vitest';
import { parseResponsesRequest } from './responses-request-schema.ts';
import { RESPONSES_TOOL_TYPES } from './responses-tool-types.ts';

function readFixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/requests/${name}.json`, import.meta.url), 'utf8'));
}

function catchError(body: unknown, options = {}): InvalidRequestError {
  try {
    parseResponsesRequest(body, options);
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('expected parseResponsesRequest to throw');
}

describe('parseResponsesRequest', () => {
  it.each(['codex-turn-2', 'ai-sdk-tool-loop', 'ai-sdk-tool-loop-store-true', 'agents-sdk-tool-loop'])('accepts the recorded %s body', (name) => {
    const request = parseResponsesRequest(readFixture(name));
    expect(request.model).toBeTypeOf('string');
    expect(Array.isArray(request.input)).toBe(true);
  });

  it('keeps what Codex sends that the converter does not interpret', () => {
    const request = parseResponsesRequest(readFixture('codex-turn-2'));
    expect(request['client_metadata']).toMatchObject({ thread_id: expect.any(String) as unknown });
    expect(request.tools?.map((tool) => tool.type)).toContain('web_search');
    const input = request.input as { type: string; id?: string; content?: unknown; encrypted_content?: unknown }[];
    expect(input.find((item) => item.type === 'reasoning')).toMatchObject({ content: null, encrypted_content: 'gAAAA-sealed-by-capture-server' });
    expect(input.find((item) => item.type === 'function_call_output')?.id).toMatch(/^fco_/);
  });

  it('accepts unknown item, part, tool and tool_choice types and unknown fields on known items', () => {
    const request = parseResponsesRequest({
      model: 'm',
      input: [
        { type: 'message', role: 'assistant', phase: 'final_answer', content: [{ type: 'output_text', text: 'hi', annotations: [] }] },
        { type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'x' } },
        { role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] },
      ],
      tools: [{ type: 'tool_search', execution: 'client' }],
      tool_choice: { type: 'mcp', server_label: 'crm' },
      brand_new_field: { nested: true },
    });
    expect(request.input).toHaveLength(3);
    expect(request['brand_new_field']).toEqual({ nested: true });
    expect((request.input as { phase?: string }[])[0]?.phase).toBe('final_answer');
  });

  it('refuses a tool type the API does not define with a 400 naming tools[i].type', () => {
    const error = catchError({ model: 'm', input: 'hi', tools: [{ type: 'web_search' }, { type: 'functions', name: 'f' }] });
    expect(error.status).toBe(400);
    expect(error.param).toBe('tools[1].type');
    expect(error.code).toBe('invalid_value');
    expect(error.message).toMatch(/^Invalid value: 'functions'\. Supported values are: 'function', 'custom', .*'web_search'/);
  });

  it('refuses an undefined tool type inside a namespace too', () => {
    const error = catchError({ model: 'm', input: 'hi', tools: [{ type: 'namespace', name: 'crm', tools: [{ type: 'fucntion', name: 'find' }] }] });
    expect(error.param).toBe('tools[0].tools[0].type');
  });

  it.each(RESPONSES_TOOL_TYPES.filter((type) => !['function', 'custom', 'namespace'].includes(type)))('accepts the API tool kind %s', (type) => {
    expect(parseResponsesRequest({ model: 'm', input: 'hi', tools: [{ type }] }).tools).toEqual([{ type }]);
  });

  it('accepts null for every optional field', () => {
    const body = {
      model: 'm',
      input: 'hi',
      ...Object.fromEntries(
        [
          'instructions',
          'tools',
          'tool_choice',
          'parallel_tool_calls',
          'text',
          'reasoning',
          'max_output_tokens',
          'temperature',
          'top_p',
          'top_logprobs',
          'truncation',
          'store',
          'metadata',
          'user',
          'include',
          'prompt',
          'stream',
        ].map((field) => [field, null]),
      ),
    };
    expect(parseResponsesRequest(body).temperature).toBeNull();
  });

  it('gives a type-less message the type "message" and a bare id the type "item_reference"', () => {
    const request = parseResponsesRequest({ model: 'm', input: [{ role: 'user', content: 'hi' }, { id: 'msg_1' }] });
    expect(request.input).toEqual([
      { type: 'message', role: 'user', content: 'hi' },
      { type: 'item_reference', id: 'msg_1' },
    ]);
  });

  it.each([
    [{ input: 'hi' }, 'model', 'missing_required_parameter', "Missing required parameter: 'model'."],
    [
      { model: 'm', max_output_tokens: '100' },
      'max_output_tokens',
      'invalid_type',
      "Invalid type for 'max_output_tokens': expected an integer, but got a string instead.",
    ],
    [
      { model: 'm', max_output_tokens: 15 },
      'max_output_tokens',
      'integer_below_min_value',
      "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 15 instead.",
    ],
    [
      { model: 'm', temperature: 2.5 },
      'temperature',
      'decimal_above_max_value',
      "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
    ],
    [{ model: 'm', top_p: -0.1 }, 'top_p', 'decimal_below_min_value', undefined],
    [{ model: 'm', top_logprobs: 21 }, 'top_logprobs', 'integer_above_max_value', undefined],
    [{ model: 'm', top_logprobs: 1.5 }, 'top_logprobs', 'invalid_type', undefined],
    [{ model: 7 }, 'model', 'invalid_type', "Invalid type for 'model': expected a string, but got an integer instead."],
    [{ model: 'm', input: 42 }, 'input', 'invalid_type', "Invalid type for 'input': expected one of a string or an array, but got an integer instead."],
    [
      {
        model: 'm',
        input: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
          { role: 'user', content: 'c' },
          { role: 'user', content: 5 },
        ],
      },
      'input[3].content',
      'invalid_type',
      undefined,
    ],
    [{ model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: 1 }] }] }, 'input[0].content[0].text', 'invalid_type', undefined],
    [
      { model: 'm', input: [{ role: 'boss', content: 'hi' }] },
      'input[0].role',
      'invalid_value',
      "Invalid value: 'boss'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
    ],
    [{ model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id', 'missing_required_parameter', undefined],
    [{ model: 'm', input: [{ type: 'function_call_output', call_id: 'c', output: 3 }] }, 'input[0].output', 'invalid_type', undefined],
    [{ model: 'm', tools: [{ type: 'function', name: 'f', parameters: 'none' }] }, 'tools[0].parameters', 'invalid_type', undefined],
    [
      { model: 'm', tools: [{ type: 'namespace', name: 'ns', tools: [{ type: 'function' }] }] },
      'tools[0].tools[0].name',
      'missing_required_parameter',
      undefined,
    ],
    [{ model: 'm', tool_choice: 'always' }, 'tool_choice', 'invalid_value', "Invalid value: 'always'. Supported values are: 'none', 'auto', and 'required'."],
    [{ model: 'm', tool_choice: { type: 'function' } }, 'tool_choice.name', 'missing_required_parameter', undefined],
    [{ model: 'm', text: { format: { type: 'json_schema', schema: {} } } }, 'text.format.name', 'missing_required_parameter', undefined],
    [{ model: 'm', metadata: { team: 'x'.repeat(513) } }, 'metadata.team', 'string_above_max_length', undefined],
    [{ model: 'm', metadata: { ['k'.repeat(65)]: 'v' } }, `metadata.${'k'.repeat(65)}`, 'string_above_max_length', undefined],
    [
      { model: 'm', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, 'v'])) },
      'metadata',
      'object_above_max_size',
      undefined,
    ],
    [{ model: 'm', stream: 'yes' }, 'stream', 'invalid_type', "Invalid type for 'stream': expected a boolean, but got a string instead."],
  ])('rejects %j with a 400 naming %s', (body, param, code, message) => {
    const error = catchError(body);
    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
    expect(error.code).toBe(code);
    // Rows without a message check only that there is one.
    const anyMessage = expect.any(String) as unknown;
    expect(error.message).toEqual(message ?? anyMessage);
  });

  it('rejects more input items than maxInputItems with param "input"', () => {
    const input = Array.from({ length: 3 }, () => ({ role: 'user', content: 'hi' }));
    expect(parseResponsesRequest({ model: 'm', input }, { maxInputItems: 3 }).input).toHaveLength(3);
    const error = catchError({ model: 'm', input }, { maxInputItems: 2 });
    expect([error.status, error.param, error.code]).toEqual([400, 'input', 'array_above_max_length']);
  });

  it('rejects a body that is not a JSON object', () => {
    for (const body of [null, [], 'text', 3]) expect(catchError(body).status).toBe(400);
  });
});
