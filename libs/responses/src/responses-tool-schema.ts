import { z } from 'zod';
import { RESPONSES_TOOL_TYPES } from './responses-tool-types.ts';
import { createTypeDispatchSchema } from './type-dispatch-schema.ts';

/*
 * `tools[]` and `tool_choice` (responses-api.md §1.2, §1.3). Only the tool kinds a Chat backend can
 * run are checked field by field: function, custom, namespace, local_shell. The API's other kinds
 * (web_search, file_search, mcp, …) are accepted as `{type, …}` and dropped by the converter with a
 * warning (Codex always sends web_search); a type the API does not define is a 400 naming
 * `tools[i].type`.
 */

const functionToolSchema = z.looseObject({
  type: z.literal('function'),
  name: z.string(),
  description: z.string().nullish(),
  /** JSON Schema of the arguments; null means "no arguments". */
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
  /**
   * Hidden until a `tool_search` loads it (Codex marks MCP tools so). A Chat backend has no deferred
   * loading: the tool is sent up front like any other (docs/translation.md).
   */
  defer_loading: z.boolean().nullish(),
});
const customToolSchema = z.looseObject({
  type: z.literal('custom'),
  name: z.string(),
  description: z.string().nullish(),
  /** `{type:"text"}` or `{type:"grammar", syntax:"lark"|"regex", definition}`. */
  format: z.looseObject({ type: z.string(), syntax: z.string().nullish(), definition: z.string().nullish() }).nullish(),
});
const unknownToolSchema = z.looseObject({ type: z.string() });
/** A kind the API defines but the converter does not translate; anything else is refused. */
const otherToolSchema = z.looseObject({ type: z.enum(RESPONSES_TOOL_TYPES) });

const namespaceMemberSchema = createTypeDispatchSchema({ function: functionToolSchema, custom: customToolSchema }, otherToolSchema);
const namespaceToolSchema = z.looseObject({
  type: z.literal('namespace'),
  name: z.string(),
  description: z.string().nullish(),
  tools: z.array(namespaceMemberSchema),
});
const localShellToolSchema = z.looseObject({ type: z.literal('local_shell') });
/** Codex's search over `defer_loading` tools; with every tool sent up front there is nothing to search. */
const toolSearchToolSchema = z.looseObject({ type: z.literal('tool_search') });

const knownToolSchemas = {
  function: functionToolSchema,
  custom: customToolSchema,
  namespace: namespaceToolSchema,
  local_shell: localShellToolSchema,
  tool_search: toolSearchToolSchema,
};
export const toolSchema = createTypeDispatchSchema(knownToolSchemas, otherToolSchema);

const namedToolChoiceSchema = (type: 'function' | 'custom') => z.looseObject({ type: z.literal(type), name: z.string(), namespace: z.string().nullish() });
const allowedToolsChoiceSchema = z.looseObject({
  type: z.literal('allowed_tools'),
  mode: z.enum(['auto', 'required']),
  /** Tool references: `{type:"function", name}`, `{type:"custom", name}`, `{type:"web_search"}`, … */
  tools: z.array(z.looseObject({ type: z.string(), name: z.string().nullish(), namespace: z.string().nullish() })),
});
const knownToolChoiceSchemas = {
  function: namedToolChoiceSchema('function'),
  custom: namedToolChoiceSchema('custom'),
  allowed_tools: allowedToolsChoiceSchema,
};
export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  // Hosted choices ({type:"web_search_preview"}, {type:"mcp", server_label}, …) fall through.
  createTypeDispatchSchema(knownToolChoiceSchemas, unknownToolSchema),
]);

export type ResponsesTool = z.output<typeof toolSchema>;
export type KnownResponsesTool = z.output<(typeof knownToolSchemas)[keyof typeof knownToolSchemas]>;
export type ResponsesFunctionTool = z.output<typeof functionToolSchema>;
export type ResponsesCustomTool = z.output<typeof customToolSchema>;
export type ResponsesNamespaceMember = z.output<typeof namespaceMemberSchema>;
export type ResponsesToolChoice = z.output<typeof toolChoiceSchema>;
export type KnownResponsesToolChoice = z.output<(typeof knownToolChoiceSchemas)[keyof typeof knownToolChoiceSchemas]>;

/** Narrows to the tool kinds the converter interprets (see readKnownInputItem for why a cast is safe). */
export function readKnownTool(tool: ResponsesTool | ResponsesNamespaceMember): KnownResponsesTool | null {
  return Object.hasOwn(knownToolSchemas, tool.type) ? (tool as KnownResponsesTool) : null;
}

/** Narrows an object tool_choice to the forms the converter maps; null for hosted-tool choices. */
export function readKnownToolChoice(choice: Exclude<ResponsesToolChoice, string>): KnownResponsesToolChoice | null {
  return Object.hasOwn(knownToolChoiceSchemas, choice.type) ? (choice as KnownResponsesToolChoice) : null;
}
