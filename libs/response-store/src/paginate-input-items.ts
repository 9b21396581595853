import { InvalidRequestError } from '@rgw/errors';
import type { StoredItem } from './response-store.ts';

export interface InputItemsPage {
  readonly object: 'list';
  readonly data: readonly StoredItem[];
  readonly first_id: string | null;
  readonly last_id: string | null;
  readonly has_more: boolean;
}

export interface PaginationQuery {
  /** 1–100, default 20 (the API's bounds). */
  readonly limit?: number | undefined;
  /** `desc` (the API's default) lists the newest item first. */
  readonly order?: 'asc' | 'desc' | undefined;
  /** Item id to start after, in the chosen order. */
  readonly after?: string | undefined;
}

/** One page of `GET /v1/responses/{id}/input_items`. Items are stored oldest first. */
export function paginateInputItems(items: readonly StoredItem[], query: PaginationQuery): InputItemsPage {
  const limit = query.limit ?? 20;
  const ordered = query.order === 'asc' ? items : [...items].reverse();
  let start = 0;
  if (query.after !== undefined) {
    const index = ordered.findIndex((item) => item.id === query.after);
    if (index === -1) {
      throw new InvalidRequestError(`No input item with id '${query.after}' in this response.`, { param: 'after', code: 'invalid_value' });
    }
    start = index + 1;
  }
  const data = ordered.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < ordered.length,
  };
}
