import { describe, expect, it } from 'vitest';
import { convertToolsToChat } from './convert-tools-to-chat.ts';
import { mapToolChoice } from './map-tool-choice.ts';
import { parseResponsesRequest } from './responses-request-schema.ts';
import type { ResponsesTool } from './responses-tool-schema.ts';

const responsesTools = [
  { type: 'function', name: 'search', parameters: null, strict: null },
  { type: 'custom', name: 'apply_patch' },
  { type: 'namespace', name: 'crm', description: 'CRM', tools: [{ type: 'function', name: 'find' }] },
  { type: 'local_shell' },
];

function map(toolChoice: unknown) {
  const request = parseResponsesRequest({ model: 'm', input: 'hi', tools: responsesTools, tool_choice: toolChoice });
  const { tools, toolNames } = convertToolsToChat(request.tools as ResponsesTool[]);
  return mapToolChoice(request.tool_choice, tools, toolNames);
}

describe('mapToolChoice', () => {
  it.each(['none', 'auto', 'required'] as const)('passes "%s" through with every tool', (choice) => {
    const mapped = map(choice);
    expect(mapped.toolChoice).toBe(choice);
    expect(mapped.tools.map((tool) => tool.function.name)).toEqual(['search', 'apply_patch', 'crm__find', 'local_shell']);
  });

  it('leaves tool_choice unset when the request has none', () => {
    expect(map(undefined).toolChoice).toBeUndefined();
  });

  it.each([
    [{ type: 'function', name: 'search' }, 'search'],
    [{ type: 'custom', name: 'apply_patch' }, 'apply_patch'],
    [{ type: 'function', name: 'find' }, 'crm__find'],
    [{ type: 'function', name: 'crm__find' }, 'crm__find'],
  ])('points %j at the Chat function %s', (choice, chatName) => {
    expect(map(choice).toolChoice).toEqual({ type: 'function', function: { name: chatName } });
  });

  it('refuses a named choice that matches no tool', () => {
    expect(() => map({ type: 'function', name: 'apply_patch' })).toThrow(expect.objectContaining({ status: 400, param: 'tool_choice', code: 'invalid_value' }));
  });

  it('turns allowed_tools into a filtered tool list and its mode', () => {
    const mapped = map({
      type: 'allowed_tools',
      mode: 'required',
      tools: [{ type: 'function', name: 'search' }, { type: 'custom', name: 'apply_patch' }, { type: 'web_search' }],
    });
    expect(mapped.toolChoice).toBe('required');
    expect(mapped.tools.map((tool) => tool.function.name)).toEqual(['search', 'apply_patch']);
    expect(mapped.warnings).toEqual(["tool_choice.tools: ignored 'web_search', which is not a tool sent to the backend."]);
  });

  it('falls back to "auto" with a warning for hosted tool choices', () => {
    const mapped = map({ type: 'web_search_preview' });
    expect(mapped.toolChoice).toBe('auto');
    expect(mapped.warnings).toEqual(["tool_choice: 'web_search_preview' names a hosted tool a Chat Completions backend cannot run; using 'auto'."]);
  });
});
