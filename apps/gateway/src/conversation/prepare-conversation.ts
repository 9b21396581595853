import type { Logger } from 'pino';
import { InvalidRequestError } from '@rgw/errors';
import { type ResponseStore, type StorableResponse, type StoredItem, buildConversationItems, normalizeInputItems } from '@rgw/response-store';
import type { ResponsesRequest } from '@rgw/responses';
import { formatCompactionMessage, unsealCompactionSummary } from './compaction-summary.ts';

export interface PrepareConversationOptions {
  /** Read only: the chain, and items referenced by id. */
  readonly store: Pick<ResponseStore<StorableResponse>, 'get' | 'getMany' | 'findItems'>;
  /** The keyed hash of the caller's API key. */
  readonly owner: string;
  readonly createId: (prefix: string) => string;
  readonly unseal?: ((blob: string) => string | null) | undefined;
  readonly log: Logger;
}

export interface PreparedConversation {
  /** The request the converter sees: earlier turns, resolved references and expanded compactions in `input`. */
  readonly request: ResponsesRequest;
  /** What `input_items` will list for this response: its own input, references resolved, with ids. */
  readonly inputItems: readonly StoredItem[];
  /** For the stored record: earlier responses of the chain, oldest first. */
  readonly ancestorIds: readonly string[];
  /** Earlier turns then this input, before compaction items are expanded (what compaction keeps from). */
  readonly conversationItems: readonly StoredItem[];
}

type InputItem = Readonly<Record<string, unknown>>;

/**
 * Rebuilds the full conversation before conversion: `previous_response_id` → the stored chain
 * (each earlier response's input and output; instructions are not inherited), `item_reference` →
 * the caller's stored item, `compaction` → a user message carrying the unsealed summary.
 * Unknown or foreign ids are the API's 400s. A replayed reasoning blob that does not open
 * (tampered, or sealed under another key) is dropped with a warning: the turn still runs.
 */
export async function prepareConversation(request: ResponsesRequest, options: PrepareConversationOptions): Promise<PreparedConversation> {
  const { store, owner } = options;
  let history: StoredItem[] = [];
  let ancestorIds: string[] = [];
  const previousId = request.previous_response_id;
  if (previousId) {
    const previous = await store.get(owner, previousId);
    if (previous === null) {
      throw new InvalidRequestError(`Previous response with id '${previousId}' not found.`, {
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      });
    }
    if (previous.response.status === 'queued' || previous.response.status === 'in_progress') {
      throw new InvalidRequestError(`Previous response with id '${previousId}' is still ${previous.response.status}; wait for it to finish.`, {
        param: 'previous_response_id',
        code: 'previous_response_not_completed',
      });
    }
    const ancestors = await store.getMany(owner, previous.ancestorIds);
    history = buildConversationItems([...ancestors, previous]);
    ancestorIds = [...previous.ancestorIds, previousId];
  }

  const ownInput = await resolveItemReferences(request.input, options);
  const inputItems = normalizeInputItems(ownInput, options.createId);
  // With the history in our hands, a tool output answering no call of the conversation is the client's
  // mistake (OpenAI's 400); without it, the converter keeps such an output as text (a client may have
  // trimmed its own history).
  if (previousId) assertToolOutputsAnswerCalls(history, inputItems);
  const conversationItems = [...history, ...inputItems];
  const input = conversationItems.map((item, index) => expandItem(item, index, history.length, options));
  return { request: { ...request, input } as ResponsesRequest, inputItems, ancestorIds, conversationItems };
}

const CALL_TYPES: ReadonlySet<string> = new Set(['function_call', 'custom_tool_call', 'local_shell_call']);
const OUTPUT_TYPES: ReadonlySet<string> = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output']);

/** Call ids sit in `call_id`, except for local shell outputs, which carry the call's id in `id` (responses-api.md §2.7). */
function readCallId(item: StoredItem): unknown {
  return item.type === 'local_shell_call_output' ? item.id : (item['call_id'] ?? (item.type === 'local_shell_call' ? item.id : undefined));
}

function assertToolOutputsAnswerCalls(history: readonly StoredItem[], inputItems: readonly StoredItem[]): void {
  const calls = new Set([...history, ...inputItems].filter((item) => CALL_TYPES.has(item.type)).map(readCallId));
  inputItems.forEach((item, index) => {
    if (!OUTPUT_TYPES.has(item.type) || calls.has(readCallId(item))) return;
    throw new InvalidRequestError(`No tool call found for ${item.type.replaceAll('_', ' ')} with call_id ${String(readCallId(item)).slice(0, 200)}.`, {
      param: `input[${index}].call_id`,
      code: 'invalid_value',
    });
  });
}

async function resolveItemReferences(input: ResponsesRequest['input'], options: PrepareConversationOptions): Promise<string | InputItem[] | null> {
  if (input === null || input === undefined || typeof input === 'string') return input ?? null;
  const items = input as readonly InputItem[];
  const referenced = items.flatMap((item) => (item['type'] === 'item_reference' && typeof item['id'] === 'string' ? [item['id']] : []));
  if (referenced.length === 0) return [...items];
  const found = await options.store.findItems(options.owner, referenced);
  return items.map((item, index) => {
    if (item['type'] !== 'item_reference') return item;
    const resolved = found.get(String(item['id']));
    if (resolved === undefined) {
      throw new InvalidRequestError(`Item with id '${String(item['id'])}' not found.`, { param: `input[${index}]`, code: 'item_not_found' });
    }
    return resolved;
  });
}

function expandItem(item: StoredItem, index: number, historyLength: number, options: PrepareConversationOptions): StoredItem {
  const where = index < historyLength ? 'previous_response_id' : `input[${index - historyLength}]`;
  if (item.type === 'compaction') {
    const blob = item['encrypted_content'];
    const summary = typeof blob === 'string' && options.unseal ? unsealCompactionSummary(blob, options.unseal) : null;
    if (summary === null) {
      // Dropping it would silently lose the whole compacted history: refuse instead.
      throw new InvalidRequestError(`Invalid '${where}': this compaction item was not produced by this gateway (or its key changed) and cannot be expanded.`, {
        param: where === 'previous_response_id' ? where : `${where}.encrypted_content`,
        code: 'invalid_encrypted_content',
      });
    }
    return { id: item.id, type: 'message', role: 'user', content: [{ type: 'input_text', text: formatCompactionMessage(summary) }] };
  }
  if (item.type === 'reasoning' && typeof item['encrypted_content'] === 'string' && options.unseal && options.unseal(item['encrypted_content']) === null) {
    options.log.warn({ item: where }, 'dropped a reasoning encrypted_content that does not open (tampered, foreign, or another key)');
    return { ...item, encrypted_content: null };
  }
  return item;
}
