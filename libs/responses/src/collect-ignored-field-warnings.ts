import { responsesRequestSchema, type ResponsesRequest } from './responses-request-schema.ts';

/**
 * Fields the gateway honours itself, not the converter: no warning for them. `store`,
 * `previous_response_id`, `conversation` and `background` are handled around the conversion;
 * `metadata` and the sampling fields are echoed; `stream` picks the answer format; `reasoning.summary`
 * and `include: ["reasoning.encrypted_content"]` shape the answer side.
 */
const honouredIncludes: ReadonlySet<string> = new Set(['reasoning.encrypted_content', 'message.output_text.logprobs']);

/** Top-level fields the request schema models; anything else is unknown to us. */
const knownFields: ReadonlySet<string> = new Set(Object.keys(responsesRequestSchema.shape));

/** Fields the API defines that this gateway does not model; ignored, with a warning. */
const unsupportedApiFields: ReadonlySet<string> = new Set(['context_management', 'moderation', 'prompt_cache_options', 'access_programs', 'image']);

/**
 * Plain-string warnings for request fields the conversion ignores (house rule: what the converter
 * cannot honour is reported, never dropped silently). Defaults that change nothing are not reported.
 */
export function collectIgnoredFieldWarnings(request: ResponsesRequest): string[] {
  const warnings: string[] = [];
  const ignore = (field: string, why: string): void => {
    warnings.push(`Ignored '${field}': ${why}.`);
  };
  if (request.truncation === 'auto') ignore('truncation', "'auto' truncation is not supported; an over-long input fails instead");
  if (typeof request.service_tier === 'string' && request.service_tier !== 'auto' && request.service_tier !== 'default') {
    ignore('service_tier', 'the backend has a single tier');
  }
  if (typeof request.prompt_cache_key === 'string') ignore('prompt_cache_key', 'prompt caching is up to the backend');
  if (typeof request.prompt_cache_retention === 'string') ignore('prompt_cache_retention', 'prompt caching is up to the backend');
  if (request.text?.verbosity !== undefined && request.text.verbosity !== null) ignore('text.verbosity', 'Chat Completions backends have no verbosity control');
  if (request.stream_options?.include_obfuscation === true) ignore('stream_options.include_obfuscation', 'stream events are not obfuscated');
  for (const value of request.include ?? []) {
    if (!honouredIncludes.has(value)) ignore(`include`, `'${value}' is not available from a Chat Completions backend`);
  }
  for (const field of Object.keys(request)) {
    if (knownFields.has(field)) continue;
    if (request[field] === null || request[field] === undefined) continue;
    if (unsupportedApiFields.has(field)) ignore(field, 'not supported by this gateway');
    else warnings.push(`Ignored unknown field '${field}'.`);
  }
  return warnings;
}
