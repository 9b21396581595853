import { z } from 'zod';
import { toolSchema } from './responses-tool-schema.ts';
import { createTypeDispatchSchema } from './type-dispatch-schema.ts';

/*
 * `input[]` items and their content parts (responses-api.md §2). Strict on the fields the converter
 * reads, loose everywhere else: unknown fields are kept (Codex sends `phase`, ids like `fco_…`,
 * `status`), unknown item and part types are accepted as `{type, …}` and dropped later with a
 * warning, and optional fields accept `null` because clients echo output items verbatim.
 */

const inputTextPartSchema = z.looseObject({ type: z.literal('input_text'), text: z.string() });
const outputTextPartSchema = z.looseObject({ type: z.literal('output_text'), text: z.string() });
const refusalPartSchema = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
const inputImagePartSchema = z.looseObject({
  type: z.literal('input_image'),
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  detail: z.enum(['low', 'high', 'auto', 'original']).nullish(),
});
const inputFilePartSchema = z.looseObject({
  type: z.literal('input_file'),
  /** A data URL (`data:text/plain;base64,…`) or, from some clients, bare base64 plus `filename`. */
  file_data: z.string().nullish(),
  file_id: z.string().nullish(),
  file_url: z.string().nullish(),
  filename: z.string().nullish(),
});
const unknownPartSchema = z.looseObject({ type: z.string() });

export const contentPartSchema = createTypeDispatchSchema(
  {
    input_text: inputTextPartSchema,
    output_text: outputTextPartSchema,
    refusal: refusalPartSchema,
    input_image: inputImagePartSchema,
    input_file: inputFilePartSchema,
  },
  unknownPartSchema,
);

const messageSchema = z.looseObject({
  // `type` may be omitted (EasyInputMessage); normalised here so later code can switch on it.
  type: z
    .literal('message')
    .nullish()
    .transform(() => 'message' as const),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(contentPartSchema)]),
});

/** A tool's answer: a string, or parts when the tool returned images or files (Codex view_image). */
const toolOutputSchema = z.union([z.string(), z.array(contentPartSchema)]);

const functionCallSchema = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string(),
  name: z.string(),
  /** A JSON string, passed through untouched. */
  arguments: z.string(),
  /** (new) set when the tool came from a `namespace` tool. */
  namespace: z.string().nullish(),
});
const functionCallOutputSchema = z.looseObject({ type: z.literal('function_call_output'), call_id: z.string(), output: toolOutputSchema });
const customToolCallSchema = z.looseObject({
  type: z.literal('custom_tool_call'),
  call_id: z.string(),
  name: z.string(),
  input: z.string(),
  namespace: z.string().nullish(),
});
const customToolCallOutputSchema = z.looseObject({ type: z.literal('custom_tool_call_output'), call_id: z.string(), output: toolOutputSchema });
const localShellCallSchema = z.looseObject({
  type: z.literal('local_shell_call'),
  // Codex falls back to `id` when `call_id` is absent; the converter does the same.
  call_id: z.string().nullish(),
  id: z.string().nullish(),
  action: z.looseObject({
    command: z.array(z.string()),
    working_directory: z.string().nullish(),
    timeout_ms: z.number().nullish(),
  }),
});
/** Carries the call id in `id`, not `call_id` (responses-api.md §2.7). */
const localShellCallOutputSchema = z.looseObject({ type: z.literal('local_shell_call_output'), id: z.string(), output: z.string() });
const reasoningSchema = z.looseObject({
  type: z.literal('reasoning'),
  // Required by the SDK types, but Codex replays reasoning with `content: null` and no id.
  summary: z.array(z.looseObject({ text: z.string() })).nullish(),
  content: z.array(z.looseObject({ type: z.string().nullish(), text: z.string() })).nullish(),
  encrypted_content: z.string().nullish(),
});
const itemReferenceSchema = z.looseObject({
  type: z
    .literal('item_reference')
    .nullish()
    .transform(() => 'item_reference' as const),
  id: z.string(),
});
/**
 * Tools declared at a point of the conversation (Codex 0.146+; with its "responses lite" header they
 * replace top-level `tools`). They reach the backend as tools, like top-level ones.
 */
const additionalToolsSchema = z.looseObject({
  type: z.literal('additional_tools'),
  role: z.string().nullish(),
  tools: z.array(toolSchema),
});
const unknownItemSchema = z.looseObject({ type: z.string() });

const knownItemSchemas = {
  message: messageSchema,
  function_call: functionCallSchema,
  function_call_output: functionCallOutputSchema,
  custom_tool_call: customToolCallSchema,
  custom_tool_call_output: customToolCallOutputSchema,
  local_shell_call: localShellCallSchema,
  local_shell_call_output: localShellCallOutputSchema,
  reasoning: reasoningSchema,
  item_reference: itemReferenceSchema,
  additional_tools: additionalToolsSchema,
};

export const inputItemSchema = createTypeDispatchSchema(knownItemSchemas, unknownItemSchema, (value) => {
  if (value['type'] !== undefined && value['type'] !== null) return value['type'];
  // Both messages and item references may omit `type`; a role says which one it is.
  return 'role' in value || !('id' in value) ? 'message' : 'item_reference';
});

export type ResponsesContentPart = z.output<typeof contentPartSchema>;
export type ResponsesInputItem = z.output<typeof inputItemSchema>;
export type KnownResponsesInputItem = z.output<(typeof knownItemSchemas)[keyof typeof knownItemSchemas]>;
export type KnownResponsesContentPart =
  | z.output<typeof inputTextPartSchema>
  | z.output<typeof outputTextPartSchema>
  | z.output<typeof refusalPartSchema>
  | z.output<typeof inputImagePartSchema>
  | z.output<typeof inputFilePartSchema>;

const knownPartTypes: ReadonlySet<string> = new Set(['input_text', 'output_text', 'refusal', 'input_image', 'input_file']);

/**
 * Narrows a parsed item to the types the converter interprets; null for item types we only pass
 * over (web_search_call, compaction, …). Safe because the dispatcher validated every known type
 * against its own schema; TypeScript cannot see that `type: string` excludes the known literals.
 */
export function readKnownInputItem(item: ResponsesInputItem): KnownResponsesInputItem | null {
  return Object.hasOwn(knownItemSchemas, item.type) ? (item as KnownResponsesInputItem) : null;
}

/** Same as readKnownInputItem, for content parts. */
export function readKnownContentPart(part: ResponsesContentPart): KnownResponsesContentPart | null {
  return knownPartTypes.has(part.type) ? (part as KnownResponsesContentPart) : null;
}
