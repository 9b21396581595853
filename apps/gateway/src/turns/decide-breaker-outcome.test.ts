import { describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidRequestError, NotFoundError, RateLimitError, UpstreamClientError, UpstreamError, UpstreamTimeoutError } from '@rgw/errors';
import type { Response } from '@rgw/responses';
import { decideBreakerOutcome } from './decide-breaker-outcome.ts';

function response(status: 'completed' | 'incomplete' | 'failed', code?: string): Response {
  return { id: 'resp_1', status, error: code === undefined ? null : { code, message: 'm' }, output: [] } as unknown as Response;
}

describe('decideBreakerOutcome', () => {
  it('counts a finished response as a success, whether completed or cut short by a cap', () => {
    expect(decideBreakerOutcome({ kind: 'finished', response: response('completed') })).toBe('success');
    expect(decideBreakerOutcome({ kind: 'finished', response: response('incomplete') })).toBe('success');
  });

  it('counts backend faults as failures: 5xx, timeouts, cut or failed streams', () => {
    expect(decideBreakerOutcome({ kind: 'thrown', error: new UpstreamError('502') })).toBe('failure');
    expect(decideBreakerOutcome({ kind: 'thrown', error: new UpstreamTimeoutError('504') })).toBe('failure');
    expect(decideBreakerOutcome({ kind: 'finished', response: response('failed', 'server_error') })).toBe('failure');
    expect(decideBreakerOutcome({ kind: 'stopped', errorCode: 'server_error' })).toBe('failure');
    expect(decideBreakerOutcome({ kind: 'stopped', errorCode: 'upstream_error' })).toBe('failure');
    // A response that failed without saying why is the backend's failure too.
    expect(decideBreakerOutcome({ kind: 'finished', response: response('failed') })).toBe('failure');
  });

  it.each(['context_length_exceeded', 'rate_limit_exceeded', 'insufficient_quota', 'invalid_prompt', 'store_unavailable', 'server_shutting_down'])(
    'never counts an in-band %s: the client, its quota or the gateway caused it, not the backend',
    (code) => {
      expect(decideBreakerOutcome({ kind: 'finished', response: response('failed', code) })).toBe('ignored');
      expect(decideBreakerOutcome({ kind: 'stopped', errorCode: code })).toBe('ignored');
    },
  );

  it("never counts a client's own error answered by the backend before any byte", () => {
    for (const error of [
      new InvalidRequestError('400'),
      new AuthenticationError('401'),
      new NotFoundError('404'),
      new RateLimitError('429'),
      new UpstreamClientError(422, '422'),
    ]) {
      expect(decideBreakerOutcome({ kind: 'thrown', error })).toBe('ignored');
    }
  });

  it('never counts a client that left, a cancel, or a consumer that stopped without an error', () => {
    expect(decideBreakerOutcome({ kind: 'aborted' })).toBe('ignored');
    expect(decideBreakerOutcome({ kind: 'stopped', errorCode: null })).toBe('ignored');
    expect(decideBreakerOutcome({ kind: 'thrown', error: Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }) })).toBe('ignored');
  });
});
