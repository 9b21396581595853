import { describe, expect, it } from 'vitest';
import type { ChatStreamEvent } from '@rgw/responses';
import { readChatStreamEvents } from './read-chat-stream-events.ts';

// A real SGLang/vLLM stream: role chunk, text with multi-byte characters, finish, usage, [DONE].
const WIRE = [
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1769092764,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}',
  '',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1769092764,"model":"m","choices":[{"index":0,"delta":{"content":"Grüße 👋 世界"},"logprobs":null,"finish_reason":null}],"usage":null}',
  '',
  ': keep-alive comment',
  '',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1769092764,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}',
  '',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1769092764,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}',
  '',
  'data: [DONE]',
  '',
  '',
].join('\n');

async function* bytesOf(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

async function collect(events: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const result: ChatStreamEvent[] = [];
  for await (const event of events) result.push(event);
  return result;
}

function textOf(events: readonly ChatStreamEvent[]): string {
  return events.map((event) => (event.type === 'chunk' ? (event.chunk.choices?.[0]?.delta?.content ?? '') : '')).join('');
}

describe('readChatStreamEvents', () => {
  it('yields the same chunks wherever the bytes are split, including inside multi-byte characters', async () => {
    const bytes = new TextEncoder().encode(WIRE);
    const whole = await collect(readChatStreamEvents(bytesOf([bytes]), { maxEventBytes: 1 << 20 }));
    expect(whole.map((event) => event.type)).toEqual(['chunk', 'chunk', 'chunk', 'chunk', 'done']);
    expect(textOf(whole)).toBe('Grüße 👋 世界');
    for (let cut = 1; cut < bytes.length; cut += 1) {
      const split = await collect(readChatStreamEvents(bytesOf([bytes.subarray(0, cut), bytes.subarray(cut)]), { maxEventBytes: 1 << 20 }));
      expect(split).toEqual(whole);
    }
  });

  it('survives one byte per read', async () => {
    const bytes = new TextEncoder().encode(WIRE);
    const pieces = Array.from(bytes, (byte) => Uint8Array.of(byte));
    const events = await collect(readChatStreamEvents(bytesOf(pieces), { maxEventBytes: 1 << 20 }));
    expect(textOf(events)).toBe('Grüße 👋 世界');
  });

  it('reports a malformed JSON chunk as an error value and stops', async () => {
    const wire = 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: {not json\n\ndata: [DONE]\n\n';
    const events = await collect(readChatStreamEvents(bytesOf([new TextEncoder().encode(wire)]), { maxEventBytes: 1 << 20 }));
    expect(events.map((event) => event.type)).toEqual(['chunk', 'error']);
  });

  it('turns an in-band backend error into an error value with a mapped code, with keys redacted', async () => {
    const wire = 'data: {"error":{"message":"maximum context length is 4096 tokens (key sk-abcdefghijklmnop)","type":"BadRequestError","code":400}}\n\n';
    const [event] = await collect(readChatStreamEvents(bytesOf([new TextEncoder().encode(wire)]), { maxEventBytes: 1 << 20 }));
    expect(event).toMatchObject({ type: 'error', error: { code: 'context_length_exceeded' } });
    expect(JSON.stringify(event)).not.toContain('sk-abcdefghijklmnop');
  });

  it('fails cleanly on a single event larger than the buffer limit instead of buffering it', async () => {
    const huge = `data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(5000)}"}}]}\n\n`;
    const events = await collect(readChatStreamEvents(bytesOf([new TextEncoder().encode(huge)]), { maxEventBytes: 1024 }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', error: { code: 'server_error' } });
    expect((events[0] as { error: { message: string } }).error.message).toMatch(/larger than 1024 bytes/);
  });

  it('ends without a done event when the stream ends without [DONE] (the converter decides what that means)', async () => {
    const wire = 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"partial"}}]}\n\n';
    const events = await collect(readChatStreamEvents(bytesOf([new TextEncoder().encode(wire)]), { maxEventBytes: 1 << 20 }));
    expect(events.map((event) => event.type)).toEqual(['chunk']);
  });

  it('turns a connection reset mid-stream into an error value', async () => {
    async function* cut(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n');
      throw Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    }
    const events = await collect(readChatStreamEvents(cut(), { maxEventBytes: 1 << 20 }));
    expect(events.map((event) => event.type)).toEqual(['chunk', 'error']);
    expect((events[1] as { error: { message: string } }).error.message).toMatch(/cut/);
  });

  it('rethrows our own client’s abort: nobody is listening any more', async () => {
    async function* aborted(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n');
      throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    }
    await expect(collect(readChatStreamEvents(aborted(), { maxEventBytes: 1 << 20 }))).rejects.toThrow('aborted');
  });
});
