import { InvalidRequestError } from '@rgw/errors';
import type { ReasoningReplayField } from './backend-profile.ts';
import type { ChatAssistantMessage, ChatMessage, ChatToolCall, ChatUserContentPart } from './chat-request.ts';
import { collapseChatContent, convertContentPartsToChat } from './convert-content-parts-to-chat.ts';
import { formatChatToolName } from './convert-tools-to-chat.ts';
import { readKnownInputItem, type KnownResponsesInputItem, type ResponsesContentPart, type ResponsesInputItem } from './responses-input-item-schema.ts';

export interface ConvertInputItemsOptions {
  /** Turns a reasoning item's `encrypted_content` back into text; null when it is not ours or is unreadable. */
  readonly unsealReasoning?: (encryptedContent: string) => string | null;
  /** The assistant-message fields replayed reasoning goes in (default `reasoning_content`). */
  readonly reasoningReplayFields?: readonly ReasoningReplayField[];
  /** Give every assistant message with tool calls a reasoning field, a placeholder when there is none. */
  readonly reasoningOnToolCalls?: boolean;
}

/**
 * Sent as the reasoning of a tool-call turn that has none, for thinking servers that refuse the turn
 * without it. A space, not "": their check is "field missing or empty".
 */
export const missingReasoningPlaceholder = ' ';

export interface ConvertedInputItems {
  /** Texts of system/developer messages, in order; the caller merges them into one leading system message. */
  readonly systemTexts: string[];
  /** user/assistant/tool messages, never system. */
  readonly messages: ChatMessage[];
  readonly warnings: string[];
}

/** Content of the tool message synthesised for a call the client sent no output for. */
export const missingToolOutputText = '(no output recorded)';

type Item<Type extends KnownResponsesInputItem['type']> = Extract<KnownResponsesInputItem, { type: Type }>;
type ToolOutputItem = Item<'function_call_output'> | Item<'custom_tool_call_output'> | Item<'local_shell_call_output'>;

/**
 * Responses `input[]` → Chat messages (responses-api.md §2.10):
 * - consecutive assistant output (messages, function/custom/local-shell calls, reasoning) becomes ONE
 *   assistant message: text joined, tool_calls in order, reasoning as `reasoning_content`;
 * - tool outputs become `tool` messages; images they return follow in a user message after the run
 *   of tool messages, because Chat tool messages are text-only;
 * - every tool call is answered before the next non-tool message (placeholder + warning otherwise),
 *   since most servers reject a conversation with an unanswered call;
 * - consecutive user messages are merged: several chat templates require strict user/assistant
 *   alternation, and Codex sends its environment context as separate user messages.
 */
export function convertInputItemsToChatMessages(items: readonly ResponsesInputItem[], options: ConvertInputItemsOptions = {}): ConvertedInputItems {
  const result: ConvertedInputItems = { systemTexts: [], messages: [], warnings: [] };
  const { messages, warnings } = result;
  const replayFields = options.reasoningReplayFields ?? ['reasoning_content'];
  let assistant: { texts: string[]; toolCalls: ChatToolCall[]; reasoning: string[]; where: string } | null = null;
  /** Calls of the last assistant message still waiting for their tool message. */
  const unanswered: string[] = [];
  /** Images from tool outputs and outputs of unknown calls, sent as a user message after the tool run. */
  const afterToolRun: ChatUserContentPart[] = [];

  const openAssistant = (where: string) => {
    closeToolRun();
    assistant ??= { texts: [], toolCalls: [], reasoning: [], where };
    return assistant;
  };
  const flushAssistant = (): void => {
    if (assistant === null) return;
    const { texts, toolCalls, reasoning, where } = assistant;
    assistant = null;
    const text = texts.filter((part) => part !== '').join('\n\n');
    if (text === '' && toolCalls.length === 0) {
      warnings.push(`${where}: dropped assistant output with no text and no tool calls${reasoning.length > 0 ? ' (reasoning only)' : ''}.`);
      return;
    }
    const message: ChatAssistantMessage = { role: 'assistant', content: text === '' ? null : text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
    const reasoningText =
      reasoning.length > 0 ? reasoning.join('\n\n') : toolCalls.length > 0 && options.reasoningOnToolCalls === true ? missingReasoningPlaceholder : '';
    if (reasoningText !== '') for (const field of replayFields) message[field] = reasoningText;
    messages.push(message);
    unanswered.push(...toolCalls.map((call) => call.id));
  };
  function closeToolRun(): void {
    for (const callId of unanswered.splice(0)) {
      messages.push({ role: 'tool', tool_call_id: callId, content: missingToolOutputText });
      warnings.push(`input: tool call '${callId}' has no output item; sent '${missingToolOutputText}' in its place.`);
    }
    if (afterToolRun.length > 0) pushUserContent(afterToolRun.splice(0));
  }
  const pushUserContent = (parts: ChatUserContentPart[]): void => {
    const previous = messages.at(-1);
    if (previous?.role === 'user') {
      previous.content = collapseChatContent([...toParts(previous.content), ...parts]);
      return;
    }
    messages.push({ role: 'user', content: collapseChatContent(parts) });
  };
  const answerToolCall = (item: ToolOutputItem, where: string): void => {
    flushAssistant();
    const callId = item.type === 'local_shell_call_output' ? item.id : item.call_id;
    const parts =
      typeof item.output === 'string' ? [{ type: 'text' as const, text: item.output }] : convertContentPartsToChat(item.output, `${where}.output`, warnings);
    const text = parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n\n');
    const images = parts.filter((part) => part.type === 'image_url');
    const position = unanswered.indexOf(callId);
    if (position === -1) {
      warnings.push(`${where}: output for unknown tool call '${callId}' sent as a user message.`);
      afterToolRun.push({ type: 'text', text: `Output of tool call ${callId}:\n${text}` }, ...images);
      return;
    }
    unanswered.splice(position, 1);
    messages.push({ role: 'tool', tool_call_id: callId, content: text });
    if (images.length > 0) afterToolRun.push({ type: 'text', text: `Images returned by tool call ${callId}:` }, ...images);
  };

  items.forEach((item, index) => {
    const where = `input[${index}]`;
    const known = readKnownInputItem(item);
    switch (known?.type) {
      case 'message':
        if (known.role === 'system' || known.role === 'developer') {
          result.systemTexts.push(readSystemText(known.content, `${where}.content`, warnings));
        } else if (known.role === 'assistant') {
          openAssistant(where).texts.push(...readAssistantTexts(known.content, `${where}.content`, warnings));
        } else {
          flushAssistant();
          closeToolRun();
          const parts =
            typeof known.content === 'string'
              ? [{ type: 'text' as const, text: known.content }]
              : convertContentPartsToChat(known.content, `${where}.content`, warnings);
          if (parts.length === 0) warnings.push(`${where}: dropped user message with no content the backend can read.`);
          else pushUserContent(parts);
        }
        return;
      case 'function_call':
        openAssistant(where).toolCalls.push(createToolCall(known.call_id, formatChatToolName(known.name, known.namespace), known.arguments));
        return;
      case 'custom_tool_call':
        // Replayed in the shape the emulating function (see convert-tools-to-chat) would have produced.
        openAssistant(where).toolCalls.push(
          createToolCall(known.call_id, formatChatToolName(known.name, known.namespace), JSON.stringify({ input: known.input })),
        );
        return;
      case 'local_shell_call': {
        const callId = known.call_id ?? known.id;
        if (typeof callId !== 'string') {
          throw new InvalidRequestError(`Missing required parameter: '${where}.call_id'.`, { param: `${where}.call_id`, code: 'missing_required_parameter' });
        }
        const { command, working_directory: workdir, timeout_ms: timeoutMs } = known.action;
        const args = { command, ...(typeof workdir === 'string' ? { workdir } : {}), ...(typeof timeoutMs === 'number' ? { timeout_ms: timeoutMs } : {}) };
        openAssistant(where).toolCalls.push(createToolCall(callId, 'local_shell', JSON.stringify(args)));
        return;
      }
      case 'reasoning': {
        const text = readReasoningText(known, options.unsealReasoning);
        if (text !== '') openAssistant(where).reasoning.push(text);
        return;
      }
      case 'function_call_output':
      case 'custom_tool_call_output':
      case 'local_shell_call_output':
        answerToolCall(known, where);
        return;
      case 'item_reference':
        throw new InvalidRequestError(
          `Invalid '${where}': item reference '${known.id}' was not found. Only items of responses this gateway stored can be referenced; send the item itself instead.`,
          { param: where, code: 'invalid_value' },
        );
      case 'additional_tools':
        // Its tools joined the request's tools (convertResponsesRequestToChat); the item itself says nothing.
        return;
      case undefined:
        warnings.push(`${where}: dropped item of type '${item.type}'; it has no Chat Completions equivalent.`);
        return;
    }
  });
  flushAssistant();
  closeToolRun();
  return result;
}

function createToolCall(id: string, name: string, args: string): ChatToolCall {
  return { id, type: 'function', function: { name, arguments: args } };
}

function toParts(content: string | ChatUserContentPart[]): ChatUserContentPart[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function readSystemText(content: string | readonly ResponsesContentPart[], path: string, warnings: string[]): string {
  if (typeof content === 'string') return content;
  const parts = convertContentPartsToChat(content, path, warnings);
  if (parts.some((part) => part.type !== 'text')) warnings.push(`${path}: dropped non-text parts of a system/developer message.`);
  return parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n\n');
}

function readAssistantTexts(content: string | readonly ResponsesContentPart[], path: string, warnings: string[]): string[] {
  if (typeof content === 'string') return [content];
  const parts = convertContentPartsToChat(content, path, warnings);
  if (parts.some((part) => part.type !== 'text')) warnings.push(`${path}: dropped non-text parts of an assistant message.`);
  return parts.flatMap((part) => (part.type === 'text' ? [part.text] : []));
}

/**
 * The text of a replayed reasoning item, best source first: raw `reasoning_text` content (open
 * models), then our own sealed `encrypted_content` (Codex replays it with `content: null`), then
 * the summary. Never inlined into `content` as `<think>` text: templates would show it as answer.
 */
function readReasoningText(item: Item<'reasoning'>, unsealReasoning: ConvertInputItemsOptions['unsealReasoning']): string {
  const content = (item.content ?? []).map((part) => part.text).filter((text) => text !== '');
  if (content.length > 0) return content.join('\n\n');
  if (typeof item.encrypted_content === 'string' && unsealReasoning !== undefined) {
    const unsealed = unsealReasoning(item.encrypted_content);
    if (typeof unsealed === 'string' && unsealed !== '') return unsealed;
  }
  return (item.summary ?? [])
    .map((part) => part.text)
    .filter((text) => text !== '')
    .join('\n\n');
}
