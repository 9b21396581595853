import { InvalidRequestError } from '@rgw/errors';
import { type BackendProfile, GENERIC_BACKEND_PROFILE, mapReasoningEffort } from './backend-profile.ts';
import type { ChatCompletionRequest, ChatMessage, ChatResponseFormat } from './chat-request.ts';
import { collectIgnoredFieldWarnings } from './collect-ignored-field-warnings.ts';
import type { ToolNameMap } from './converter-contract.ts';
import { convertInputItemsToChatMessages } from './convert-input-items-to-chat-messages.ts';
import { convertToolsToChat } from './convert-tools-to-chat.ts';
import { mapToolChoice } from './map-tool-choice.ts';
import type { ResponsesRequest } from './responses-request-schema.ts';
import { readKnownInputItem, type ResponsesInputItem } from './responses-input-item-schema.ts';
import type { ResponsesTool } from './responses-tool-schema.ts';

export interface ConvertResponsesRequestOptions {
  /** The exact backend model id to send (the catalogue resolves aliases before conversion). */
  readonly model: string;
  /**
   * Restores reasoning text from a reasoning item's `encrypted_content` (sealed by the answer side's
   * `sealReasoning`). Return null for content that is not ours or cannot be opened.
   */
  readonly unsealReasoning?: (encryptedContent: string) => string | null;
  /** The backend's dialect (resolveBackendProfile): reasoning control and replay. Default: the generic profile. */
  readonly backendProfile?: BackendProfile;
}

export interface ConvertedResponsesRequest {
  readonly chatRequest: ChatCompletionRequest;
  /** Chat function name → Responses tool, for turning tool calls back into Responses items. */
  readonly toolNames: ToolNameMap;
  /** What was ignored or emulated, one plain sentence each, naming the field; the gateway logs them and sends them in a header. */
  readonly warnings: string[];
}

/**
 * A validated Responses request → the Chat Completions request for the backend. Pure: no I/O,
 * clock or env. Throws InvalidRequestError for what cannot be represented and must not be
 * silently dropped (stored prompts, unresolved item references, files by id, PDFs).
 *
 * The gateway resolves `previous_response_id` / `item_reference` into `input` before calling this,
 * and decides streaming: the result always has `stream: true` with usage in the stream, which the
 * gateway may override (see ChatCompletionRequest.stream).
 */
export function convertResponsesRequestToChat(request: ResponsesRequest, options: ConvertResponsesRequestOptions): ConvertedResponsesRequest {
  if (request.prompt !== null && request.prompt !== undefined) {
    throw new InvalidRequestError("Stored prompt templates ('prompt') are not supported by this gateway; send 'instructions' and 'input' instead.", {
      param: 'prompt',
      code: 'unsupported_parameter',
    });
  }
  const input = typeof request.input === 'string' ? [{ type: 'message' as const, role: 'user' as const, content: request.input }] : (request.input ?? []);
  const { tools, locate } = collectTools(request.tools ?? [], input);
  const convertedTools = convertToolsToChat(tools, locate);
  const choice = mapToolChoice(request.tool_choice, convertedTools.tools, convertedTools.toolNames);
  const profile = options.backendProfile ?? GENERIC_BACKEND_PROFILE;
  const converted = convertInputItemsToChatMessages(input, {
    ...(options.unsealReasoning === undefined ? {} : { unsealReasoning: options.unsealReasoning }),
    reasoningReplayFields: profile.reasoningReplayFields,
    reasoningOnToolCalls: profile.reasoningOnToolCalls,
  });
  const warnings = [...convertedTools.warnings, ...choice.warnings, ...converted.warnings, ...collectIgnoredFieldWarnings(request)];

  // One leading system message: many chat templates reject `developer` and any system message
  // after position 0 ("System message must be at the beginning").
  const systemTexts = [request.instructions ?? '', ...converted.systemTexts].filter((text) => text !== '');
  const messages: ChatMessage[] = [...(systemTexts.length > 0 ? [{ role: 'system' as const, content: systemTexts.join('\n\n') }] : []), ...converted.messages];
  if (converted.messages.length === 0) {
    throw new InvalidRequestError("Missing required parameter: 'input'.", { param: 'input', code: 'missing_required_parameter' });
  }

  const chatRequest: ChatCompletionRequest = { model: options.model, messages, stream: true, stream_options: { include_usage: true } };
  if (choice.tools.length > 0) {
    chatRequest.tools = choice.tools;
    if (choice.toolChoice !== undefined) chatRequest.tool_choice = choice.toolChoice;
    if (typeof request.parallel_tool_calls === 'boolean') chatRequest.parallel_tool_calls = request.parallel_tool_calls;
  } else if (choice.toolChoice !== undefined && choice.toolChoice !== 'none' && choice.toolChoice !== 'auto') {
    warnings.push("Ignored 'tool_choice': no tool in the request can be sent to the backend.");
  }
  const responseFormat = mapTextFormat(request, warnings);
  if (responseFormat !== undefined) chatRequest.response_format = responseFormat;
  if (typeof request.reasoning?.effort === 'string') mapReasoningControl(request.reasoning.effort, profile, chatRequest, warnings);
  if (typeof request.max_output_tokens === 'number') chatRequest.max_tokens = request.max_output_tokens;
  if (typeof request.temperature === 'number') chatRequest.temperature = request.temperature;
  if (typeof request.top_p === 'number') chatRequest.top_p = request.top_p;
  if (typeof request.presence_penalty === 'number') chatRequest.presence_penalty = request.presence_penalty;
  if (typeof request.frequency_penalty === 'number') chatRequest.frequency_penalty = request.frequency_penalty;
  // top_logprobs: 0 is what OpenAI echoes by default and asks for nothing.
  const topLogprobs = request.top_logprobs ?? 0;
  if (topLogprobs > 0 || request.include?.includes('message.output_text.logprobs') === true) chatRequest.logprobs = true;
  if (topLogprobs > 0) chatRequest.top_logprobs = topLogprobs;
  const user = request.safety_identifier ?? request.user;
  if (typeof user === 'string') chatRequest.user = user;
  return { chatRequest, toolNames: convertedTools.toolNames, warnings };
}

/** `reasoning.effort` → the backend's own controls: its `reasoning_effort` levels and its template's thinking switch. */
function mapReasoningControl(requested: string, profile: BackendProfile, chatRequest: ChatCompletionRequest, warnings: string[]): void {
  const { effort, warning } = mapReasoningEffort(profile, requested);
  if (effort !== undefined) chatRequest.reasoning_effort = effort;
  if (warning !== null) warnings.push(warning);
  if (profile.thinkingSwitch !== null) chatRequest.chat_template_kwargs = { [profile.thinkingSwitch]: requested !== 'none' };
}

/**
 * Top-level `tools`, then those of `additional_tools` input items (Codex): the backend sees them all,
 * never fewer than the client declared. `locate` names each one for warnings.
 */
function collectTools(topLevel: readonly ResponsesTool[], input: readonly ResponsesInputItem[]): { tools: ResponsesTool[]; locate: (index: number) => string } {
  const tools = [...topLevel];
  const places = topLevel.map((_, index) => `tools[${index}]`);
  input.forEach((item, itemIndex) => {
    const known = readKnownInputItem(item);
    if (known?.type !== 'additional_tools') return;
    known.tools.forEach((tool, toolIndex) => {
      tools.push(tool);
      places.push(`input[${itemIndex}].tools[${toolIndex}]`);
    });
  });
  return { tools, locate: (index) => places[index] ?? `tools[${index}]` };
}

/** Responses `text.format` is flat; Chat nests the schema under `json_schema` (responses-api.md §1.4). */
function mapTextFormat(request: ResponsesRequest, warnings: string[]): ChatResponseFormat | undefined {
  const format = request.text?.format;
  if (format === null || format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema' && typeof format['name'] === 'string' && typeof format['schema'] === 'object' && format['schema'] !== null) {
    const jsonSchema: Extract<ChatResponseFormat, { type: 'json_schema' }>['json_schema'] = {
      name: format['name'],
      schema: format['schema'] as Record<string, unknown>,
    };
    if (typeof format['description'] === 'string') jsonSchema.description = format['description'];
    if (typeof format['strict'] === 'boolean') jsonSchema.strict = format['strict'];
    return { type: 'json_schema', json_schema: jsonSchema };
  }
  warnings.push(`Ignored 'text.format': type '${format.type}' has no Chat Completions equivalent.`);
  return undefined;
}
