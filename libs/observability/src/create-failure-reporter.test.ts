import { describe, expect, it } from 'vitest';
import { createFailureReporter, describeFailure } from './create-failure-reporter.ts';
import { createLogger } from './create-logger.ts';

function capture(level = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createFailureReporter', () => {
  it('writes one warn line per reason and per interval while a failure repeats, saying how many it stands for', () => {
    const { logger, records } = capture();
    let now = 0;
    const reporter = createFailureReporter({ logger, message: 'listing failed', recoveredMessage: 'listing works again', intervalMs: 60_000, now: () => now });
    for (let second = 0; second < 120; second += 2) {
      now = second * 1000;
      reporter.failed('connection refused');
    }
    // 60 failures over two minutes: the first line, then one a minute later carrying the 29 in between.
    expect(records().map((record) => [record['level'], record['reason'], record['repeated']])).toEqual([
      ['warn', 'connection refused', undefined],
      ['warn', 'connection refused', 29],
    ]);
    expect(reporter.lastReason()).toBe('connection refused');
  });

  it('reports a new reason at once, and recovery once', () => {
    const { logger, records } = capture();
    const reporter = createFailureReporter({ logger, message: 'listing failed', recoveredMessage: 'listing works again', now: () => 0 });
    reporter.failed('HTTP 404');
    reporter.failed('connection refused');
    reporter.recovered();
    reporter.recovered();
    expect(records().map((record) => [record['level'], record['msg'], record['reason'] ?? record['failures']])).toEqual([
      ['warn', 'listing failed', 'HTTP 404'],
      ['warn', 'listing failed', 'connection refused'],
      ['info', 'listing works again', 2],
    ]);
    expect(reporter.lastReason()).toBeNull();
  });

  it('describes a failure by its message, without a stack, and without a key', () => {
    expect(describeFailure(new Error('GET failed:\n  Bearer sk-abcdefghijklmnop1234 refused'))).toBe('GET failed: Bearer [REDACTED] refused');
    expect(describeFailure('plain')).toBe('plain');
  });
});
