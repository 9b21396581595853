import { describe, expect, it } from 'vitest';
import { breakerScopeFor } from './breaker-scope-for.ts';

describe('breakerScopeFor', () => {
  it('gives each model of a backend its own scope', () => {
    expect(breakerScopeFor('https://llm.chutes.ai/v1', 'a')).not.toBe(breakerScopeFor('https://llm.chutes.ai/v1', 'b'));
  });

  it('treats spellings of the same backend URL as one backend', () => {
    expect(breakerScopeFor('https://LLM.chutes.ai/v1/', 'm')).toBe(breakerScopeFor('https://llm.chutes.ai/v1', 'm'));
  });

  it('keeps the scheme and credentials out of the scope', () => {
    expect(breakerScopeFor('https://user:secret@llm.chutes.ai/v1', null)).toBe('llm.chutes.ai/v1');
  });
});

describe('breakerScopeFor with a bare host name', () => {
  it('keeps host and port as given', () => {
    expect(breakerScopeFor('localhost:8000', 'm')).toBe('localhost:8000#m');
  });
});
