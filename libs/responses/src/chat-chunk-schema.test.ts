import { describe, expect, it } from 'vitest';
import { parseChatBackendError, parseChatChunk, parseChatCompletion } from './chat-chunk-schema.ts';

describe('parseChatChunk', () => {
  it('accepts a chunk with empty choices and usage, ignoring fields it does not know', () => {
    const result = parseChatChunk({
      id: 'x',
      object: 'chat.completion.chunk',
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      obfuscation: 'ab',
    });
    expect(result).toEqual({
      success: true,
      chunk: { id: 'x', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
    });
  });

  it('accepts nulls in every optional place, as backends send them', () => {
    const result = parseChatChunk({
      id: null,
      choices: [{ index: 0, delta: { role: null, content: null, tool_calls: null, reasoning: null }, logprobs: null, finish_reason: null }],
      usage: null,
    });
    expect(result.success).toBe(true);
  });

  it('returns a failure value for a chunk of the wrong shape instead of throwing', () => {
    const result = parseChatChunk({ choices: 'nope' });
    expect(result).toMatchObject({ success: false, error: { code: 'server_error' } });
  });

  it('recognises an OpenAI-style error payload mid-stream and maps rate limits', () => {
    expect(parseChatChunk({ error: { message: 'Rate limit reached, try again in 3s', type: 'rate_limit_error', code: null } })).toEqual({
      success: false,
      error: { code: 'rate_limit_exceeded', message: 'Rate limit reached, try again in 3s' },
    });
  });

  it("recognises vLLM's flat error object and maps a context overflow to context_length_exceeded", () => {
    const result = parseChatChunk({
      object: 'error',
      message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
      type: 'BadRequestError',
      param: null,
      code: 400,
    });
    expect(result).toMatchObject({ success: false, error: { code: 'context_length_exceeded' } });
  });
});

describe('parseChatBackendError', () => {
  it('normalises a numeric code to text and a bare string error to a message', () => {
    expect(parseChatBackendError({ object: 'error', message: 'boom', type: 'InternalServerError', code: 500 })).toEqual({
      message: 'boom',
      type: 'InternalServerError',
      code: '500',
      param: null,
    });
    expect(parseChatBackendError({ error: 'upstream unavailable' })).toEqual({ message: 'upstream unavailable', type: null, code: null, param: null });
  });

  it('returns null for a normal chunk', () => {
    expect(parseChatBackendError({ id: 'x', choices: [] })).toBeNull();
  });
});

describe('parseChatCompletion', () => {
  it('reads a non-streaming answer with reasoning and tool calls', () => {
    const completion = parseChatCompletion({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            reasoning: 'hmm',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    });
    expect(completion?.choices?.[0]?.message?.tool_calls?.[0]?.function?.name).toBe('f');
  });

  it('returns null for a body that is not a completion', () => {
    expect(parseChatCompletion('not json object')).toBeNull();
  });
});
