import { createHash, createHmac, createSecretKey } from 'node:crypto';

/**
 * The owner of stored responses: HMAC-SHA256 over the API key, hex. The key itself is never
 * stored or used as an index; without the server secret the hash cannot be tested against
 * guessed keys. Every replica must share the secret, or a chain started on one is foreign to another.
 *
 * `secrets`: the current secret first, then previous ones (a rotation). The owner is then the
 * comma-separated hashes under each (see ownerCandidates): the store writes under the first and
 * accepts any, so responses stored before the rotation stay readable and chainable.
 */
export function createApiKeyHasher(secrets: string | readonly string[]): (apiKey: string) => string {
  // Domain-separated: the same secret also keys the reasoning sealer.
  // KeyObjects, made once: createHmac with a Buffer key builds one per call (11 µs of a request's CPU, 2 µs this way).
  const keys = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) =>
    createSecretKey(createHash('sha256').update(`responses-gateway/response-owner/v1\0${secret}`).digest()),
  );
  const [only] = keys;
  if (only === undefined) throw new Error('createApiKeyHasher needs a secret');
  if (keys.length === 1) return (apiKey) => createHmac('sha256', only).update(apiKey).digest('hex');
  return (apiKey) => keys.map((key) => createHmac('sha256', key).update(apiKey).digest('hex')).join(',');
}
