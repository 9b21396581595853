/**
 * The Chat Completions request the gateway sends upstream (`POST /v1/chat/completions`), limited to
 * what the converter produces and what OpenAI-compatible servers (vLLM, SGLang, Ollama, Chutes)
 * accept. Optional fields are omitted, never sent as null: some backends reject explicit nulls.
 */
export interface ChatCompletionRequest {
  /** The exact backend model id. */
  model: string;
  messages: ChatMessage[];
  /**
   * The converter always sets `true` with `stream_options.include_usage`, because the answer side
   * runs on stream chunks. The gateway may set `false` (and delete `stream_options`) for a
   * non-streaming backend call; the answer is then replayed through the same state machine.
   */
  stream: boolean;
  stream_options?: { include_usage: boolean };
  tools?: ChatTool[];
  tool_choice?: ChatToolChoice;
  /** Only sent when `tools` is non-empty: several servers reject it otherwise. */
  parallel_tool_calls?: boolean;
  response_format?: ChatResponseFormat;
  /** The request's effort, mapped to what the backend accepts (BackendProfile.reasoningEfforts). */
  reasoning_effort?: string;
  /** vLLM/SGLang extension: variables for the chat template, e.g. `{"enable_thinking": false}` (BackendProfile.thinkingSwitch). */
  chat_template_kwargs?: Record<string, boolean>;
  /** Cap on generated tokens (Responses `max_output_tokens`); the legacy name every open server accepts. */
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  user?: string;
}

export type ChatMessage = ChatSystemMessage | ChatUserMessage | ChatAssistantMessage | ChatToolMessage;

export interface ChatSystemMessage {
  role: 'system';
  content: string;
}

export interface ChatUserMessage {
  role: 'user';
  /** A plain string when every part is text (friendlier to open chat templates). */
  content: string | ChatUserContentPart[];
}

export type ChatUserContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: 'low' | 'high' | 'auto' } };

export interface ChatAssistantMessage {
  role: 'assistant';
  /** null when the turn only called tools. */
  content: string | null;
  tool_calls?: ChatToolCall[];
  /**
   * Non-standard: the model's earlier reasoning, for backends with interleaved thinking (DeepSeek,
   * SGLang/vLLM reasoning parsers). Servers that do not know it ignore it.
   */
  reasoning_content?: string;
  /** The same, under the name vLLM (late 2025+) and Ollama read (BackendProfile.reasoningReplayFields). */
  reasoning?: string;
}

export interface ChatToolCall {
  id: string;
  type: 'function';
  /** `arguments` is a JSON string. */
  function: { name: string; arguments: string };
}

export interface ChatToolMessage {
  role: 'tool';
  tool_call_id: string;
  /** Text only: Chat tool messages cannot carry images. */
  content: string;
}

export interface ChatTool {
  type: 'function';
  function: {
    name: string;
    description?: string;
    /** JSON Schema of the arguments. */
    parameters: Record<string, unknown>;
    strict?: boolean;
  };
}

export type ChatToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type ChatResponseFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema: Record<string, unknown>; description?: string; strict?: boolean } };
