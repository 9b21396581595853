import { describe, expect, it } from 'vitest';
import { convertToolsToChat } from './convert-tools-to-chat.ts';
import { parseResponsesRequest } from './responses-request-schema.ts';
import type { ResponsesTool } from './responses-tool-schema.ts';

function convert(tools: unknown[]) {
  return convertToolsToChat(parseResponsesRequest({ model: 'm', input: 'hi', tools }).tools as ResponsesTool[]);
}

describe('convertToolsToChat', () => {
  it('nests function tools under `function`, keeping strict and filling null parameters', () => {
    const { tools, toolNames } = convert([
      { type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true },
      { type: 'function', name: 'now', parameters: null, strict: null, defer_loading: false },
    ]);
    expect(tools).toEqual([
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true },
      },
      { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
    ]);
    expect(toolNames.get('now')).toEqual({ kind: 'function', name: 'now' });
  });

  it('flattens namespace tools to <namespace>__<name> and records where they came from', () => {
    const { tools, toolNames } = convert([
      {
        type: 'namespace',
        name: 'crm',
        description: 'CRM tools',
        tools: [
          { type: 'function', name: 'find', parameters: { type: 'object', properties: {} } },
          { type: 'custom', name: 'note' },
        ],
      },
    ]);
    expect(tools.map((tool) => tool.function.name)).toEqual(['crm__find', 'crm__note']);
    expect(toolNames.get('crm__find')).toEqual({ kind: 'function', name: 'find', namespace: 'crm' });
    expect(toolNames.get('crm__note')).toEqual({ kind: 'custom', name: 'note', namespace: 'crm' });
  });

  it('emulates a custom tool as a function with one string argument `input` and its grammar in the description', () => {
    const { tools, toolNames } = convert([
      { type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
    ]);
    expect(tools[0]).toEqual({
      type: 'function',
      function: {
        name: 'apply_patch',
        description:
          'Edit files.\n\nThe `input` argument must match this lark grammar:\n```\nstart: "x"\n```\n\nPass the raw tool input as the string argument `input`.',
        parameters: {
          type: 'object',
          properties: { input: { type: 'string', description: 'The raw input for the tool.' } },
          required: ['input'],
          additionalProperties: false,
        },
      },
    });
    expect(toolNames.get('apply_patch')).toEqual({ kind: 'custom', name: 'apply_patch' });
  });

  it('emulates local_shell as a function taking an argv array, with a warning', () => {
    const { tools, toolNames, warnings } = convert([{ type: 'local_shell' }]);
    expect(tools[0]?.function).toMatchObject({
      name: 'local_shell',
      parameters: { required: ['command'], properties: { command: { type: 'array', items: { type: 'string' } } } },
    });
    expect(toolNames.get('local_shell')).toEqual({ kind: 'function', name: 'local_shell' });
    expect(warnings).toHaveLength(1);
  });

  it('drops hosted tools and duplicate names with a warning and never fails', () => {
    const { tools, warnings } = convert([
      { type: 'web_search', external_web_access: false },
      { type: 'file_search', vector_store_ids: ['vs_1'] },
      { type: 'function', name: 'f', parameters: null, strict: null },
      { type: 'function', name: 'f', parameters: null, strict: null },
      { type: 'mcp', server_label: 's', server_url: 'https://x' },
    ]);
    expect(tools.map((tool) => tool.function.name)).toEqual(['f']);
    expect(warnings).toEqual([
      "tools[0]: dropped hosted tool of type 'web_search'; it cannot run behind a Chat Completions backend.",
      "tools[1]: dropped hosted tool of type 'file_search'; it cannot run behind a Chat Completions backend.",
      "tools[3]: dropped a second tool named 'f'; tool names must be unique.",
      "tools[4]: dropped hosted tool of type 'mcp'; it cannot run behind a Chat Completions backend.",
    ]);
  });
});
