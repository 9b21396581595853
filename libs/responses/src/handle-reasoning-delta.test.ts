import { describe, expect, it } from 'vitest';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { ChatStreamEvent } from './converter-contract.ts';
import { convertChatEventsToResponsesEvents } from './create-response-event-converter.ts';
import { createTestContext, type TestContextOptions } from './test-support/create-test-context.ts';

const reasoningThenAnswer: ChatStreamEvent[] = [
  { type: 'chunk', chunk: { choices: [{ index: 0, delta: { reasoning_content: 'think' }, finish_reason: null }] } },
  { type: 'chunk', chunk: { choices: [{ index: 0, delta: { content: 'answer' }, finish_reason: 'stop' }] } },
  { type: 'done' },
];

async function finishedReasoningItem(options: TestContextOptions = {}): Promise<Record<string, unknown>> {
  const events: ResponseStreamEvent[] = convertChatEventsToResponsesEvents(reasoningThenAnswer, createTestContext(options));
  const done = events.find((event) => event.type === 'response.output_item.done' && event.item.type === 'reasoning');
  if (done?.type !== 'response.output_item.done') throw new Error('no reasoning output_item.done');
  return done.item as unknown as Record<string, unknown>;
}

describe('handleReasoningDelta', () => {
  it('leaves encrypted_content out of the finished reasoning item when nothing seals it (never null)', async () => {
    const item = await finishedReasoningItem();
    expect(item).toMatchObject({ type: 'reasoning', content: [{ type: 'reasoning_text', text: 'think' }], summary: [] });
    expect(Object.keys(item)).not.toContain('encrypted_content');
  });

  it('carries the sealed reasoning in encrypted_content when the context seals', async () => {
    const item = await finishedReasoningItem({ sealReasoning: (text) => `sealed:${text}` });
    expect(item['encrypted_content']).toBe('sealed:think');
  });
});
