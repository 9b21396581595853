import { InvalidRequestError } from '@rgw/errors';
import { z } from 'zod';
import { createBoundedNumberSchema } from './bounded-number-schema.ts';
import { convertValidationIssueToError } from './convert-validation-issue-to-error.ts';
import { inputItemSchema } from './responses-input-item-schema.ts';
import { measureJsonDepth } from './measure-json-depth.ts';
import { toolChoiceSchema, toolSchema } from './responses-tool-schema.ts';
import { createTypeDispatchSchema } from './type-dispatch-schema.ts';

/*
 * The body of `POST /v1/responses` (responses-api.md §1; `ResponseCreateParamsBase` in the openai
 * SDK). Strict on types and ranges of what we interpret, lenient on everything else: unknown
 * top-level fields are kept (Codex sends `client_metadata`; the API adds fields every few months),
 * and every optional field accepts `null`, as the API does.
 */

/** OpenAI's metadata limits: at most 16 keys, keys ≤ 64 characters, values ≤ 512 characters. */
const metadataSchema = z.record(z.string().max(64), z.string().max(512)).superRefine((metadata, context) => {
  const count = Object.keys(metadata).length;
  if (count > 16) {
    context.addIssue({
      code: 'custom',
      input: metadata,
      params: {
        code: 'object_above_max_size',
        summary: `too many properties. Expected an object with at most 16 properties, but got an object with ${count} properties instead.`,
      },
    });
  }
});

const textFormatSchema = createTypeDispatchSchema(
  {
    text: z.looseObject({ type: z.literal('text') }),
    json_object: z.looseObject({ type: z.literal('json_object') }),
    json_schema: z.looseObject({
      type: z.literal('json_schema'),
      name: z.string(),
      schema: z.record(z.string(), z.unknown()),
      description: z.string().nullish(),
      strict: z.boolean().nullish(),
    }),
  },
  z.looseObject({ type: z.string() }),
);

const penaltySchema = createBoundedNumberSchema({ integer: false, min: -2, max: 2 });

export const responsesRequestSchema = z.looseObject({
  model: z.string(),
  /** A string is one user message. Optional: `previous_response_id` may carry the whole context. */
  input: z.union([z.string(), z.array(inputItemSchema)]).nullish(),
  instructions: z.string().nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: textFormatSchema.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  // `effort` values grow over time (none, minimal, low, medium, high, xhigh, max); passed on as given.
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish(), generate_summary: z.string().nullish() }).nullish(),
  /** Visible plus reasoning tokens; OpenAI's minimum is 16. */
  max_output_tokens: createBoundedNumberSchema({ integer: true, min: 16 }).nullish(),
  max_tool_calls: createBoundedNumberSchema({ integer: true, min: 0 }).nullish(),
  temperature: createBoundedNumberSchema({ integer: false, min: 0, max: 2 }).nullish(),
  top_p: createBoundedNumberSchema({ integer: false, min: 0, max: 1 }).nullish(),
  top_logprobs: createBoundedNumberSchema({ integer: true, min: 0, max: 20 }).nullish(),
  // Not in the SDK's create params, but sent by some clients and echoed by OpenAI; Chat knows them.
  presence_penalty: penaltySchema.nullish(),
  frequency_penalty: penaltySchema.nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  store: z.boolean().nullish(),
  background: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_obfuscation: z.boolean().nullish() }).nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.union([z.string(), z.looseObject({ id: z.string() })]).nullish(),
  include: z.array(z.string()).nullish(),
  metadata: metadataSchema.nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().max(64).nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.string().nullish(),
  service_tier: z.string().nullish(),
  /** Stored prompt templates; parsed so the converter can refuse them with a clear 400. */
  prompt: z.looseObject({ id: z.string() }).nullish(),
});

export type ResponsesRequest = z.output<typeof responsesRequestSchema>;

/** Deepest nesting accepted anywhere in a body; real tool schemas stay far below (Codex's: ~6). */
const MAX_JSON_DEPTH = 128;

export interface ParseResponsesRequestOptions {
  /** Most `input[]` items accepted (config MAX_INPUT_ITEMS, default 2000); more → 400 `param: "input"`. */
  readonly maxInputItems?: number;
}

/**
 * Validates a `POST /v1/responses` body. Throws InvalidRequestError (400) naming the first bad
 * field the way OpenAI does (`param: "input[3].content"`, `code: "invalid_type"`).
 */
export function parseResponsesRequest(body: unknown, options: ParseResponsesRequestOptions = {}): ResponsesRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_type' });
  }
  // Checked before the schema so an oversized history costs nothing to reject.
  const input: unknown = (body as Record<string, unknown>)['input'];
  const maxInputItems = options.maxInputItems;
  if (maxInputItems !== undefined && Array.isArray(input) && input.length > maxInputItems) {
    throw new InvalidRequestError(
      `Invalid 'input': array too long. Expected an array with maximum length ${maxInputItems}, but got an array with length ${input.length} instead.`,
      { param: 'input', code: 'array_above_max_length' },
    );
  }
  if (measureJsonDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new InvalidRequestError(`The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`, { code: 'nesting_too_deep' });
  }
  const result = responsesRequestSchema.safeParse(body, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new InvalidRequestError('The request body is invalid.', { code: 'invalid_value' });
  throw convertValidationIssueToError(issue);
}
