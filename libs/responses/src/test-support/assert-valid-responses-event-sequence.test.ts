import { describe, expect, it } from 'vitest';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { convertChatEventsToResponsesEvents } from '../create-response-event-converter.ts';
import { assertValidResponsesEventSequence } from './assert-valid-responses-event-sequence.ts';
import { createTestContext } from './create-test-context.ts';
import { loadChunkFixture } from './load-chunk-fixture.ts';

async function validEvents(): Promise<ResponseStreamEvent[]> {
  return convertChatEventsToResponsesEvents(loadChunkFixture('vllm-parallel-tool-calls'), createTestContext());
}

/** Renumbers so only the defect under test is left. */
function renumber(events: ResponseStreamEvent[]): ResponseStreamEvent[] {
  return events.map((event, index) => ({ ...event, sequence_number: index }));
}

describe('assertValidResponsesEventSequence', () => {
  it('rejects a second item announced before the first is done (interleaved calls)', async () => {
    const events = await validEvents();
    const secondAdded = events.findIndex((event) => event.type === 'response.output_item.added' && event.output_index === 1);
    const firstDone = events.findIndex((event) => event.type === 'response.output_item.done');
    const [moved] = events.splice(secondAdded, 1);
    if (moved) events.splice(firstDone, 0, moved);
    expect(() => assertValidResponsesEventSequence(renumber(events))).toThrow(/interleaved/);
  });

  it('rejects a gap in sequence numbers', async () => {
    const events = await validEvents();
    events.splice(3, 1);
    expect(() => assertValidResponsesEventSequence(events)).toThrow(/sequence_number/);
  });

  it('rejects a terminal response missing an item', async () => {
    const events = await validEvents();
    const terminal = events.at(-1);
    if (terminal?.type !== 'response.completed') throw new Error('expected completed');
    events[events.length - 1] = { ...terminal, response: { ...terminal.response, output: terminal.response.output.slice(1) } };
    expect(() => assertValidResponsesEventSequence(events)).toThrow(/every finished item/);
  });
});
