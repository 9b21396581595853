import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatStreamEvent } from '@rgw/responses';
import { readChatStreamEvents } from './read-chat-stream-events.ts';

async function* pieces(bytes: Uint8Array, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= start || cut >= bytes.length) continue;
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

async function read(bytes: Uint8Array, cuts: readonly number[], maxEventBytes = 1024 * 1024): Promise<ChatStreamEvent[]> {
  const events: ChatStreamEvent[] = [];
  for await (const event of readChatStreamEvents(pieces(bytes, cuts), { maxEventBytes })) events.push(event);
  return events;
}

const chunkText = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('é', '思考', '🤔🤔', '\n', 'data: [DONE]'));
const chunk = chunkText.map((content) => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
}));
const wellFormedStream = fc
  .record({ chunks: fc.array(chunk, { maxLength: 8 }), lineEnding: fc.constantFrom('\n', '\r\n'), comments: fc.boolean() })
  .map(({ chunks, lineEnding, comments }) => {
    const frames = chunks.map((value) => `${comments ? `: keep-alive${lineEnding}` : ''}data: ${JSON.stringify(value)}${lineEnding}${lineEnding}`);
    return new TextEncoder().encode(`${frames.join('')}data: [DONE]${lineEnding}${lineEnding}`);
  });

describe('readChatStreamEvents under fuzzing', () => {
  it('yields the same events however the bytes are split across reads (inside multi-byte characters too)', async () => {
    await fc.assert(
      fc.asyncProperty(wellFormedStream, fc.array(fc.nat(4_000), { maxLength: 12 }), async (bytes, cuts) => {
        const whole = await read(bytes, []);
        expect(await read(bytes, cuts)).toEqual(whole);
        expect(whole.at(-1)).toEqual({ type: 'done' });
        expect(whole.every((event) => event.type !== 'error')).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on arbitrary bytes, and yields only chunks, errors and done, stopping at the first error', async () => {
    const noise = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc
        .array(
          fc.oneof(
            fc.string(),
            fc.constantFrom('data: ', 'data: {', '\n\n', 'event: x\n', 'data: [DONE]\n\n', 'retry: abc\n', 'data: {"error":{"message":"boom"}}\n\n'),
          ),
          { maxLength: 20 },
        )
        .map((parts) => new TextEncoder().encode(parts.join(''))),
    );
    await fc.assert(
      fc.asyncProperty(noise, fc.array(fc.nat(700), { maxLength: 8 }), async (bytes, cuts) => {
        const events = await read(bytes, cuts, 256);
        for (const event of events) expect(['chunk', 'error', 'done']).toContain(event.type);
        // An error, if any, is the last event.
        expect(events.slice(0, -1).map((event) => event.type)).not.toContain('error');
      }),
      { numRuns: 600 },
    );
  });

  it('fails cleanly on one event larger than the buffer limit instead of dropping it', async () => {
    const big = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'x'.repeat(3_000) } }] })}\n\n`;
    const bytes = new TextEncoder().encode(`${big}data: [DONE]\n\n`);
    const events = await read(bytes, [100, 1_000, 2_000], 1_024);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', error: { code: 'server_error' } });
  });
});
