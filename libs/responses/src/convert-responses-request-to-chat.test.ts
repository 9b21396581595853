import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@rgw/errors';
import { describe, expect, it } from 'vitest';
import { type BackendProfileOverride, resolveBackendProfile } from './backend-profile.ts';
import { convertResponsesRequestToChat } from './convert-responses-request-to-chat.ts';
import { parseResponsesRequest } from './responses-request-schema.ts';

function readFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/requests/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

function convert(body: Record<string, unknown>, unsealReasoning?: (sealed: string) => string | null) {
  return convertResponsesRequestToChat(parseResponsesRequest(body), { model: 'backend-model', ...(unsealReasoning === undefined ? {} : { unsealReasoning }) });
}

function textOf(item: unknown): string {
  return (item as { content: { text: string }[] }).content.map((part) => part.text).join('\n\n');
}

describe('convertResponsesRequestToChat with recorded client bodies', () => {
  it('turns a Codex turn-2 body into one system message, merged user context, the tool call with unsealed reasoning and its output', () => {
    const body = readFixture('codex-turn-2');
    const input = body['input'] as unknown[];
    const { chatRequest, toolNames, warnings } = convert(body, (sealed) => (sealed === 'gAAAA-sealed-by-capture-server' ? 'I should list the files.' : null));

    expect(chatRequest.messages).toEqual([
      { role: 'system', content: `${textOf(input[0])}\n\n${textOf(input[1])}` },
      { role: 'user', content: `${textOf(input[2])}\n\nlist the files` },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'exec_command', arguments: '{"cmd":"echo hi"}' } }],
        reasoning_content: 'I should list the files.',
      },
      { role: 'tool', tool_call_id: 'call_1', content: (input[6] as { output: string }).output },
    ]);
    expect(chatRequest).toMatchObject({
      model: 'backend-model',
      stream: true,
      stream_options: { include_usage: true },
      tool_choice: 'auto',
      parallel_tool_calls: true,
      reasoning_effort: 'medium',
    });
    expect(chatRequest.tools?.map((tool) => tool.function.name)).toEqual([
      'exec_command',
      'write_stdin',
      'request_user_input',
      'view_image',
      'apply_patch',
      'multi_agent_v1__close_agent',
      'multi_agent_v1__resume_agent',
      'multi_agent_v1__send_input',
      'multi_agent_v1__spawn_agent',
      'multi_agent_v1__wait_agent',
      'get_goal',
      'create_goal',
      'update_goal',
    ]);
    expect(toolNames.get('apply_patch')).toEqual({ kind: 'custom', name: 'apply_patch' });
    expect(toolNames.get('multi_agent_v1__spawn_agent')).toEqual({ kind: 'function', name: 'spawn_agent', namespace: 'multi_agent_v1' });
    expect(warnings).toEqual([
      "tools[9]: dropped hosted tool of type 'web_search'; it cannot run behind a Chat Completions backend.",
      "Ignored 'prompt_cache_key': prompt caching is up to the backend.",
      "Ignored unknown field 'client_metadata'.",
    ]);
    expect(JSON.stringify(chatRequest)).not.toContain('client_metadata');
  });

  it('falls back to the reasoning summary when the encrypted content is not ours', () => {
    const { chatRequest } = convert(readFixture('codex-turn-2'), () => null);
    expect(chatRequest.messages[2]).toMatchObject({ role: 'assistant', reasoning_content: 'Need to look.' });
  });

  it('converts an AI SDK tool loop (store: false)', () => {
    const { chatRequest, warnings } = convert(readFixture('ai-sdk-tool-loop'));
    expect(chatRequest.messages).toEqual([
      { role: 'system', content: 'You are a weather assistant.' },
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"city":"Paris","temperature":21,"unit":"C"}' },
    ]);
    expect(chatRequest).toMatchObject({ temperature: 0.2, tool_choice: 'auto' });
    expect(chatRequest.tools?.[0]).toEqual({
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Get the weather for a city',
        parameters: {
          $schema: 'http://json-schema.org/draft-07/schema#',
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
          additionalProperties: false,
        },
        strict: false,
      },
    });
    expect(warnings).toEqual([]);
  });

  it('refuses an AI SDK tool loop with store: true whose item_reference was not resolved', () => {
    expect(() => convert(readFixture('ai-sdk-tool-loop-store-true'))).toThrow(expect.objectContaining({ status: 400, param: 'input[2]' }));
  });

  it('converts an Agents SDK tool loop with instructions and max_output_tokens', () => {
    const { chatRequest } = convert(readFixture('agents-sdk-tool-loop'));
    expect(chatRequest.messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(chatRequest.messages[0]).toEqual({ role: 'system', content: 'You are a weather assistant. Answer briefly.' });
    expect(chatRequest.messages[3]).toEqual({ role: 'tool', tool_call_id: 'call_1', content: 'It is 21C and sunny in Paris.' });
    expect(chatRequest).toMatchObject({ max_tokens: 512, temperature: 0.3 });
    expect(chatRequest.tools?.[0]?.function.strict).toBe(true);
  });
});

describe('convertResponsesRequestToChat parameters', () => {
  it('sends a string input as one user message after the instructions', () => {
    const { chatRequest } = convert({ model: 'm', instructions: 'Be terse.', input: 'Hello' });
    expect(chatRequest).toEqual({
      model: 'backend-model',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Hello' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('merges instructions and every system or developer message, in order, into one leading system message', () => {
    const { chatRequest } = convert({
      model: 'm',
      instructions: 'A',
      input: [
        { role: 'developer', content: 'B' },
        { role: 'user', content: 'hi' },
        { role: 'system', content: [{ type: 'input_text', text: 'C' }] },
      ],
    });
    expect(chatRequest.messages).toEqual([
      { role: 'system', content: 'A\n\nB\n\nC' },
      { role: 'user', content: 'hi' },
    ]);
  });

  it('maps sampling, reasoning, logprobs and user fields', () => {
    const { chatRequest } = convert({
      model: 'm',
      input: 'hi',
      max_output_tokens: 300,
      temperature: 0.7,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      top_logprobs: 3,
      reasoning: { effort: 'xhigh', summary: 'auto' },
      safety_identifier: 'user-42',
      user: 'legacy',
      metadata: { a: 'b' },
    });
    expect(chatRequest).toMatchObject({
      max_tokens: 300,
      temperature: 0.7,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logprobs: true,
      top_logprobs: 3,
      reasoning_effort: 'xhigh',
      user: 'user-42',
    });
    expect(chatRequest).not.toHaveProperty('metadata');
  });

  it('asks for logprobs when include names output_text logprobs, and omits a null reasoning effort', () => {
    const { chatRequest } = convert({ model: 'm', input: 'hi', include: ['message.output_text.logprobs'], reasoning: { effort: null }, top_logprobs: 0 });
    expect(chatRequest.logprobs).toBe(true);
    expect(chatRequest).not.toHaveProperty('top_logprobs');
    expect(chatRequest).not.toHaveProperty('reasoning_effort');
  });

  it('maps text formats: json_schema nested under json_schema, json_object kept, text omitted', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(
      convert({ model: 'm', input: 'hi', text: { format: { type: 'json_schema', name: 'out', schema, strict: true, description: 'd' } } }).chatRequest
        .response_format,
    ).toEqual({
      type: 'json_schema',
      json_schema: { name: 'out', schema, strict: true, description: 'd' },
    });
    expect(convert({ model: 'm', input: 'hi', text: { format: { type: 'json_object' } } }).chatRequest.response_format).toEqual({ type: 'json_object' });
    expect(convert({ model: 'm', input: 'hi', text: { format: { type: 'text' } } }).chatRequest).not.toHaveProperty('response_format');
  });

  it('warns about fields it cannot honour instead of failing', () => {
    const { warnings } = convert({
      model: 'm',
      input: 'hi',
      truncation: 'auto',
      service_tier: 'flex',
      text: { verbosity: 'low' },
      include: ['web_search_call.action.sources', 'reasoning.encrypted_content'],
      context_management: [{ type: 'compaction' }],
      store: false,
      background: false,
      previous_response_id: 'resp_1',
    });
    expect(warnings).toEqual([
      "Ignored 'truncation': 'auto' truncation is not supported; an over-long input fails instead.",
      "Ignored 'service_tier': the backend has a single tier.",
      "Ignored 'text.verbosity': Chat Completions backends have no verbosity control.",
      "Ignored 'include': 'web_search_call.action.sources' is not available from a Chat Completions backend.",
      "Ignored 'context_management': not supported by this gateway.",
    ]);
  });

  it('sends parallel_tool_calls and tool_choice only when tools remain', () => {
    const withTool = convert({
      model: 'm',
      input: 'hi',
      parallel_tool_calls: false,
      tools: [{ type: 'function', name: 'f', parameters: null, strict: null }],
    }).chatRequest;
    expect(withTool).toMatchObject({
      parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
    });
    const { chatRequest, warnings } = convert({ model: 'm', input: 'hi', parallel_tool_calls: true, tool_choice: 'required', tools: [{ type: 'web_search' }] });
    expect(chatRequest).not.toHaveProperty('tools');
    expect(chatRequest).not.toHaveProperty('tool_choice');
    expect(chatRequest).not.toHaveProperty('parallel_tool_calls');
    expect(warnings).toContain("Ignored 'tool_choice': no tool in the request can be sent to the backend.");
  });

  it('rejects stored prompt templates and a request with nothing to answer', () => {
    expect(() => convert({ model: 'm', input: 'hi', prompt: { id: 'pmpt_1' } })).toThrow(
      expect.objectContaining({ status: 400, param: 'prompt', code: 'unsupported_parameter' }),
    );
    expect(() => convert({ model: 'm', instructions: 'only instructions' })).toThrow(InvalidRequestError);
    expect(() => convert({ model: 'm', input: [] })).toThrow(expect.objectContaining({ status: 400, param: 'input', code: 'missing_required_parameter' }));
  });
});

describe('convertResponsesRequestToChat with a backend profile', () => {
  function convertFor(body: Record<string, unknown>, model: string, entry?: Record<string, unknown>, overrides: BackendProfileOverride[] = []) {
    const backendProfile = resolveBackendProfile({ model, entry, overrides });
    return convertResponsesRequestToChat(parseResponsesRequest({ model, input: 'hi', ...body }), { model, backendProfile });
  }
  const sglang = { owned_by: 'sglang' };
  const vllm = { owned_by: 'vllm' };
  const ollama = { owned_by: 'library' };

  it("switches Qwen3's thinking off through chat_template_kwargs on SGLang, sending no effort it would refuse", () => {
    const { chatRequest, warnings } = convertFor({ reasoning: { effort: 'none' } }, 'Qwen/Qwen3-32B', sglang);
    expect(chatRequest.chat_template_kwargs).toEqual({ enable_thinking: false });
    expect(chatRequest).not.toHaveProperty('reasoning_effort');
    expect(warnings).toEqual([expect.stringContaining("'reasoning.effort' 'none' is not sent")]);
  });

  it('sends reasoning_effort and switches thinking on for Qwen3 on vLLM', () => {
    const { chatRequest, warnings } = convertFor({ reasoning: { effort: 'high' } }, 'Qwen/Qwen3-32B', vllm);
    expect(chatRequest).toMatchObject({ reasoning_effort: 'high', chat_template_kwargs: { enable_thinking: true } });
    expect(warnings).toEqual([]);
  });

  it('uses the `thinking` switch for DeepSeek V3.1', () => {
    expect(convertFor({ reasoning: { effort: 'low' } }, 'deepseek-ai/DeepSeek-V3.1', sglang).chatRequest.chat_template_kwargs).toEqual({ thinking: true });
  });

  it("maps Codex's xhigh to the highest level Ollama takes, with no template kwargs", () => {
    const { chatRequest, warnings } = convertFor({ reasoning: { effort: 'xhigh' } }, 'qwen3:8b', ollama);
    expect(chatRequest.reasoning_effort).toBe('high');
    expect(chatRequest).not.toHaveProperty('chat_template_kwargs');
    expect(warnings).toEqual([expect.stringContaining("'xhigh' sent as 'high'")]);
  });

  it('sends neither field when the request sets no effort (the model keeps its default)', () => {
    const { chatRequest } = convertFor({}, 'Qwen/Qwen3-32B', sglang);
    expect(chatRequest).not.toHaveProperty('reasoning_effort');
    expect(chatRequest).not.toHaveProperty('chat_template_kwargs');
  });

  const toolTurn = [
    { type: 'message', role: 'user', content: 'read a.rs' },
    { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Read it first.' }] },
    { type: 'function_call', call_id: 'call_1', name: 'read', arguments: '{}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'fn main() {}' },
    { type: 'function_call', call_id: 'call_2', name: 'read', arguments: '{}' },
    { type: 'function_call_output', call_id: 'call_2', output: 'fn main() {}' },
  ];

  it('replays reasoning in the field each server reads', () => {
    expect(convertFor({ input: toolTurn }, 'qwen3:8b', ollama).chatRequest.messages[1]).toMatchObject({ role: 'assistant', reasoning: 'Read it first.' });
    expect(convertFor({ input: toolTurn }, 'qwen3:8b', ollama).chatRequest.messages[1]).not.toHaveProperty('reasoning_content');
    expect(convertFor({ input: toolTurn }, 'Qwen/Qwen3-32B', vllm).chatRequest.messages[1]).toMatchObject({
      reasoning: 'Read it first.',
      reasoning_content: 'Read it first.',
    });
  });

  it('gives a tool-call turn without reasoning a placeholder for thinking servers that refuse it otherwise (Kimi K2)', () => {
    const kimi = convertFor({ input: toolTurn }, 'moonshotai/Kimi-K2-Thinking', sglang).chatRequest.messages;
    expect(kimi[3]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_2' }], reasoning_content: ' ' });
    // Elsewhere the turn goes as it is.
    expect(convertFor({ input: toolTurn }, 'Qwen/Qwen2.5-7B-Instruct', sglang).chatRequest.messages[3]).not.toHaveProperty('reasoning_content');
  });
});

describe('convertResponsesRequestToChat with what Codex sends in 2026', () => {
  const lookup = { type: 'function', name: 'lookup', description: 'Look it up', parameters: { type: 'object', properties: { q: { type: 'string' } } } };

  it('sends the tools of additional_tools input items to the backend with the top-level ones, and nothing of the item itself', () => {
    const { chatRequest, toolNames, warnings } = convert({
      model: 'm',
      tools: [{ type: 'function', name: 'exec_command', parameters: { type: 'object', properties: {} } }],
      input: [
        { type: 'additional_tools', role: 'developer', tools: [lookup, { type: 'namespace', name: 'crm', tools: [{ type: 'function', name: 'find' }] }] },
        { role: 'user', content: 'find acme' },
      ],
    });
    expect(chatRequest.tools?.map((tool) => tool.function.name)).toEqual(['exec_command', 'lookup', 'crm__find']);
    expect(chatRequest.tools?.[1]).toEqual({ type: 'function', function: { name: 'lookup', description: 'Look it up', parameters: lookup.parameters } });
    expect(toolNames.get('crm__find')).toEqual({ kind: 'function', name: 'find', namespace: 'crm' });
    expect(chatRequest.messages).toEqual([{ role: 'user', content: 'find acme' }]);
    expect(warnings).toEqual([]);
  });

  it('names a tool of an additional_tools item by its place in input when it warns', () => {
    const { warnings } = convert({
      model: 'm',
      input: [
        { type: 'additional_tools', tools: [{ type: 'web_search' }] },
        { role: 'user', content: 'hi' },
      ],
    });
    expect(warnings).toEqual(["input[0].tools[0]: dropped hosted tool of type 'web_search'; it cannot run behind a Chat Completions backend."]);
  });

  it('sends defer_loading functions up front and drops tool_search with a warning', () => {
    const { chatRequest, warnings } = convert({
      model: 'm',
      input: 'hi',
      tools: [
        { ...lookup, defer_loading: true },
        { type: 'tool_search', execution: 'client', description: 'Search the deferred tools' },
      ],
    });
    expect(chatRequest.tools).toEqual([{ type: 'function', function: { name: 'lookup', description: 'Look it up', parameters: lookup.parameters } }]);
    expect(warnings).toEqual(["tools[1]: dropped 'tool_search'; every tool, deferred ones included, is sent to the backend up front."]);
  });
});
