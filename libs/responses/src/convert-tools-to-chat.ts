import type { ChatTool } from './chat-request.ts';
import type { ToolNameEntry } from './converter-contract.ts';
import {
  readKnownTool,
  type ResponsesCustomTool,
  type ResponsesFunctionTool,
  type ResponsesNamespaceMember,
  type ResponsesTool,
} from './responses-tool-schema.ts';

export interface ConvertedTools {
  readonly tools: ChatTool[];
  /** Every Chat function name we send → the Responses tool it stands for. */
  readonly toolNames: Map<string, ToolNameEntry>;
  readonly warnings: string[];
}

/** Chat has no namespaces; a namespaced tool is sent as `<namespace>__<name>`. */
export function formatChatToolName(name: string, namespace?: string | null): string {
  return namespace === undefined || namespace === null || namespace === '' ? name : `${namespace}__${name}`;
}

/** A function without declared parameters still needs a schema: several servers reject a missing one. */
const emptyParameters: Readonly<Record<string, unknown>> = { type: 'object', properties: {} };

/**
 * Responses `tools[]` → Chat `tools[]` (responses-api.md §1.2). Chat backends run only functions:
 * custom tools become a function with one string argument `input`; `local_shell` becomes a
 * function taking an argv array; namespaced tools are flattened. Hosted tools (web_search,
 * file_search, mcp, …) cannot run behind a Chat backend and are dropped with a warning — Codex
 * sends web_search on every turn, so failing would make the gateway unusable for it. `locate`
 * names a tool in warnings (tools carried by `additional_tools` input items live elsewhere).
 */
export function convertToolsToChat(tools: readonly ResponsesTool[], locate: (index: number) => string = (index) => `tools[${index}]`): ConvertedTools {
  const converted: ConvertedTools = { tools: [], toolNames: new Map(), warnings: [] };
  const add = (tool: ChatTool, entry: ToolNameEntry, where: string): void => {
    const chatName = tool.function.name;
    if (converted.toolNames.has(chatName)) {
      converted.warnings.push(`${where}: dropped a second tool named '${chatName}'; tool names must be unique.`);
      return;
    }
    converted.tools.push(tool);
    converted.toolNames.set(chatName, entry);
  };
  tools.forEach((tool, index) => {
    const where = locate(index);
    const known = readKnownTool(tool);
    switch (known?.type) {
      case 'function':
      case 'custom':
        add(convertMemberTool(known), { kind: known.type, name: known.name }, where);
        return;
      case 'namespace':
        known.tools.forEach((member, memberIndex) => {
          const memberWhere = `${where}.tools[${memberIndex}]`;
          const knownMember = readNamespaceMember(member);
          if (knownMember === null) {
            converted.warnings.push(
              `${memberWhere}: dropped tool of type '${member.type}' inside namespace '${known.name}'; only function and custom tools can be namespaced.`,
            );
            return;
          }
          const entry = { kind: knownMember.type, name: knownMember.name, namespace: known.name };
          add(convertMemberTool(knownMember, known.name), entry, memberWhere);
        });
        return;
      case 'local_shell':
        add(localShellTool, { kind: 'function', name: 'local_shell' }, where);
        converted.warnings.push(`${where}: 'local_shell' is emulated as a function tool named 'local_shell'; its calls are returned as function_call items.`);
        return;
      case 'tool_search':
        // Deferred (`defer_loading`) tools already went to the backend with the others.
        converted.warnings.push(`${where}: dropped 'tool_search'; every tool, deferred ones included, is sent to the backend up front.`);
        return;
      case undefined:
        converted.warnings.push(`${where}: dropped hosted tool of type '${tool.type}'; it cannot run behind a Chat Completions backend.`);
        return;
    }
  });
  return converted;
}

function readNamespaceMember(member: ResponsesNamespaceMember): ResponsesFunctionTool | ResponsesCustomTool | null {
  const known = readKnownTool(member);
  return known?.type === 'function' || known?.type === 'custom' ? known : null;
}

function convertMemberTool(tool: ResponsesFunctionTool | ResponsesCustomTool, namespace?: string): ChatTool {
  const name = formatChatToolName(tool.name, namespace);
  if (tool.type === 'custom') return convertCustomTool(tool, name);
  const chatTool: ChatTool = { type: 'function', function: { name, parameters: tool.parameters ?? { ...emptyParameters } } };
  if (typeof tool.description === 'string') chatTool.function.description = tool.description;
  if (typeof tool.strict === 'boolean') chatTool.function.strict = tool.strict;
  return chatTool;
}

/**
 * A custom (freeform) tool as a function with one string argument. The grammar cannot be enforced
 * by a Chat backend, so it goes into the description for the model to follow; the answer side
 * turns `{"input": …}` back into a custom_tool_call.
 */
function convertCustomTool(tool: ResponsesCustomTool, name: string): ChatTool {
  const lines = [tool.description ?? ''];
  const format = tool.format;
  if (format?.type === 'grammar' && typeof format.definition === 'string') {
    const syntax = typeof format.syntax === 'string' ? `${format.syntax} ` : '';
    lines.push(`The \`input\` argument must match this ${syntax}grammar:\n\`\`\`\n${format.definition}\n\`\`\``);
  }
  lines.push('Pass the raw tool input as the string argument `input`.');
  return {
    type: 'function',
    function: {
      name,
      description: lines.filter((line) => line !== '').join('\n\n'),
      parameters: {
        type: 'object',
        properties: { input: { type: 'string', description: 'The raw input for the tool.' } },
        required: ['input'],
        additionalProperties: false,
      },
    },
  };
}

/** Matches the `action` of a Responses local_shell_call (`command` argv, `working_directory`, `timeout_ms`). */
const localShellTool: ChatTool = {
  type: 'function',
  function: {
    name: 'local_shell',
    description: 'Runs a shell command on the local machine and returns its output.',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'array', items: { type: 'string' }, description: 'The command and its arguments (argv).' },
        workdir: { type: 'string', description: 'The working directory to run the command in.' },
        timeout_ms: { type: 'integer', description: 'Timeout in milliseconds.' },
      },
      required: ['command'],
      additionalProperties: false,
    },
  },
};
