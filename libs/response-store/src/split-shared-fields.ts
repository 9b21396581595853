import { createHash } from 'node:crypto';
import type { StoredResponseObject } from './response-store.ts';

/**
 * Response fields every turn of a conversation repeats: Codex sends its 18 KB tool list and its
 * instructions with every request, and the Response echoes both. Stored once per owner and content
 * (content-addressed), and referenced from each record, they cost one copy per conversation instead
 * of one per turn.
 */
export const SHARED_FIELDS = ['tools', 'instructions'] as const;
export type SharedField = (typeof SHARED_FIELDS)[number];

/** Smaller values stay inline: a blob key and its lookup cost more than they save. */
const SHARE_FROM_BYTES = 256;

export interface SharedPart {
  readonly field: SharedField;
  /** Content address: 128 bits of SHA-256 over the owner, the field and the JSON, base64url. */
  readonly id: string;
  readonly json: string;
}

export interface SplitResponse {
  /** The Response as stored in the record: each shared field left in place as null (keeps key order). */
  readonly response: StoredResponseObject;
  /** `JSON.stringify(response)` when nothing was shared and the caller had it; else undefined. */
  readonly responseJson: string | undefined;
  readonly shared: readonly SharedPart[];
}

/**
 * Takes the large shared fields out of a Response. The owner is part of the address: no tenant's
 * record can reference another tenant's blob, and deleting one owner's data never touches another's.
 */
export function splitSharedFields(owner: string, response: StoredResponseObject, responseJson?: string): SplitResponse {
  const shared: SharedPart[] = [];
  let stored: Record<string, unknown> | undefined;
  for (const field of SHARED_FIELDS) {
    const value = response[field];
    if (value === undefined || value === null) continue;
    const json = JSON.stringify(value);
    if (json.length < SHARE_FROM_BYTES) continue;
    const id = createHash('sha256').update(owner).update('\0').update(field).update('\0').update(json).digest().subarray(0, 16).toString('base64url');
    shared.push({ field, id, json });
    stored ??= { ...response };
    stored[field] = null;
  }
  if (stored === undefined) return { response, responseJson, shared };
  return { response: stored as unknown as StoredResponseObject, responseJson: undefined, shared };
}
