import { stdSerializers } from 'pino';
import { redactSecrets } from './redact-secrets.ts';

export interface SerializedLogError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly status?: number;
  readonly [field: string]: unknown;
}

/**
 * pino's standard error serializer with the message and stack scrubbed, and without the request options
 * some HTTP clients attach to errors (`options`, `config`, `headers`, `request`): those may carry the
 * client's key or a full upstream URL.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized: Record<string, unknown> = { ...stdSerializers.err(error) };
  for (const field of ['options', 'config', 'headers', 'request', 'requestOptions']) delete serialized[field];
  if (typeof serialized['message'] === 'string') serialized['message'] = redactSecrets(serialized['message']);
  if (typeof serialized['stack'] === 'string') serialized['stack'] = redactSecrets(serialized['stack']);
  return serialized;
}
