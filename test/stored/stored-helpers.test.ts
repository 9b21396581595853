import { describe, expect, it } from 'vitest';
import type { Response, ResponseStreamEvent } from '@rgw/responses';
import { createReasoningSealer } from '../../apps/gateway/src/security/create-reasoning-sealer.ts';
import { sealCompactionSummary, unsealCompactionSummary } from '../../apps/gateway/src/conversation/compaction-summary.ts';
import { createEventLog } from '../../apps/gateway/src/stored/event-log.ts';
import { estimateInputTokens } from '../../apps/gateway/src/conversation/estimate-input-tokens.ts';
import { replayResponseEvents } from '../../apps/gateway/src/stored/replay-response-events.ts';

const finished = {
  id: 'resp_1',
  object: 'response',
  status: 'completed',
  output: [
    { id: 'rs_1', type: 'reasoning', summary: [] },
    { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hi', annotations: [], logprobs: [] }] },
  ],
  usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
} as unknown as Response;

describe('replayResponseEvents', () => {
  it('replays a finished response as created, in_progress, each item added and done, then completed', () => {
    const events = [...replayResponseEvents(finished)];
    expect(events.map((event) => `${event.sequence_number}:${event.type}`)).toEqual([
      '0:response.created',
      '1:response.in_progress',
      '2:response.output_item.added',
      '3:response.output_item.done',
      '4:response.output_item.added',
      '5:response.output_item.done',
      '6:response.completed',
    ]);
    expect((events[6] as { response: Response }).response).toEqual(finished);
    expect((events[0] as { response: Response }).response).toMatchObject({ status: 'in_progress', output: [], usage: null });
  });

  it('resumes after starting_after', () => {
    expect([...replayResponseEvents(finished, 4)].map((event) => event.sequence_number)).toEqual([5, 6]);
  });
});

describe('event log', () => {
  it('gives a late reader every event from its starting point, then the live ones, until the end', async () => {
    const log = createEventLog();
    const event = (n: number) => ({ type: 'response.in_progress', sequence_number: n }) as unknown as ResponseStreamEvent;
    log.append(event(0));
    log.append(event(1));
    const seen: number[] = [];
    const reading = (async () => {
      for await (const item of log.follow(0)) seen.push(item.sequence_number);
    })();
    log.append(event(2));
    log.end();
    await reading;
    expect(seen).toEqual([1, 2]);
  });
});

describe('compaction summary', () => {
  it('opens only its own blobs: not reasoning blobs, not tampered ones, not another key’s', () => {
    const sealer = createReasoningSealer('k'.repeat(40));
    const other = createReasoningSealer('o'.repeat(40));
    const unseal = (sealed: string) => sealer.unseal(sealed);
    const blob = sealCompactionSummary('the summary', (text) => sealer.seal(text));
    expect(unsealCompactionSummary(blob, unseal)).toBe('the summary');
    expect(unsealCompactionSummary(sealer.seal('the summary'), unseal)).toBeNull();
    expect(unsealCompactionSummary(`${blob.slice(0, -2)}xx`, unseal)).toBeNull();
    expect(unsealCompactionSummary(blob, (sealed) => other.unseal(sealed))).toBeNull();
  });
});

describe('estimateInputTokens', () => {
  it('counts message text with o200k_base plus 3 tokens per message and 3 to prime the answer', async () => {
    // "Hello world" is 2 o200k tokens, "user" 1: 3 (priming) + 3 + 1 + 2.
    expect(await estimateInputTokens({ messages: [{ role: 'user', content: 'Hello world' }] })).toBe(9);
  });

  it('grows with tools, tool calls and images', async () => {
    const base = await estimateInputTokens({ messages: [{ role: 'user', content: 'Hi' }] });
    const withTools = await estimateInputTokens({
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    const withImage = await estimateInputTokens({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
    });
    expect(withTools).toBeGreaterThan(base + 10);
    expect(withImage).toBe(base + 765);
  });
});
