import { describe, expect, it } from 'vitest';
import { convertInputItemsToChatMessages, missingToolOutputText } from './convert-input-items-to-chat-messages.ts';
import { parseResponsesRequest } from './responses-request-schema.ts';
import type { ResponsesInputItem } from './responses-input-item-schema.ts';

function parseItems(input: unknown[]): ResponsesInputItem[] {
  return parseResponsesRequest({ model: 'm', input }).input as ResponsesInputItem[];
}

function convert(input: unknown[], unsealReasoning?: (sealed: string) => string | null) {
  return convertInputItemsToChatMessages(parseItems(input), unsealReasoning === undefined ? {} : { unsealReasoning });
}

const user = (text: string) => ({ role: 'user', content: text });
const call = (id: string, name = 'f', args = '{}') => ({ type: 'function_call', call_id: id, name, arguments: args });
const output = (id: string, value: unknown = 'ok') => ({ type: 'function_call_output', call_id: id, output: value });

describe('convertInputItemsToChatMessages', () => {
  it('merges consecutive assistant output into one assistant message with text, tool calls in order and reasoning', () => {
    const { messages } = convert([
      user('go'),
      { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'think' }] },
      { type: 'message', role: 'assistant', phase: 'commentary', content: [{ type: 'output_text', text: 'Checking.' }] },
      call('c1', 'a'),
      { type: 'custom_tool_call', call_id: 'c2', name: 'apply_patch', input: '*** Begin Patch' },
      output('c1'),
      { type: 'custom_tool_call_output', call_id: 'c2', output: 'patched' },
    ]);
    expect(messages).toEqual([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}' } },
        ],
        reasoning_content: 'think',
      },
      { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      { role: 'tool', tool_call_id: 'c2', content: 'patched' },
    ]);
  });

  it('reads reasoning from content, then unsealed encrypted_content, then the summary, and never inlines it as text', () => {
    const reasoning = (extra: object) => [
      user('q'),
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'summary' }], ...extra },
      { role: 'assistant', content: 'A' },
    ];
    const unseal = (sealed: string) => (sealed === 'ours' ? 'raw thinking' : null);
    expect(convert(reasoning({ content: [{ type: 'reasoning_text', text: 'raw' }], encrypted_content: 'ours' }), unseal).messages[1]).toEqual({
      role: 'assistant',
      content: 'A',
      reasoning_content: 'raw',
    });
    expect(convert(reasoning({ content: null, encrypted_content: 'ours' }), unseal).messages[1]).toEqual({
      role: 'assistant',
      content: 'A',
      reasoning_content: 'raw thinking',
    });
    expect(convert(reasoning({ content: null, encrypted_content: 'theirs' }), unseal).messages[1]).toEqual({
      role: 'assistant',
      content: 'A',
      reasoning_content: 'summary',
    });
    expect(convert(reasoning({ encrypted_content: null })).messages[1]).toEqual({ role: 'assistant', content: 'A', reasoning_content: 'summary' });
  });

  it('answers a tool call the client sent no output for with a placeholder and a warning', () => {
    const { messages, warnings } = convert([user('go'), call('c1'), call('c2'), output('c2'), user('next'), call('c3')]);
    expect(messages.map((message) => (message.role === 'tool' ? `tool:${message.tool_call_id}:${message.content}` : message.role))).toEqual([
      'user',
      'assistant',
      'tool:c2:ok',
      `tool:c1:${missingToolOutputText}`,
      'user',
      'assistant',
      `tool:c3:${missingToolOutputText}`,
    ]);
    expect(warnings).toEqual([
      `input: tool call 'c1' has no output item; sent '${missingToolOutputText}' in its place.`,
      `input: tool call 'c3' has no output item; sent '${missingToolOutputText}' in its place.`,
    ]);
  });

  it('joins text parts of a tool output and sends its images in a user message after the tool messages', () => {
    const { messages } = convert([
      user('look'),
      call('c1', 'view_image'),
      call('c2'),
      output('c1', [
        { type: 'input_text', text: 'line 1' },
        { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
        { type: 'input_text', text: 'line 2' },
      ]),
      output('c2'),
      { role: 'assistant', content: 'I see.' },
    ]);
    expect(messages.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'c1', content: 'line 1\n\nline 2' },
      { role: 'tool', tool_call_id: 'c2', content: 'ok' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Images returned by tool call c1:' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
        ],
      },
      { role: 'assistant', content: 'I see.' },
    ]);
  });

  it('sends the output of an unknown tool call as user text instead of an orphan tool message', () => {
    const { messages, warnings } = convert([user('go'), output('ghost', 'late result')]);
    expect(messages).toEqual([{ role: 'user', content: 'go\n\nOutput of tool call ghost:\nlate result' }]);
    expect(warnings).toEqual(["input[1]: output for unknown tool call 'ghost' sent as a user message."]);
  });

  it('replays namespaced calls under their flattened name and local shell calls as the local_shell function', () => {
    const { messages } = convert([
      user('go'),
      { type: 'function_call', call_id: 'c1', name: 'spawn_agent', namespace: 'multi_agent_v1', arguments: '{"task":"x"}' },
      {
        type: 'local_shell_call',
        id: 'lsh_1',
        status: 'completed',
        action: { type: 'exec', command: ['ls', '-a'], env: {}, timeout_ms: 500, working_directory: null },
      },
      output('c1'),
      { type: 'local_shell_call_output', id: 'lsh_1', output: '{"output":"."}' },
    ]);
    expect(messages[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'multi_agent_v1__spawn_agent', arguments: '{"task":"x"}' } },
        { id: 'lsh_1', type: 'function', function: { name: 'local_shell', arguments: '{"command":["ls","-a"],"timeout_ms":500}' } },
      ],
    });
    expect(messages[3]).toEqual({ role: 'tool', tool_call_id: 'lsh_1', content: '{"output":"."}' });
  });

  it('merges consecutive user messages so templates that require alternation accept them', () => {
    const { messages } = convert([
      user('a'),
      {
        role: 'user',
        content: [
          { type: 'input_text', text: 'b' },
          { type: 'input_image', image_url: 'https://x/y.png' },
        ],
      },
    ]);
    expect(messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
          { type: 'image_url', image_url: { url: 'https://x/y.png' } },
        ],
      },
    ]);
  });

  it('drops items with no Chat meaning and reasoning-only assistant turns with a warning', () => {
    const { messages, warnings } = convert([
      user('q'),
      { type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'x' } },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'hmm' }] },
      user('again'),
    ]);
    expect(messages).toEqual([{ role: 'user', content: 'q\n\nagain' }]);
    expect(warnings).toEqual([
      "input[1]: dropped item of type 'web_search_call'; it has no Chat Completions equivalent.",
      'input[2]: dropped assistant output with no text and no tool calls (reasoning only).',
    ]);
  });

  it('refuses an unresolved item_reference with a 400 naming the item', () => {
    expect(() => convert([user('q'), { type: 'item_reference', id: 'msg_9' }])).toThrow(
      expect.objectContaining({ status: 400, param: 'input[1]', code: 'invalid_value' }),
    );
  });
});
