import { describe, expect, it } from 'vitest';
import { mapUpstreamHttpError } from './map-upstream-http-error.ts';

const openaiShape = (message: string, code: number | string = 400) => JSON.stringify({ error: { message, type: 'BadRequestError', param: null, code } });

describe('mapUpstreamHttpError', () => {
  it('keeps a backend 4xx status and message', () => {
    const error = mapUpstreamHttpError(422, openaiShape('temperature must be >= 0', 422));
    expect(error.status).toBe(422);
    expect(error.message).toBe('temperature must be >= 0');
  });

  it('maps a context overflow, in vLLM’s and SGLang’s words, to 400 context_length_exceeded', () => {
    const vllm = mapUpstreamHttpError(400, openaiShape("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens."));
    const sglang = mapUpstreamHttpError(
      400,
      JSON.stringify({
        object: 'error',
        message: "The input (9000 tokens) is longer than the model's context length (8192 tokens).",
        type: 'BadRequestError',
        code: 400,
      }),
    );
    for (const error of [vllm, sglang]) {
      expect(error.status).toBe(400);
      expect(error.code).toBe('context_length_exceeded');
    }
  });

  it('turns 5xx into 502, and 504 into 504', () => {
    expect(mapUpstreamHttpError(500, openaiShape('boom', 500)).status).toBe(502);
    expect(mapUpstreamHttpError(503, '<html>Service Unavailable</html>').status).toBe(502);
    expect(mapUpstreamHttpError(504, '').status).toBe(504);
  });

  it('passes 429 back with its Retry-After', () => {
    const error = mapUpstreamHttpError(429, openaiShape('slow down', 429), { 'retry-after': '7' });
    expect(error.status).toBe(429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.headers).toEqual({ 'retry-after': '7' });
  });

  it('never echoes a key the backend put in its message', () => {
    const error = mapUpstreamHttpError(401, openaiShape('Incorrect API key provided: cpk_live_1234567890abcdef.', 401));
    expect(error.status).toBe(401);
    expect(error.message).not.toContain('cpk_live_1234567890abcdef');
  });

  it('does not reflect a header value that could split the response', () => {
    const error = mapUpstreamHttpError(429, openaiShape('slow down', 429), { 'retry-after': '1\r\nset-cookie: x=y' });
    expect(error.headers).toEqual({});
  });
});
