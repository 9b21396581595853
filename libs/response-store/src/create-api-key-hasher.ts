import { createHash, createHmac, createSecretKey } from 'node:crypto';

/**
 * The owner of stored responses: HMAC-SHA256 over the API key, hex. The key itself is never
 * stored or used as an index; without the server secret the hash cannot be tested against
 * guessed keys. Every replica must share `secret`, or a chain started on one is foreign to another.
 */
export function createApiKeyHasher(secret: string): (apiKey: string) => string {
  // Domain-separated: the same secret also keys the reasoning sealer.
  // A KeyObject, made once: createHmac with a Buffer key builds one per call (11 µs of a request's CPU, 2 µs this way).
  const key = createSecretKey(createHash('sha256').update(`responses-gateway/response-owner/v1\0${secret}`).digest());
  return (apiKey) => createHmac('sha256', key).update(apiKey).digest('hex');
}
