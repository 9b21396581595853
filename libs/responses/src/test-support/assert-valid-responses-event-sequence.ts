import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import type { Response, ResponseOutputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';

const terminalTypes = new Set(['response.completed', 'response.incomplete', 'response.failed']);

interface OpenItemTrack {
  readonly index: number;
  readonly added: ResponseOutputItem;
  /** Per content/summary index: 'open' after part.added, 'done' after part.done. */
  readonly parts: Map<string, 'open' | 'done'>;
}

/**
 * Checks the invariants of responses-api.md §4.3 that strict clients enforce: `response.created` then
 * `response.in_progress` first, sequence numbers 0..n, items announced append-only and one at a time,
 * every item-scoped event addressed to the open item with its id, deltas only inside an announced part,
 * `output_item.done` keeping type/id/call_id, and exactly one terminal event, last, whose `output`
 * equals the items as they were finished. Returns the terminal Response.
 */
export function assertValidResponsesEventSequence(events: readonly ResponseStreamEvent[]): Response {
  ok(events.length >= 3, `expected at least created, in_progress and a terminal event, got ${events.length}`);
  strictEqual(events[0]?.type, 'response.created', 'the first event must be response.created');
  strictEqual(events[1]?.type, 'response.in_progress', 'the second event must be response.in_progress');
  const finished: ResponseOutputItem[] = [];
  let open: OpenItemTrack | null = null;
  let terminal: Response | null = null;

  for (const [position, event] of events.entries()) {
    strictEqual(event.sequence_number, position, `sequence_number of event ${position} (${event.type})`);
    ok(terminal === null, `${event.type} arrived after the terminal event`);
    if (terminalTypes.has(event.type) && 'response' in event) {
      ok(open === null || event.type === 'response.failed', `terminal ${event.type} with item ${open?.index} still open`);
      terminal = event.response;
      continue;
    }
    if (event.type === 'error') {
      strictEqual(events[position + 1]?.type, 'response.failed', 'an error event must be followed by response.failed');
      continue;
    }
    if (event.type === 'response.output_item.added') {
      ok(open === null, `item ${event.output_index} announced while item ${open?.index} is open (interleaved)`);
      strictEqual(event.output_index, finished.length, 'output_index must be append-only');
      ok(event.item.id, 'every item needs a non-empty id');
      open = { index: event.output_index, added: event.item, parts: new Map() };
      continue;
    }
    if (!('output_index' in event)) continue;
    ok(open !== null, `${event.type} for output_index ${event.output_index} with no open item`);
    strictEqual(event.output_index, open.index, `${event.type} addresses output_index ${event.output_index}, open is ${open.index}`);
    if (event.type === 'response.output_item.done') {
      strictEqual(event.item.type, open.added.type, 'output_item.done must keep the item type');
      strictEqual(event.item.id, open.added.id, 'output_item.done must keep the item id');
      strictEqual(callIdOf(event.item), callIdOf(open.added), 'output_item.done must keep the call_id');
      ok(
        [...open.parts.values()].every((state) => state === 'done'),
        'output_item.done with a part still open',
      );
      finished.push(event.item);
      open = null;
      continue;
    }
    ok('item_id' in event, `${event.type} must carry item_id`);
    strictEqual(event.item_id, open.added.id, `${event.type} item_id must be the open item's id`);
    checkPartOrder(event, open);
  }

  ok(terminal !== null, 'the stream must end with response.completed, response.incomplete or response.failed');
  strictEqual(terminal.id, eventResponse(events[0]).id, 'the terminal response keeps the created id');
  deepStrictEqual(terminal.output, finished, 'the terminal response must carry every finished item, in order');
  if (terminal.status === 'completed') ok(typeof terminal.completed_at === 'number', 'completed responses carry completed_at');
  else strictEqual(terminal.completed_at, null, 'completed_at only for completed responses');
  if (terminal.status !== 'failed') {
    const usage = terminal.usage;
    ok(usage, 'completed and incomplete responses carry usage');
    for (const value of [
      usage.input_tokens,
      usage.output_tokens,
      usage.total_tokens,
      usage.input_tokens_details.cached_tokens,
      usage.output_tokens_details.reasoning_tokens,
    ]) {
      ok(Number.isInteger(value), 'usage counts are integers');
    }
  }
  return terminal;
}

function checkPartOrder(event: ResponseStreamEvent, open: OpenItemTrack): void {
  const key = partKey(event);
  if (key === null) return;
  const state = open.parts.get(key);
  if (event.type === 'response.content_part.added' || event.type === 'response.reasoning_summary_part.added') {
    ok(state === undefined, `${key} announced twice`);
    const sameKind = [...open.parts.keys()].filter((existing) => existing.startsWith(key.split(':')[0] ?? ''));
    strictEqual(Number(key.split(':')[1]), sameKind.length, `${key} must be the next index`);
    open.parts.set(key, 'open');
  } else if (event.type === 'response.content_part.done' || event.type === 'response.reasoning_summary_part.done') {
    strictEqual(state, 'open', `${event.type} for ${key} that is not open`);
    open.parts.set(key, 'done');
  } else {
    strictEqual(state, 'open', `${event.type} for ${key} outside its part`);
  }
}

/** `content:N` / `summary:N` for part-scoped events, null for item-level ones (arguments, input). */
function partKey(event: ResponseStreamEvent): string | null {
  if ('summary_index' in event) return `summary:${event.summary_index}`;
  if ('content_index' in event) return `content:${event.content_index}`;
  return null;
}

function callIdOf(item: ResponseOutputItem): string | null {
  return 'call_id' in item && typeof item.call_id === 'string' ? item.call_id : null;
}

function eventResponse(event: ResponseStreamEvent | undefined): Response {
  ok(event && 'response' in event, 'expected a lifecycle event');
  return event.response;
}
