import type { ResponseCustomToolCall, ResponseFunctionToolCall } from 'openai/resources/responses/responses';
import type { ToolNameEntry } from './converter-contract.ts';
import type { StreamState, ToolCallBuffer } from './stream-state.ts';

export type ToolCallStatus = 'in_progress' | 'completed' | 'incomplete';

/** A custom tool call carries `status` on the wire (responses-api.md §3.1) though the SDK type omits it. */
export type CustomToolCallItem = ResponseCustomToolCall & { readonly status: ToolCallStatus };
export type ToolCallItem = (ResponseFunctionToolCall & { readonly status: ToolCallStatus }) | CustomToolCallItem;

/**
 * The client-facing identity of a flattened Chat tool name: namespaced tools come back as their own
 * `name` plus `namespace`, emulated custom tools as `custom`. Names the request did not declare (a
 * model inventing a tool) pass through as plain functions, so the client sees what was asked for.
 */
export function resolveToolName(state: StreamState, chatName: string): ToolNameEntry {
  return state.context.toolNames.get(chatName) ?? { kind: 'function', name: chatName };
}

/** The item for a call as far as it has been accumulated; ids must already be assigned. */
export function buildToolCallItem(state: StreamState, call: ToolCallBuffer, status: ToolCallStatus): ToolCallItem {
  const entry = resolveToolName(state, call.name);
  const identity = {
    id: call.itemId ?? '',
    call_id: call.callId ?? '',
    name: entry.name,
    ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }),
  };
  if (entry.kind === 'custom') return { type: 'custom_tool_call', ...identity, input: readCustomInput(call.arguments), status };
  // Backends send "" for a call without parameters; clients JSON.parse arguments, so send an empty object.
  return { type: 'function_call', ...identity, arguments: call.arguments === '' ? '{}' : call.arguments, status };
}

/** Custom tools are emulated as `f({input: string})`; unwrap, or keep the raw text when it is not that. */
export function readCustomInput(argumentsText: string): string {
  try {
    const parsed: unknown = JSON.parse(argumentsText);
    if (typeof parsed === 'object' && parsed !== null && 'input' in parsed && typeof parsed.input === 'string') return parsed.input;
  } catch {
    // Truncated or non-JSON arguments: the raw text is the best rendering of what the model wrote.
  }
  return argumentsText;
}

/** True when the arguments are a complete JSON value (a call cut by a token cap is not). */
export function isCompleteJson(argumentsText: string): boolean {
  if (argumentsText === '') return true;
  try {
    JSON.parse(argumentsText);
    return true;
  } catch {
    return false;
  }
}
