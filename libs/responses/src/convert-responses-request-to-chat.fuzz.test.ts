import fc from 'fast-check';
import { GatewayError } from '@rgw/errors';
import { describe, expect, it } from 'vitest';
import { type ConvertedResponsesRequest, convertResponsesRequestToChat } from './convert-responses-request-to-chat.ts';
import { parseResponsesRequest } from './responses-request-schema.ts';

/**
 * Whatever a client sends, the request side either accepts it (and produces a Chat request that can
 * be serialised) or refuses it with a 4xx GatewayError. Anything else (a TypeError, a RangeError, a
 * 5xx) would reach clients as a 500.
 */
const ACCEPTED_OR_REFUSED = [
  { accepted: { serialises: true, model: 'fuzz-model', messages: 'an array' } },
  { refused: { status: '4xx', message: 'a string' } },
];

/**
 * What the request side makes of a body, as data to compare with ACCEPTED_OR_REFUSED. A throw that
 * is not a GatewayError propagates, and so fails the test.
 */
function outcomeOf(body: unknown): unknown {
  let chatRequest: ConvertedResponsesRequest['chatRequest'];
  try {
    const request = parseResponsesRequest(body, { maxInputItems: 50 });
    chatRequest = convertResponsesRequestToChat(request, { model: 'fuzz-model', unsealReasoning: () => null }).chatRequest;
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    const status = error.status >= 400 && error.status < 500 ? '4xx' : error.status;
    return { refused: { status, message: typeof error.message === 'string' ? 'a string' : typeof error.message } };
  }
  const messages = Array.isArray(chatRequest.messages) ? 'an array' : typeof chatRequest.messages;
  return { accepted: { serialises: serialises(chatRequest), model: chatRequest.model, messages } };
}

function serialises(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

// Values a client might put anywhere: the usual JSON plus the awkward strings.
const awkwardString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '\u0000', '\ud800', '\udfff', '__proto__', 'constructor', 'prototype', 'toString', '\n\nevent: x\ndata: y\n\n', 'a'.repeat(10_000)),
);
const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    awkwardString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(awkwardString, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary }, { weight: 1, arbitrary: anyJson });

const role = fc.constantFrom('user', 'assistant', 'system', 'developer', 'tool', 'critic');
const contentPart = fc.oneof(
  fc.record({ type: fc.constantFrom('input_text', 'output_text'), text: maybe(awkwardString) }),
  fc.record(
    { type: fc.constant('input_image'), image_url: maybe(fc.webUrl()), detail: maybe(fc.constantFrom('auto', 'low', 'high')) },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    { type: fc.constant('input_file'), file_data: maybe(fc.base64String()), filename: maybe(awkwardString), file_url: maybe(fc.webUrl()) },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constant('refusal'), refusal: maybe(awkwardString) }),
  fc.record({ type: awkwardString, text: anyJson }),
);
const item = fc.oneof(
  fc.record({ role, content: maybe(fc.oneof(awkwardString, fc.array(contentPart, { maxLength: 4 }))) }),
  fc.record(
    { type: fc.constant('message'), id: maybe(awkwardString), role, content: fc.array(contentPart, { maxLength: 3 }), phase: anyJson },
    { requiredKeys: ['type', 'role', 'content'] },
  ),
  fc.record(
    {
      type: fc.constant('function_call'),
      call_id: maybe(awkwardString),
      name: maybe(awkwardString),
      arguments: maybe(awkwardString),
      id: maybe(awkwardString),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('function_call_output'),
      call_id: maybe(awkwardString),
      output: maybe(fc.oneof(awkwardString, fc.array(contentPart, { maxLength: 2 }))),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('reasoning'),
      id: maybe(awkwardString),
      summary: maybe(fc.array(fc.record({ type: fc.constant('summary_text'), text: awkwardString }), { maxLength: 2 })),
      content: anyJson,
      encrypted_content: maybe(fc.option(awkwardString)),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constantFrom('custom_tool_call', 'custom_tool_call_output', 'local_shell_call', 'item_reference', 'web_search_call'),
      id: maybe(awkwardString),
      call_id: maybe(awkwardString),
      input: anyJson,
      output: anyJson,
    },
    { requiredKeys: ['type'] },
  ),
  anyJson,
);
const tool = fc.oneof(
  fc.record(
    {
      type: fc.constant('function'),
      name: maybe(awkwardString),
      description: maybe(awkwardString),
      parameters: maybe(fc.dictionary(awkwardString, anyJson, { maxKeys: 3 })),
      strict: maybe(fc.boolean()),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constant('custom'), name: maybe(awkwardString), format: anyJson }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('namespace'), name: maybe(awkwardString), tools: fc.array(anyJson, { maxLength: 2 }) }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constantFrom('web_search', 'file_search', 'local_shell', 'mcp', 'image_generation', 'code_interpreter') }),
  anyJson,
);
const requestBody = fc.record(
  {
    model: maybe(fc.oneof(fc.constant('fuzz-model'), awkwardString)),
    input: maybe(fc.oneof(awkwardString, fc.array(item, { maxLength: 6 }))),
    instructions: maybe(fc.option(awkwardString)),
    tools: maybe(fc.array(tool, { maxLength: 4 })),
    tool_choice: maybe(fc.oneof(fc.constantFrom('auto', 'none', 'required'), fc.record({ type: fc.constant('function'), name: awkwardString }), anyJson)),
    text: maybe(
      fc.record(
        {
          format: fc.oneof(
            fc.record({ type: fc.constantFrom('text', 'json_object') }),
            fc.record({
              type: fc.constant('json_schema'),
              name: awkwardString,
              schema: fc.dictionary(awkwardString, anyJson, { maxKeys: 2 }),
              strict: fc.boolean(),
            }),
            anyJson,
          ),
          verbosity: anyJson,
        },
        { requiredKeys: [] },
      ),
    ),
    reasoning: maybe(
      fc.record(
        { effort: maybe(fc.constantFrom('minimal', 'low', 'medium', 'high', 'xhigh')), summary: maybe(fc.constantFrom('auto', 'concise', 'detailed')) },
        { requiredKeys: [] },
      ),
    ),
    temperature: maybe(fc.double()),
    top_p: maybe(fc.double()),
    max_output_tokens: maybe(fc.integer()),
    stream: maybe(fc.boolean()),
    store: maybe(fc.boolean()),
    include: maybe(fc.array(awkwardString, { maxLength: 3 })),
    metadata: maybe(fc.dictionary(awkwardString, awkwardString, { maxKeys: 20 })),
    parallel_tool_calls: maybe(fc.boolean()),
    previous_response_id: maybe(awkwardString),
    truncation: maybe(fc.constantFrom('auto', 'disabled')),
    user: maybe(awkwardString),
  },
  { requiredKeys: [] },
);

describe('request side under fuzzing', () => {
  it('any JSON value is accepted or refused with a 4xx, never thrown as something else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        expect(outcomeOf(body)).toBeOneOf(ACCEPTED_OR_REFUSED);
      }),
      { numRuns: 500 },
    );
  });

  it('request-shaped bodies with wrong, missing and awkward fields are accepted or refused with a 4xx', () => {
    fc.assert(
      fc.property(requestBody, (body) => {
        expect(outcomeOf(body)).toBeOneOf(ACCEPTED_OR_REFUSED);
      }),
      { numRuns: 1_500 },
    );
  });

  it('prototype-polluting keys are refused or ignored, and pollute nothing', () => {
    for (const text of [
      '{"model":"m","input":"hi","__proto__":{"polluted":1}}',
      '{"model":"m","input":[{"role":"user","content":"hi","__proto__":{"polluted":1}}]}',
      '{"model":"m","input":"hi","constructor":{"prototype":{"polluted":1}}}',
      '{"model":"m","input":"hi","metadata":{"__proto__":"x"},"tools":[{"type":"function","name":"f","parameters":{"__proto__":{"polluted":1}}}]}',
    ]) {
      expect(outcomeOf(JSON.parse(text))).toBeOneOf(ACCEPTED_OR_REFUSED);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    }
  });

  it('deeply nested JSON in free-form fields is accepted or refused, never a stack overflow', () => {
    let nested: unknown = 'leaf';
    for (let depth = 0; depth < 5_000; depth += 1) nested = { a: [nested] };
    for (const body of [
      { model: 'm', input: 'hi', metadata: nested },
      { model: 'm', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: nested }] },
      { model: 'm', input: [{ role: 'user', content: nested }] },
      { model: 'm', input: 'hi', text: { format: { type: 'json_schema', name: 's', schema: nested } } },
    ]) {
      expect(outcomeOf(body)).toBeOneOf(ACCEPTED_OR_REFUSED);
    }
  });

  it('refuses nesting past 128 levels with a 400 and accepts a realistic deep tool schema', () => {
    const nestTo = (levels: number) => {
      let schema: Record<string, unknown> = { type: 'string' };
      for (let level = 2; level < levels; level += 2) schema = { type: 'object', properties: { child: schema } };
      return schema;
    };
    const body = (levels: number) => ({ model: 'm', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: nestTo(levels) }] });
    expect(() => parseResponsesRequest(body(40))).not.toThrow();
    expect(() => parseResponsesRequest(body(200))).toThrow(expect.objectContaining({ status: 400, code: 'nesting_too_deep' }));
  });
});
