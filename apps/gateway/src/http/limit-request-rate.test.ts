import { describe, expect, it } from 'vitest';
import { formatDuration } from './limit-request-rate.ts';

describe('formatDuration', () => {
  it('writes durations the way OpenAI rate-limit headers do', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(20)).toBe('20ms');
    expect(formatDuration(999)).toBe('999ms');
    expect(formatDuration(1_000)).toBe('1s');
    expect(formatDuration(6_500)).toBe('6.5s');
    expect(formatDuration(60_000)).toBe('1m0s');
    expect(formatDuration(90_250)).toBe('1m30.3s');
  });
});
