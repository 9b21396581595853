import type { StoredItem } from './response-store.ts';

/** Id prefixes OpenAI uses per item type (responses-api.md §3.1); anything else gets `item_`. */
const ID_PREFIXES: Readonly<Record<string, string>> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  custom_tool_call: 'ctc',
  custom_tool_call_output: 'ctco',
  reasoning: 'rs',
  local_shell_call: 'lsh',
  web_search_call: 'ws',
  compaction: 'cmp',
};

/** Item types whose stored form carries a `status` (the API lists them with one). */
const HAS_STATUS: ReadonlySet<string> = new Set([
  'message',
  'function_call',
  'function_call_output',
  'custom_tool_call',
  'custom_tool_call_output',
  'local_shell_call',
]);

/**
 * The request's `input` as `input_items` lists it: a string becomes one user message, message
 * text becomes `input_text` parts (`output_text` for the assistant), every item gets an id
 * (`msg_…` when the client sent none) and, where the API shows one, a `status`. Pure: ids come
 * from `createId`. Expects item references to be resolved already.
 */
export function normalizeInputItems(
  input: string | readonly Readonly<Record<string, unknown>>[] | null | undefined,
  createId: (prefix: string) => string,
): StoredItem[] {
  if (input === null || input === undefined) return [];
  if (typeof input === 'string') {
    return [{ id: createId('msg'), type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  }
  return input.map((item) => normalizeItem(item, createId));
}

function normalizeItem(item: Readonly<Record<string, unknown>>, createId: (prefix: string) => string): StoredItem {
  const type = typeof item['type'] === 'string' ? item['type'] : 'message';
  const normalized: Record<string, unknown> = { ...item, type };
  if (typeof item['id'] !== 'string' || item['id'] === '') normalized['id'] = createId(ID_PREFIXES[type] ?? 'item');
  if (HAS_STATUS.has(type) && (item['status'] === undefined || item['status'] === null)) normalized['status'] = 'completed';
  if (type === 'message' && typeof item['content'] === 'string') {
    normalized['content'] = [{ type: item['role'] === 'assistant' ? 'output_text' : 'input_text', text: item['content'] }];
  }
  return normalized as unknown as StoredItem;
}
