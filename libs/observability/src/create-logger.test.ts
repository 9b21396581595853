import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.ts';

const KEY = 'sk-test-Q2x8mN4vT7pL9wR1';

function captureLogs(level = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ level, name: 'gateway', destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with a level name, ISO time and the process name', () => {
    const { logger, records } = captureLogs();
    logger.info({ port: 8282 }, 'gateway listening');
    expect(records()).toEqual([expect.objectContaining({ level: 'info', name: 'gateway', msg: 'gateway listening', port: 8282 })]);
    expect(String(records()[0]?.['time'])).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('drops lines below the configured level', () => {
    const { logger, lines } = captureLogs('warn');
    logger.info('not shown');
    logger.warn('shown');
    expect(lines).toHaveLength(1);
  });

  it('never writes an API key, whether in headers, a URL, a message or an error', () => {
    const { logger, lines } = captureLogs('debug');
    logger.info({ req: { headers: { authorization: `Bearer ${KEY}`, 'x-api-key': KEY, cookie: `s=${KEY}` } } }, 'req');
    logger.info({ upstream: { headers: { authorization: `Bearer ${KEY}` }, apiKey: KEY } }, 'upstream call');
    logger.debug({ url: `https://backend.example/v1/chat/completions?api_key=${KEY}` }, 'calling');
    logger.warn(`backend said: invalid token Bearer ${KEY}`);
    logger.error({ err: new Error(`request to https://backend.example/v1?api_key=${KEY} failed: Bearer ${KEY}`) }, 'boom');
    expect(lines).toHaveLength(5);
    expect(lines.join('\n')).not.toContain(KEY);
    expect(lines.join('\n')).toContain('[REDACTED]');
  });

  it('never writes a credential nested at any depth under its usual field names, whatever it looks like', () => {
    // No sk-/cpk_ prefix: only the field names give these away.
    const secret = 'Q2x8mN4vT7pL9wR1zzY';
    const { logger, lines } = captureLogs();
    logger.info({ call: { upstream: { headers: { authorization: secret, 'x-api-key': secret, cookie: `a=1; session=${secret}` } } } }, 'deep headers');
    logger.info({ reply: { headers: { 'set-cookie': [`session=${secret}; Path=/`, `other=${secret}`] } } }, 'set-cookie array');
    logger.info({ options: { auth: { apiKey: secret, api_key: secret, password: secret } } }, 'deep fields');
    logger.info(`echoed header Cookie: session=${secret}`);
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(secret);
      expect(() => JSON.parse(line) as unknown).not.toThrow();
    }
  });

  it('logs the error type and message of a thrown error, without the request options attached to it', () => {
    const { logger, records } = captureLogs();
    const error = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      options: { headers: { authorization: `Bearer ${KEY}` } },
    });
    logger.error({ err: error }, 'backend unreachable');
    const err = records()[0]?.['err'] as Record<string, unknown>;
    expect(err).toMatchObject({ type: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' });
    expect(err).not.toHaveProperty('options');
  });
});
