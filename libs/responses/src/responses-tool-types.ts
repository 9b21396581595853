import type { Tool } from 'openai/resources/responses/responses';

/**
 * Every `tools[].type` the Responses API defines (the openai package's `Tool` union, plus dated aliases).
 * A type outside this list is a client bug (`"functions"`, a typo) and is refused with a 400 naming
 * `tools[i].type`; a listed kind the converter cannot translate (web_search, mcp, …) is dropped with a
 * warning instead, because Codex sends some of them on every turn.
 */
export const RESPONSES_TOOL_TYPES = [
  'function',
  'custom',
  'namespace',
  'local_shell',
  'web_search',
  'web_search_2025_08_26',
  'web_search_preview',
  'web_search_preview_2025_03_11',
  'file_search',
  'code_interpreter',
  'image_generation',
  'computer',
  'computer_use_preview',
  'mcp',
  'shell',
  'apply_patch',
  'tool_search',
  'programmatic_tool_calling',
] as const;

export type ResponsesToolType = (typeof RESPONSES_TOOL_TYPES)[number];

/**
 * Fails to compile when an upgrade of the openai package adds a tool kind this list lacks: a new kind
 * must be a conscious decision (translate it, or drop it with a warning), never a 400 by accident.
 */
type MissingToolTypes = Exclude<Tool['type'], ResponsesToolType>;
type AssertTrue<Condition extends true> = Condition;
/** Compile-time only: `true` while every SDK tool kind is listed (names the missing ones otherwise). */
export type EverySdkToolTypeIsListed = AssertTrue<[MissingToolTypes] extends [never] ? true : false>;
