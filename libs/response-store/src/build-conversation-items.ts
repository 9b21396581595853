import type { StorableResponse, StoredItem, StoredResponseRecord } from './response-store.ts';

/**
 * The items a `previous_response_id` continuation starts from: each earlier response's input, then
 * its output, oldest first. Instructions are not carried over (the API's rule); neither are
 * ancestors that expired or were deleted (records passed as null).
 */
export function buildConversationItems(chain: readonly (StoredResponseRecord<StorableResponse> | null)[]): StoredItem[] {
  // Output items always carry ids when stored (the converter gives every item one): they are items as stored.
  return chain.flatMap((record) => (record ? [...record.inputItems, ...(record.response.output as readonly StoredItem[])] : []));
}
