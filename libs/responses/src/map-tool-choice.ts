import { InvalidRequestError } from '@rgw/errors';
import type { ChatTool, ChatToolChoice } from './chat-request.ts';
import type { ToolNameEntry, ToolNameMap } from './converter-contract.ts';
import { readKnownToolChoice, type ResponsesToolChoice } from './responses-tool-schema.ts';

export interface MappedToolChoice {
  /** Absent: send no tool_choice (the backend default, "auto"). */
  readonly toolChoice?: ChatToolChoice;
  /** The tools to send: all of them, or the subset an `allowed_tools` choice permits. */
  readonly tools: ChatTool[];
  readonly warnings: string[];
}

/**
 * Responses `tool_choice` → Chat (responses-api.md §1.3). Named choices point at the Chat name we
 * gave the tool (flattened for namespaces, the emulating function for custom tools).
 * `allowed_tools` becomes a filtered tool list plus its mode, since open servers lack Chat's own
 * allowed_tools form. Choices of hosted tools fall back to "auto" with a warning.
 */
export function mapToolChoice(choice: ResponsesToolChoice | null | undefined, tools: ChatTool[], toolNames: ToolNameMap): MappedToolChoice {
  if (choice === null || choice === undefined) return { tools, warnings: [] };
  if (typeof choice === 'string') return { toolChoice: choice, tools, warnings: [] };
  const known = readKnownToolChoice(choice);
  switch (known?.type) {
    case 'function':
    case 'custom': {
      const chatName = findChatToolName(toolNames, known.type, known.name, known.namespace);
      if (chatName === undefined) {
        throw new InvalidRequestError(`Tool choice '${known.type}' named '${known.name}' does not match any tool in 'tools'.`, {
          param: 'tool_choice',
          code: 'invalid_value',
        });
      }
      return { toolChoice: { type: 'function', function: { name: chatName } }, tools, warnings: [] };
    }
    case 'allowed_tools': {
      const warnings: string[] = [];
      const allowed = new Set<string>();
      for (const reference of known.tools) {
        const kind = reference.type === 'local_shell' ? 'function' : reference.type;
        const name = reference.type === 'local_shell' ? 'local_shell' : reference.name;
        const chatName =
          (kind === 'function' || kind === 'custom') && typeof name === 'string' ? findChatToolName(toolNames, kind, name, reference.namespace) : undefined;
        if (chatName === undefined)
          warnings.push(
            `tool_choice.tools: ignored '${reference.type}${typeof name === 'string' ? ` ${name}` : ''}', which is not a tool sent to the backend.`,
          );
        else allowed.add(chatName);
      }
      return { toolChoice: known.mode, tools: tools.filter((tool) => allowed.has(tool.function.name)), warnings };
    }
    case undefined:
      return {
        toolChoice: 'auto',
        tools,
        warnings: [`tool_choice: '${choice.type}' names a hosted tool a Chat Completions backend cannot run; using 'auto'.`],
      };
  }
}

/** The Chat name for a Responses tool reference; also accepts the flattened name itself. */
function findChatToolName(toolNames: ToolNameMap, kind: ToolNameEntry['kind'], name: string, namespace?: string | null): string | undefined {
  for (const [chatName, entry] of toolNames) {
    if (entry.kind !== kind) continue;
    if (entry.name === name && (namespace === undefined || namespace === null || entry.namespace === namespace)) return chatName;
  }
  const direct = toolNames.get(name);
  return direct?.kind === kind ? name : undefined;
}
