import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact-secrets.ts';

const KEY = 'cpk_0f3a9c1e.b7d24e6a5c.Zx9QvLw2';

describe('redactSecrets', () => {
  it.each([
    ['a bearer token in a message', `upstream rejected Authorization: Bearer ${KEY}`],
    ['a key in a URL query string', `GET https://llm.chutes.ai/v1/models?api_key=${KEY}&page=2`],
    ['a key in a `key=` query parameter', `/v1/responses?key=${KEY}`],
    ['an x-api-key header echoed in text', `x-api-key: ${KEY}`],
    ['a JSON apiKey field inside an error message', `bad config {"apiKey":"${KEY}"}`],
    ['a password in a Redis URL', `connect ECONNREFUSED redis://default:${KEY}@redis:6379`],
    ['a cookie header echoed in text', `Cookie: theme=dark; session=${KEY}`],
    ['a serialised set-cookie array', `{"set-cookie":["session=${KEY}; Path=/; HttpOnly","b=2"]}`],
  ])('removes %s', (_name, text) => {
    const redacted = redactSecrets(text);
    expect(redacted).not.toContain(KEY);
    expect(redacted).toContain('[REDACTED]');
  });

  it('removes OpenAI-style sk- keys without any surrounding context', () => {
    expect(redactSecrets('failed for sk-proj-AbCdEf123456_xyz today')).toBe('failed for [REDACTED] today');
  });

  it('keeps ordinary text and non-secret query parameters intact', () => {
    const text = 'GET /v1/models?limit=20 took 12ms (model deepseek-ai/DeepSeek-V3, task-force)';
    expect(redactSecrets(text)).toBe(text);
  });

  it('keeps the text around a redacted token so the message stays readable', () => {
    expect(redactSecrets(`got 401 for Bearer ${KEY} from backend`)).toBe('got 401 for Bearer [REDACTED] from backend');
  });

  it('leaves a serialised JSON log line valid JSON whatever the key and its surroundings', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9._-]{8,40}$/);
    const prefix = fc.constantFrom('Bearer ', '?api_key=', 'x-api-key: ', '"apiKey":"', 'redis://u:', 'sk-', 'cpk_', 'Cookie: s=', '"set-cookie":["s=');
    const noise = fc.string({ maxLength: 20 });
    fc.assert(
      fc.property(noise, prefix, secret, noise, (before, lead, key, after) => {
        const line = JSON.stringify({ msg: `${before}${lead}${key}@host ${after}` });
        const parsed: unknown = JSON.parse(redactSecrets(line));
        expect(parsed).toHaveProperty('msg');
      }),
    );
  });
});
